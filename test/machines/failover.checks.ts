import fc from 'fast-check';
import { ERROR_KINDS, type ErrorKind } from '../../src/core/error-kinds.ts';
import type { BreakerFallback, Decision, FlowStep } from '../../src/core/flow.ts';
import { UpstreamError, type SkipReason } from '../../src/core/upstream-error.ts';
import { flush, startFailover, type FailoverHarness, type FailoverHarnessOptions } from './failover.harness.ts';

/**
 * Random flows of the real failover machine (the runtime's clock provisions on a
 * SimulatedClock) and the properties every flow must keep, as checks that throw with what
 * went wrong. Everything is scripted: each attempt's fate (when it reaches its upstream, how
 * and when it ends), the policy's decisions in order, the breaker, the cache, and each
 * committed stream's pump (chunks, then an end, a break or silence).
 */

/** Every duration is a multiple of TICK and the clock advances one TICK at a time, so each timer fires when it is due. */
export const TICK = 10;
/** No flow runs longer than this (the longest deadline, streams and their continuations fit well within). */
const MAX_MS = 120_000;

export type Fate =
  | { t: 'ok' }
  | { t: 'stream'; chunks: number[]; end: 'END' | 'silent' | { broken: 'text' | 'tool_calls' | 'no_text' } }
  | { t: 'fail'; kind: ErrorKind }
  /** Refused without an upstream call, at once (breaker, health, the local in-flight limit). */
  | { t: 'skip'; skipped: Exclude<SkipReason, 'wait_limit'> }
  | { t: 'hang' };

export interface AttemptPlan {
  /** Ticks after its start when the upstream gets it; null: it never gets a connection. */
  sendAfter: number | null;
  /** Ticks after it was sent when it ends (for `ok`, `stream`, `fail`). */
  endAfter: number;
  fate: Fate;
}

export type ScriptedDecision = { action: 'retry'; delayTicks: number } | { action: 'next'; to?: number } | { action: 'fail' };

export interface Scenario {
  steps: FlowStep[];
  deadlineMs: number;
  attemptTimeoutMs: number;
  streamIdleTimeoutMs: number;
  fallback: BreakerFallback;
  degraded: boolean;
  primaryOpen: boolean;
  cached: boolean;
  /** By attempt number (1-based: plans[0] is attempt 1); attempts past the list hang. */
  plans: AttemptPlan[];
  /** Consumed in order; past the list the policy says fail. */
  decisions: ScriptedDecision[];
}

const ticks = (min: number, max: number) => fc.integer({ min, max }).map((n) => n * TICK);

const fate: fc.Arbitrary<Fate> = fc.oneof(
  { weight: 2, arbitrary: fc.constant({ t: 'ok' as const }) },
  {
    weight: 3,
    arbitrary: fc.record({
      t: fc.constant('stream' as const),
      chunks: fc.array(fc.integer({ min: 1, max: 150 }), { maxLength: 4 }),
      end: fc.oneof(fc.constant('END' as const), fc.constant('silent' as const), fc.record({ broken: fc.constantFrom('text' as const, 'tool_calls' as const, 'no_text' as const) })),
    }),
  },
  { weight: 3, arbitrary: fc.record({ t: fc.constant('fail' as const), kind: fc.constantFrom(...ERROR_KINDS) }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('skip' as const), skipped: fc.constantFrom('circuit_open' as const, 'unhealthy' as const, 'too_slow' as const, 'in_flight_limit' as const) }) },
  { weight: 1, arbitrary: fc.constant({ t: 'hang' as const }) },
);

const plan: fc.Arbitrary<AttemptPlan> = fc.record({
  sendAfter: fc.option(fc.integer({ min: 0, max: 150 }), { nil: null, freq: 8 }),
  endAfter: fc.integer({ min: 0, max: 150 }),
  fate,
});

