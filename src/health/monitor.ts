import { Subject, type Observable, type Subscription } from 'rxjs';
import type { TransitionEvent } from '../events/transitions.ts';
import type { Store } from '../store/types.ts';
import type { HealthEvent } from './events.ts';
import type { WriteQueue } from './write-queue.ts';

/**
 * Turns the gateway's transition stream into health events (src/health/events.ts) and keeps
 * the records health is computed from:
 * - a model actor entering `down` (routing skips its target) opens the target's down interval
 *   in the store, leaving `down` closes it (the uptime figures, docs/uptime.md);
 * - every model's state and every breaker's state is written as a snapshot, so a target that
 *   was down before a restart starts down after it (src/health/persist.ts);
 * - the next probe of each target is known from its probe actors' own transitions.
 * Everything here runs on state changes only: a request costs nothing.
 */

export interface HealthMonitorOptions {
  transitions$: Observable<TransitionEvent>;
  store: Store;
  writes: WriteQueue;
  /** Providers in the order requests fail over to them (resilience.failover.providers, then the rest). */
  failoverOrder: readonly string[];
  /** Provider -> its models, in config order. */
  providers: ReadonlyMap<string, readonly string[]>;
  /** Whether a breaker's systemId is its target's default breaker (the one routing and health follow). */
  isDefaultBreaker: (systemId: string) => boolean;
}

/** The state each watched machine starts in: actors started before the monitor subscribed are there. */
const INITIAL: Record<string, string> = { breaker: 'closed', provider: 'healthy', model: 'healthy', degraded: 'normal' };

/** A degraded-mode machine in one of these states is not degrading anything. */
const NOT_DEGRADED = new Set(['normal', 'inactive', 'idle', 'off', 'disabled', 'healthy', 'closed']);

/** The top-level state: a probe's `healthy.waiting` is `healthy`. */
export function topState(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value !== null && typeof value === 'object') return Object.keys(value)[0] ?? '';
  return String(value);
}

/** Whether any part of a (possibly nested) state value is `name`. */
function inState(value: unknown, name: string): boolean {
  if (value === name) return true;
  if (value !== null && typeof value === 'object') return Object.entries(value).some(([k, v]) => k === name || inState(v, name));
  return false;
}

export class HealthMonitor {
  readonly #o: HealthMonitorOptions;
  readonly #events = new Subject<HealthEvent>();
  /** Bounded by the long-lived actors (targets x breaker configs), themselves bounded by config. */
  readonly #last = new Map<string, string>();
  /** Target key -> when its next probe (active or recovery) is due. */
  readonly #nextProbe = new Map<string, { kind: 'health' | 'recovery'; at: number }>();
  readonly #sub: Subscription;
  #degraded: string | undefined;

  /** Every health event, hot. */
  readonly events$: Observable<HealthEvent> = this.#events.asObservable();

  constructor(opts: HealthMonitorOptions) {
    this.#o = opts;
    this.#sub = opts.transitions$.subscribe((e) => this.#on(e));
  }

  /** Publishes an event that did not come from a transition (the incident recorder's). */
  publish(event: HealthEvent): void {
    this.#events.next(event);
  }

  /** The degraded-mode machine's state while it degrades, else undefined. */
  get degradedMode(): string | undefined {
    return this.#degraded;
  }

  /** When the target's next probe is due, if a probe runs for it. */
  nextProbe(key: string): { kind: 'health' | 'recovery'; at: number } | undefined {
    return this.#nextProbe.get(key);
  }

  /** The provider's last known state (`healthy`, `degraded`, `down`). */
  providerState(name: string): string {
    return this.#last.get(`provider:${name}`) ?? 'healthy';
  }

  stop(): void {
    this.#sub.unsubscribe();
    this.#events.complete();
  }

