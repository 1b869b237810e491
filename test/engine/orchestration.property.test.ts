import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { refusalScenario, scenario, type Scenario } from './arbitraries.ts';
import {
  attemptsOf,
  callsOf,
  checkBreakerGate,
  checkCallBound,
  checkDeadline,
  checkEveryCallReported,
  checkTrialsReleased,
  checkNonRetryable,
  checkNoRevisit,
  checkRetryDelays,
} from './checks.ts';
import { Harness } from './harness.ts';

/**
 * Properties of the whole request path: the real request machine, createDecider, the
 * targets' real breakers and retry budgets inside a real Engine, policies from parsePolicy
 * over random valid headers, plans from buildPlan, over random upstream scripts (every error
 * kind, successes, delays, hangs) and random overlapping request timelines on a simulated
 * clock. Each property also counts how often its situation occurred, so it cannot pass
 * vacuously on a generator that never reaches it.
 *
 * ENGINE_PROPERTY_RUNS raises the number of runs per property (default 60: each property
 * stays under about 2 s).
 */
const runs = { numRuns: Number(process.env.ENGINE_PROPERTY_RUNS ?? 60) };

/** Everything past the last request: the longest deadline (30 s) and then some. */
const TAIL_MS = 35_000;

/** Runs a scenario to the end: every request is final by then (its deadline is at most 30 s). */
async function simulate(s: Scenario): Promise<Harness> {
  const h = new Harness({
    attemptTimeoutMs: s.attemptTimeoutMs,
    requestTimeoutMs: 30_000,
    retryBudget: { maxTokens: s.budgetTokens, ratio: 0.2 },
    breaker: s.breaker,
    chainTriggers: s.chainTriggers,
    script: s.script,
    probeScript: s.probeScript,
    seed: s.seed,
  });
  try {
    for (const r of s.requests) {
      await h.advance(r.gapMs);
      h.start(r.headers);
    }
    await h.advance(TAIL_MS);
  } finally {
    h.stop();
  }
  return h;
}

describe('request orchestration (properties)', () => {
  it('never calls upstream through an open breaker, nor in half-open without a trial slot', async () => {
    let skipped = 0;
    let trials = 0;
    await fc.assert(
      fc.asyncProperty(scenario, async (s) => {
        const h = await simulate(s);
        checkBreakerGate(h);
        for (const rec of h.requests) skipped += rec.out?.attempts.filter((a) => a.skipped).length ?? 0;
        trials += h.calls.filter((c) => c.breaker === 'half_open').length;
      }),
      runs,
    );
    expect(skipped).toBeGreaterThan(0);
    expect(trials).toBeGreaterThan(0);
  });

  it('makes at most 1 + max_retries calls per step (or the rule attempts length), steps * (1 + bound) in all', async () => {
    let retried = 0;
    await fc.assert(
      fc.asyncProperty(scenario, async (s) => {
        const h = await simulate(s);
        checkCallBound(h);
        retried += h.requests.filter((rec) => new Set(callsOf(h, rec).map((c) => c.stepIndex)).size < callsOf(h, rec).length).length;
      }),
      runs,
    );
    expect(retried).toBeGreaterThan(0);
  });

  it('waits between 0 and max_delay_ms (or the rule max_wait_ms) before every retry, rule attempts delays exactly', async () => {
    let retries = 0;
    await fc.assert(
      fc.asyncProperty(scenario, async (s) => {
        retries += checkRetryDelays(await simulate(s));
      }),
      runs,
    );
    expect(retries).toBeGreaterThan(0);
  });

  it('is final by its deadline whatever upstream does (hangs included), and starts no call after it', async () => {
    let deadlines = 0;
    await fc.assert(
      fc.asyncProperty(scenario, async (s) => {
        const h = await simulate(s);
        checkDeadline(h);
        deadlines += h.requests.filter((r) => r.out?.ok === false && r.out.error.message.startsWith('request deadline')).length;
      }),
      runs,
    );
    expect(deadlines).toBeGreaterThan(0);
  });

  it('never retries or fails over a bad_request; never retries context_length_exceeded or content_filter on the same step', async () => {
    const seen = { bad_request: 0, context_length_exceeded: 0, content_filter: 0 };
    await fc.assert(
      fc.asyncProperty(scenario, async (s) => {
        const h = await simulate(s);
        checkNonRetryable(h);
        for (const rec of h.requests) {
          for (const a of attemptsOf(h, rec)) {
            const k = a.record.kind;
            if (a.call !== undefined && (k === 'bad_request' || k === 'context_length_exceeded' || k === 'content_filter')) seen[k]++;
          }
        }
      }),
      runs,
    );
    expect(Object.values(seen).every((n) => n > 0)).toBe(true);
  });

  it('fails a content_filter refusal over only to a step whose trigger (or the chain\'s) names content_filter', async () => {
    // Refusals with a later step in the chain: the request stopped there, or moved on.
    const seen = { stopped: 0, failedOver: 0 };
    await fc.assert(
      fc.asyncProperty(refusalScenario, async (s) => {
        const h = await simulate(s);
        checkNonRetryable(h);
        for (const rec of h.requests) {
          const attempts = attemptsOf(h, rec);
          attempts.forEach((a, i) => {
            if (a.call === undefined || a.record.kind !== 'content_filter' || a.record.step === rec.steps.length - 1) return;
            if (attempts[i + 1] === undefined) seen.stopped++;
            else seen.failedOver++;
          });
        }
      }),
      runs,
    );
    expect(seen.stopped).toBeGreaterThan(0);
    expect(seen.failedOver).toBeGreaterThan(0);
  });

  it('never revisits an earlier step after failing over', async () => {
    let failovers = 0;
    await fc.assert(
      fc.asyncProperty(scenario, async (s) => {
        const h = await simulate(s);
        checkNoRevisit(h);
        for (const rec of h.requests) {
          const steps = attemptsOf(h, rec).map((a) => a.record.step);
          failovers += steps.filter((st, i) => i > 0 && st > steps[i - 1]).length;
        }
      }),
      runs,
    );
    expect(failovers).toBeGreaterThan(0);
  });

  it('reports every upstream call to its target, a call cut by the deadline included', async () => {
    await fc.assert(
      fc.asyncProperty(scenario, async (s) => {
        checkEveryCallReported(await simulate(s));
      }),
      runs,
    );
  });

  it('holds no half-open trial slot once the request is final', async () => {
    let heldTrial = 0;
    await fc.assert(
      fc.asyncProperty(scenario, async (s) => {
        const h = await simulate(s);
        checkTrialsReleased(h);
        heldTrial += h.requests.filter((rec) => callsOf(h, rec).some((c) => c.holdsTrial)).length;
      }),
      runs,
    );
    expect(heldTrial).toBeGreaterThan(0);
  });
});