const decision: fc.Arbitrary<ScriptedDecision> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ action: fc.constant('retry' as const), delayTicks: fc.integer({ min: 0, max: 100 }) }) },
  { weight: 3, arbitrary: fc.constant({ action: 'next' as const }) },
  // A jump: forward within the chain, or one the machine must refuse (back, same step, past the end).
  { weight: 2, arbitrary: fc.record({ action: fc.constant('next' as const), to: fc.integer({ min: -1, max: 4 }) }) },
  { weight: 1, arbitrary: fc.constant({ action: 'fail' as const }) },
);

export const scenario: fc.Arbitrary<Scenario> = fc
  .record({
    stepCount: fc.integer({ min: 1, max: 4 }),
    prefill: fc.array(fc.boolean(), { minLength: 4, maxLength: 4 }),
    queueTimeout: fc.array(fc.option(ticks(0, 300), { nil: undefined }), { minLength: 4, maxLength: 4 }),
    deadlineMs: ticks(1, 2_000),
    attemptTimeoutMs: ticks(1, 300),
    streamIdleTimeoutMs: ticks(1, 300),
    fallback: fc.constantFrom<BreakerFallback>('error', 'cache', 'degraded'),
    degraded: fc.boolean(),
    primaryOpen: fc.boolean(),
    cached: fc.boolean(),
    plans: fc.array(plan, { minLength: 1, maxLength: 8 }),
    decisions: fc.array(decision, { minLength: 1, maxLength: 10 }),
  })
  .map((r) => ({
    ...r,
    steps: Array.from({ length: r.stepCount }, (_, i) => ({
      provider: `p${i}`,
      model: `m${i}`,
      key: `p${i}/m${i}`,
      ...(r.prefill[i] ? { prefill: true } : {}),
      // A prefill step always has one, as every configured step has (src/routing/routes.ts): a
      // continuation runs past the deadline, so without one it could wait for a connection forever.
      ...(r.queueTimeout[i] !== undefined || r.prefill[i] ? { queueTimeoutMs: r.queueTimeout[i] ?? 1_000 } : {}),
    })),
  }));

/** What one flow did, on the simulated clock. */
export interface FlowRun {
  s: Scenario;
  h: FailoverHarness;
  /** Attempt number -> when it started / when its upstream got it. */
  startedAt: Map<number, number>;
  sentAt: Map<number, number>;
  /** Each `decide` the machine made: how many attempts were recorded then, and the decision. */
  decided: Array<{ afterAttempts: number; stepIndex: number; decision: Decision }>;
  /** Attempts still running when a later one started: [the later one, those still running]. */
  overlaps: Array<[number, number[]]>;
  commitAt: number | null;
  doneAt: number | null;
}

