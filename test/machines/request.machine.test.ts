import { describe, expect, it } from 'vitest';
import { createActor, fromPromise, SimulatedClock } from 'xstate';
import { requestMachine, type AttemptInput, type Decision, type DecideInput, type RequestOutput, type SentMark } from '../../machines/request.machine.ts';
import { UpstreamError, type SkipReason } from '../../src/core/upstream-error.ts';
import type { ErrorKind } from '../../src/core/error-kinds.ts';

type Script = Array<{ ok: true; value: unknown } | { ok: false; kind: ErrorKind; skipped?: 'circuit_open' } | 'hang'>;

/** A request machine whose attempts follow `script`, one entry per attempt, on a simulated clock. */
function harness(
  script: Script,
  opts: {
    steps?: number;
    decide?: (d: DecideInput) => Decision;
    deadlineMs?: number;
    attemptTimeoutMs?: number;
    streamIdleTimeoutMs?: number;
    activity?: { lastChunkAt: number };
    /** The runtime's sent stamps, and each step's local wait limit. */
    sent?: SentMark;
    queueTimeoutMs?: number;
  } = {},
) {
  const clock = new SimulatedClock();
  const reports: Array<{ provider: string; ok: boolean; kind?: ErrorKind; latencyMs: number; skipped?: SkipReason }> = [];
  const started: AttemptInput[] = [];
  const aborted: number[] = [];
  const machine = requestMachine.provide({
    actors: {
      attempt: fromPromise<unknown, AttemptInput>(({ input, signal }) => {
        started.push(input);
        const entry = script[input.attempt - 1];
        signal.addEventListener('abort', () => aborted.push(input.attempt));
        if (entry === 'hang' || entry === undefined) return new Promise(() => {});
        return entry.ok ? Promise.resolve(entry.value) : Promise.reject(new UpstreamError({ kind: entry.kind, message: entry.kind, ...(entry.skipped ? { skipped: entry.skipped } : {}) }));
      }),
    },
    actions: {
      report: (_, params) =>
        reports.push({
          provider: params.record.provider,
          ok: params.record.ok,
          kind: params.record.kind,
          latencyMs: params.record.latencyMs,
          ...(params.record.skipped ? { skipped: params.record.skipped } : {}),
        }),
    },
  });
  const steps = Array.from({ length: opts.steps ?? 2 }, (_, i) => ({
    provider: `p${i}`,
    model: `m${i}`,
    ...(opts.queueTimeoutMs !== undefined ? { queueTimeoutMs: opts.queueTimeoutMs } : {}),
  }));
  const actor = createActor(machine, {
    clock,
    input: {
      steps,
      deadlineMs: opts.deadlineMs ?? 10_000,
      attemptTimeoutMs: opts.attemptTimeoutMs ?? 1_000,
      streamIdleTimeoutMs: opts.streamIdleTimeoutMs ?? 2_000,
      ...(opts.activity ? { activity: opts.activity } : {}),
      ...(opts.sent ? { sent: opts.sent } : {}),
      decide: opts.decide ?? ((d) => (d.hasNextStep ? { action: 'next' } : { action: 'fail' })),
      now: () => clock.now(),
    },
  });
  return { clock, actor, reports, started, aborted };
}

const flush = () => new Promise((r) => setImmediate(r));

