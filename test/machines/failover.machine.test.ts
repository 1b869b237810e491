import { describe, expect, it } from 'vitest';
import type { AttemptRecord } from '../../src/core/flow.ts';
import { UpstreamError } from '../../src/core/upstream-error.ts';
import { flush, startFailover, type Entry, type FailoverHarnessOptions } from './failover.harness.ts';

/**
 * The shared harness (failover.harness.ts), with reports narrowed to what these tests compare.
 */
function harness(script: Entry[], opts: FailoverHarnessOptions = {}) {
  const h = startFailover(script, opts);
  return {
    ...h,
    get reports(): Array<Pick<AttemptRecord, 'provider' | 'ok' | 'kind' | 'latencyMs' | 'skipped'>> {
      return h.reports.map((r) => ({ provider: r.provider, ok: r.ok, kind: r.kind, latencyMs: r.latencyMs, ...(r.skipped ? { skipped: r.skipped } : {}) }));
    },
  };
}

const output = (h: ReturnType<typeof harness>) => h.output();

describe('failover machine', () => {
  it('succeeds on the first attempt and reports it', async () => {
    const h = harness([{ ok: true, latencyMs: 12 }]);
    h.actor.start();
    await flush();
    expect(h.actor.getSnapshot().value).toBe('succeeded');
    expect(output(h)).toMatchObject({ ok: true, result: { type: 'completion', attempt: 1 }, stepIndex: 0, servedBy: 'upstream' });
    expect(h.reports).toEqual([{ provider: 'p0', ok: true, kind: undefined, latencyMs: 12 }]);
  });

  it('moves to the next step after a failure (the default decision)', async () => {
    const h = harness([{ ok: false, kind: 'server_error' }, { ok: true }]);
    h.actor.start();
    await flush();
    await flush();
    expect(output(h)).toMatchObject({ ok: true, stepIndex: 1 });
    expect(h.started.map((s) => s.step.provider)).toEqual(['p0', 'p1']);
    expect(h.reports.map((r) => [r.provider, r.ok, r.kind])).toEqual([['p0', false, 'server_error'], ['p1', true, undefined]]);
  });

  it('waits the decided delay before retrying, on the simulated clock', async () => {
    const h = harness([{ ok: false, kind: 'rate_limit' }, { ok: true }], {
      decide: (c) => (c.stepAttempts < 2 ? { action: 'retry', delayMs: 250 } : { action: 'fail' }),
    });
    h.actor.start();
    await flush();
    expect(h.actor.getSnapshot().value).toEqual('backoff');
    h.clock.increment(249);
    expect(h.started).toHaveLength(1);
    h.clock.increment(1);
    await flush();
    expect(h.started.map((s) => [s.step.provider, s.attempt, s.stepAttempt])).toEqual([['p0', 1, 1], ['p0', 2, 2]]);
    expect(output(h)).toMatchObject({ ok: true, stepIndex: 0 });
  });

  it('abandons a silent attempt after the attempt timeout, aborts it, and moves on', async () => {
    const h = harness(['hang', { ok: true }], { attemptTimeoutMs: 500 });
    h.actor.start();
    h.clock.increment(499);
    expect(h.actor.getSnapshot().value).toEqual('attempting');
    h.clock.increment(1);
    await flush();
    expect(h.aborted).toEqual([1]);
    expect(h.reports[0]).toEqual({ provider: 'p0', ok: false, kind: 'timeout', latencyMs: 500 });
    expect(output(h)).toMatchObject({ ok: true, stepIndex: 1 });
  });

  it('the deadline counts on the clock from the request start: failure, backoff and the retry share it', async () => {
    // A failure and a 300 ms backoff leave 100 ms of a 400 ms deadline: the retry is cut there.
    const h = harness([{ ok: false, kind: 'server_error' }, 'hang'], {
      deadlineMs: 400,
      attemptTimeoutMs: 5_000,
      decide: () => ({ action: 'retry', delayMs: 300 }),
    });
    h.actor.start();
    await flush();
    expect(h.actor.getSnapshot().value).toBe('backoff');
    h.clock.increment(300);
    expect(h.started).toHaveLength(2);
    h.clock.increment(99);
    expect(h.actor.getSnapshot().value).toBe('attempting');
    h.clock.increment(1);
    expect(h.actor.getSnapshot().value).toBe('failed');
    const out = output(h);
    expect(out.ok).toBe(false);
    if (!out.ok) expect(out.error.message).toBe('request deadline of 400 ms exceeded');
    expect(out.attempts.map((a) => [a.kind, a.cut ?? false, a.latencyMs])).toEqual([['server_error', false, 0], ['timeout', true, 100]]);
  });

  it('a failure that arrives with no time left ends the request with that failure: no attempt starts at the deadline', async () => {
    // A zero deadline: the first attempt's failure is processed before its timer can fire.
    const h = harness([{ ok: false, kind: 'server_error' }, { ok: true }], { deadlineMs: 0 });
    h.actor.start();
    await flush();
    expect(h.actor.getSnapshot().value).toBe('failed');
    expect(h.started.map((s) => s.attempt)).toEqual([1]);
    const out = output(h);
    expect(out.ok).toBe(false);
    if (!out.ok) expect(out.error.kind).toBe('server_error');
  });

  it('fails with a timeout at the deadline, whatever is in flight', async () => {
    const h = harness(['hang', 'hang'], { deadlineMs: 800, attemptTimeoutMs: 500 });
    h.actor.start();
    h.clock.increment(500);
    expect(h.started.map((s) => s.attempt)).toEqual([1, 2]);
    h.clock.increment(299);
    expect(h.actor.getSnapshot().value).toEqual('attempting');
    h.clock.increment(1);
    expect(h.actor.getSnapshot().value).toBe('failed');
    const out = output(h);
    expect(out.ok).toBe(false);
    if (!out.ok) expect([out.error.kind, out.error.message]).toEqual(['timeout', 'request deadline of 800 ms exceeded']);
    expect(h.aborted).toEqual([1, 2]);
  });

  it('gives up with the last error when no step is left', async () => {
    const h = harness([{ ok: false, kind: 'server_error' }, { ok: false, kind: 'model_overloaded' }]);
    h.actor.start();
    await flush();
    await flush();
    const out = output(h);
    expect(out.ok).toBe(false);
    if (!out.ok) expect(out.error.kind).toBe('model_overloaded');
    expect(out.attempts.map((a) => a.kind)).toEqual(['server_error', 'model_overloaded']);
  });

  it('stopping the actor aborts the attempt in flight', () => {
    const h = harness(['hang']);
    h.actor.start();
    h.actor.stop();
    expect(h.aborted).toEqual([1]);
  });

  it('a jump decision skips to the chosen step', async () => {
    const h = harness([{ ok: false, kind: 'rate_limit' }, { ok: true }], { steps: 3, decide: () => ({ action: 'next', stepIndex: 2 }) });
    h.actor.start();
    await flush();
    await flush();
    expect(h.started.map((s) => s.step.provider)).toEqual(['p0', 'p2']);
    expect(output(h)).toMatchObject({ ok: true, stepIndex: 2 });
  });

  it('records a skipped target as skipped', async () => {
    const h = harness([{ ok: false, kind: 'server_error', skipped: 'circuit_open' }, { ok: true }]);
    h.actor.start();
    await flush();
    await flush();
    expect(output(h).attempts.map((a) => [a.attempt, a.provider, a.ok, a.skipped ?? false])).toEqual([
      [1, 'p0', false, 'circuit_open'],
      [2, 'p1', true, false],
    ]);
  });

  describe('waiting for a local connection', () => {
    it('the attempt limit counts from when the upstream got the request, not from the attempt start', async () => {
      const h = harness(['hang', { ok: true }], { attemptTimeoutMs: 1_000, queueTimeoutMs: 5_000, autoSend: false });
      h.actor.start();
      h.clock.increment(700); // 700 ms waiting for a connection
      h.send(1);
      h.clock.increment(300); // 1000: the timer fires, finds the request sent 300 ms ago, re-arms for 700
      expect(h.actor.getSnapshot().value).toBe('attempting');
      expect(h.reports).toEqual([]);
      h.clock.increment(699);
      expect(h.actor.getSnapshot().value).toBe('attempting');
      h.clock.increment(1); // 1700: the upstream has had it for 1000 ms
      h.send(2);
      await flush();
      // A real timeout after dispatch still counts against the target, for its own 1000 ms.
      expect(h.reports[0]).toEqual({ provider: 'p0', ok: false, kind: 'timeout', latencyMs: 1_000 });
      expect(h.aborted).toEqual([1]);
      expect(output(h)).toMatchObject({ ok: true, stepIndex: 1 });
    });

    it('a success reports its latency from when it was sent', async () => {
      const h = harness(['manual'], { steps: 1, attemptTimeoutMs: 1_000, queueTimeoutMs: 5_000, autoSend: false });
      h.actor.start();
      await flush();
      h.clock.increment(600);
      h.send(1);
      h.clock.increment(400); // the timer at 1000 re-arms
      h.clock.increment(300);
      h.answers[0]();
      await flush();
      expect(h.actor.getSnapshot().value).toBe('succeeded');
      expect(h.reports.map((r) => r.latencyMs)).toEqual([700]);
    });

    it("waiting past the step's queue timeout is the gateway's own limit: skipped (wait_limit), on to the next step", async () => {
      const h = harness(['hang', { ok: true }], { attemptTimeoutMs: 1_000, queueTimeoutMs: 2_500, autoSend: false });
      h.actor.start();
      h.clock.increment(1_000); // the attempt limit would have fired here: not sent, so nothing happens
      h.clock.increment(1_000);
      expect(h.actor.getSnapshot().value).toBe('attempting');
      h.clock.increment(499);
      expect(h.actor.getSnapshot().value).toBe('attempting');
      h.clock.increment(1);
      h.send(2);
      await flush();
      expect(h.aborted).toEqual([1]);
      expect(h.reports[0]).toEqual({ provider: 'p0', ok: false, kind: 'server_error', latencyMs: 2_500, skipped: 'wait_limit' });
      const out = output(h);
      expect(out).toMatchObject({ ok: true, stepIndex: 1 });
      expect(out.attempts.map((a) => [a.provider, a.skipped ?? null])).toEqual([
        ['p0', 'wait_limit'],
        ['p1', null],
      ]);
    });

    it('a stamp from an earlier attempt does not count as the current one sent', async () => {
      const h = harness([{ ok: false, kind: 'server_error' }, 'hang'], { attemptTimeoutMs: 1_000, queueTimeoutMs: 3_000, autoSend: false });
      h.actor.start();
      h.send(1);
      await flush(); // attempt 1 fails at once; attempt 2 starts and is not sent
      expect(h.started.map((s) => s.attempt)).toEqual([1, 2]);
      h.clock.increment(1_000);
      h.clock.increment(1_000);
      h.clock.increment(999);
      expect(h.actor.getSnapshot().value).toBe('attempting');
      h.clock.increment(1);
      await flush();
      expect(h.reports.map((r) => [r.provider, r.kind, r.skipped ?? null])).toEqual([
        ['p0', 'server_error', null],
        ['p1', 'server_error', 'wait_limit'],
      ]);
    });

    it("the deadline running out while waiting locally fails as the gateway's limit, not as a timeout of the target", async () => {
      const h = harness(['hang'], { steps: 1, deadlineMs: 1_500, attemptTimeoutMs: 1_000, queueTimeoutMs: 5_000, autoSend: false });
      h.actor.start();
      h.clock.increment(1_000);
      h.clock.increment(499);
      expect(h.actor.getSnapshot().value).toBe('attempting');
      h.clock.increment(1);
      const snap = h.actor.getSnapshot();
      expect(snap.value).toBe('failed');
      const out = output(h);
      expect(out.ok).toBe(false);
      if (!out.ok) {
        expect([out.error.kind, out.error.skipped]).toEqual(['server_error', 'wait_limit']);
        expect(out.error.message).toBe("the request's deadline of 1500 ms ran out after 1500 ms waiting for a connection to p0/m0");
      }
      expect(h.reports).toEqual([{ provider: 'p0', ok: false, kind: 'server_error', latencyMs: 1_500, skipped: 'wait_limit' }]);
      expect(h.aborted).toEqual([1]);
    });

    it('without a queue timeout, waiting is bounded by the deadline alone', async () => {
      const h = harness(['hang'], { steps: 1, deadlineMs: 3_000, attemptTimeoutMs: 1_000, autoSend: false });
      h.actor.start();
      for (let t = 0; t < 2_999; t += 1_000) h.clock.increment(Math.min(1_000, 2_999 - t));
      expect(h.actor.getSnapshot().value).toBe('attempting');
      h.clock.increment(1);
      expect(output(h)).toMatchObject({ ok: false, error: { skipped: 'wait_limit' } });
    });
  });

  describe('the breaker fallback, when the requested target was refused by its breaker', () => {
    const refused: Entry[] = [{ ok: false, kind: 'server_error', skipped: 'circuit_open' }];

    it('error: fails, saying it fell back', async () => {
      const h = harness(refused, { steps: 1 });
      h.actor.start();
      await flush();
      expect(output(h)).toMatchObject({ ok: false, fellBack: 'error' });
    });

    it('cache: serves the cached answer', async () => {
      const h = harness(refused, { steps: 1, fallback: 'cache', cached: true });
      h.actor.start();
      await flush();
      await flush();
      expect(h.actor.getSnapshot().value).toBe('succeeded');
      expect(output(h)).toMatchObject({ ok: true, servedBy: 'cache', result: { attempt: 99 } });
    });

    it('cache with nothing cached: fails, saying it fell back', async () => {
      const h = harness(refused, { steps: 1, fallback: 'cache' });
      h.actor.start();
      await flush();
      await flush();
      expect(output(h)).toMatchObject({ ok: false, fellBack: 'cache' });
    });

    it('degraded: one attempt on the degraded model', async () => {
      const h = harness([...refused, { ok: true }], { steps: 1, fallback: 'degraded', degradedStep: { provider: 'p0', model: 'cheap', key: 'p0/cheap' } });
      h.actor.start();
      await flush();
      await flush();
      expect(h.started.map((s) => s.step.model)).toEqual(['m0', 'cheap']);
      expect(output(h)).toMatchObject({ ok: true, servedBy: 'degraded', step: { model: 'cheap' } });
    });

    it('no fallback when the requested breaker is closed (a later step was the one refused)', async () => {
      const h = harness([{ ok: false, kind: 'server_error' }, { ok: false, kind: 'server_error', skipped: 'circuit_open' }], { fallback: 'cache', cached: true, primaryOpen: false });
      h.actor.start();
      await flush();
      await flush();
      const out = output(h);
      expect(out.ok).toBe(false);
      expect(out).not.toHaveProperty('fellBack');
    });
  });

  describe('a committed stream', () => {
    const openStream: Entry = { ok: true, result: { type: 'stream', complete: false } };
    const broken = (partial = 'Hello', toolCalls = false) => ({ type: 'BROKEN' as const, error: new UpstreamError({ kind: 'connection_error', message: 'cut' }), partial, toolCalls });

    it('stays in streaming while chunks stamp the activity, until END', async () => {
      const h = harness([openStream], { streamIdleTimeoutMs: 1_000 });
      h.actor.start();
      await flush();
      expect(h.actor.getSnapshot().value).toBe('streaming');
      h.clock.increment(900);
      h.activity.lastChunkAt = h.clock.now();
      h.clock.increment(900);
      expect(h.actor.getSnapshot().value).toBe('streaming');
      h.actor.send({ type: 'END' });
      expect(h.actor.getSnapshot().value).toBe('succeeded');
      expect(h.reports.map((r) => r.ok)).toEqual([true]);
    });

    it('stalls exactly idle after the last chunk: reports a timeout, aborts the upstream, and ends stalled when nothing continues it', async () => {
      const h = harness([openStream], { streamIdleTimeoutMs: 1_000 });
      h.actor.start();
      await flush();
      h.clock.increment(600);
      h.activity.lastChunkAt = h.clock.now();
      h.clock.increment(400);
      expect(h.actor.getSnapshot().value).toBe('streaming');
      h.clock.increment(599);
      expect(h.actor.getSnapshot().value).toBe('streaming');
      h.clock.increment(1);
      expect(h.actor.getSnapshot().value).toBe('stalling');
      expect(h.streamAborts()).toBe(1);
      expect(h.reports.map((r) => [r.ok, r.kind])).toEqual([[true, undefined], [false, 'timeout']]);
      // The pump sees the aborted body and reports what the client has.
      h.actor.send(broken());
      expect(h.actor.getSnapshot().value).toBe('stalled');
      const out = output(h);
      expect(out.ok).toBe(false);
      if (!out.ok) expect(out.error.message).toBe('no data for 1000 ms');
    });

    it('is not subject to the request deadline once committed', async () => {
      const h = harness([openStream], { deadlineMs: 500, streamIdleTimeoutMs: 1_000 });
      h.actor.start();
      await flush();
      h.activity.lastChunkAt = 0;
      h.clock.increment(600);
      expect(h.actor.getSnapshot().value).toBe('streaming');
    });

    it("a continuation past the request's deadline gets its own first-token limit: one timer, not one per clock tick", async () => {
      const h = harness([openStream, 'hang'], { prefillFrom: 1, deadlineMs: 500, attemptTimeoutMs: 1_000, streamIdleTimeoutMs: 5_000 });
      h.actor.start();
      await flush();
      h.clock.increment(600); // the deadline passes while the stream is committed
      h.actor.send(broken());
      expect(h.actor.getSnapshot().value).toBe('continuing');
      const before = h.microsteps.length;
      for (let t = 0; t < 999; t += 100) h.clock.increment(Math.min(100, 999 - t));
      expect(h.actor.getSnapshot().value).toBe('continuing');
      h.clock.increment(1);
      expect(h.actor.getSnapshot().value).toBe('broken');
      // The attempt timer fired once, at the continuation's own limit.
      expect(h.microsteps.slice(before)).toEqual(['broken']);
      expect(h.aborted).toEqual([2]);
    });

    it('BROKEN with no prefill-capable step ends it and reports the failure', async () => {
      const h = harness([openStream]);
      h.actor.start();
      await flush();
      h.actor.send(broken());
      expect(h.actor.getSnapshot().value).toBe('broken');
      expect(h.reports.map((r) => [r.ok, r.kind])).toEqual([[true, undefined], [false, 'connection_error']]);
    });

    it('BROKEN is continued on a later prefill-capable step with the text the client has', async () => {
      const h = harness([openStream, openStream], { prefillFrom: 1 });
      h.actor.start();
      await flush();
      h.actor.send(broken('Hello wor'));
      expect(h.actor.getSnapshot().value).toBe('continuing');
      await flush();
      expect(h.started.map((s) => [s.step.provider, s.prefill])).toEqual([['p0', undefined], ['p1', 'Hello wor']]);
      expect(h.actor.getSnapshot().value).toBe('streaming');
      expect(h.actor.getSnapshot().context.result).toEqual({ type: 'stream', complete: false, attempt: 2 });
      h.actor.send({ type: 'END' });
      expect(output(h)).toMatchObject({ ok: true, stepIndex: 1, result: { attempt: 2 } });
    });

    it('never continues a stream that carried tool calls, or had no text yet', async () => {
      for (const event of [broken('x', true), broken('  ')]) {
        const h = harness([openStream, openStream], { prefillFrom: 1 });
        h.actor.start();
        await flush();
        h.actor.send(event);
        expect(h.actor.getSnapshot().value).toBe('broken');
      }
    });

    it('a continuation that fails is recorded, but the client hears the original break', async () => {
      const h = harness([openStream, { ok: false, kind: 'bad_request' }], { prefillFrom: 1 });
      h.actor.start();
      await flush();
      h.actor.send(broken());
      await flush();
      expect(h.actor.getSnapshot().value).toBe('broken');
      const out = output(h);
      expect(out.ok).toBe(false);
      if (!out.ok) expect([out.error.kind, out.error.message]).toEqual(['connection_error', 'cut']);
      expect(out.attempts.map((a) => [a.provider, a.ok, a.kind])).toEqual([['p0', true, undefined], ['p1', false, 'bad_request']]);
    });

    it('a stream that completed inside its head is simply succeeded', async () => {
      const h = harness([{ ok: true, result: { type: 'stream', complete: true } }]);
      h.actor.start();
      await flush();
      expect(h.actor.getSnapshot().value).toBe('succeeded');
    });
  });
});
