/**
 * The vocabulary the orchestration machines (machines/failover, machines/hedge) share with
 * the runtime that drives them: what a step is, what an attempt returns, what a request's
 * flow ends with. Data only: machines keep these in their context and events, so nothing
 * here holds a function.
 */
import type { ErrorKind, ErrorTrigger } from './error-kinds.ts';
import { UpstreamError, type SkipReason } from './upstream-error.ts';

/** One place a request can be sent: a provider and one of its models, and how the chain uses it. */
export interface FlowStep {
  /** The configured provider name. */
  readonly provider: string;
  /** The configured model name (what clients call it). */
  readonly model: string;
  /** `provider/model`: the target's key, built once by the route table. */
  readonly key: string;
  /** Kinds that send the request to this step (undefined: any failure does; the first step has none). */
  readonly trigger?: readonly ErrorTrigger[];
  /** Skip this step when its observed latency exceeds the primary's by more than this. */
  readonly maxLatencyIncreaseMs?: number;
  readonly reduceQuality?: boolean;
  /** Factor applied to max_tokens / max_completion_tokens on this step. */
  readonly reduceMaxTokens?: number;
  /** The target continues a trailing assistant message (prefill): it can resume a broken stream. */
  readonly prefill?: boolean;
  /**
   * Longest an attempt here may wait for a local connection before the gateway refuses it as
   * its own limit (`wait_limit`), never the target's failure. Undefined: the deadline only.
   */
  readonly queueTimeoutMs?: number;
}

/** What the attempt actor is given. */
export interface AttemptInput<S extends FlowStep = FlowStep> {
  step: S;
  /** The request's own data, handed to every attempt unchanged (opaque to the machines). */
  payload: unknown;
  stepIndex: number;
  /** 1 for the first attempt on this step, 2 for its first retry... */
  stepAttempt: number;
  /** 1-based attempt number within the request. */
  attempt: number;
  /** The text the client already has, for a continuation of a broken stream on a prefill-capable step. */
  prefill?: string;
}

/**
 * What an attempt produced, as the machines see it: data only. The runtime keeps the result
 * itself (a completion, or an open stream with its body) under the attempt's number.
 */
export interface ResultRef {
  type: 'completion' | 'stream';
  /** False for a stream past its commit point that has not finished yet. */
  complete: boolean;
  /** The attempt that produced it (1-based, within the request). */
  attempt: number;
}

/** What a successful attempt actor resolves with: the result's reference and how long it took. */
export interface AttemptSuccess {
  result: ResultRef;
  latencyMs: number;
}

/**
 * What a failed attempt actor rejects with. Carrying the measured latency lets the machines
 * keep their time accounting from events alone (no clock in context).
 */
export class AttemptFailure extends Error {
  readonly error: UpstreamError;
  readonly latencyMs: number;

  constructor(error: UpstreamError, latencyMs: number) {
    super(error.message);
    this.name = 'AttemptFailure';
    this.error = error;
    this.latencyMs = latencyMs;
  }
}

export interface AttemptRecord {
  /** 1-based attempt number within the request. */
  attempt: number;
  step: number;
  provider: string;
  model: string;
  ok: boolean;
  kind?: ErrorKind;
  /** Why the target was skipped without an upstream call (open breaker, unhealthy, no local slot). */
  skipped?: SkipReason;
  /** True when the request's deadline cut the attempt short. */
  cut?: boolean;
  /** True when the attempt was a hedge (sent in parallel with others). */
  hedge?: boolean;
  /** True when a hedge race was decided by another attempt and this one was stopped (not the target's failure). */
  cancelled?: boolean;
  latencyMs: number;
}

/** What a failed attempt leads to. */
export type Decision =
  | { action: 'retry'; delayMs: number }
  /** Move on: to `stepIndex` when given (a later step whose trigger matches), else the next step. */
  | { action: 'next'; stepIndex?: number }
  | { action: 'fail' };

/** What a request gets when the requested target's breaker refuses it. */
export const BREAKER_FALLBACKS = ['error', 'cache', 'degraded'] as const;
export type BreakerFallback = (typeof BREAKER_FALLBACKS)[number];

/** How a successful flow was served. */
export type ServedBy = 'upstream' | 'cache' | 'degraded';

export type FlowOutput<R = ResultRef, S extends FlowStep = FlowStep> =
  | { ok: true; result: R; step: S; stepIndex: number; attempts: AttemptRecord[]; servedBy: ServedBy }
  /** `fellBack`: the breaker fallback the flow took before it failed (the requested target's breaker refused it). */
  | { ok: false; error: UpstreamError; attempts: AttemptRecord[]; fellBack?: BreakerFallback };

/**
 * What a stream pump waiting after a break hears once the flow has ended with nothing new to
 * serve: the flow's own error, or — when it ended on the result already being streamed — that
 * the stream is over.
 */
export function endedWithout(out: FlowOutput): { error: UpstreamError } {
  return { error: out.ok ? new UpstreamError({ kind: 'server_error', message: 'stream ended' }) : out.error };
}

/**
 * Events the stream pump sends a flow past its commit point. BROKEN carries the text the
 * client has so far (for a continuation) and whether tool calls were streamed (never continued).
 */
export type StreamEvent =
  | { type: 'END' }
  | { type: 'BROKEN'; error: UpstreamError; partial: string; toolCalls: boolean };
