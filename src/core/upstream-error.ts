import type { ErrorKind } from './error-kinds.ts';

/** Rate-limit state a provider reported in its headers (x-ratelimit-*, anthropic-ratelimit-*). */
export interface RateLimitInfo {
  limitRequests?: number;
  remainingRequests?: number;
  /** ms until the request limit resets */
  resetRequestsMs?: number;
  limitTokens?: number;
  remainingTokens?: number;
  /** ms until the token limit resets */
  resetTokensMs?: number;
}

/** What the provider told us about when to come back. */
export interface RetryHints {
  /** From Retry-After (seconds or HTTP-date), retry-after-ms, or Gemini's RetryInfo.retryDelay. */
  retryAfterMs?: number;
  rateLimit?: RateLimitInfo;
}

export interface UpstreamErrorInit {
  kind: ErrorKind;
  message: string;
  /** Upstream HTTP status; 0 when no response was received (connection error, timeout). */
  status?: number;
  /** Provider's own error code/type, e.g. `insufficient_quota`, `overloaded_error`, `RESOURCE_EXHAUSTED`. */
  providerCode?: string;
  /** OpenAI-shape `param`, when the provider named one. */
  param?: string | null;
  hints?: RetryHints;
  /** True when the failure arrived in-band, inside a 200 stream. */
  inBand?: boolean;
  /**
   * True when the quota failure can never heal by waiting (e.g. Gemini per-day quota):
   * fail over, never retry.
   */
  fatal?: boolean;
  /**
   * Set when no upstream call was made because the gateway skipped the target: its breaker
   * is open (`circuit_open`), active health checks mark it down (`unhealthy`), it is too
   * slow for the fallback's max_latency_increase (`too_slow`), or the gateway's own limit
   * for it was reached (`in_flight_limit`: too many calls to it at once; `wait_limit`: the
   * call waited too long for a local connection; `local_resources`: this machine could not
   * open a connection at all, out of file descriptors or ports). None of them is the target's
   * failure.
   */
  skipped?: SkipReason;
  cause?: unknown;
}

export type SkipReason = 'circuit_open' | 'unhealthy' | 'too_slow' | LocalLimitReason;

/** The gateway's own limits: local saturation, never a provider's failure. */
export type LocalLimitReason = 'in_flight_limit' | 'wait_limit' | 'local_resources';

export function isLocalLimit(reason: SkipReason | undefined): reason is LocalLimitReason {
  return reason === 'in_flight_limit' || reason === 'wait_limit' || reason === 'local_resources';
}

/**
 * One classified upstream failure. Adapters build these from the provider's real status,
 * headers and body; everything downstream (retry, failover, breakers) reads only `kind`
 * and `hints`.
 */
export class UpstreamError extends Error {
  readonly kind: ErrorKind;
  readonly status: number;
  readonly providerCode: string | undefined;
  readonly param: string | null;
  readonly hints: RetryHints;
  readonly inBand: boolean;
  readonly fatal: boolean;
  readonly skipped: SkipReason | undefined;

  constructor(init: UpstreamErrorInit) {
    super(init.message, init.cause === undefined ? undefined : { cause: init.cause });
    this.name = 'UpstreamError';
    this.kind = init.kind;
    this.status = init.status ?? 0;
    this.providerCode = init.providerCode;
    this.param = init.param ?? null;
    this.hints = init.hints ?? {};
    this.inBand = init.inBand ?? false;
    this.fatal = init.fatal ?? false;
    this.skipped = init.skipped;
  }
}

/**
 * Any failure of an attempt as an UpstreamError. The transport already turns everything an
 * attempt meets into one: the network's and the provider's failures, and whatever a
 * translator throws on the client's input (`bad_request`, src/providers/invalid-request.ts).
 * Something else thrown is a bug on the response side or in the engine: a server error, with
 * the cause kept, and not worded as a provider outage.
 */
export function toUpstreamError(err: unknown): UpstreamError {
  if (err instanceof UpstreamError) return err;
  return new UpstreamError({ kind: 'server_error', message: `attempt failed: ${(err as Error)?.message ?? String(err)}`, cause: err });
}
