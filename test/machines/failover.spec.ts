import { assign, setup, type SnapshotFrom } from 'xstate';
import type { BreakerFallback, ServedBy } from '../../src/core/flow.ts';

/**
 * The failover machine's specification for model-based testing: the states of
 * machines/failover.machine.ts over a small fixed request, with everything the machine does
 * not decide itself as an explicit event: how each attempt ends, what the policy decides
 * after a failure, what the clock does, what the stream pump and the cache answer.
 *
 * The request: two steps, p0 then p1, where p1 continues a prefill (so a stream broken on p0
 * can be continued on p1, and one broken on p1 cannot); every step waits at most
 * SPEC_TIMING.queueTimeoutMs for a local connection; the `degraded` fallback appends a third
 * step. Which breaker fallback the request has, and whether the requested target's breaker is
 * open when the flow gives up, are the spec's input (one model per configuration).
 *
 * Time events stand for "the clock advances to the timer that does this" (the driver knows
 * the timings below):
 *
 * - ATTEMPT_LIMIT: the upstream got the attempt now and had it for the whole attempt limit
 * - WAIT: the attempt waits one attempt limit for a connection (its timer re-arms)
 * - WAIT_LIMIT: the attempt waited its step's queue timeout for a connection
 * - DEADLINE / DEADLINE_WAITING: the request's deadline runs out with the attempt sent / still waiting
 * - BACKOFF_ELAPSES / BACKOFF_DEADLINE: the retry delay passes / the deadline cuts it
 * - CHUNK: a chunk arrives, then the idle watchdog fires early and re-arms
 * - STALL: the stream is silent for the idle limit
 * - DEADLINE_PASSES: the request's deadline passes while the stream is committed (nothing happens)
 *
 * A decision rides on the failure it follows (`deciding` is transient in the machine, as
 * here): FAIL / ATTEMPT_LIMIT / WAIT_LIMIT carry the policy's `decision`. A retry is offered
 * once per step, which bounds the model.
 *
 * A continuation that its own timer ends (ATTEMPT_LIMIT, WAIT_LIMIT in `continuing`), or that
 * answers with a completion, is recorded and reported like any attempt (`unrecorded` stays 0;
 * it counted them while the machine left them out).
 */
export const SPEC_TIMING = {
  attemptTimeoutMs: 1_000,
  queueTimeoutMs: 1_500,
  retryDelayMs: 200,
  streamIdleTimeoutMs: 2_000,
  /** How far into the event that meets it the deadline lies (the driver sets the deadline there). */
  deadlineLeadMs: 100,
} as const;

export const SPEC_STEPS = 2;

export interface SpecInput {
  fallback: BreakerFallback;
  /** Whether the requested target's breaker is not closed when the flow gives up. */
  primaryOpen: boolean;
}

export type SpecDecision = 'retry' | 'next' | 'fail';
/** How an attempt failed: an upstream error, or a skip (no upstream call) and why. */
export type SpecFailure = 'upstream' | 'circuit_open' | 'unhealthy' | 'in_flight_limit';
export type SpecResult = 'completion' | 'open_stream' | 'complete_stream';
/** What the pump saw when the stream broke: text it can continue, or not. */
export type SpecBreak = 'continuable' | 'tool_calls' | 'no_text' | 'content_filter';

export type SpecEvent =
  | { type: 'OK'; result: SpecResult }
  | { type: 'FAIL'; failure: SpecFailure; decision?: SpecDecision }
  | { type: 'ATTEMPT_LIMIT'; decision?: SpecDecision }
  | { type: 'WAIT' }
  | { type: 'WAIT_LIMIT'; decision?: SpecDecision }
  | { type: 'DEADLINE' }
  | { type: 'DEADLINE_WAITING' }
  | { type: 'BACKOFF_ELAPSES' }
  | { type: 'BACKOFF_DEADLINE' }
  | { type: 'CACHE_HIT' }
  | { type: 'CACHE_MISS' }
  | { type: 'END' }
  | { type: 'BROKEN'; how: SpecBreak }
  | { type: 'CHUNK' }
  | { type: 'STALL' }
  | { type: 'DEADLINE_PASSES' };