describe('request machine', () => {
  it('succeeds on the first attempt and reports it', async () => {
    const h = harness([{ ok: true, value: 'answer' }]);
    h.actor.start();
    await flush();
    const out = h.actor.getSnapshot().output as RequestOutput;
    expect(h.actor.getSnapshot().value).toBe('succeeded');
    expect(out).toMatchObject({ ok: true, result: 'answer', stepIndex: 0 });
    expect(h.reports).toEqual([{ provider: 'p0', ok: true, kind: undefined, latencyMs: 0 }]);
  });

  it('moves to the next step after a failure', async () => {
    const h = harness([{ ok: false, kind: 'server_error' }, { ok: true, value: 'from p1' }]);
    h.actor.start();
    await flush();
    await flush();
    expect(h.actor.getSnapshot().output).toMatchObject({ ok: true, result: 'from p1', stepIndex: 1 });
    expect(h.started.map((s) => s.step.provider)).toEqual(['p0', 'p1']);
    expect(h.reports.map((r) => [r.provider, r.ok, r.kind])).toEqual([['p0', false, 'server_error'], ['p1', true, undefined]]);
  });

  it('waits the decided delay before retrying, on the simulated clock', async () => {
    const h = harness([{ ok: false, kind: 'rate_limit' }, { ok: true, value: 'ok' }], {
      decide: (d) => (d.stepAttempts < 2 ? { action: 'retry', delayMs: 250 } : { action: 'fail' }),
    });
    h.actor.start();
    await flush();
    expect(h.actor.getSnapshot().value).toEqual('backoff');
    h.clock.increment(249);
    expect(h.started).toHaveLength(1);
    h.clock.increment(1);
    await flush();
    expect(h.started.map((s) => [s.step.provider, s.attempt])).toEqual([['p0', 1], ['p0', 2]]);
    expect(h.actor.getSnapshot().output).toMatchObject({ ok: true, result: 'ok', stepIndex: 0 });
  });

  it('abandons a silent attempt after the attempt timeout, aborts it, and moves on', async () => {
    const h = harness(['hang', { ok: true, value: 'fallback' }], { attemptTimeoutMs: 500 });
    h.actor.start();
    h.clock.increment(499);
    expect(h.actor.getSnapshot().value).toEqual('attempting');
    h.clock.increment(1);
    await flush();
    expect(h.aborted).toEqual([1]);
    expect(h.reports[0]).toEqual({ provider: 'p0', ok: false, kind: 'timeout', latencyMs: 500 });
    expect(h.actor.getSnapshot().output).toMatchObject({ ok: true, result: 'fallback', stepIndex: 1 });
  });

  it('fails with a timeout at the deadline, whatever is in flight', async () => {
    const h = harness(['hang', 'hang'], { deadlineMs: 800, attemptTimeoutMs: 500 });
    h.actor.start();
    // SimulatedClock fires a timer late when it is set during a bigger increment: step to each due time.
    h.clock.increment(500);
    expect(h.started.map((s) => s.attempt)).toEqual([1, 2]);
    h.clock.increment(299);
    expect(h.actor.getSnapshot().value).toEqual('attempting');
    h.clock.increment(1);
    const snap = h.actor.getSnapshot();
    expect(snap.value).toBe('failed');
    const out = snap.output as RequestOutput;
    expect(out.ok).toBe(false);
    if (!out.ok) expect([out.error.kind, out.error.message]).toEqual(['timeout', 'request deadline of 800 ms exceeded']);
    expect(h.aborted).toEqual([1, 2]);
  });

  it('gives up with the last error when no step is left', async () => {
    const h = harness([{ ok: false, kind: 'server_error' }, { ok: false, kind: 'model_overloaded' }]);
    h.actor.start();
    await flush();
    await flush();
    const out = h.actor.getSnapshot().output as RequestOutput;
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
    const h = harness([{ ok: false, kind: 'rate_limit' }, { ok: true, value: 'from p2' }], {
      steps: 3,
      decide: () => ({ action: 'next', stepIndex: 2 }),
    });
    h.actor.start();
    await flush();
    await flush();
    expect(h.started.map((s) => s.step.provider)).toEqual(['p0', 'p2']);
    expect(h.actor.getSnapshot().output).toMatchObject({ ok: true, result: 'from p2', stepIndex: 2 });
  });

  it('records a skipped target as skipped', async () => {
    const h = harness([{ ok: false, kind: 'server_error', skipped: 'circuit_open' }, { ok: true, value: 'ok' }]);
    h.actor.start();
    await flush();
    await flush();
    const out = h.actor.getSnapshot().output as RequestOutput;
    expect(out.attempts.map((a) => [a.attempt, a.provider, a.ok, a.skipped ?? false])).toEqual([
      [1, 'p0', false, 'circuit_open'],
      [2, 'p1', true, false],
    ]);
  });

  describe('waiting for a local connection (sent stamps)', () => {
    /** The runtime's part: the upstream got attempt `attempt` now. */
    const send = (h: ReturnType<typeof harness>, sent: SentMark, attempt: number): void => {
      sent.sentAttempt = attempt;
      sent.sentAt = h.clock.now();
    };

    it('the attempt limit counts from when the upstream got the request, not from the attempt start', async () => {
      const sent = { sentAttempt: 0, sentAt: -1 };
      const h = harness(['hang', { ok: true, value: 'fallback' }], { attemptTimeoutMs: 1_000, queueTimeoutMs: 5_000, sent });
      h.actor.start();
      h.clock.increment(700); // 700 ms waiting for a connection
      send(h, sent, 1);
      h.clock.increment(300); // 1000: the timer fires, finds the request sent 300 ms ago, re-arms for 700
      expect(h.actor.getSnapshot().value).toBe('attempting');
      expect(h.reports).toEqual([]);
      h.clock.increment(699);
      expect(h.actor.getSnapshot().value).toBe('attempting');
      h.clock.increment(1); // 1700: the upstream has had it for 1000 ms
      await flush();
      // A real timeout after dispatch still counts against the target, for its own 1000 ms.
      expect(h.reports[0]).toEqual({ provider: 'p0', ok: false, kind: 'timeout', latencyMs: 1_000 });
      expect(h.aborted).toEqual([1]);
      expect(h.actor.getSnapshot().output).toMatchObject({ ok: true, result: 'fallback', stepIndex: 1 });
    });

    it('a success reports its latency from when it was sent', async () => {
      const sent = { sentAttempt: 0, sentAt: -1 };
      let answer: (v: string) => void = () => {};
      const clock = new SimulatedClock();
      const reports: number[] = [];
      const actor = createActor(
        requestMachine.provide({
          actors: { attempt: fromPromise<unknown, AttemptInput>(() => new Promise((r) => (answer = r))) },
          actions: { report: (_, params) => void reports.push(params.record.latencyMs) },
        }),
        { clock, input: { steps: [{ provider: 'p', model: 'm', queueTimeoutMs: 5_000 }], deadlineMs: 10_000, attemptTimeoutMs: 1_000, sent, decide: () => ({ action: 'fail' }), now: () => clock.now() } },
      );
      actor.start();
      clock.increment(600);
      sent.sentAttempt = 1;
      sent.sentAt = 600;
      clock.increment(400); // the timer at 1000 re-arms
      clock.increment(300);
      answer('ok');
      await flush();
      expect(actor.getSnapshot().value).toBe('succeeded');
      expect(reports).toEqual([700]);
    });

    it('waiting past the step\'s queue timeout is the gateway\'s own limit: skipped (wait_limit), on to the next step', async () => {
      const sent = { sentAttempt: 0, sentAt: -1 };
      const h = harness(['hang', { ok: true, value: 'fallback' }], { attemptTimeoutMs: 1_000, queueTimeoutMs: 2_500, sent });
      h.actor.start();
      h.clock.increment(1_000); // the attempt limit would have fired here: not sent, so nothing happens
      h.clock.increment(1_000);
      expect(h.actor.getSnapshot().value).toBe('attempting');
      h.clock.increment(499);
      expect(h.actor.getSnapshot().value).toBe('attempting');
      h.clock.increment(1);
      await flush();
      expect(h.aborted).toEqual([1]);
      expect(h.reports[0]).toEqual({ provider: 'p0', ok: false, kind: 'server_error', latencyMs: 2_500, skipped: 'wait_limit' });
      const out = h.actor.getSnapshot().output as RequestOutput;
      expect(out).toMatchObject({ ok: true, result: 'fallback', stepIndex: 1 });
      expect(out.attempts.map((a) => [a.provider, a.skipped ?? null])).toEqual([
        ['p0', 'wait_limit'],
        ['p1', null],
      ]);
    });

    it('a stamp from an earlier attempt does not count as the current one sent', async () => {
      const sent = { sentAttempt: 0, sentAt: -1 };
      const h = harness([{ ok: false, kind: 'server_error' }, 'hang'], { attemptTimeoutMs: 1_000, queueTimeoutMs: 3_000, sent });
      h.actor.start();
      send(h, sent, 1);
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

    it('the deadline running out while waiting locally fails as the gateway\'s limit, not as a timeout of the target', async () => {
      const sent = { sentAttempt: 0, sentAt: -1 };
      const h = harness(['hang'], { steps: 1, deadlineMs: 1_500, attemptTimeoutMs: 1_000, queueTimeoutMs: 5_000, sent });
      h.actor.start();
      h.clock.increment(1_000);
      h.clock.increment(499);
      expect(h.actor.getSnapshot().value).toBe('attempting');
      h.clock.increment(1);
      const snap = h.actor.getSnapshot();
      expect(snap.value).toBe('failed');
      const out = snap.output as RequestOutput;
      expect(out.ok).toBe(false);
      if (!out.ok) {
        expect([out.error.kind, out.error.skipped]).toEqual(['server_error', 'wait_limit']);
        expect(out.error.message).toBe("the request's deadline of 1500 ms ran out after 1500 ms waiting for a connection to p0/m0");
      }
      expect(h.reports).toEqual([{ provider: 'p0', ok: false, kind: 'server_error', latencyMs: 1_500, skipped: 'wait_limit' }]);
      expect(h.aborted).toEqual([1]);
    });

    it('without a queue timeout, waiting is bounded by the deadline alone', async () => {
      const sent = { sentAttempt: 0, sentAt: -1 };
      const h = harness(['hang'], { steps: 1, deadlineMs: 3_000, attemptTimeoutMs: 1_000, sent });
      h.actor.start();
      for (let t = 0; t < 2_999; t += 1_000) h.clock.increment(Math.min(1_000, 2_999 - t));
      expect(h.actor.getSnapshot().value).toBe('attempting');
      h.clock.increment(1);
      expect(h.actor.getSnapshot().output).toMatchObject({ ok: false, error: { skipped: 'wait_limit' } });
    });
  });

  describe('a committed stream', () => {
    const openStream = { type: 'stream', complete: false };

    it('stays in streaming, re-arming the idle delay on every chunk, until END', async () => {
      const h = harness([{ ok: true, value: openStream }], { streamIdleTimeoutMs: 1_000 });
      h.actor.start();
      await flush();
      expect(h.actor.getSnapshot().value).toBe('streaming');
      h.clock.increment(900);
      h.actor.send({ type: 'CHUNK' });
      h.clock.increment(900);
      expect(h.actor.getSnapshot().value).toBe('streaming');
      h.actor.send({ type: 'END' });
      expect(h.actor.getSnapshot().value).toBe('succeeded');
      expect(h.reports.map((r) => r.ok)).toEqual([true]);
    });

    it('is stalled after the idle delay with no chunk, and reports a timeout', async () => {
      const h = harness([{ ok: true, value: openStream }], { streamIdleTimeoutMs: 1_000 });
      h.actor.start();
      await flush();
      h.clock.increment(999);
      expect(h.actor.getSnapshot().value).toBe('streaming');
      h.clock.increment(1);
      const snap = h.actor.getSnapshot();
      expect(snap.value).toBe('stalled');
      expect(h.reports.map((r) => [r.ok, r.kind])).toEqual([[true, undefined], [false, 'timeout']]);
      const out = snap.output as RequestOutput;
      expect(out.ok).toBe(false);
    });

    it('with an activity stamp, chunks need no event: the watchdog re-arms for what is left and stalls exactly idle after the last chunk', async () => {
      const activity = { lastChunkAt: 0 };
      const h = harness([{ ok: true, value: openStream }], { streamIdleTimeoutMs: 1_000, activity });
      h.actor.start();
      await flush();
      h.clock.increment(600);
      activity.lastChunkAt = h.clock.now(); // a chunk at 600
      h.clock.increment(400); // 1000: the first delay fires, finds a chunk 400 ms ago, re-arms for 600
      expect(h.actor.getSnapshot().value).toBe('streaming');
      h.clock.increment(599);
      expect(h.actor.getSnapshot().value).toBe('streaming');
      h.clock.increment(1); // 1600: 1000 ms after the last chunk
      expect(h.actor.getSnapshot().value).toBe('stalled');
    });

    it('is not subject to the request deadline once committed', async () => {
      const h = harness([{ ok: true, value: openStream }], { deadlineMs: 500, streamIdleTimeoutMs: 1_000 });
      h.actor.start();
      await flush();
      h.clock.increment(600);
      expect(h.actor.getSnapshot().value).toBe('streaming');
    });

    it('BROKEN ends it and reports the failure', async () => {
      const h = harness([{ ok: true, value: openStream }]);
      h.actor.start();
      await flush();
      h.actor.send({ type: 'BROKEN', error: new UpstreamError({ kind: 'connection_error', message: 'cut' }) });
      expect(h.actor.getSnapshot().value).toBe('broken');
      expect(h.reports.map((r) => [r.ok, r.kind])).toEqual([[true, undefined], [false, 'connection_error']]);
    });

    it('a stream that completed inside its head is simply succeeded', async () => {
      const h = harness([{ ok: true, value: { type: 'stream', complete: true } }]);
      h.actor.start();
      await flush();
      expect(h.actor.getSnapshot().value).toBe('succeeded');
    });
  });
});
