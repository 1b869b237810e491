/**
 * What to do after one failed attempt on one target: wait and retry it, move on to the next
 * target, or give up. Pure: the caller owns the clock, the budget and the randomness.
 */
import type { ErrorKind } from '../core/error-kinds.ts';
import type { RetryHints } from '../core/upstream-error.ts';
import { PARSE_RETRY_AFTER, type RetryPolicy, type RetryRule } from '../policy/types.ts';

/** The failed attempt, as decideRetry needs to see it. */
export interface RetryState {
  /** The failure's kind (UpstreamError.kind). */
  readonly kind: ErrorKind;
  /** Retries already made on this target (0 after the first failure). */
  readonly attempt: number;
  /** Retry-After and rate-limit hints the provider sent with the failure. */
  readonly hints: RetryHints;
  /** Time left before the request's deadline; Infinity when there is none. */
  readonly remainingMs: number;
  /** UpstreamError.fatal: a failure waiting cannot heal (e.g. a per-day quota). */
  readonly fatal: boolean;
}

/** Why a retry on the same target was refused. */
export type FailoverReason =
  /** context_length_exceeded or content_filter: the same model will refuse again (the chain's triggers decide whether another is asked). */
  | 'not_retryable'
  /** quota_exceeded: billing, not load; waiting does not help. */
  | 'quota_exceeded'
  /** The adapter marked the failure fatal. */
  | 'fatal'
  /** The kind is not in retry_on (and no custom rule names it). */
  | 'not_in_retry_on'
  /** max_retries, or the rule's attempts list, is used up. */
  | 'retries_exhausted'
  /** The rule's switch_provider_after count is reached. */
  | 'switch_provider_after'
  /** The rule says immediate_failover. */
  | 'immediate_failover'
  /** The provider's Retry-After is longer than the policy lets us wait. */
  | 'retry_after_too_long'
  /** The delay would reach the request's deadline. */
  | 'deadline';

/** decideRetry's answer. `failover` means "not this target again"; the orchestrator fails if no target is left. */
export type RetryDecision =
  | { readonly action: 'retry'; readonly delayMs: number }
  | { readonly action: 'failover'; readonly reason: FailoverReason }
  | { readonly action: 'fail' };

const FAIL: RetryDecision = Object.freeze({ action: 'fail' });
const FAILOVER = {} as Record<FailoverReason, RetryDecision>;
for (const reason of [
  'not_retryable',
  'quota_exceeded',
  'fatal',
  'not_in_retry_on',
  'retries_exhausted',
  'switch_provider_after',
  'immediate_failover',
  'retry_after_too_long',
  'deadline',
] as const) {
  FAILOVER[reason] = Object.freeze({ action: 'failover', reason });
}
Object.freeze(FAILOVER);

/**
 * Decides the next step after a failed attempt.
 *
 * - bad_request fails (the client's fault; no provider can fix it); context_length_exceeded
 *   and content_filter, quota_exceeded and fatal failures are never retried: `failover` (the
 *   caller's chain decides whether a next target takes the kind; content_filter only where a
 *   trigger names it).
 * - Custom strategy: the rule naming the kind (else the `any_error` rule) decides; kinds
 *   without a rule fall through to exponential backoff over `retryOn`.
 * - Backoff: exponential `initial * multiplier^n`, linear `initial * (n + 1)`, fixed `initial`,
 *   each capped at maxDelayMs, then full jitter (uniform over [0, delay]) when enabled. A
 *   Retry-After hint is a floor; one above maxDelayMs fails over instead of waiting.
 * - A delay that would reach the deadline fails over instead of sleeping.
 *
 * Every retry delay is within [0, maxDelayMs], or for a rule within [0, its max_wait_ms or
 * attempt delay]; retries never exceed maxRetries (or the rule's attempts length).
 *
 * @param rng uniform in [0, 1), e.g. Math.random; injected so tests are deterministic.
 * @example
 * decideRetry(policy.retry, { kind: 'timeout', attempt: 0, hints: {}, remainingMs: 5000, fatal: false }, Math.random)
 * // { action: 'retry', delayMs: 63 }
 */