export interface SpecContext {
  fallback: BreakerFallback;
  primaryOpen: boolean;
  stepIndex: number;
  stepAttempts: number;
  /** Attempt records so far. */
  attempts: number;
  /** Reports to the targets so far (a committed stream's failure is reported once more). */
  reported: number;
  /** Attempts started and never recorded (see the known gap above). */
  unrecorded: number;
  /** The current attempt has waited one attempt limit for a connection. */
  waited: boolean;
  /** The first attempt was skipped by the target's breaker or health (not a local limit). */
  refusedFirst: boolean;
  servedBy: ServedBy;
  fellBack: BreakerFallback | null;
  /** The request's deadline passed after the commit point. */
  late: boolean;
  // Carried from a failure into `deciding` only (cleared there).
  decision: SpecDecision | null;
  lastCircuitOpen: boolean;
}

type Args = { context: SpecContext; event: SpecEvent };

const decisionOf = (event: SpecEvent): SpecDecision | null => ('decision' in event && event.decision !== undefined ? event.decision : null);
const failureOf = (event: SpecEvent): SpecFailure | null => (event.type === 'FAIL' ? event.failure : null);

const refused = ({ context }: Args) => (context.refusedFirst || context.lastCircuitOpen) && context.primaryOpen;
const settle = { decision: null, lastCircuitOpen: false } as const;
const isResult = (r: SpecResult) => ({ event }: Args) => event.type === 'OK' && event.result === r;

