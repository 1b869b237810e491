import type { DecideInput, Decision } from '../../machines/request.machine.ts';
import { triggersMatch, type ErrorKind } from '../core/error-kinds.ts';
import { decideRetry } from '../policy/retry-decision.ts';
import type { RequestPolicy } from '../policy/types.ts';
import type { PlanStep } from './plan.ts';
import type { Targets } from './targets.ts';

const FAIL: Decision = Object.freeze({ action: 'fail' });

export interface DeciderOptions {
  policy: RequestPolicy;
  steps: readonly PlanStep[];
  targets: Targets;
  /** A target's observed latency, or null when unknown (default: the target's EWMA of successes). */
  latencyOf?: (step: PlanStep) => number | null;
  rng: () => number;
}

/**
 * What a request does after a failed attempt. Failover first: while a later step of the chain
 * can take the request, a failure moves there at once (the kinds that heal by waiting are
 * better served by a healthy provider now than by the same one later). Same-target retries
 * happen on the last eligible step, or when a custom X-Retry-Config rule names the kind, as
 * decideRetry allows them and the target's retry budget pays for them. So a silent target
 * (timeout) is never retried while another can be tried, unless a custom rule for `timeout`
 * says so.
 *
 * A fallback of X-Failover-Config is eligible when one of its triggers matches the failure's
 * kind, and its observed latency is within max_latency_increase of the primary's; a step with
 * no trigger of its own (X-Failover-Providers, the default chain) when one of the config's
 * `resilience.failover.triggers` matches. `any_error` matches neither bad_request nor
 * content_filter: a safety refusal moves on only where a trigger names it. A target that was
 * skipped (open breaker, unhealthy) makes every later step eligible.
 */
export function createDecider(o: DeciderOptions): (d: DecideInput<PlanStep>) => Decision {
  const { policy, steps, targets } = o;
  const chainTriggers = policy.failover.triggers;
  const latencyOf = o.latencyOf ?? ((s: PlanStep) => targets.byKey(s.key).stats.latencyEwmaMs);

  const nextEligible = (from: number, kind: ErrorKind, anyTrigger: boolean): number => {
    for (let i = from + 1; i < steps.length; i++) {
      const s = steps[i];
      if (!anyTrigger && !triggersMatch(s.trigger ?? chainTriggers, kind)) continue;
      if (s.maxLatencyIncreaseMs !== undefined) {
        const mine = latencyOf(s);
        const base = latencyOf(steps[0]);
        if (mine !== null && base !== null && mine - base > s.maxLatencyIncreaseMs) continue;
      }
      return i;
    }
    return -1;
  };

  return (d) => {
    const err = d.error;
    if (err.skipped !== undefined) {
      const next = nextEligible(d.stepIndex, err.kind, true);
      return next === -1 ? FAIL : { action: 'next', stepIndex: next };
    }
    if (err.kind === 'bad_request') return FAIL;
    const next = nextEligible(d.stepIndex, err.kind, false);
    const ruled = policy.retry.rules.some((r) => r.errorType === err.kind);
    if (next !== -1 && !ruled) return { action: 'next', stepIndex: next };

    const verdict = decideRetry(
      policy.retry,
      { kind: err.kind, attempt: d.stepAttempts - 1, hints: err.hints, remainingMs: d.remainingMs, fatal: err.fatal },
      o.rng,
    );
    if (verdict.action === 'retry' && targets.byKey(d.step.key).budget.canRetry()) return verdict;
    if (verdict.action === 'fail') return FAIL;
    return next === -1 ? FAIL : { action: 'next', stepIndex: next };
  };
}
