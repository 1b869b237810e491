import { isDeepStrictEqual } from 'node:util';
import { expect } from 'vitest';
import type { Decision, FlowStep, ResultRef } from '../../src/core/flow.ts';
import { UpstreamError } from '../../src/core/upstream-error.ts';
import { startFailover, flush, type FailoverHarness, type FailoverHarnessOptions } from './failover.harness.ts';
import { SPEC_STEPS, SPEC_TIMING, type SpecDecision, type SpecEvent, type SpecInput, type SpecSnapshot } from './failover.spec.ts';

/** Far enough that no path meets it unless the path says so. */
const NO_DEADLINE_MS = 1_000_000_000;
/** Every spec timing is a multiple of this: the clock advances by it, so each timer fires when it is due. */
const TICK = 100;

/** The most real microsteps one spec event may take (a failure, a decision, a new attempt, a re-arm). */
const MAX_MICROSTEPS = 4;

const DEADLINE_EVENTS = new Set<SpecEvent['type']>(['DEADLINE', 'DEADLINE_WAITING', 'BACKOFF_DEADLINE', 'DEADLINE_PASSES']);
const ATTEMPT_STATES = new Set(['attempting', 'degradedFallback', 'continuing']);

const RESULTS: Record<string, Partial<ResultRef>> = {
  completion: { type: 'completion', complete: true },
  open_stream: { type: 'stream', complete: false },
  complete_stream: { type: 'stream', complete: true },
};

/**
 * Drives the REAL failover machine (the runtime's clock provisions on a SimulatedClock, every
 * attempt settled by the driver, decisions and cache answers scripted from the spec's events)
 * through a spec path, and checks it against the spec after every event.
 */
export class RealFailover {
  readonly h: FailoverHarness;
  readonly deadlineMs: number;
  /** The decision the next `decide` returns; `decide` without one is a failure of the machine. */
  #decision: SpecDecision | undefined;

  constructor(config: SpecInput, deadlineMs = NO_DEADLINE_MS, broken: Pick<FailoverHarnessOptions, 'override' | 'base'> = {}) {
    this.deadlineMs = deadlineMs;
    const degradedStep: FlowStep = { provider: 'p0', model: 'cheap', key: 'p0/cheap', queueTimeoutMs: SPEC_TIMING.queueTimeoutMs };
    this.h = startFailover(() => 'manual', {
      steps: SPEC_STEPS,
      prefillFrom: 1,
      queueTimeoutMs: SPEC_TIMING.queueTimeoutMs,
      autoSend: false,
      deadlineMs,
      attemptTimeoutMs: SPEC_TIMING.attemptTimeoutMs,
      streamIdleTimeoutMs: SPEC_TIMING.streamIdleTimeoutMs,
      fallback: config.fallback,
      ...(config.fallback === 'degraded' ? { degradedStep } : {}),
      primaryOpen: config.primaryOpen,
      cached: 'manual',
      ...broken,
      decide: () => {
        const d = this.#decision;
        if (d === undefined) throw new Error('decide was called where the spec has no decision');
        this.#decision = undefined;
        return toDecision(d);
      },
    });
  }

  /**
   * A driver for `events`: the deadline sits SPEC_TIMING.deadlineLeadMs into the first event
   * that meets it, found by running the events before it once with no deadline.
   */
  static async for(config: SpecInput, events: readonly SpecEvent[], broken: Pick<FailoverHarnessOptions, 'override' | 'base'> = {}): Promise<RealFailover> {
    const at = events.findIndex((e) => DEADLINE_EVENTS.has(e.type));
    if (at === -1) return new RealFailover(config, NO_DEADLINE_MS, broken).start();
    const dry = new RealFailover(config).start();
    for (const e of events.slice(0, at)) await dry.exec(e);
    const t = dry.h.clock.now();
    dry.h.actor.stop();
    return new RealFailover(config, t + SPEC_TIMING.deadlineLeadMs, broken).start();
  }

  start(): this {
    this.h.actor.start();
    return this;
  }