/** Runs a scenario to its end (or MAX_MS). `broken` breaks the machine on purpose (a provision, or the chart). */
export async function simulate(s: Scenario, broken: Pick<FailoverHarnessOptions, 'override' | 'base'> = {}): Promise<FlowRun> {
  const decisions = [...s.decisions];
  const run: FlowRun = { s, h: undefined!, startedAt: new Map(), sentAt: new Map(), decided: [], overlaps: [], commitAt: null, doneAt: null };
  const h = (run.h = startFailover(
    (input) => {
      run.startedAt.set(input.attempt, h.clock.now());
      const running = h.started.filter((i) => i.attempt !== input.attempt && !h.settled.includes(i.attempt) && !h.aborted.includes(i.attempt));
      if (running.length > 0) run.overlaps.push([input.attempt, running.map((i) => i.attempt)]);
      return 'manual';
    },
    {
      steps: s.steps,
      autoSend: false,
      deadlineMs: s.deadlineMs,
      attemptTimeoutMs: s.attemptTimeoutMs,
      streamIdleTimeoutMs: s.streamIdleTimeoutMs,
      fallback: s.fallback,
      ...(s.degraded ? { degradedStep: { provider: 'p0', model: 'cheap', key: 'p0/cheap' } } : {}),
      primaryOpen: s.primaryOpen,
      cached: s.cached,
      decide: (c) => {
        const d = decisions.shift() ?? { action: 'fail' };
        const out: Decision =
          d.action === 'retry' ? { action: 'retry', delayMs: d.delayTicks * TICK } : d.action === 'next' ? { action: 'next', ...(d.to !== undefined ? { stepIndex: d.to } : {}) } : d;
        run.decided.push({ afterAttempts: c.attempts.length, stepIndex: c.stepIndex, decision: out });
        return out;
      },
      ...broken,
    },
  ));
  h.actor.subscribe({
    next: (snap) => {
      if (snap.value === 'streaming' && run.commitAt === null) run.commitAt = h.clock.now();
    },
    complete: () => {
      run.doneAt = h.clock.now();
    },
  });
  h.actor.start();

  /** The committed stream being pumped: its attempt, when its next event is due, what remains of its plan. */
  let pump: { attempt: number; due: number; chunks: number[]; end: Extract<Fate, { t: 'stream' }>['end']; aborts: number } | null = null;
  const planOf = (n: number): AttemptPlan => s.plans[n - 1] ?? { sendAfter: 0, endAfter: 0, fate: { t: 'hang' } };
  /** Does what is due now; true when it did something (the machine may have moved: look again). */
  const step = (now: number): boolean => {
    // The attempt in flight, if any: its upstream gets it, then it ends, as planned.
    const current = h.pending[h.pending.length - 1];
    if (current !== undefined && !h.aborted.includes(current.input.attempt) && !ended.has(current.input.attempt)) {
      const n = current.input.attempt;
      const p = planOf(n);
      if (p.fate.t === 'skip') {
        current.settle({ ok: false, kind: 'server_error', skipped: p.fate.skipped, latencyMs: 0 });
        ended.add(n);
        return true;
      }
      if (p.sendAfter !== null && !run.sentAt.has(n) && now >= run.startedAt.get(n)! + p.sendAfter * TICK) {
        h.send(n);
        run.sentAt.set(n, now);
        return true;
      }
      const f = p.fate;
      if (f.t !== 'hang' && run.sentAt.has(n) && now >= run.sentAt.get(n)! + p.endAfter * TICK) {
        if (f.t === 'fail') current.settle({ ok: false, kind: f.kind });
        else current.settle({ ok: true, result: f.t === 'stream' ? { type: 'stream', complete: false } : { type: 'completion', complete: true } });
        ended.add(n);
        return true;
      }
    }
    // The stream pump: chunks, then the end; after the watchdog aborted the body, the break.
    const snap = h.actor.getSnapshot();
    if (snap.status !== 'active' || (snap.value !== 'streaming' && snap.value !== 'stalling')) return false;
    const ref = snap.context.result!;
    if (pump === null || pump.attempt !== ref.attempt) {
      const f = planOf(ref.attempt).fate as Extract<Fate, { t: 'stream' }>;
      pump = { attempt: ref.attempt, due: now + (f.chunks[0] ?? 0) * TICK, chunks: [...f.chunks], end: f.end, aborts: h.streamAborts() };
    }
    if (h.streamAborts() > pump.aborts) {
      pump.aborts = h.streamAborts();
      pump.end = 'silent';
      h.actor.send(brokenEvent('text', 'timeout'));
      return true;
    }
    if (now < pump.due) return false;
    if (pump.chunks.length > 0) {
      pump.chunks.shift();
      h.activity.lastChunkAt = now;
      pump.due = now + (pump.chunks[0] ?? 0) * TICK;
      return pump.chunks.length === 0 || pump.due === now;
    }
    if (pump.end === 'silent') return false;
    const end = pump.end;
    pump.end = 'silent';
    h.actor.send(end === 'END' ? { type: 'END' } : brokenEvent(end.broken, 'connection_error'));
    return true;
  };
  const ended = new Set<number>();
  while (run.doneAt === null && h.clock.now() <= MAX_MS) {
    // Everything due at this instant, until nothing more is (each pass may start an attempt due now).
    for (let pass = 0; pass < 50 && run.doneAt === null && step(h.clock.now()); pass++) await flush();
    // The cache lookup answers in a promise of its own: let it.
    if (h.actor.getSnapshot().value === 'cacheFallback') await flush();
    if (run.doneAt === null) h.clock.increment(TICK);
  }
  return run;
}

