import { describe, expect, it } from 'vitest';
import type { HedgeInput } from '../../machines/hedge.machine.ts';
import { HedgeHarness, step, type HedgeHarnessOptions } from './hedge-harness.ts';

const steps3 = [step('openai'), step('anthropic'), step('google')];

function input(over: Partial<HedgeInput> = {}): HedgeInput {
  return {
    steps: steps3.slice(0, 2),
    strategy: 'latency',
    delayMs: 200,
    cancelSlower: true,
    costs: [0, 0.02, 0.02],
    deadlineMs: 30_000,
    attemptTimeoutMs: 10_000,
    ...over,
  };
}

async function start(over: Partial<HedgeInput> = {}, opts: HedgeHarnessOptions = {}): Promise<HedgeHarness> {
  const h = new HedgeHarness(input(over), opts);
  await h.flush();
  return h;
}

describe('hedge machine', () => {
  it('sends the primary at once and the hedge after delay_ms; the hedge wins and the primary is aborted in the same instant', async () => {
    const h = await start();
    expect(h.calls.map((c) => [c.step, c.sentAt])).toEqual([[0, 0]]);
    await h.advance(199);
    expect(h.calls).toHaveLength(1);
    await h.advance(1);
    expect(h.calls.map((c) => [c.step, c.sentAt])).toEqual([[0, 0], [1, 200]]);
    await h.advance(50);
    h.call(1).resolve();
    await h.flush();
    expect(h.snapshot.value).toBe('succeeded');
    expect(h.call(0).abortedAt).toBe(250);
    expect(h.output).toMatchObject({ ok: true, stepIndex: 1, winner: 1, declined: [] });
    expect(h.output!.attempts.map((a) => [a.attempt, a.provider, a.ok, a.cancelled ?? false, a.hedge ?? false, a.latencyMs])).toEqual([
      [2, 'anthropic', true, false, true, 50],
      [1, 'openai', false, true, false, 0],
    ]);
    expect(h.reports.map((r) => [r.attempt, r.ok, r.cancelled ?? false])).toEqual([[2, true, false], [1, false, true]]);
    expect(Object.keys(h.snapshot.children)).toEqual([]);
  });

  it('a primary that answers before delay_ms sends no hedge', async () => {
    const h = await start();
    await h.advance(120);
    h.call(0).resolve();
    await h.flush();
    await h.advance(1_000);
    expect(h.calls).toHaveLength(1);
    expect(h.output).toMatchObject({ ok: true, stepIndex: 0, winner: 0 });
    expect(h.spent).toEqual([]);
  });

  it('latency: the first answer decides even when it is an error; the other attempt is aborted', async () => {
    const h = await start();
    await h.advance(200);
    h.call(0).reject('server_error');
    await h.flush();
    expect(h.snapshot.value).toBe('failed');
    expect(h.call(1).abortedAt).toBe(200);
    expect(h.output).toMatchObject({ ok: false, error: { kind: 'server_error' } });
  });

  it('latency: a timeout or a skip is not an answer, the race goes on', async () => {
    const h = await start({ attemptTimeoutMs: 300 });
    await h.advance(300);
    expect(h.snapshot.value).toBe('racing');
    expect(h.call(0).abortedAt).toBe(300);
    await h.advance(10);
    h.call(1).resolve();
    await h.flush();
    expect(h.output).toMatchObject({ ok: true, winner: 1 });
  });

  it('first-success: a failure with nothing else in flight sends the next hedge at once, not after the delay', async () => {
    const h = await start({ strategy: 'first-success', steps: steps3 });
    await h.advance(30);
    h.call(0).reject('server_error');
    await h.flush();
    expect(h.calls.map((c) => [c.step, c.sentAt])).toEqual([[0, 0], [1, 30]]);
    await h.advance(200);
    expect(h.calls.map((c) => [c.step, c.sentAt])).toEqual([[0, 0], [1, 30], [2, 230]]);
    h.call(2).reject('rate_limit');
    await h.flush();
    expect(h.snapshot.value).toBe('racing');
    h.call(1).resolve();
    await h.flush();
    expect(h.output).toMatchObject({ ok: true, winner: 1 });
  });

  it('first-success: fails only when every hedge failed', async () => {
    const h = await start({ strategy: 'first-success' });
    await h.advance(200);
    h.call(1).reject('server_error');
    await h.flush();
    expect(h.snapshot.value).toBe('racing');
    h.call(0).reject('timeout');
    await h.flush();
    expect(h.output).toMatchObject({ ok: false, error: { kind: 'timeout' } });
    expect(h.output!.attempts.map((a) => a.attempt)).toEqual([2, 1]);
  });

  it('max_additional_cost: a hedge whose estimate would pass the cap is not sent, the next is considered at once', async () => {
    const h = await start({ steps: steps3, costs: [0, 0.06, 0.03], maxAdditionalCost: 0.05 });
    await h.advance(200);
    expect(h.calls.map((c) => [c.step, c.sentAt])).toEqual([[0, 0], [2, 200]]);
    expect(h.output).toBeUndefined();
    expect(h.snapshot.context.declined).toEqual([{ step: 1, reason: 'cost' }]);
    expect(h.snapshot.context.spent).toBeCloseTo(0.03);
  });

  it('an unknown cost under a cap is not sent; without a cap it is', async () => {
    const capped = await start({ costs: [0, null], maxAdditionalCost: 1 });
    await capped.advance(200);
    expect(capped.calls).toHaveLength(1);
    expect(capped.snapshot.context.declined).toEqual([{ step: 1, reason: 'cost' }]);
    const free = await start({ costs: [0, null] });
    await free.advance(200);
    expect(free.calls).toHaveLength(2);
  });

  it('a hedge its breaker refuses, or whose budget is empty, is not sent and never counts as in flight', async () => {
    const h = await start({ steps: steps3 }, { refused: new Set([1]), noBudget: new Set([2]) });
    await h.advance(200);
    expect(h.calls).toHaveLength(1);
    expect(h.snapshot.context.declined).toEqual([{ step: 1, reason: 'circuit_open' }, { step: 2, reason: 'budget' }]);
    expect(h.snapshot.context.inFlight).toEqual([0]);
    expect(h.spent).toEqual([]);
  });

  it('each hedge sent spends its target\'s retry-budget token; the primary spends none', async () => {
    const h = await start({ steps: steps3 });
    await h.advance(200);
    await h.advance(200);
    expect(h.calls.map((c) => [c.step, c.sentAt])).toEqual([[0, 0], [1, 200], [2, 400]]);
    expect(h.spent).toEqual([1, 2]);
  });

  it('the deadline cuts everything in flight', async () => {
    const h = await start({ deadlineMs: 1_000 });
    await h.advance(999);
    expect(h.snapshot.status).toBe('active');
    await h.advance(1);
    expect(h.snapshot.value).toBe('failed');
    expect(h.calls.map((c) => c.abortedAt)).toEqual([1_000, 1_000]);
    expect(h.output!.attempts.map((a) => [a.attempt, a.kind, a.cut])).toEqual([[1, 'timeout', true], [2, 'timeout', true]]);
  });

  it('cancel_slower false: the loser runs on and is recorded with its own latency when it finishes', async () => {
    const h = await start({ cancelSlower: false });
    await h.advance(200);
    await h.advance(50);
    h.call(1).resolve();
    await h.flush();
    expect(h.snapshot.value).toBe('draining');
    expect(h.call(0).abortedAt).toBeUndefined();
    await h.advance(1_750);
    h.call(0).resolve();
    await h.flush();
    expect(h.snapshot.value).toBe('succeeded');
    expect(h.output!.attempts.map((a) => [a.attempt, a.ok, a.latencyMs])).toEqual([[2, true, 50], [1, true, 2_000]]);
    expect(h.output).toMatchObject({ winner: 1 });
  });

  it('a stream wins at its commit point and is watched until END', async () => {
    const h = await start();
    await h.advance(220);
    h.call(1).resolve(true);
    await h.flush();
    expect(h.snapshot.value).toBe('streaming');
    expect(h.call(0).abortedAt).toBe(220);
    h.actor.send({ type: 'END' });
    expect(h.snapshot.value).toBe('succeeded');
    expect(h.output).toMatchObject({ ok: true, winner: 1, result: { type: 'stream', attempt: 2 } });
  });
});
