/**
 * The normalised per-request policy: what the seed's X-* headers ask for, merged over the
 * config-level defaults, in milliseconds and camelCase. Built once per request by
 * `parsePolicy` (./parse-headers.ts); everything downstream reads only these types.
 */
import type { BreakerConfig, BreakerFallback } from '../core/breaker/config.ts';
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
  /** Kinds that send the request here (`any_error` = every kind but bad_request and content_filter). A single string in the header becomes a one-element list. */
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
  /** Tried in order; a fallback is eligible when one of its triggers matches the last failure's kind. Empty: no failover. */
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
  /**
   * The kinds that move the request to a step with no trigger of its own (an
   * X-Failover-Providers chain or the default chain): `resilience.failover.triggers`.
   */
  readonly triggers: readonly ErrorTrigger[];
}

/** Backoff shape. `custom` = per-kind rules; kinds without a rule use exponential backoff. */
export type RetryStrategy = 'exponential' | 'linear' | 'fixed' | 'custom';

/** The seed's sentinel for "wait what the provider's Retry-After says". */
export const PARSE_RETRY_AFTER = 'parse_retry_after_header';

/** One rule of a custom retry strategy: the rule naming the failure's kind decides, else the `any_error` rule. */
export interface RetryRule {
  /** Header `error_type`: the kind this rule governs (`any_error` = every kind that may be retried). */
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

/** X-Hedge-Config `strategy`: keep the fastest answer (`latency`) or the first good one. */
export type HedgeStrategy = 'latency' | 'first-success';

/** Request hedging as asked for (X-Request-Hedging, X-Hedge-Config). */
export interface HedgePolicy {
  /** X-Request-Hedging; when absent, true (X-Hedge-Config was sent). */
  readonly enabled: boolean;
  /** Header `strategy`; default `latency`. */
  readonly strategy: HedgeStrategy;
  /** Header `providers` (configured providers, in order); undefined: not given. */
  readonly providers: readonly string[] | undefined;
  /** Header `delay_ms`: when the next parallel request starts; undefined: not given. */
  readonly delayMs: number | undefined;
  /** Header `cancel_slower`; default true. */
  readonly cancelSlower: boolean;
  /** Header `max_additional_cost` (USD) the hedges may add; undefined: no limit given. */
  readonly maxAdditionalCostUsd: number | undefined;
}

/** What puts a request into degraded mode (X-Degraded-Mode-Config `triggers`, a strategy's `condition`). */
export type DegradedTrigger = 'high_latency' | 'partial_outage' | 'rate_limiting';

/** One X-Degraded-Mode-Config strategy; `config` holds the action's own fields, each undefined when not sent. */
export type DegradedStrategy =
  | {
      readonly condition: DegradedTrigger;
      readonly action: 'reduce_quality';
      readonly config: {
        readonly useModel: string | undefined;
        /** Factor 0 < f <= 1 on max_tokens. */
        readonly reduceMaxTokens: number | undefined;
        readonly disableStreaming: boolean | undefined;
        readonly cacheAggressively: boolean | undefined;
      };
    }
  | {
      readonly condition: DegradedTrigger;
      readonly action: 'feature_flags';
      readonly config: {
        readonly disableFeatures: readonly string[] | undefined;
        readonly simplifyPrompts: boolean | undefined;
        readonly useCachedResponses: boolean | undefined;
        readonly cacheTtlMultiplier: number | undefined;
      };
    }
  | {
      readonly condition: DegradedTrigger;
      readonly action: 'queue_and_batch';
      readonly config: {
        readonly batchSize: number | undefined;
        readonly maxQueueTimeMs: number | undefined;
        readonly priorityQueue: boolean | undefined;
        readonly notifyUsers: boolean | undefined;
      };
    };

/** Degraded mode as asked for (X-Degraded-Mode-Config). */
export interface DegradedModePolicy {
  /** Header `enabled`; default true. */
  readonly enabled: boolean;
  readonly triggers: readonly DegradedTrigger[];
  /** At most one per condition, each condition listed in `triggers`. */
  readonly strategies: readonly DegradedStrategy[];
  /** Header `user_notification`; undefined when not sent. */
  readonly userNotification:
    | { readonly enabled: boolean; readonly message: string | undefined; readonly showStatus: boolean | undefined }
    | undefined;
}

/** X-User-Priority: `high` users skip degradation; `normal` when not sent. */
export type UserPriority = 'high' | 'normal' | 'low';

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
  /** X-Request-Hedging and X-Hedge-Config; undefined when neither was sent. */
  readonly hedging: HedgePolicy | undefined;
  /** X-Degraded-Mode-Config; undefined when not sent. */
  readonly degradedMode: DegradedModePolicy | undefined;
  /** X-User-Priority. */
  readonly userPriority: UserPriority;
}

/** Config-level failover defaults. */
export interface FailoverDefaults {
  readonly enabled: boolean;
  /** The default chain when the request names none; may be empty (no failover target configured). */
  readonly providers: readonly string[];
  /** Kinds that move a request along a chain whose steps have no trigger of their own. */
  readonly triggers: readonly ErrorTrigger[];
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
  /** Model names a request may name (configured names and `provider/model`); a `use_model` naming any other is a 400. */
  readonly models: ReadonlySet<string>;
  readonly defaults: PolicyDefaults;
}
