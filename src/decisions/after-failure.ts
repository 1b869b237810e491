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
}

/**
 * What a request does after a failed attempt. Failover first: while a later step of the chain
 * can take the request, a failure moves there at once (the kinds that heal by waiting are
 * better served by a healthy provider now than by the same one later). Same-target retries
 * happen on the last eligible step, or when a custom X-Retry-Config rule names the kind, as
 * decideRetry allows them and the target's retry budget pays for them. So a silent target
 * (timeout) is never retried while another can be tried, unless a custom rule for `timeout`
 * says so. `bad_request` never retries and never fails over: the client's own fault.
 *
 * A later step of X-Failover-Config is eligible when one of its triggers matches the failure's
 * kind and its observed latency is within max_latency_increase of the primary's; a step with
 * no trigger of its own (X-Failover-Providers, the default chain) when one of the config's
 * `resilience.failover.triggers` matches. `any_error` matches neither bad_request nor
 * content_filter: a safety refusal moves on only where a trigger names it. A skipped target
 * (open breaker, health checks, a local limit) makes every later step eligible.
 *
 * Pure: the caller passes the target facts and the randomness.
 */
export function decideAfterFailure(f: FailureFacts, rng: () => number): Decision {
  const err = f.error;
  if (err.skipped !== undefined) return next(nextEligible(f, err.kind, true));
  if (err.kind === 'bad_request') return FAIL;
  const later = nextEligible(f, err.kind, false);
  const rules = f.retry.rules;
  const ruled = rules.length > 0 && rules.some((r) => r.errorType === err.kind);
  if (later !== -1 && !ruled) return { action: 'next', stepIndex: later };
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
