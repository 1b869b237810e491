import type { Decision, FlowStep } from '../core/flow.ts';
import { triggersMatch, type ErrorKind, type ErrorTrigger } from '../core/error-kinds.ts';
import type { UpstreamError } from '../core/upstream-error.ts';
import type { RetryPolicy } from '../policy/types.ts';
import { decideRetry } from './retry.ts';

const FAIL: Decision = Object.freeze({ action: 'fail' });

/** Everything the decision reads about one failed attempt. */
export interface FailureFacts {
  error: UpstreamError;
  steps: readonly FlowStep[];
  stepIndex: number;
  /** Attempts made on this step so far (the failed one included). */
  stepAttempts: number;
  /** ms left before the request's deadline. */
  remainingMs: number;
  retry: RetryPolicy;
  /** What moves a failure to a step without triggers of its own (the config's resilience.failover.triggers). */
  chainTriggers: readonly ErrorTrigger[];
  /** A step's observed latency (the target's moving average), null when unknown. */
  latencyOf: (stepIndex: number) => number | null;
  /** The failed step's target has a retry-budget token to spend. */
  budgetLeft: boolean;
  /** The failed step's breaker (for this request's config) is open now: this failure may have opened it. */
  breakerOpen: boolean;
}

/**
 * Kinds that move on at once while a later step can take the request, even though the retry
 * policy would retry them: a silent provider (`timeout`) is retried on the same route by
 * nearly every other gateway, which is how a request comes to take 90 s to fail; and
 * `model_overloaded` (Anthropic's 529) is load across the provider's customers, which a
 * retry a few hundred ms later only adds to. A custom X-Retry-Config rule naming the kind
 * still retries it; on the last step they are retried as the policy says.
 */
const MOVE_ON_FIRST: ReadonlySet<ErrorKind> = new Set<ErrorKind>(['timeout', 'model_overloaded']);

/**
 * What a request does after a failed attempt. Retries first: the retry policy (X-Max-Retries,
 * X-Retry-Delay-Ms, X-Retry-Strategy, X-Retry-Config, else the config's retry block) is spent
 * on the same target first: a transient failure (a 500, a reset, a 429) is retried after the
 * policy's backoff, a Retry-After that fits the policy's wait and the deadline is waited out,
 * each retry paid for by the target's retry budget. Then the chain moves on. It moves on at
 * once, without retrying, when:
 * - the target was skipped without a call (open breaker, health checks, a local limit);
 * - the failure opened (or found open) the target's breaker;
 * - the kind cannot succeed on the same target (context length, auth, quota, a fatal quota)
 *   or is not in `retry_on`, or a rule says `immediate_failover`, or `switch_provider_after`
 *   is reached;
 * - the provider's Retry-After is longer than the policy lets the request wait, or reaches
 *   the deadline;
 * - the target's retry budget is spent;
 * - the kind is `timeout` or `model_overloaded` (MOVE_ON_FIRST) and no custom rule names it.
 * `bad_request` never retries and never fails over: the client's own fault. A content-filter
 * refusal is never retried (a refusal is deterministic) and moves on only where a trigger
 * names `content_filter`.
 *
 * A later step of X-Failover-Config is eligible when one of its triggers matches the failure's
 * kind and its observed latency is within max_latency_increase of the primary's; a step with
 * no trigger of its own (X-Failover-Providers, the default chain) when one of the config's
 * `resilience.failover.triggers` matches. `any_error` matches neither bad_request nor
 * content_filter. A skipped target makes every later step eligible.
 *
 * Pure: the caller passes the target facts and the randomness.
 */
export function decideAfterFailure(f: FailureFacts, rng: () => number): Decision {
  const err = f.error;
  if (err.skipped !== undefined) return next(nextEligible(f, err.kind, true));
  if (err.kind === 'bad_request') return FAIL;
  const later = nextEligible(f, err.kind, false);
  if (f.breakerOpen) return next(later);
  const rules = f.retry.rules;
  const ruled = rules.length > 0 && rules.some((r) => r.errorType === err.kind);
  if (later !== -1 && !ruled && MOVE_ON_FIRST.has(err.kind)) return { action: 'next', stepIndex: later };
  const verdict = decideRetry(
    f.retry,
    { kind: err.kind, attempt: f.stepAttempts - 1, hints: err.hints, remainingMs: f.remainingMs, fatal: err.fatal },
    rng,
  );
  if (verdict.action === 'retry' && f.budgetLeft) return verdict;
  if (verdict.action === 'fail') return FAIL;
  return next(later);
}

function next(stepIndex: number): Decision {
  return stepIndex === -1 ? FAIL : { action: 'next', stepIndex };
}

/** The first later step that may take a failure of `kind` (-1: none). */
function nextEligible(f: FailureFacts, kind: ErrorKind, anyTrigger: boolean): number {
  const steps = f.steps;
  for (let i = f.stepIndex + 1; i < steps.length; i++) {
    const s = steps[i];
    if (!anyTrigger && !triggersMatch(s.trigger ?? f.chainTriggers, kind)) continue;
    if (s.maxLatencyIncreaseMs !== undefined) {
      const mine = f.latencyOf(i);
      const base = f.latencyOf(0);
      if (mine !== null && base !== null && mine - base > s.maxLatencyIncreaseMs) continue;
    }
    return i;
  }
  return -1;
}
