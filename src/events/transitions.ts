import { Subject, type Observable } from 'rxjs';
import type { InspectionEvent, Observer } from 'xstate';

/**
 * One actor transition, as a plain object (actor refs are circular and must not leak into
 * the stream). Health, incidents, metrics and the visualizer all read these.
 */
export interface TransitionEvent {
  /** The actor's session id (unique per actor instance). */
  actorId: string;
  /** The long-lived actor's systemId (`provider:openai`, `model:openai/gpt-4`), if any. */
  systemId: string | undefined;
  /** The machine's id: `request`, `model`, `provider`, `breaker`, ... */
  machine: string;
  /** The state value after the transition (a string for flat machines). */
  state: unknown;
  /** The event that caused it. */
  event: string;
  /** The event's scalar fields (`{ ok: false, kind: 'rate_limit' }`), at most PAYLOAD_FIELDS of them. */
  payload: Record<string, string | number | boolean | null>;
  /** Actor status: active, done, error, stopped. */
  status: string;
  /** Wall-clock ms. */
  at: number;
  context: unknown;
}

/** Scalar event fields kept per transition: enough to say why, never a whole request. */
export const PAYLOAD_FIELDS = 6;

function payloadOf(event: object): Record<string, string | number | boolean | null> {
  const out: Record<string, string | number | boolean | null> = {};
  let n = 0;
  for (const k in event) {
    if (k === 'type') continue;
    const v = (event as Record<string, unknown>)[k];
    if (v === null || typeof v === 'number' || typeof v === 'boolean') out[k] = v;
    else if (typeof v === 'string') out[k] = v.length > 120 ? `${v.slice(0, 120)}…` : v;
    else continue;
    if (++n === PAYLOAD_FIELDS) break;
  }
  return out;
}

export interface TransitionHubOptions {
  now?: () => number;
}

/**
 * The hot stream of actor transitions, built from XState inspection. Long-lived actors are
 * always inspected; per-request actors only while someone asked for them (`watchRequests`),
 * because mapping every request's transitions costs on the hot path.
 */
export class TransitionHub {
  readonly #subject = new Subject<TransitionEvent>();
  readonly #now: () => number;
  #requestWatchers = 0;

  /** Every transition, hot; subscribe and filter. */
  readonly transitions$: Observable<TransitionEvent> = this.#subject.asObservable();

  /** Pass as `inspect` to long-lived actor systems. */
  readonly inspect: Observer<InspectionEvent> = {
    next: (ev: InspectionEvent) => this.#publish(ev),
  };

  constructor(opts: TransitionHubOptions = {}) {
    this.#now = opts.now ?? Date.now;
  }

  /** The `inspect` option for a new request actor: undefined when nobody watches requests. */
  get requestInspector(): Observer<InspectionEvent> | undefined {
    return this.#requestWatchers > 0 ? this.inspect : undefined;
  }

  /** Include per-request actors in the stream until the returned function is called. */
  watchRequests(): () => void {
    this.#requestWatchers++;
    let done = false;
    return () => {
      if (done) return;
      done = true;
      this.#requestWatchers--;
    };
  }

  complete(): void {
    this.#subject.complete();
  }

  #publish(ev: InspectionEvent): void {
    if (ev.type !== '@xstate.snapshot' || !this.#subject.observed) return;
    const snapshot = ev.snapshot as { value?: unknown; status?: string; context?: unknown };
    const ref = ev.actorRef as unknown as { sessionId: string; systemId?: string; src?: unknown; logic?: { id?: string } };
    this.#subject.next({
      actorId: ref.sessionId,
      systemId: ref.systemId,
      machine: ref.logic?.id ?? (typeof ref.src === 'string' ? ref.src : 'actor'),
      state: snapshot.value,
      event: ev.event.type,
      payload: payloadOf(ev.event),
      status: snapshot.status ?? 'active',
      at: this.#now(),
      context: snapshot.context,
    });
  }
}