export function decideRetry(policy: RetryPolicy, state: RetryState, rng: () => number): RetryDecision {
  const { kind, attempt } = state;
  if (kind === 'bad_request') return FAIL;
  if (kind === 'context_length_exceeded' || kind === 'content_filter') return FAILOVER.not_retryable;
  if (kind === 'quota_exceeded') return FAILOVER.quota_exceeded;
  if (state.fatal) return FAILOVER.fatal;

  const rule = policy.rules.length === 0 ? undefined : ruleFor(policy.rules, kind);
  let delayMs: number;
  if (rule === undefined) {
    if (!policy.retryOn.includes(kind)) return FAILOVER.not_in_retry_on;
    if (attempt >= policy.maxRetries) return FAILOVER.retries_exhausted;
    delayMs = backoffDelay(policy, attempt, rng);
    const hint = state.hints.retryAfterMs;
    if (hint !== undefined) {
      if (hint > policy.maxDelayMs) return FAILOVER.retry_after_too_long;
      if (hint > delayMs) delayMs = hint;
    }
  } else {
    if (rule.immediateFailover === true) return FAILOVER.immediate_failover;
    if (rule.switchProviderAfter !== undefined && attempt >= rule.switchProviderAfter) {
      return FAILOVER.switch_provider_after;
    }
    const bound = rule.attempts === undefined ? policy.maxRetries : rule.attempts.length;
    if (attempt >= bound) return FAILOVER.retries_exhausted;
    const ruled = ruleDelay(policy, rule, attempt, state.hints, rng);
    if (ruled === undefined) return FAILOVER.retry_after_too_long;
    delayMs = ruled;
  }
  if (delayMs >= state.remainingMs) return FAILOVER.deadline;
  return { action: 'retry', delayMs };
}

/** The rule naming the kind, else the catch-all `any_error` rule (which never matches bad_request; handled earlier). */
function ruleFor(rules: readonly RetryRule[], kind: ErrorKind): RetryRule | undefined {
  let catchAll: RetryRule | undefined;
  for (const r of rules) {
    if (r.errorType === kind) return r;
    if (r.errorType === 'any_error') catchAll = r;
  }
  return catchAll;
}

/** A rule's delay for retry number `attempt`; undefined when the provider asks for a longer wait than the rule allows. */
function ruleDelay(
  policy: RetryPolicy,
  rule: RetryRule,
  attempt: number,
  hints: RetryHints,
  rng: () => number,
): number | undefined {
  // The parser guarantees attempts and a numeric wait_ms are within max_wait_ms.
  if (rule.attempts !== undefined) return rule.attempts[attempt]!;
  if (typeof rule.waitMs === 'number') return rule.waitMs;
  const cap = rule.maxWaitMs ?? policy.maxDelayMs;
  if (rule.waitMs === PARSE_RETRY_AFTER) {
    const hint = hints.retryAfterMs;
    // Retrying before the provider's stated time only earns another 429: move on instead.
    if (hint !== undefined) return hint > cap ? undefined : hint;
    return Math.min(policy.initialDelayMs, cap);
  }
  return Math.min(backoffDelay(policy, attempt, rng), cap);
}

/**
 * The strategy's delay before retry number `n` (0-based), capped at maxDelayMs, with full
 * jitter when enabled. Custom uses exponential for kinds without a delay of their own.
 *
 * @example
 * backoffDelay({ ...policy, strategy: 'exponential', initialDelayMs: 100, multiplier: 2, jitter: false }, 3, Math.random) // 800
 */
export function backoffDelay(policy: RetryPolicy, n: number, rng: () => number): number {
  const base = policy.initialDelayMs;
  const raw =
    policy.strategy === 'linear' ? base * (n + 1) : policy.strategy === 'fixed' ? base : base * policy.multiplier ** n;
  // `<` rather than Math.min so a NaN (0 * Infinity) lands on the cap, never escapes.
  const capped = raw < policy.maxDelayMs ? raw : policy.maxDelayMs;
  if (!policy.jitter) return Math.round(capped);
  // Full jitter over the integers [0, top]; clamped so a sloppy rng cannot leave the range.
  const top = Math.floor(capped);
  const drawn = Math.floor(rng() * (top + 1));
  return drawn > top ? top : drawn > 0 ? drawn : 0;
}
