import { DEFAULT_BREAKER_CONFIG } from '../core/breaker/config.ts';
import type { PolicyDefaults, RequestPolicy, RetryPolicy } from './types.ts';

/**
 * Retry defaults: three tries in all (two retries), full-jitter exponential backoff from
 * 100 ms capped at 10 s, on the kinds that heal by waiting. quota_exceeded, auth_error and
 * the client's own errors are not here: they fail over (or fail) at once.
 */
export const DEFAULT_RETRY_POLICY: RetryPolicy = deepFreeze({
  strategy: 'exponential',
  initialDelayMs: 100,
  maxDelayMs: 10_000,
  multiplier: 2,
  maxRetries: 2,
  jitter: true,
  retryOn: ['timeout', 'rate_limit', 'model_overloaded', 'server_error', 'connection_error'],
  rules: [],
});

/**
 * Built-in defaults, for when config says nothing. Failover is on but the chain is empty:
 * config fills in its providers; a trigger-less chain moves on `any_error` (so never on a
 * bad_request or a content_filter refusal). 120 s request timeout: long completions are slow.
 */
export const DEFAULT_POLICY_DEFAULTS: PolicyDefaults = deepFreeze({
  failover: {
    enabled: true,
    providers: [],
    triggers: ['any_error'],
    healthCheckIntervalMs: 30_000,
    failureThreshold: 3,
    successThreshold: 2,
  },
  breaker: DEFAULT_BREAKER_CONFIG,
  breakerFallback: 'error',
  retry: DEFAULT_RETRY_POLICY,
  requestTimeoutMs: 120_000,
});

// Keyed by the defaults object: config builds it once, so this holds one entry per config
// generation and never grows with traffic.
const cache = new WeakMap<PolicyDefaults, RequestPolicy>();

/**
 * The policy of a request that sends none of the policy headers: one shared, frozen object
 * per defaults object, so the common path allocates nothing.
 *
 * @example
 * defaultPolicy(DEFAULT_POLICY_DEFAULTS) === defaultPolicy(DEFAULT_POLICY_DEFAULTS) // true
 */
export function defaultPolicy(defaults: PolicyDefaults): RequestPolicy {
  let policy = cache.get(defaults);
  if (policy === undefined) {
    policy = deepFreeze({
      failover: {
        enabled: defaults.failover.enabled,
        providers: defaults.failover.providers,
        explicitProviders: false,
        maxRetries: defaults.retry.maxRetries,
        retryDelayMs: defaults.retry.initialDelayMs,
        advanced: undefined,
        triggers: defaults.failover.triggers,
      },
      breaker: undefined,
      breakerFallback: defaults.breakerFallback,
      retry: defaults.retry,
      requestTimeoutMs: defaults.requestTimeoutMs,
      hedging: undefined,
      degradedMode: undefined,
      userPriority: 'normal',
    });
    cache.set(defaults, policy);
  }
  return policy;
}

/** Freezes a plain tree of objects and arrays. @internal */
export function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}