  #on(e: TransitionEvent): void {
    const id = e.systemId;
    if (id === undefined && e.machine !== 'degraded') return;
    if (e.machine === 'healthProbe' || e.machine === 'recoveryProbe') {
      this.#probeMoved(e);
      return;
    }
    const initial = INITIAL[e.machine];
    if (initial === undefined) return;
    const actor = id ?? e.actorId;
    if (e.status === 'stopped') {
      this.#last.delete(actor);
      if (e.machine === 'breaker') void this.#o.writes.push('deleting a breaker snapshot', () => this.#o.store.snapshots.delete(actor));
      return;
    }
    const to = topState(e.state);
    const from = this.#last.get(actor) ?? initial;
    this.#last.set(actor, to);
    if (from === to) return;
    const timestamp = new Date(e.at).toISOString();
    switch (e.machine) {
      case 'model':
        this.#modelMoved(e, from, to, timestamp);
        break;
      case 'provider':
        this.#providerMoved(actor.slice('provider:'.length), from, to, timestamp);
        break;
      case 'breaker':
        this.#breakerMoved(e, actor, to, timestamp);
        break;
      case 'degraded':
        this.#degradedMoved(to, timestamp);
        break;
    }
  }

  #modelMoved(e: TransitionEvent, from: string, to: string, timestamp: string): void {
    const c = e.context as { provider: string; model: string; downReason: string | null };
    const key = `${c.provider}/${c.model}`;
    const { store, writes } = this.#o;
    void writes.push(`saving the health of ${key}`, () => store.snapshots.put(`health:${key}`, { state: to, reason: c.downReason, at: e.at }));
    if (to === 'down') {
      void writes.push(`opening the down interval of ${key}`, () => store.availability.openDownInterval(key, c.downReason ?? 'down', e.at));
      this.#events.next({ type: 'model_down', timestamp, provider: c.provider, model: c.model, reason: c.downReason });
    } else if (from === 'down') {
      void writes.push(`closing the down interval of ${key}`, () => store.availability.closeDownInterval(key, e.at));
      this.#events.next({ type: 'model_recovered', timestamp, provider: c.provider, model: c.model });
    }
  }

  #providerMoved(provider: string, from: string, to: string, timestamp: string): void {
    if (to === 'down') {
      this.#events.next({ type: 'provider_down', timestamp, provider, models: [...(this.#o.providers.get(provider) ?? [])], fallback_provider: this.#fallbackFor(provider) });
    } else if (from === 'down') {
      this.#events.next({ type: 'provider_recovered', timestamp, provider, status: to });
    }
  }

  #breakerMoved(e: TransitionEvent, actor: string, to: string, timestamp: string): void {
    const c = e.context as { target: string; openedAt: number | null };
    const slash = c.target.indexOf('/');
    const config = actor.slice(actor.indexOf('#') + 1);
    void this.#o.writes.push(`saving ${actor}`, () => this.#o.store.snapshots.put(actor, { status: to, openedAt: c.openedAt }));
    const type = to === 'open' ? 'circuit_opened' : to === 'half_open' ? 'circuit_half_open' : 'circuit_closed';
    this.#events.next({ type, timestamp, provider: c.target.slice(0, slash), model: c.target.slice(slash + 1), breaker: config, default: this.#o.isDefaultBreaker(actor) });
  }

  #degradedMoved(to: string, timestamp: string): void {
    const active = !NOT_DEGRADED.has(to);
    const was = this.#degraded !== undefined;
    this.#degraded = active ? to : undefined;
    if (active && !was) this.#events.next({ type: 'degraded_mode_entered', timestamp, state: to });
    else if (!active && was) this.#events.next({ type: 'degraded_mode_exited', timestamp, state: to });
  }

  #probeMoved(e: TransitionEvent): void {
    const c = e.context as { target?: string; intervalMs?: number };
    if (c.target === undefined) return;
    const kind = e.machine === 'healthProbe' ? 'health' : 'recovery';
    const current = this.#nextProbe.get(c.target);
    if (e.status === 'stopped') {
      if (current?.kind === kind) this.#nextProbe.delete(c.target);
      return;
    }
    // The interval runs from entering `waiting`; a probe in flight is due now.
    if (inState(e.state, 'waiting')) this.#nextProbe.set(c.target, { kind, at: e.at + (c.intervalMs ?? 0) });
    else if (inState(e.state, 'probing')) this.#nextProbe.set(c.target, { kind, at: e.at });
  }

  /** The first provider after `provider` in the failover order that is not down. */
  #fallbackFor(provider: string): string | null {
    for (const p of this.#o.failoverOrder) if (p !== provider && this.providerState(p) !== 'down') return p;
    return null;
  }
}
