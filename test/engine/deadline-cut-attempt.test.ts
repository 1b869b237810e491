import { describe, expect, it } from 'vitest';
import { Harness } from './harness.ts';

/**
 * The minimal counterexamples of the two failing orchestration properties ("reports every
 * upstream call to its target", "holds no half-open trial slot once the request is final"):
 * when the request's deadline strikes while an attempt is in flight, the machine goes
 * straight to `failed` (machines/request.machine.ts, formerly working.after.deadline) without
 * `report`ing the cut attempt, and nothing releases the half-open trial it holds
 * (only RunHandle.cancel() does).
 */

const breakerState = (h: Harness, provider: string): string => String(h.engine.targets.get(provider, 'm').breakers.default.getSnapshot().value);

describe('an attempt cut by the request deadline', () => {
  it('counts as a timeout for its target, so a silent provider trips the breaker under a short client deadline', async () => {
    // error_threshold 1: the first failure the breaker hears opens it.
    const h = new Harness({
      attemptTimeoutMs: 60_000,
      requestTimeoutMs: 30_000,
      retryBudget: { maxTokens: 10, ratio: 0.2 },
      breaker: { error_threshold: 1 },
      script: [{ type: 'hang' }, { type: 'ok', delayMs: 0 }],
      seed: 1,
    });
    try {
      const first = h.start({ 'x-request-timeout-ms': '1000' });
      await h.advance(1_000);
      expect(first.out).toMatchObject({ ok: false, error: { kind: 'timeout', message: 'request deadline of 1000 ms exceeded' } });
      expect(h.calls.map((c) => [c.provider, c.end, c.endedAt])).toEqual([['p0', 'aborted', 1_000]]);

      expect(h.modelRequests('p0')).toBe(1);
      expect(breakerState(h, 'p0')).toBe('open');
      const second = h.start({ 'x-request-timeout-ms': '1000' });
      await h.advance(0);
      // The open breaker refuses p0 without a call.
      expect(h.calls).toHaveLength(1);
      expect(second.out?.attempts.map((a) => a.skipped ?? false)).toEqual(['circuit_open']);
    } finally {
      h.stop();
    }
  });

  it('releases the half-open trial slot it held: no later request is refused by a half-open breaker with no trial in flight', async () => {
    // Opens on one failure, half-open after 5 s, one trial at a time (lease = 5 s).
    const h = new Harness({
      attemptTimeoutMs: 60_000,
      requestTimeoutMs: 30_000,
      retryBudget: { maxTokens: 10, ratio: 0.2 },
      breaker: { error_threshold: 1, timeout: 5, half_open_requests: 1 },
      script: [{ type: 'error', kind: 'server_error', delayMs: 0 }, { type: 'hang' }, { type: 'ok', delayMs: 0 }],
      seed: 1,
    });
    try {
      h.start({});
      await h.advance(5_000);
      expect(breakerState(h, 'p0')).toBe('half_open');

      // A 500 ms client deadline, under MIN_CUT_TO_COUNT_MS (src/serve/flow-runtime.ts): the cut is
      // not held against p0, so this exercises the path that releases the trial slot rather
      // than reporting the cut as a failed trial.
      const trial = h.start({ 'x-request-timeout-ms': '500' });
      await h.advance(500);
      expect(trial.out).toMatchObject({ ok: false, error: { kind: 'timeout' } });
      expect(h.calls.map((c) => [c.request, c.breaker, c.holdsTrial])).toEqual([[0, 'closed', false], [1, 'half_open', true]]);
      expect(trial.trialsAtDone).toEqual([]);
      // The short cut counted nothing against p0: still half-open, its slot free again.
      expect(breakerState(h, 'p0')).toBe('half_open');

      // Whether the fix reports the cut as a failed trial (open again) or releases the slot
      // (still half-open, next request is the trial), a half-open refusal is wrong here.
      const next = h.start({});
      await h.advance(0);
      expect([breakerState(h, 'p0'), next.out?.attempts[0].skipped ?? false]).not.toEqual(['half_open', 'circuit_open']);
      // Released, not reported: the next request is the new trial, let through to p0.
      expect(next.out?.attempts[0].skipped ?? false).toBe(false);
      expect(h.calls.map((c) => [c.request, c.breaker, c.holdsTrial])).toEqual([[0, 'closed', false], [1, 'half_open', true], [2, 'half_open', true]]);
    } finally {
      h.stop();
    }
  });
});