function brokenEvent(how: 'text' | 'tool_calls' | 'no_text', kind: ErrorKind) {
  return { type: 'BROKEN' as const, error: new UpstreamError({ kind, message: 'stream broke' }), partial: how === 'no_text' ? ' ' : 'Hello', toolCalls: how === 'tool_calls' };
}

const fail = (msg: string): never => {
  throw new Error(msg);
};

/** A continuation with no record (the machine used to leave out those its own timer ended): its attempt number, or undefined. */
export function unrecordedContinuation(r: FlowRun): number | undefined {
  const last = r.h.started[r.h.started.length - 1];
  const records = r.h.actor.getSnapshot().context.attempts;
  return last?.prefill !== undefined && !records.some((a) => a.attempt === last.attempt) ? last.attempt : undefined;
}

/**
 * The deadline holds before the commit point: no attempt starts at or after it, and a flow
 * that never committed is over by then (its timers are cut at the deadline, and the clock
 * moves in TICKs that divide it). A committed stream is past it only by its own limits.
 */
export function checkDeadline(r: FlowRun): void {
  const { deadlineMs } = r.s;
  const cutoff = r.commitAt ?? Number.POSITIVE_INFINITY;
  if (r.doneAt === null) fail(`the flow never finished (${MAX_MS} ms)`);
  if (r.commitAt !== null && r.commitAt > deadlineMs) fail(`committed at ${r.commitAt}, after the deadline ${deadlineMs}`);
  for (const [n, at] of r.startedAt) if (at < cutoff && at >= deadlineMs) fail(`attempt ${n} started at ${at}, at or after the deadline ${deadlineMs}`);
  if (r.commitAt === null && r.doneAt! > deadlineMs) fail(`finished at ${r.doneAt}, after the deadline ${deadlineMs}`);
}

/**
 * Attempts never exceed what the decisions allow: after the first, each attempt on the chain
 * follows one decision made after a failure: a retry stays on its step (one more step
 * attempt), a `next` goes to the decided later step; a `fail`, or a `next` that does not go
 * forward within the chain, is followed by no attempt on the chain.
 */
export function checkDecisions(r: FlowRun): void {
  const chain = r.h.started.filter((i) => i.prefill === undefined && i.stepIndex < r.s.steps.length);
  const records = r.h.actor.getSnapshot().context.attempts;
  if (chain[0] !== undefined && (chain[0].attempt !== 1 || chain[0].stepIndex !== 0 || chain[0].stepAttempt !== 1)) fail('the first attempt is not attempt 1 of step 0');
  for (const d of r.decided) {
    const rec = records[d.afterAttempts - 1];
    if (rec === undefined || rec.ok) fail(`decided after attempt ${d.afterAttempts}, which did not fail`);
  }
  for (let i = 1; i < chain.length; i++) {
    const prev = chain[i - 1];
    const next = chain[i];
    const d = r.decided.find((x) => x.afterAttempts === next.attempt - 1)?.decision;
    if (d === undefined) fail(`attempt ${next.attempt} (step ${next.stepIndex}) follows no decision`);
    if (d!.action === 'retry') {
      if (next.stepIndex !== prev.stepIndex || next.stepAttempt !== prev.stepAttempt + 1)
        fail(`after a retry of step ${prev.stepIndex} (#${prev.stepAttempt}), attempt ${next.attempt} went to step ${next.stepIndex} (#${next.stepAttempt})`);
    } else if (d!.action === 'next') {
      const to = d!.stepIndex ?? prev.stepIndex + 1;
      if (to <= prev.stepIndex || to >= r.s.steps.length) fail(`after next to step ${to} from step ${prev.stepIndex}, attempt ${next.attempt} went to step ${next.stepIndex}`);
      if (next.stepIndex !== to || next.stepAttempt !== 1) fail(`after next to step ${to}, attempt ${next.attempt} went to step ${next.stepIndex} (#${next.stepAttempt})`);
    } else fail(`after a fail decision, attempt ${next.attempt} went to step ${next.stepIndex}`);
  }
}

