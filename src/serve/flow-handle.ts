/**
 * What a running request is to the rest of the gateway: the live record its attempts read and
 * write (LiveRequest), the handle its HTTP side holds (FlowHandle), and the clock the flows
 * run on. Kept apart from the runtimes so the failover and hedge runtimes both depend on it
 * and not on each other.
 */
import type { BreakerActor } from '../../machines/breaker.machine.ts';
import type { BreakerConfig } from '../core/breaker/config.ts';
import type { AttemptRecord, FlowOutput, ResultRef, StreamEvent } from '../core/flow.ts';
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
  afterBreak(): Promise<{ ref: ResultRef } | { error: UpstreamError }>;
  /** The attempts so far (for headers after a continuation). */
  attempts(): readonly AttemptRecord[];
  /** Abandon the flow (client gone): stops it, aborting the attempt in flight. */
  cancel(): void;
}

/** A flow actor as far as its handle's forwarding parts need it. */
interface FlowActor {
  getSnapshot(): { status: string; context: { attempts: readonly AttemptRecord[] } };
  send(event: StreamEvent): void;
}

/**
 * The parts of a handle that only read the live request or forward to the actor, the same for
 * a failover flow and a hedge race: the result by reference, the stream pump's events (dropped
 * once the actor is done), and the attempts so far.
 */
export function forwardingHandle(actor: FlowActor, live: LiveRequest): Pick<FlowHandle, 'live' | 'resultOf' | 'send' | 'attempts'> {
  return {
    live,
    resultOf: (ref) => live.results[ref.attempt],
    send: (event) => {
      if (actor.getSnapshot().status === 'active') actor.send(event);
    },
    attempts: () => actor.getSnapshot().context.attempts,
  };
}