export const failoverSpec = setup({
  types: {} as { context: SpecContext; events: SpecEvent; input: SpecInput },
  guards: {
    openStream: isResult('open_stream'),
    completeStream: isResult('complete_stream'),
    retry: ({ context }) => context.decision === 'retry',
    nextStepLeft: ({ context }) => context.decision === 'next' && context.stepIndex + 1 < SPEC_STEPS,
    toCache: (a) => refused(a) && a.context.fallback === 'cache',
    toDegraded: (a) => refused(a) && a.context.fallback === 'degraded',
    refused,
    /** Only p0's stream can be continued (on p1); a tool call, no text or a content_filter refusal never is. */
    continues: ({ context, event }) => context.stepIndex === 0 && event.type === 'BROKEN' && event.how === 'continuable',
    /** After a stall the failure is the stall (a timeout), so a content_filter break continues too. */
    continuesStall: ({ context, event }) => context.stepIndex === 0 && event.type === 'BROKEN' && (event.how === 'continuable' || event.how === 'content_filter'),
  },
  actions: {
    /** A failure recorded and reported; in `attempting` it goes on to `deciding`. */
    failed: assign(({ context, event }) => {
      const f = failureOf(event);
      return {
        attempts: context.attempts + 1,
        reported: context.reported + 1,
        waited: false,
        refusedFirst: context.attempts === 0 ? f === 'circuit_open' || f === 'unhealthy' : context.refusedFirst,
        decision: decisionOf(event),
        lastCircuitOpen: f === 'circuit_open',
      };
    }),
    recorded: assign(({ context }) => ({ attempts: context.attempts + 1, reported: context.reported + 1, waited: false })),
    waits: assign({ waited: true }),
    backOff: assign({ ...settle }),
    moveOn: assign({ ...settle, stepIndex: ({ context }) => context.stepIndex + 1, stepAttempts: 1 }),
    retried: assign({ stepAttempts: ({ context }) => context.stepAttempts + 1 }),
    takeFallback: assign({ ...settle, fellBack: ({ context }) => context.fallback }),
    enterDegraded: assign({ ...settle, fellBack: 'degraded', servedBy: 'degraded', stepIndex: SPEC_STEPS, stepAttempts: 1 }),
    giveUp: assign({ ...settle }),
    servedFromCache: assign({ servedBy: 'cache' }),
    streamFailed: assign({ reported: ({ context }) => context.reported + 1 }),
    continueOnNext: assign({ stepIndex: ({ context }) => context.stepIndex + 1, stepAttempts: 1, waited: false }),
    lost: assign({ unrecorded: ({ context }) => context.unrecorded + 1, waited: false }),
    late: assign({ late: true }),
    /** Past the commit point, or final: how the first attempt went no longer matters (fewer states to explore). */
    forgetRefusal: assign({ refusedFirst: false }),
  },
}).createMachine({
  id: 'failoverSpec',
  context: ({ input }) => ({
    fallback: input.fallback,
    primaryOpen: input.primaryOpen,
    stepIndex: 0,
    stepAttempts: 1,
    attempts: 0,
    reported: 0,
    unrecorded: 0,
    waited: false,
    refusedFirst: false,
    servedBy: 'upstream',
    fellBack: null,
    late: false,
    decision: null,
    lastCircuitOpen: false,
  }),
  initial: 'attempting',
  states: {
    attempting: {
      on: {
        OK: [
          { guard: 'openStream', target: 'streaming', actions: ['recorded', 'forgetRefusal'] },
          { target: 'succeeded', actions: 'recorded' },
        ],
        FAIL: { target: 'deciding', actions: 'failed' },
        ATTEMPT_LIMIT: { target: 'deciding', actions: 'failed' },
        WAIT: { actions: 'waits' },
        WAIT_LIMIT: { target: 'deciding', actions: 'failed' },
        DEADLINE: { target: 'failed', actions: 'recorded' },
        DEADLINE_WAITING: { target: 'failed', actions: 'recorded' },
      },
    },
    deciding: {
      always: [
        { guard: 'retry', target: 'backoff', actions: 'backOff' },
        { guard: 'nextStepLeft', target: 'attempting', actions: 'moveOn' },
        { guard: 'toCache', target: 'cacheFallback', actions: 'takeFallback' },
        { guard: 'toDegraded', target: 'degradedFallback', actions: 'enterDegraded' },
        { guard: 'refused', target: 'failed', actions: 'takeFallback' },
        { target: 'failed', actions: 'giveUp' },
      ],
    },
    backoff: {
      on: {
        BACKOFF_ELAPSES: { target: 'attempting', actions: 'retried' },
        BACKOFF_DEADLINE: 'failed',
      },
    },
    cacheFallback: {
      on: {
        CACHE_HIT: { target: 'succeeded', actions: 'servedFromCache' },
        CACHE_MISS: 'failed',
      },
    },
    degradedFallback: {
      on: {
        OK: [
          { guard: 'openStream', target: 'streaming', actions: 'recorded' },
          { target: 'succeeded', actions: 'recorded' },
        ],
        FAIL: { target: 'failed', actions: 'recorded' },
        ATTEMPT_LIMIT: { target: 'failed', actions: 'recorded' },
        WAIT: { actions: 'waits' },
        WAIT_LIMIT: { target: 'failed', actions: 'recorded' },
        DEADLINE: { target: 'failed', actions: 'recorded' },
        DEADLINE_WAITING: { target: 'failed', actions: 'recorded' },
      },
    },
    streaming: {
      on: {
        END: 'succeeded',
        BROKEN: [
          { guard: 'continues', target: 'continuing', actions: ['streamFailed', 'continueOnNext'] },
          { target: 'broken', actions: 'streamFailed' },
        ],
        CHUNK: {},
        STALL: { target: 'stalling', actions: 'streamFailed' },
        DEADLINE_PASSES: { actions: 'late' },
      },
    },
    stalling: {
      on: {
        END: 'succeeded',
        BROKEN: [{ guard: 'continuesStall', target: 'continuing', actions: 'continueOnNext' }, { target: 'stalled' }],
      },
    },
    continuing: {
      on: {
        OK: [
          { guard: 'openStream', target: 'streaming', actions: 'recorded' },
          { guard: 'completeStream', target: 'succeeded', actions: 'recorded' },
          // A completion cannot continue a stream: the break stands; the attempt is recorded.
          { target: 'broken', actions: 'recorded' },
        ],
        FAIL: { target: 'broken', actions: 'recorded' },
        ATTEMPT_LIMIT: { target: 'broken', actions: 'recorded' },
        WAIT: { actions: 'waits' },
        WAIT_LIMIT: { target: 'broken', actions: 'recorded' },
      },
    },
    succeeded: { type: 'final', entry: 'forgetRefusal' },
    failed: { type: 'final', entry: 'forgetRefusal' },
    stalled: { type: 'final', entry: 'forgetRefusal' },
    broken: { type: 'final', entry: 'forgetRefusal' },
  },
});

export type SpecSnapshot = SnapshotFrom<typeof failoverSpec>;

/** The spec's configurations: together they reach every state. */
export const SPEC_CONFIGS: readonly SpecInput[] = [
  { fallback: 'error', primaryOpen: true },
  { fallback: 'error', primaryOpen: false },
  { fallback: 'cache', primaryOpen: true },
  { fallback: 'degraded', primaryOpen: true },
];

