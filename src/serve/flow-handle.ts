/**
 * What a running request is to the rest of the gateway: the live record its attempts read and
 * write (LiveRequest), the handle its HTTP side holds (FlowHandle), and the clock the flows
 * run on. Kept apart from the runtimes so the failover and hedge runtimes both depend on it
 * and not on each other.
 */
import type { BreakerActor } from '../../machines/breaker.machine.ts';
import type { BreakerConfig } from '../core/breaker/config.ts';
import type { AttemptRecord, FlowOutput, ResultRef, StreamEvent } from '../core/flow.ts';
import type { ClientSignal } from '../core/client-signal.ts';
import type { ChatRequest } from '../core/openai-types.ts';
import type { ErrorTrigger } from '../core/error-kinds.ts';
import type { UpstreamError } from '../core/upstream-error.ts';
import type { RetryPolicy } from '../policy/types.ts';
import type { AttemptResult } from '../providers/transport.ts';

/** XState's clock (not exported by xstate) plus now(): SimulatedClock fits it. */
export interface FlowClock {
  setTimeout(fn: (...args: unknown[]) => void, timeout: number): unknown;
  clearTimeout(id: unknown): void;
  now(): number;
}

/**
 * One client request while it runs, kept by the runtime under its id: what its attempts
 * send, and what they produced. The machines keep only the id (no live objects in context).
 */
export interface LiveRequest {
  requestId: string;
  request: ChatRequest;
  stream: boolean;
  /** The request's X-Circuit-Breaker config (undefined: the target's default breaker). */
  breakerConfig: BreakerConfig | undefined;
  retry: RetryPolicy;
  /** What moves a failure along a chain step without triggers of its own (resilience.failover.triggers). */
  chainTriggers: readonly ErrorTrigger[];
  /** The attempts' results by attempt number. */
  results: AttemptResult[];
  /**
   * The half-open trial slots this request holds, token -> the breaker that admitted it;
   * released if the request is abandoned. Created on the first trial (rare).
   */
  trials?: Map<string, BreakerActor>;
  /** When the request started, on the runtime's clock: its deadline counts from here. */
  startedAt: number;
  /**
   * Stamps the flow's timers read when they fire (no event per stamp): when the current
   * attempt started, when the upstream got it (`sentAt`, -1 while it waits for a local
   * connection; the transport stamps it), and the stream pump's last chunk (the idle watchdog).
   */
  activity: Activity;
  /** A cached answer's lookup for the `cache` fallback (set by the caller when it applies). */
  cached?: () => AttemptResult | undefined;
  /**
   * A hedged request's attempts run at once, so each has its own stamps, by attempt number
   * (`activity` then keeps only the stream's last chunk). Undefined for a sequential flow.
   */
  activities?: Activity[];
}

/** See LiveRequest.activity. */
export interface Activity {
  attemptStartedAt: number;
  /** The attempt `attemptStartedAt` belongs to. */
  startedAttempt: number;
  /** The attempt `sentAt` belongs to. */
  sentAttempt: number;
  sentAt: number;
  lastChunkAt: number;
}

/** When the upstream got `attempt` (the transport's stamp); -1 while it waits for a local connection. */
export function sentStamp(a: Activity, attempt: number): number {
  return a.sentAttempt === attempt && a.sentAt >= 0 ? a.sentAt : -1;
}

/** A fresh activity record. */
export function newActivity(): Activity {
  return { attemptStartedAt: 0, startedAttempt: 0, sentAttempt: 0, sentAt: -1, lastChunkAt: 0 };
}

/** A running flow. */
export interface FlowHandle {
  /** Resolves at the commit point: the final outcome, or an open stream's reference. */
  readonly done: Promise<FlowOutput>;
  readonly live: LiveRequest;
  /** The flow's result itself (a completion, or a stream and its body). */
  resultOf(ref: ResultRef): AttemptResult;
  /** Tell the flow what the stream pump saw. */
  send(event: StreamEvent): void;
  /**
   * After BROKEN: resolves with the continuation's stream when a prefill-capable step took
   * over, or with the final error when none did.
   */
  afterBreak(): Promise<AfterBreak>;
  /** The attempts so far (for headers after a continuation). */
  attempts(): readonly AttemptRecord[];
  /** Abandon the flow (client gone): stops it, aborting the attempt in flight. */
  cancel(): void;
}

/** A flow's actor as far as its run needs it. */
export interface FlowActor {
  getSnapshot(): { status: string; context: { attempts: readonly AttemptRecord[] } };
  send(event: StreamEvent): void;
  subscribe(observer: object): unknown;
  start(): unknown;
  stop(): unknown;
}

/** What a stream pump waiting in afterBreak hears. */
export type AfterBreak = { ref: ResultRef } | { error: UpstreamError };

/**
 * What a failover flow and a hedge race share as the handle the rest of the gateway holds:
 * `done` (resolved once, at the outcome), the client's abort signal cancelling the run until
 * then (the run is its listener: no closure), the stream pump's wait after a break, and the
 * parts that only read the live request or forward to the actor. A subclass is the actor's
 * observer (next / complete / error) and says what its outcome is.
 */
export abstract class FlowRun<Out extends FlowOutput, A extends FlowActor> implements FlowHandle {
  readonly done: Promise<Out>;
  readonly live: LiveRequest;
  protected readonly actor: A;
  #resolve!: (out: Out) => void;
  #reject!: (err: unknown) => void;
  #settled = false;
  #signal: ClientSignal | undefined;
  #waiting: ((v: AfterBreak) => void) | undefined;

  protected constructor(actor: A, live: LiveRequest, signal: ClientSignal | undefined) {
    this.actor = actor;
    this.live = live;
    this.#signal = signal;
    this.done = new Promise<Out>((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
  }

  start(): this {
    this.#signal?.addEventListener('abort', this, { once: true });
    this.actor.subscribe(this);
    this.actor.start();
    return this;
  }

  /** The signal fired (EventListener): the client left before the outcome. */
  handleEvent(): void {
    this.cancel();
  }

  abstract cancel(): void;
  abstract afterBreak(): Promise<AfterBreak>;

  resultOf(ref: ResultRef): AttemptResult {
    return this.live.results[ref.attempt];
  }

  /** The stream pump's events; dropped once the actor is done. */
  send(event: StreamEvent): void {
    if (this.actor.getSnapshot().status === 'active') this.actor.send(event);
  }

  attempts(): readonly AttemptRecord[] {
    return this.actor.getSnapshot().context.attempts;
  }

  protected get settled(): boolean {
    return this.#settled;
  }

  /** The outcome is known: `done` resolves, and from here the HTTP side owns cancelling. */
  protected settle(out: Out): void {
    this.#unlisten();
    this.#resolve(out);
  }

  protected fail(err: unknown): void {
    this.#unlisten();
    this.#reject(err);
  }

  protected get waiting(): boolean {
    return this.#waiting !== undefined;
  }

  /** A stream pump waits in afterBreak until `wake`. */
  protected waitForBreak(resolve: (v: AfterBreak) => void): void {
    this.#waiting = resolve;
  }

  protected wake(v: AfterBreak): void {
    const w = this.#waiting!;
    this.#waiting = undefined;
    w(v);
  }

  #unlisten(): void {
    this.#settled = true;
    if (this.#signal !== undefined) {
      this.#signal.removeEventListener('abort', this);
      this.#signal = undefined;
    }
  }
}
