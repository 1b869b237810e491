import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { HedgeInput } from '../../machines/hedge.machine.ts';
import type { ErrorKind } from '../../src/core/error-kinds.ts';
import { HedgeHarness, step, type ScriptedOutcome } from './hedge-harness.ts';

/**
 * Properties of the real hedge machine over random races on a SimulatedClock: 1 to 4 steps,
 * each answering (or failing with a random kind) after a random time, random delays, costs,
 * caps, refusing breakers, deadlines and attempt limits, both strategies, with and without
 * cancel_slower. The clock moves 1 ms at a time; every settlement reaches the machine before
 * the next millisecond. Each property counts the runs where its situation occurred, so it
 * cannot pass on a generator that never reaches it.
 */

const runs = { numRuns: Number(process.env.HEDGE_PROPERTY_RUNS ?? 80) };
const KINDS: ErrorKind[] = ['server_error', 'rate_limit', 'timeout', 'connection_error', 'bad_request', 'model_overloaded'];
const PROVIDERS = ['openai', 'anthropic', 'google', 'mistral'];

interface Race {
  input: HedgeInput;
  script: ScriptedOutcome[];
  refused: Set<number>;
}

const race: fc.Arbitrary<Race> = fc
  .integer({ min: 1, max: 4 })
  .chain((n) =>
    fc.record({
      n: fc.constant(n),
      strategy: fc.constantFrom('latency' as const, 'first-success' as const),
      delayMs: fc.integer({ min: 0, max: 300 }),
      cancelSlower: fc.boolean(),
      costs: fc.array(fc.option(fc.double({ min: 0, max: 0.05, noNaN: true }), { nil: null }), { minLength: n, maxLength: n }),
      cap: fc.option(fc.double({ min: 0, max: 0.1, noNaN: true }), { nil: undefined }),
      script: fc.array(
        fc.record({ afterMs: fc.integer({ min: 1, max: 1_200 }), ok: fc.boolean(), kind: fc.constantFrom(...KINDS) }),
        { minLength: n, maxLength: n },
      ),
      refused: fc.subarray([1, 2, 3]),
      deadlineMs: fc.integer({ min: 100, max: 1_500 }),
      attemptTimeoutMs: fc.integer({ min: 50, max: 1_500 }),
    }),
  )
  .map((r) => ({
    input: {
      steps: PROVIDERS.slice(0, r.n).map((p) => step(p)),
      strategy: r.strategy,
      delayMs: r.delayMs,
      cancelSlower: r.cancelSlower,
      costs: r.costs,
      ...(r.cap !== undefined ? { maxAdditionalCost: r.cap } : {}),
      deadlineMs: r.deadlineMs,
      attemptTimeoutMs: r.attemptTimeoutMs,
    },
    script: r.script,
    refused: new Set(r.refused),
  }));

interface Run {
  h: HedgeHarness;
  /** Clock time of the win (the winner first set), or null. */
  winAt: number | null;
  /** Clock time the machine reached `failed`, or null. */
  failAt: number | null;
}

async function simulate(r: Race): Promise<Run> {
  const h = new HedgeHarness(r.input, { script: r.script, refused: r.refused });
  await h.flush();
  const out: Run = { h, winAt: null, failAt: null };
  const limit = r.input.deadlineMs + 1_300;
  for (let t = 0; t <= limit; t++) {
    const snap = h.snapshot;
    if (out.winAt === null && snap.context.winner !== null) out.winAt = h.clock.now();
    if (out.failAt === null && snap.value === 'failed') out.failAt = h.clock.now();
    if (snap.status === 'done' && h.inFlight().length === 0) break;
    await h.advance(1);
  }
  return out;
}

