import { describe, expect, it } from 'vitest';
import { assign, createActor, fromPromise, SimulatedClock } from 'xstate';
import { failoverMachine, type FailoverAttemptInput, type FailoverInput } from '../../machines/failover.machine.ts';
import { AttemptFailure, type AttemptRecord, type AttemptSuccess, type Decision, type FlowOutput, type ResultRef } from '../../src/core/flow.ts';
import type { ErrorKind } from '../../src/core/error-kinds.ts';
import { UpstreamError } from '../../src/core/upstream-error.ts';

type Entry = { ok: true; result?: Partial<ResultRef>; latencyMs?: number } | { ok: false; kind: ErrorKind; skipped?: 'circuit_open'; latencyMs?: number } | 'hang';

interface DecideView {
  stepIndex: number;
  stepAttempts: number;
  steps: readonly unknown[];
  lastError: UpstreamError | null;
  elapsedMs: number;
  deadlineMs: number;
}

/**
 * The failover machine with scripted attempts (one entry per attempt), provided the way the
 * runtime provides it (src/serve/flow-runtime.ts), on a simulated clock.
 */
function harness(
  script: Entry[],
  opts: Partial<Omit<FailoverInput, 'steps'>> & { steps?: number; prefillFrom?: number; decide?: (c: DecideView) => Decision; primaryOpen?: boolean; cached?: boolean } = {},
) {
  const clock = new SimulatedClock();
  const reports: Array<Pick<AttemptRecord, 'provider' | 'ok' | 'kind' | 'latencyMs' | 'skipped'>> = [];
  const started: FailoverAttemptInput[] = [];
  const aborted: number[] = [];
  const activity = { lastChunkAt: 0 };
  let streamAborts = 0;
  const machine = failoverMachine.provide({
    actors: {
      attempt: fromPromise<AttemptSuccess, FailoverAttemptInput>(({ input, signal }) => {
        started.push(input);
        const entry = script[input.attempt - 1];
        signal.addEventListener('abort', () => aborted.push(input.attempt));
        if (entry === 'hang' || entry === undefined) return new Promise(() => {});
        if (!entry.ok) {
          const error = new UpstreamError({ kind: entry.kind, message: entry.kind, ...(entry.skipped ? { skipped: entry.skipped } : {}) });
          return Promise.reject(new AttemptFailure(error, entry.latencyMs ?? 0));
        }
        activity.lastChunkAt = clock.now();
        return Promise.resolve({ result: { type: 'completion', complete: true, attempt: input.attempt, ...entry.result }, latencyMs: entry.latencyMs ?? 0 });
      }),
      cacheLookup: fromPromise<ResultRef, { payload: unknown }>(async () => {
        if (!opts.cached) throw new Error('miss');
        return { type: 'completion', complete: true, attempt: 99 };
      }),
    },
    actions: {
      report: (_, params: { record: AttemptRecord }) => {
        const r = params.record;
        reports.push({ provider: r.provider, ok: r.ok, kind: r.kind, latencyMs: r.latencyMs, ...(r.skipped ? { skipped: r.skipped } : {}) });
      },
      ...(opts.decide ? { decide: assign({ decision: ({ context }) => opts.decide!(context) }) } : {}),
      abortStream: () => {
        streamAborts++;
      },
    },
    guards: {
      primaryCircuitOpen: () => opts.primaryOpen ?? true,
      silentTooLong: ({ context }) => clock.now() - activity.lastChunkAt >= context.streamIdleTimeoutMs,
    },
    delays: {
      streamIdle: ({ context }) => Math.max(1, context.streamIdleTimeoutMs - (clock.now() - activity.lastChunkAt)),
    },
  });
  const steps = Array.from({ length: opts.steps ?? 2 }, (_, i) => ({
    provider: `p${i}`,
    model: `m${i}`,
    key: `p${i}/m${i}`,
    ...(opts.prefillFrom !== undefined && i >= opts.prefillFrom ? { prefill: true } : {}),
  }));
  const actor = createActor(machine, {
    clock,
    input: {
      steps,
      payload: 'r1',
      deadlineMs: opts.deadlineMs ?? 10_000,
      attemptTimeoutMs: opts.attemptTimeoutMs ?? 1_000,
      streamIdleTimeoutMs: opts.streamIdleTimeoutMs ?? 2_000,
      ...(opts.fallback ? { fallback: opts.fallback } : {}),
      ...(opts.degradedStep ? { degradedStep: opts.degradedStep } : {}),
    },
  });
  return { clock, actor, reports, started, aborted, activity, streamAborts: () => streamAborts };
}

const flush = () => new Promise((r) => setImmediate(r));
const output = (h: ReturnType<typeof harness>) => h.actor.getSnapshot().output as FlowOutput;

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

  it('keeps its time from events: measured attempt latencies and waited delays count toward the deadline', async () => {
    // 600 ms failure + 300 ms backoff leave 100 ms of a 1000 ms deadline: the retry is cut there.
    const h = harness([{ ok: false, kind: 'server_error', latencyMs: 600 }, 'hang'], {
      deadlineMs: 1_000,
      attemptTimeoutMs: 5_000,
      decide: () => ({ action: 'retry', delayMs: 300 }),
    });
    h.actor.start();
    await flush();
    h.clock.increment(300);
    expect(h.started).toHaveLength(2);
    h.clock.increment(99);
    expect(h.actor.getSnapshot().value).toBe('attempting');
    h.clock.increment(1);
    expect(h.actor.getSnapshot().value).toBe('failed');
    const out = output(h);
    expect(out.ok).toBe(false);
    if (!out.ok) expect(out.error.message).toBe('request deadline of 1000 ms exceeded');
    expect(out.attempts.map((a) => [a.kind, a.cut ?? false, a.latencyMs])).toEqual([['server_error', false, 600], ['timeout', true, 100]]);
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