  async exec(event: SpecEvent | { type: 'xstate.init' }): Promise<void> {
    const h = this.h;
    const before = h.microsteps.length;
    const a = h.activity;
    const current = () => h.pending[h.pending.length - 1];
    const sendNow = () => {
      const n = current().input.attempt;
      if (a.sentAttempt !== n || a.sentAt < 0) h.send(n);
    };
    if ('decision' in event) this.#decision = event.decision;
    switch (event.type) {
      case 'xstate.init':
        return;
      case 'OK':
        sendNow();
        current().settle({ ok: true, result: RESULTS[event.result] });
        break;
      case 'FAIL':
        if (event.failure === 'upstream') sendNow();
        current().settle({ ok: false, kind: 'server_error', ...(event.failure === 'upstream' ? {} : { skipped: event.failure }) });
        break;
      case 'ATTEMPT_LIMIT':
        sendNow();
        this.#advanceTo(a.sentAt + SPEC_TIMING.attemptTimeoutMs);
        break;
      case 'WAIT':
        this.#advanceTo(a.attemptStartedAt + SPEC_TIMING.attemptTimeoutMs);
        break;
      case 'WAIT_LIMIT':
        this.#advanceTo(a.attemptStartedAt + SPEC_TIMING.queueTimeoutMs);
        break;
      case 'DEADLINE':
        sendNow();
        this.#advanceTo(this.deadlineMs);
        break;
      case 'DEADLINE_WAITING':
      case 'BACKOFF_DEADLINE':
        this.#advanceTo(this.deadlineMs);
        break;
      case 'DEADLINE_PASSES':
        this.#advanceTo(Math.max(h.clock.now() + TICK, this.deadlineMs));
        break;
      case 'BACKOFF_ELAPSES':
        this.#advanceTo(h.clock.now() + SPEC_TIMING.retryDelayMs);
        break;
      case 'CACHE_HIT':
      case 'CACHE_MISS':
        h.cacheLookups.shift()!(event.type === 'CACHE_HIT');
        break;
      case 'END':
        h.actor.send({ type: 'END' });
        break;
      case 'BROKEN': {
        const kind = event.how === 'content_filter' ? 'content_filter' : 'connection_error';
        h.actor.send({
          type: 'BROKEN',
          error: new UpstreamError({ kind, message: `stream broke (${event.how})` }),
          partial: event.how === 'no_text' ? '  ' : 'Hello',
          toolCalls: event.how === 'tool_calls',
        });
        break;
      }
      case 'CHUNK': {
        // A chunk a tick later, then the watchdog armed before it fires, finds it and re-arms.
        const due = a.lastChunkAt + SPEC_TIMING.streamIdleTimeoutMs;
        this.#advanceTo(h.clock.now() + TICK);
        a.lastChunkAt = h.clock.now();
        this.#advanceTo(due);
        break;
      }
      case 'STALL':
        this.#advanceTo(a.lastChunkAt + SPEC_TIMING.streamIdleTimeoutMs);
        break;
    }
    // Only a settled promise (an attempt, a cache lookup) needs the microtask queue drained.
    if (event.type === 'OK' || event.type === 'FAIL' || event.type === 'CACHE_HIT' || event.type === 'CACHE_MISS') await flush();
    const passed = h.microsteps.slice(before);
    const path = `microsteps ${passed.join(' -> ')}`;
    // `deciding` is transient: the real machine passes through it exactly when the spec decides.
    if (passed.includes('deciding') !== this.#decidedBy(event)) expect(passed.includes('deciding'), path).toBe(this.#decidedBy(event));
    if (this.#decision !== undefined) expect.fail(`the decision ${this.#decision} was not consumed (${path})`);
    // Each spec event is a handful of real transitions: a timer that re-arms without end (a
    // delay of 0 that finds no limit reached) shows here as dozens.
    if (passed.length > MAX_MICROSTEPS) expect(passed.length, path).toBeLessThanOrEqual(MAX_MICROSTEPS);
  }

  /** The real machine agrees with the spec on state, the key context, the reports, and its attempts' lifecycles. */
  assertMatches(spec: SpecSnapshot): void {
    const h = this.h;
    const real = h.actor.getSnapshot();
    const c = real.context;
    const s = spec.context;
    const inFlight = ATTEMPT_STATES.has(String(spec.value)) ? 1 : 0;
    const done = new Set([...h.settled, ...h.aborted]);
    const final = real.status === 'done';
    const actual = {
      value: real.value,
      status: real.status,
      stepIndex: c.stepIndex,
      stepAttempts: c.stepAttempts,
      attempts: c.attempts.length,
      reported: h.reports.length,
      servedBy: c.servedBy,
      fellBack: c.fellBack,
      // Records are numbered in order, one attempt actor per record (plus the one in flight, and the known gap).
      numbers: c.attempts.map((r) => r.attempt),
      started: h.started.map((i) => i.attempt),
      // Every attempt but the one in flight has settled or was aborted; an aborted one never settled.
      running: h.started.slice(0, h.started.length - inFlight).filter((i) => !done.has(i.attempt)).map((i) => i.attempt),
      abortedAndSettled: h.aborted.filter((n) => h.settled.includes(n)),
      children: final ? Object.keys(real.children) : [],
      ok: final ? h.output().ok : null,
    };
    const expected = {
      value: spec.value,
      status: spec.status,
      stepIndex: s.stepIndex,
      stepAttempts: s.stepAttempts,
      attempts: s.attempts,
      reported: s.reported,
      servedBy: s.servedBy,
      fellBack: s.fellBack,
      numbers: Array.from({ length: s.attempts }, (_, i) => i + 1),
      started: Array.from({ length: s.attempts + s.unrecorded + inFlight }, (_, i) => i + 1),
      running: [],
      abortedAndSettled: [],
      children: [],
      ok: final ? spec.value === 'succeeded' : null,
    };
    // One deep comparison per step; the assertion library only to explain a mismatch.
    if (!isDeepStrictEqual(actual, expected)) expect(actual).toEqual(expected);
  }

  #decidedBy(event: SpecEvent | { type: 'xstate.init' }): boolean {
    return 'decision' in event && event.decision !== undefined;
  }

  /** Advances the clock tick by tick, so each timer fires at its own time. */
  #advanceTo(t: number): void {
    const clock = this.h.clock;
    while (clock.now() < t) clock.increment(Math.min(TICK, t - clock.now()));
  }
}

function toDecision(d: SpecDecision): Decision {
  if (d === 'retry') return { action: 'retry', delayMs: SPEC_TIMING.retryDelayMs };
  return { action: d };
}