describe('hedge machine properties', () => {
  it('never more attempts in flight than steps listed, and a hedge its breaker refuses is never sent', async () => {
    let hedged = 0;
    await fc.assert(
      fc.asyncProperty(race, async (r) => {
        const { h } = await simulate(r);
        expect(h.maxInFlight).toBeLessThanOrEqual(r.input.steps.length);
        expect(new Set(h.calls.map((c) => c.step)).size).toBe(h.calls.length);
        for (const c of h.calls) if (c.step > 0) expect(r.refused.has(c.step)).toBe(false);
        if (h.maxInFlight > 1) hedged++;
      }),
      runs,
    );
    expect(hedged).toBeGreaterThan(5);
  }, 60_000);

  it('with cancel_slower, every loser is aborted within 50 ms of the win (simulated clock)', async () => {
    let losers = 0;
    await fc.assert(
      // Races that can have losers: cancel_slower on, at least two steps, short delays.
      fc.asyncProperty(race.filter((r) => r.input.cancelSlower && r.input.steps.length > 1 && r.input.delayMs < 150), async (r) => {
        const { h, winAt } = await simulate(r);
        if (winAt === null) return;
        for (const c of h.calls) {
          if (c.settledAt !== undefined && c.settledAt <= winAt) continue;
          losers++;
          expect(c.abortedAt).toBeDefined();
          expect(c.abortedAt! - winAt).toBeLessThanOrEqual(50);
        }
      }),
      runs,
    );
    expect(losers).toBeGreaterThan(3);
  }, 60_000);

  it('the hedges\' estimated extra cost never exceeds max_additional_cost; an unknown cost under a cap is never sent', async () => {
    let capped = 0;
    await fc.assert(
      fc.asyncProperty(race, async (r) => {
        const { h } = await simulate(r);
        const cap = r.input.maxAdditionalCost;
        if (cap === undefined) return;
        const sent = h.calls.filter((c) => c.step > 0);
        if (sent.length > 0) capped++;
        for (const c of sent) expect(r.input.costs[c.step]).not.toBeNull();
        const total = sent.reduce((sum, c) => sum + (r.input.costs[c.step] ?? 0), 0);
        expect(total).toBeLessThanOrEqual(cap + 1e-9);
      }),
      runs,
    );
    expect(capped).toBeGreaterThan(3);
  }, 60_000);

  it('first-success never fails while a hedge can still succeed: at the failure nothing is in flight and nothing is left to send (unless the deadline cut it)', async () => {
    let failures = 0;
    await fc.assert(
      fc.asyncProperty(race, async (r) => {
        if (r.input.strategy !== 'first-success') return;
        const { h, failAt } = await simulate(r);
        if (failAt === null) return;
        if (failAt >= r.input.deadlineMs) return;
        failures++;
        const ctx = h.snapshot.context;
        expect(ctx.next).toBe(r.input.steps.length);
        // None was stopped by the failure: each one sent had failed on its own (or hit its own limit).
        for (const a of ctx.attempts) expect([a.ok, a.cancelled ?? false, a.cut ?? false]).toEqual([false, false, false]);
        expect(ctx.attempts).toHaveLength(h.calls.length);
        // Every step was sent and failed, or was declined before it was sent.
        for (let i = 0; i < r.input.steps.length; i++) {
          const sent = h.calls.some((c) => c.step === i);
          const declined = ctx.declined.some((d) => d.step === i);
          expect(sent !== declined).toBe(true);
          if (sent) expect(ctx.attempts.find((a) => a.step === i)?.ok).toBe(false);
        }
      }),
      runs,
    );
    expect(failures).toBeGreaterThan(3);
  }, 60_000);

  it('the deadline holds: the race is decided by it, and nothing it started is still running past it (bar losers left to run on)', async () => {
    let cut = 0;
    await fc.assert(
      fc.asyncProperty(race, async (r) => {
        const { h, winAt, failAt } = await simulate(r);
        const decided = winAt ?? failAt;
        expect(decided).not.toBeNull();
        expect(decided!).toBeLessThanOrEqual(r.input.deadlineMs);
        if (failAt === r.input.deadlineMs) cut++;
        if (winAt === null || r.input.cancelSlower) {
          for (const c of h.calls) expect(c.settledAt ?? c.abortedAt ?? Number.POSITIVE_INFINITY).toBeLessThanOrEqual(r.input.deadlineMs);
        }
        expect(h.snapshot.status).toBe('done');
        expect(Object.keys(h.snapshot.children)).toEqual([]);
      }),
      runs,
    );
    expect(cut).toBeGreaterThan(3);
  }, 60_000);
});
