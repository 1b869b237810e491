/**
 * The normalised per-request policy: what the seed's X-* headers ask for, merged over the
 * config-level defaults, in milliseconds and camelCase. Built once per request by
 * `parsePolicy` (./parse-headers.ts); everything downstream reads only these types.
 */
import type { BreakerConfig, BreakerFallback } from '../breaker/config.ts';
import type { ErrorKind, ErrorTrigger } from '../core/error-kinds.ts';

/** One provider + model pair a request can be sent to. */
export interface FailoverTarget {
  /** A configured provider name, e.g. "openai". */
  readonly provider: string;
  /** The model name as the provider knows it, e.g. "claude-3-opus". */
  readonly model: string;
}

/** One entry of X-Failover-Config `fallbacks`: where to go when the previous target failed with a matching kind. */
export interface FallbackRule extends FailoverTarget {
  /** Kinds that send the request here (`any_error` = every kind but bad_request). A single string in the header becomes a one-element list. */
  readonly trigger: readonly ErrorTrigger[];
  /** Header `max_latency_increase` (ms): extra latency over the primary this fallback may add; undefined = unbounded. */
  readonly maxLatencyIncreaseMs?: number;
  /** Header `reduce_quality`: the client accepts a lower-quality model for availability. */
  readonly reduceQuality?: boolean;
  /** Header `reduce_max_tokens`: factor 0 < f <= 1 applied to the request's max_tokens on this fallback. */
  readonly reduceMaxTokens?: number;
}

/** The advanced form of failover (X-Failover-Config). */
export interface AdvancedFailover {
  /** Where the request goes first. */
  readonly primary: FailoverTarget;
  /** Tried in order; a fallback is eligible when one of its triggers matches the last failure's kind. */
  readonly fallbacks: readonly FallbackRule[];
  /** Header `health_check_interval` (seconds) in ms: how often an unhealthy primary is probed. */
  readonly healthCheckIntervalMs: number;
  /** Consecutive primary failures after which requests skip straight to the fallbacks. */
  readonly failureThreshold: number;
  /** Consecutive primary successes (probes) after which the primary is used again. */
  readonly successThreshold: number;
}

/** Failover as the request asked for it (simple headers or X-Failover-Config). */
export interface FailoverPolicy {
  /** X-Failover-Enabled; when absent, true if X-Failover-Providers or X-Failover-Config was sent, else the config default. */
  readonly enabled: boolean;
  /**
   * Ordered provider chain: X-Failover-Providers, or the distinct providers of the advanced
   * config (primary first, then fallbacks in order), or the config default.
   */
  readonly providers: readonly string[];
  /** True when the request named the providers (X-Failover-Providers): one without an equivalent model is a 400. */
  readonly explicitProviders: boolean;
  /** X-Max-Retries: retries on one target before moving to the next. Always equal to `retry.maxRetries`. */
  readonly maxRetries: number;
  /** X-Retry-Delay-Ms: base delay between those retries. Always equal to `retry.initialDelayMs`. */
  readonly retryDelayMs: number;
  /** X-Failover-Config, normalised; undefined when the header was not sent. */
  readonly advanced: AdvancedFailover | undefined;
}

/** Backoff shape. `custom` = per-kind rules; kinds without a rule use exponential backoff. */
export type RetryStrategy = 'exponential' | 'linear' | 'fixed' | 'custom';

/** The seed's sentinel for "wait what the provider's Retry-After says". */
export const PARSE_RETRY_AFTER = 'parse_retry_after_header';

/** One rule of a custom retry strategy: the rule naming the failure's kind decides, else the `any_error` rule. */
export interface RetryRule {
  /** Header `error_type`: the kind this rule governs (`any_error` = every kind but bad_request). */
  readonly errorType: ErrorTrigger;
  /** Header `wait_ms`: a fixed delay, or the provider's Retry-After hint. Absent = the policy's backoff. */
  readonly waitMs?: number | typeof PARSE_RETRY_AFTER;
  /** Header `max_wait_ms`: the longest delay this rule may wait; a Retry-After hint above it fails over instead. */
  readonly maxWaitMs?: number;
  /** Header `attempts`: the delay before each retry; its length bounds the retries on one target. */
  readonly attempts?: readonly number[];
  /** Header `switch_provider_after`: after this many retries on one target, fail over. */
  readonly switchProviderAfter?: number;
  /** Header `immediate_failover`: fail over at once, never retry this kind on the same target. */
  readonly immediateFailover?: boolean;
}

/** Retries on one target (X-Retry-Strategy, X-Retry-Config, X-Max-Retries, X-Retry-Delay-Ms). */
export interface RetryPolicy {
  readonly strategy: RetryStrategy;
  /** Delay before the first retry; the base of every strategy. */
  readonly initialDelayMs: number;
  /** No backoff delay exceeds this; a Retry-After hint above it fails over instead of waiting. */
  readonly maxDelayMs: number;
  /** Exponential growth factor (>= 1); unused by linear and fixed. */
  readonly multiplier: number;
  /** Retries on one target before failing over (custom rules with `attempts` bound themselves). */
  readonly maxRetries: number;
  /** Full jitter: the delay is drawn uniformly from [0, delay]. */
  readonly jitter: boolean;
  /** Kinds that are retried on the same target; any other kind fails over at once. */
  readonly retryOn: readonly ErrorKind[];
  /** Custom rules, in header order; empty unless strategy is `custom`. */
  readonly rules: readonly RetryRule[];
}

/** Everything a request asked for, normalised. Frozen: share it, never mutate it. */
export interface RequestPolicy {
  readonly failover: FailoverPolicy;
  /** X-Circuit-Breaker over the default breaker config; undefined when the header is absent (use the target's default breaker). */
  readonly breaker: BreakerConfig | undefined;
  /** X-Circuit-Breaker-Fallback: what an open breaker answers with. */
  readonly breakerFallback: BreakerFallback;
  readonly retry: RetryPolicy;
  /** X-Request-Timeout-Ms: the whole request's deadline, across retries and failovers. */
  readonly requestTimeoutMs: number;
}

/** Config-level failover defaults. */
export interface FailoverDefaults {
  readonly enabled: boolean;
  /** The default chain when the request names none; may be empty (no failover target configured). */
  readonly providers: readonly string[];
  readonly healthCheckIntervalMs: number;
  readonly failureThreshold: number;
  readonly successThreshold: number;
}

/** The config-level defaults every header is merged over. */
export interface PolicyDefaults {
  readonly failover: FailoverDefaults;
  /** Fills the fields an X-Circuit-Breaker header leaves out. */
  readonly breaker: BreakerConfig;
  readonly breakerFallback: BreakerFallback;
  /** The retry policy of a request that sends no retry header. */
  readonly retry: RetryPolicy;
  readonly requestTimeoutMs: number;
}

/** What `parsePolicy` needs to know about the running gateway. */
export interface PolicyContext {
  /** Configured provider names; a header naming any other provider is a 400. */
  readonly providers: ReadonlySet<string>;
  readonly defaults: PolicyDefaults;
}