/**
 * One attempt at a time, and none left behind: an attempt starts only once the one before
 * it settled or was aborted, and when the flow is final every attempt actor started is over
 * (settled, or aborted once) and the flow has no children left.
 */
export function checkNoLeaks(r: FlowRun): void {
  const { h } = r;
  for (const [n, running] of r.overlaps) fail(`attempt ${n} started while attempt ${running.join(', ')} still ran`);
  const snap = h.actor.getSnapshot();
  if (snap.status !== 'done') fail(`the flow is ${snap.status}, not done`);
  const children = Object.keys(snap.children);
  if (children.length > 0) fail(`children left when final: ${children.join(', ')}`);
  for (const i of h.started) {
    const aborts = h.aborted.filter((n) => n === i.attempt).length;
    const settled = h.settled.includes(i.attempt);
    if (aborts + (settled ? 1 : 0) !== 1) fail(`attempt ${i.attempt}: ${aborts} aborts, ${settled ? '' : 'not '}settled`);
  }
}

/**
 * The output's attempts are the attempt actors started, in order, each as it went: the
 * planned outcome when it settled, a timeout when its timer ended it, a wait_limit skip when
 * it never reached its upstream; continuations included.
 */
export function checkRecords(r: FlowRun): void {
  const out = r.h.output();
  const started = r.h.started.map((i) => [i.attempt, i.stepIndex, i.step.provider, i.step.model]);
  const recorded = out.attempts.map((a) => [a.attempt, a.step, a.provider, a.model]);
  if (JSON.stringify(started) !== JSON.stringify(recorded)) fail(`records ${JSON.stringify(recorded)} are not the attempts started ${JSON.stringify(started)}`);
  for (const a of out.attempts) {
    const f = (r.s.plans[a.attempt - 1] ?? { fate: { t: 'hang' } }).fate;
    const sent = r.sentAt.has(a.attempt);
    const settled = r.h.settled.includes(a.attempt);
    const want = !settled
      ? sent
        ? { ok: false, kind: 'timeout', skipped: undefined }
        : { ok: false, kind: 'server_error', skipped: 'wait_limit' }
      : f.t === 'skip'
        ? { ok: false, kind: 'server_error', skipped: f.skipped }
        : f.t === 'fail'
          ? { ok: false, kind: f.kind, skipped: undefined }
          : { ok: true, kind: undefined, skipped: undefined };
    const got = { ok: a.ok, kind: a.kind, skipped: a.skipped };
    if (JSON.stringify(got) !== JSON.stringify(want)) fail(`attempt ${a.attempt} recorded ${JSON.stringify(got)}, expected ${JSON.stringify(want)}`);
  }
}

/**
 * A skipped attempt never reaches `report` as a counted outcome: an attempt whose upstream
 * never got it is reported skipped, one that was sent never is; each attempt is reported
 * once, and once more only as a committed stream's failure.
 */
export function checkReports(r: FlowRun): void {
  const seen = new Map<number, number>();
  for (const rep of r.h.reports) {
    const n = rep.attempt;
    const sent = r.sentAt.has(n);
    if (!sent && (rep.ok || rep.skipped === undefined)) fail(`attempt ${n} never reached its upstream but was reported as ${rep.ok ? 'a success' : rep.kind}`);
    if (sent && rep.skipped !== undefined) fail(`attempt ${n} reached its upstream but was reported skipped (${rep.skipped})`);
    const count = (seen.get(n) ?? 0) + 1;
    seen.set(n, count);
    if (count > 2 || (count === 2 && rep.ok)) fail(`attempt ${n} reported ${count} times`);
  }
}
