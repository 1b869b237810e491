import type { ErrorKind } from '../error-kinds.ts';

/**
 * One breaker's configuration, normalised to milliseconds. Parsed from the seed's
 * `X-Circuit-Breaker` header (seconds there) or from config defaults.
 */
export interface BreakerConfig {
  /** Failures within the window that open the breaker. */
  errorThreshold: number;
  /** Sliding window length (header: `error_threshold_window`, seconds). */
  errorThresholdWindowMs: number;
  /** Time spent open before half-open (header: `timeout`, seconds). */
  openTimeoutMs: number;
  /** Trial requests admitted in half-open; the rest take the fallback. */
  halfOpenRequests: number;
  /** Successful trials needed to close. */
  successThreshold: number;
  /** Kinds never counted as failures. */
  excludedErrors: readonly ErrorKind[];
  /** When true, a call slower than latencyThresholdMs counts as a failure. */
  monitorLatency: boolean;
  latencyThresholdMs: number;
}

export { BREAKER_FALLBACKS, type BreakerFallback } from '../flow.ts';

export const DEFAULT_BREAKER_CONFIG: BreakerConfig = Object.freeze({
  errorThreshold: 5,
  errorThresholdWindowMs: 60_000,
  openTimeoutMs: 30_000,
  halfOpenRequests: 3,
  successThreshold: 2,
  excludedErrors: Object.freeze([]) as readonly ErrorKind[],
  monitorLatency: false,
  latencyThresholdMs: 5_000,
});

/**
 * A stable key for a normalised config: identical configs share one breaker per target.
 * Excluded errors are sorted so order in the header does not matter.
 */
export function breakerConfigKey(c: BreakerConfig): string {
  return [
    c.errorThreshold,
    c.errorThresholdWindowMs,
    c.openTimeoutMs,
    c.halfOpenRequests,
    c.successThreshold,
    [...c.excludedErrors].sort().join('+'),
    c.monitorLatency ? c.latencyThresholdMs : '-',
  ].join(':');
}