const RESULTS: readonly SpecResult[] = ['completion', 'open_stream', 'complete_stream'];
const FAILURES: readonly SpecFailure[] = ['upstream', 'circuit_open', 'unhealthy', 'in_flight_limit'];
const BREAKS: readonly SpecBreak[] = ['continuable', 'tool_calls', 'no_text', 'content_filter'];

/**
 * After a WAIT only what the wait changes is explored: the limits (the attempt timer re-armed
 * for what is left) and one way each for the attempt to settle. Everything else behaves as
 * before the wait, and exploring it again would double the model.
 */
const afterWait: readonly SpecEvent[] = [
  { type: 'OK', result: 'completion' },
  { type: 'FAIL', failure: 'upstream', decision: 'next' },
  { type: 'ATTEMPT_LIMIT', decision: 'next' },
  { type: 'WAIT_LIMIT', decision: 'next' },
  { type: 'DEADLINE' },
  { type: 'DEADLINE_WAITING' },
];

/** The same event where nothing decides (the degraded fallback, a continuation). */
const undecided = (e: SpecEvent): SpecEvent => {
  if (!('decision' in e)) return e;
  const { decision: _, ...rest } = e;
  return rest as SpecEvent;
};

/** The events to explore in each state: everything that can happen there (but see afterWait). */
export function specEvents(snapshot: SpecSnapshot): readonly SpecEvent[] {
  const c = snapshot.context;
  const ok = RESULTS.map((result) => ({ type: 'OK', result }) as const);
  const wait: SpecEvent[] = c.waited ? [] : [{ type: 'WAIT' }];
  switch (snapshot.value) {
    case 'attempting': {
      if (c.waited) return afterWait;
      const decisions: SpecDecision[] = c.stepAttempts < 2 ? ['retry', 'next', 'fail'] : ['next', 'fail'];
      return [
        ...ok,
        ...FAILURES.flatMap((failure) => decisions.map((decision) => ({ type: 'FAIL', failure, decision }) as const)),
        ...decisions.map((decision) => ({ type: 'ATTEMPT_LIMIT', decision }) as const),
        ...wait,
        ...decisions.map((decision) => ({ type: 'WAIT_LIMIT', decision }) as const),
        { type: 'DEADLINE' },
        { type: 'DEADLINE_WAITING' },
      ];
    }
    case 'backoff':
      return [{ type: 'BACKOFF_ELAPSES' }, { type: 'BACKOFF_DEADLINE' }];
    case 'cacheFallback':
      return [{ type: 'CACHE_HIT' }, { type: 'CACHE_MISS' }];
    case 'degradedFallback':
      if (c.waited) return afterWait.map(undecided);
      return [
        ...ok,
        ...FAILURES.map((failure) => ({ type: 'FAIL', failure }) as const),
        { type: 'ATTEMPT_LIMIT' },
        ...wait,
        { type: 'WAIT_LIMIT' },
        { type: 'DEADLINE' },
        { type: 'DEADLINE_WAITING' },
      ];
    case 'streaming':
      return [
        { type: 'END' },
        ...BREAKS.map((how) => ({ type: 'BROKEN', how }) as const),
        { type: 'CHUNK' },
        { type: 'STALL' },
        ...(c.late ? [] : [{ type: 'DEADLINE_PASSES' } as const]),
      ];
    case 'stalling':
      return [{ type: 'END' }, ...BREAKS.map((how) => ({ type: 'BROKEN', how }) as const)];
    case 'continuing':
      if (c.waited) return afterWait.filter((e) => e.type !== 'DEADLINE' && e.type !== 'DEADLINE_WAITING').map(undecided);
      return [...ok, ...FAILURES.map((failure) => ({ type: 'FAIL', failure }) as const), { type: 'ATTEMPT_LIMIT' }, ...wait, { type: 'WAIT_LIMIT' }];
    default:
      return [];
  }
}

/** An event as a short label: `FAIL(circuit_open, next)`. */
export function eventLabel(event: SpecEvent): string {
  const params = Object.entries(event)
    .filter(([k]) => k !== 'type')
    .map(([, v]) => String(v));
  return params.length ? `${event.type}(${params.join(', ')})` : event.type;
}
