import { and, assign, cancel, enqueueActions, fromPromise, not, raise, setup, spawnChild, stopChild } from 'xstate';
import {
  AttemptFailure,
  type AttemptInput,
  type AttemptRecord,
  type AttemptSuccess,
  type FlowOutput,
  type FlowStep,
  type ResultRef,
  type StreamEvent,
} from '../src/core/flow.ts';
import { toUpstreamError, UpstreamError } from '../src/core/upstream-error.ts';

/**
 * One hedged client request: the same request raced across several targets. The primary
 * (step 0) goes at once; each further step after `delayMs` more, unless the race is already
 * decided. Every attempt is a spawned child actor (`hedge-<step>`, the runtime's promise actor
 * with an AbortSignal), reaped when it settles; stopping a loser aborts its upstream call.
 *
 * - `latency`: the first upstream answer decides, an error answer included; a skip (breaker,
 *   local limit), a timeout or a failed connection is not an answer and the race goes on.
 * - `first-success`: the first success wins; a failure only drops that attempt (and sends the
 *   next hedge at once when nothing else is in flight), so the race fails only when nothing is
 *   in flight and nothing is left to send.
 *
 * Before each hedge is sent: its estimated cost (`costs[step]`, USD, data from the runtime's
 * price table; null when unknown) must keep the extra cost within `maxAdditionalCost`, its
 * target's breaker must admit it (`nextAdmitted`) and the retry budget that pays for hedges
 * (the runtime's choice: the primary's) must have a token (`nextBudgeted`, spent by
 * `spendRetryToken`). A hedge declined for any of these is not
 * sent, is listed in `declined`, and the next one is considered at once.
 *
 * With `cancelSlower` the losers are stopped in the transition that picks the winner;
 * without it they run on (`draining`) and their outcomes are recorded when they come.
 * A stream wins at its commit point (its first content delta) and is then watched as the
 * failover machine watches one: END, BROKEN, or silence past the idle limit.
 *
 * No I/O and no clock here: the runtime provides `attempt`, `report`, `spendRetryToken`,
 * `abortStream`, `discardResult`, the guards that read breakers and budgets, and the clock's
 * versions of the delays (`hedgeDelay`, `attemptTimer`, `deadline`, `streamIdle`) and of
 * the actions that measure latency.
 *
 * @example
 * const actor = createActor(hedgeMachine.provide({ actors: { attempt } }), {
 *   input: { steps, strategy: 'latency', delayMs: 200, cancelSlower: true, costs: [0, 0.02], deadlineMs: 30_000, attemptTimeoutMs: 10_000 },
 * });
 */

export type HedgeStrategy = 'latency' | 'first-success';

/** Why a hedge was not sent. */
export type HedgeDeclineReason = 'cost' | 'circuit_open' | 'budget';

export interface HedgeInput<S extends FlowStep = FlowStep> {
  /** The primary first, then the hedges in the order they go. */
  steps: readonly S[];
  /** Handed to every attempt unchanged (the client's request id). */
  payload?: unknown;
  strategy: HedgeStrategy;
  /** Between one send and the next. */
  delayMs: number;
  cancelSlower: boolean;
  /** Estimated USD cost of sending each step (index 0, the primary, is never counted); null: unknown. */
  costs: readonly (number | null)[];
  /** The most the hedges together may add (USD); undefined: no cap. */
  maxAdditionalCost?: number;
  /** The request's one deadline, in ms from its start. */
  deadlineMs: number;
  /** Limit for one attempt to produce its result (for streams: the first content), from its send. */
  attemptTimeoutMs: number;
  streamIdleTimeoutMs?: number;
  /** Attempt numbers start after these (1-based numbering within the request). */
  firstAttempt?: number;
}

export interface HedgeContext {
  steps: readonly FlowStep[];
  payload: unknown;
  strategy: HedgeStrategy;
  delayMs: number;
  cancelSlower: boolean;
  costs: readonly (number | null)[];
  maxAdditionalCost: number | null;
  deadlineMs: number;
  attemptTimeoutMs: number;
  streamIdleTimeoutMs: number;
  /** The next step to consider sending. */
  next: number;
  /** Steps whose attempt is in flight, in send order. */
  inFlight: number[];
  /** Step -> its attempt number (0: never sent). */
  attemptOf: number[];
  /** Attempt numbers handed out so far. */
  launched: number;
  attempts: AttemptRecord[];
  declined: Array<{ step: number; reason: HedgeDeclineReason }>;
  /** Estimated USD the hedges sent so far add. */
  spent: number;
  /** The winning step, once there is one. */
  winner: number | null;
  result: ResultRef | undefined;
  lastError: UpstreamError | null;
}

/** The per-step attempt timer's event, and the hedge schedule's. */
export type HedgeEvent = StreamEvent | { type: 'HEDGE_TIMER' } | { type: 'ATTEMPT_TIMER'; step: number };

/** The hedge machine's output: a flow's, plus what it declined. */
export type HedgeOutput = FlowOutput & { declined: HedgeContext['declined']; winner: number | null };

/** The `report` action's params. */
export interface HedgeReport {
  record: AttemptRecord;
}

/** The child actor id of a step's attempt. */
export const hedgeChildId = (step: number): string => `hedge-${step}`;
const stepOfChild = (actorId: string): number => Number(actorId.slice(6));

type ActorDone = { type: string; actorId: string; output: AttemptSuccess };
type ActorError = { type: string; actorId: string; error: unknown };
type Args = { context: HedgeContext; event: HedgeEvent };

const deadlineError = (ms: number): UpstreamError => new UpstreamError({ kind: 'timeout', message: `request deadline of ${ms} ms exceeded` });

function failureOf(err: unknown): { error: UpstreamError; latencyMs: number } {
  if (err instanceof AttemptFailure) return { error: err.error, latencyMs: err.latencyMs };
  return { error: toUpstreamError(err), latencyMs: 0 };
}

/** A record of `step`'s attempt. */
export function hedgeRecord(context: HedgeContext, step: number, outcome: Pick<AttemptRecord, 'ok' | 'kind' | 'skipped' | 'cut' | 'cancelled' | 'latencyMs'>): AttemptRecord {
  const s = context.steps[step];
  return { attempt: context.attemptOf[step], step, provider: s.provider, model: s.model, ...(step > 0 ? { hedge: true } : {}), ...outcome };
}

/** The context change when the losers in flight are cancelled (`latencyOf`: how long each had run) or cut at the deadline. */
export function losersStopped(context: HedgeContext, latencyOf: (step: number) => number, cut: boolean): Partial<HedgeContext> {
  if (context.inFlight.length === 0) return {};
  const records = context.inFlight.map((s) =>
    hedgeRecord(context, s, cut ? { ok: false, kind: 'timeout', cut: true, latencyMs: latencyOf(s) } : { ok: false, cancelled: true, latencyMs: latencyOf(s) }),
  );
  return { attempts: [...context.attempts, ...records] };
}

/** The context change when `step`'s attempt reached its limit (`latencyMs`: how long it ran). */
export function timedOutHedge(context: HedgeContext, step: number, latencyMs: number): Partial<HedgeContext> {
  const s = context.steps[step];
  return {
    lastError: new UpstreamError({ kind: 'timeout', message: `attempt on ${s.provider}/${s.model} produced nothing within ${context.attemptTimeoutMs} ms` }),
    inFlight: without(context.inFlight, step),
    attempts: [...context.attempts, hedgeRecord(context, step, { ok: false, kind: 'timeout', latencyMs })],
  };
}

function declined(context: HedgeContext, reason: HedgeDeclineReason): Partial<HedgeContext> {
  return { declined: [...context.declined, { step: context.next, reason }], next: context.next + 1 };
}

const without = (list: readonly number[], step: number): number[] => list.filter((s) => s !== step);

/** Not an answer from the upstream: a skip, a timeout, a connection that failed. */
const isNonAnswer = (e: UpstreamError): boolean => e.skipped !== undefined || e.kind === 'timeout' || e.kind === 'connection_error';

const reportLast = {
  type: 'report',
  params: ({ context }: { context: HedgeContext }): HedgeReport => ({ record: context.attempts[context.attempts.length - 1] }),
} as const;

const reportStreamFailure = {
  type: 'report',
  params: ({ context }: { context: HedgeContext }): HedgeReport => {
    const won = context.attempts.find((a) => a.attempt === context.result!.attempt)!;
    return { record: { ...won, ok: false, kind: context.lastError!.kind } };
  },
} as const;

export const hedgeMachine = setup({
  types: {
    context: {} as HedgeContext,
    input: {} as HedgeInput,
    output: {} as HedgeOutput,
    events: {} as HedgeEvent,
  },
  actors: {
    /** The upstream call: resolves AttemptSuccess, rejects AttemptFailure. Provided by the runtime. */
    attempt: fromPromise<AttemptSuccess, AttemptInput>(async () => {
      throw new Error('attempt actor not provided');
    }),
  },
  actions: {
    /**
     * Tells the target how an attempt went; params are a HedgeReport. Provided by the runtime.
     * (Typed `unknown` here: XState cannot type params of actions its enqueueActions may enqueue.)
     */
    report: (_, _params: unknown) => {},
    /** A hedge beyond the primary (the next step) spends a retry-budget token. Provided by the runtime. */
    spendRetryToken: () => {},
    /** The committed stream went silent: the runtime aborts its upstream body. */
    abortStream: () => {},
    /** A loser that finished after the race was decided (the done event's): the runtime drops its result (aborting a stream's body). */
    discardResult: () => {},
    /** Hands out the next step's attempt number and counts it in flight. */
    markSent: assign(({ context }) => {
      const step = context.next;
      const attemptOf = context.attemptOf.slice();
      attemptOf[step] = context.launched + 1;
      return {
        next: step + 1,
        launched: context.launched + 1,
        attemptOf,
        inFlight: [...context.inFlight, step],
        spent: step > 0 ? context.spent + (context.costs[step] ?? 0) : context.spent,
      };
    }),
    /** The step just marked sent, as a child actor (its AbortSignal aborts the upstream call when stopped). */
    spawnAttempt: spawnChild('attempt', {
      id: ({ context }) => hedgeChildId(context.next - 1),
      input: ({ context }): AttemptInput => {
        const step = context.next - 1;
        return { step: context.steps[step], payload: context.payload, stepIndex: step, stepAttempt: 1, attempt: context.attemptOf[step] };
      },
    }),
    /** The step's own attempt limit. */
    armAttemptTimer: raise(({ context }) => ({ type: 'ATTEMPT_TIMER' as const, step: context.next - 1 }), { delay: 'attemptTimer' }),
    /** The next hedge after the delay. */
    armHedgeTimer: raise({ type: 'HEDGE_TIMER' }, { id: 'hedgeTimer', delay: 'hedgeDelay' }),
    /** Consider the next hedge now (the last one was declined, or nothing is left in flight). */
    hedgeNow: enqueueActions(({ enqueue }) => {
      enqueue.cancel('hedgeTimer');
      enqueue.raise({ type: 'HEDGE_TIMER' });
    }),
    /** When nothing is in flight and a hedge is left, send it now rather than after the delay. */
    hedgeIfIdle: enqueueActions(({ enqueue, check }) => {
      if (check('idleWithHedgesLeft')) {
        enqueue.cancel('hedgeTimer');
        enqueue.raise({ type: 'HEDGE_TIMER' });
      }
    }),
    /** The next hedge is not sent: its cost would pass the cap, its breaker refuses, its budget is empty. */
    declineCost: assign(({ context }) => declined(context, 'cost')),
    declineBreaker: assign(({ context }) => declined(context, 'circuit_open')),
    declineBudget: assign(({ context }) => declined(context, 'budget')),
    recordWin: assign(({ context, event }) => {
      const e = event as unknown as ActorDone;
      const step = stepOfChild(e.actorId);
      return {
        winner: step,
        result: e.output.result,
        inFlight: without(context.inFlight, step),
        attempts: [...context.attempts, hedgeRecord(context, step, { ok: true, latencyMs: e.output.latencyMs })],
      };
    }),
    recordFailure: assign(({ context, event }) => {
      const e = event as unknown as ActorError;
      const step = stepOfChild(e.actorId);
      const { error, latencyMs } = failureOf(e.error);
      return {
        lastError: error,
        inFlight: without(context.inFlight, step),
        attempts: [...context.attempts, hedgeRecord(context, step, { ok: false, kind: error.kind, latencyMs, ...(error.skipped !== undefined ? { skipped: error.skipped } : {}) })],
      };
    }),
    /** A loser finished after the win (cancel_slower off): recorded with its real latency. */
    recordLate: assign(({ context, event }) => {
      const e = event as unknown as ActorDone;
      const step = stepOfChild(e.actorId);
      return { inFlight: without(context.inFlight, step), attempts: [...context.attempts, hedgeRecord(context, step, { ok: true, latencyMs: e.output.latencyMs })] };
    }),
    recordLateFailure: assign(({ context, event }) => {
      const e = event as unknown as ActorError;
      const step = stepOfChild(e.actorId);
      const { error, latencyMs } = failureOf(e.error);
      return {
        inFlight: without(context.inFlight, step),
        attempts: [...context.attempts, hedgeRecord(context, step, { ok: false, kind: error.kind, latencyMs, ...(error.skipped !== undefined ? { skipped: error.skipped } : {}) })],
      };
    }),
    /** A step's attempt limit passed. The runtime's version measures from its send. */
    recordTimeout: assign(({ context, event }) => timedOutHedge(context, (event as Extract<HedgeEvent, { type: 'ATTEMPT_TIMER' }>).step, context.attemptTimeoutMs)),
    /** The losers in flight are cancelled. The runtime's version measures how long each ran. */
    recordCancelled: assign(({ context }) => losersStopped(context, () => 0, false)),
    /** The deadline cut everything in flight. The runtime's version measures how long each ran. */
    recordCut: assign(({ context }) => losersStopped(context, () => context.deadlineMs, true)),
    /** Each loser just recorded (the last `inFlight.length` records) to its target. */
    reportLosers: enqueueActions(({ context, enqueue }) => {
      const n = context.inFlight.length;
      for (let i = context.attempts.length - n; i < context.attempts.length; i++) enqueue({ type: 'report', params: { record: context.attempts[i] } satisfies HedgeReport });
    }),
    /** Stops the losers' actors (aborting their upstream calls) and forgets them. */
    stopLosers: enqueueActions(({ context, enqueue }) => {
      for (const s of context.inFlight) enqueue.stopChild(hedgeChildId(s));
      enqueue.assign({ inFlight: [] });
    }),
    /** A settled child stays in the snapshot until stopped. */
    reap: stopChild(({ event }) => (event as unknown as { actorId: string }).actorId),
    stopTimedOut: stopChild(({ event }) => hedgeChildId((event as Extract<HedgeEvent, { type: 'ATTEMPT_TIMER' }>).step)),
    failAtDeadline: assign({ lastError: ({ context }) => deadlineError(context.deadlineMs) }),
    streamBroke: assign({ lastError: ({ event }) => (event as Extract<StreamEvent, { type: 'BROKEN' }>).error }),
    streamStalled: assign({
      lastError: ({ context }) => new UpstreamError({ kind: 'timeout', message: `no data for ${context.streamIdleTimeoutMs} ms` }),
    }),
    dropResult: assign({ result: undefined }),
  },
  delays: {
    hedgeDelay: ({ context }) => context.delayMs,
    /** The runtime's version counts from the attempt's send and stops at the deadline. */
    attemptTimer: ({ context }) => context.attemptTimeoutMs,
    /** What is left of the request's deadline (runtime). */
    deadline: ({ context }) => context.deadlineMs,
    streamIdle: ({ context }) => context.streamIdleTimeoutMs,
  },
  guards: {
    hedgesLeft: ({ context }) => context.next < context.steps.length,
    /** Sending the next step keeps the hedges' estimated extra cost within the cap (unknown cost: only without a cap). */
    nextAffordable: ({ context }) => {
      if (context.maxAdditionalCost === null) return true;
      const cost = context.costs[context.next];
      return cost !== null && cost !== undefined && context.spent + cost <= context.maxAdditionalCost + 1e-12;
    },
    /** The next step's breaker admits a call now. The runtime reads the breaker. */
    nextAdmitted: () => true,
    /** The budget that pays for hedges has a token. The runtime reads the budget. */
    nextBudgeted: () => true,
    /** Nothing in flight and nothing left to send: the race is lost. */
    exhausted: ({ context }) => context.inFlight.length === 0 && context.next >= context.steps.length,
    idleWithHedgesLeft: ({ context }) => context.inFlight.length === 0 && context.next < context.steps.length,
    /** The failure is an upstream answer (not a skip, timeout or failed connection). */
    isAnswer: ({ event }) => !isNonAnswer(failureOf((event as unknown as ActorError).error).error),
    /** The race keeps the first answer, an error answer too. */
    latencyStrategy: ({ context }) => context.strategy === 'latency',
    cancelSlower: ({ context }) => context.cancelSlower,
    isOpenStream: ({ event }) => {
      const r = (event as unknown as { output?: AttemptSuccess }).output?.result;
      return r?.type === 'stream' && !r.complete;
    },
    /** The timer belongs to an attempt still in flight. */
    timerCurrent: ({ context, event }) => context.inFlight.includes((event as Extract<HedgeEvent, { type: 'ATTEMPT_TIMER' }>).step),
    nothingInFlight: ({ context }) => context.inFlight.length === 0,
    /** Nothing came for the idle limit. The runtime provides a clock-aware version. */
    silentTooLong: () => true,
  },
}).createMachine({
  id: 'hedge',
  context: ({ input }) => ({
    steps: input.steps,
    payload: input.payload,
    strategy: input.strategy,
    delayMs: input.delayMs,
    cancelSlower: input.cancelSlower,
    costs: input.costs,
    maxAdditionalCost: input.maxAdditionalCost ?? null,
    deadlineMs: input.deadlineMs,
    attemptTimeoutMs: input.attemptTimeoutMs,
    streamIdleTimeoutMs: input.streamIdleTimeoutMs ?? 30_000,
    next: 0,
    inFlight: [],
    attemptOf: [],
    launched: input.firstAttempt ?? 0,
    attempts: [],
    declined: [],
    spent: 0,
    winner: null,
    result: undefined,
    lastError: null,
  }),
  // Outside `racing`: losers still running after the win (cancel_slower off) finish here.
  on: {
    'xstate.done.actor.*': { actions: ['recordLate', reportLast, 'reap', 'discardResult'] },
    'xstate.error.actor.*': { actions: ['recordLateFailure', reportLast, 'reap'] },
    ATTEMPT_TIMER: { guard: 'timerCurrent', actions: ['recordTimeout', reportLast, 'stopTimedOut'] },
  },
  initial: 'racing',
  states: {
    racing: {
      entry: ['markSent', 'spawnAttempt', 'armAttemptTimer', 'armHedgeTimer'],
      exit: cancel('hedgeTimer'),
      always: { guard: 'exhausted', target: 'failed' },
      after: {
        deadline: { target: 'failed', actions: ['recordCut', 'reportLosers', 'stopLosers', 'failAtDeadline'] },
      },
      on: {
        HEDGE_TIMER: [
          { guard: not('hedgesLeft') },
          { guard: not('nextAffordable'), actions: ['declineCost', 'hedgeNow'] },
          { guard: not('nextAdmitted'), actions: ['declineBreaker', 'hedgeNow'] },
          { guard: not('nextBudgeted'), actions: ['declineBudget', 'hedgeNow'] },
          {
            actions: ['spendRetryToken', 'markSent', 'spawnAttempt', 'armAttemptTimer', 'armHedgeTimer'],
          },
        ],
        ATTEMPT_TIMER: { guard: 'timerCurrent', actions: ['recordTimeout', reportLast, 'stopTimedOut', 'hedgeIfIdle'] },
        'xstate.done.actor.*': [
          { guard: and(['isOpenStream', 'cancelSlower']), target: 'streaming', actions: ['recordWin', reportLast, 'reap', 'recordCancelled', 'reportLosers', 'stopLosers'] },
          { guard: 'isOpenStream', target: 'streaming', actions: ['recordWin', reportLast, 'reap'] },
          { guard: 'cancelSlower', target: 'draining', actions: ['recordWin', reportLast, 'reap', 'recordCancelled', 'reportLosers', 'stopLosers'] },
          { target: 'draining', actions: ['recordWin', reportLast, 'reap'] },
        ],
        'xstate.error.actor.*': [
          // `latency`: the first answer decides, an error answer too; the losers are stopped.
          {
            guard: and(['latencyStrategy', 'isAnswer']),
            target: 'failed',
            actions: ['recordFailure', reportLast, 'reap', 'recordCancelled', 'reportLosers', 'stopLosers'],
          },
          { actions: ['recordFailure', reportLast, 'reap', 'hedgeIfIdle'] },
        ],
      },
    },
    /** Won with a completion; losers that run on (cancel_slower off) finish here. */
    draining: {
      always: { guard: 'nothingInFlight', target: 'succeeded' },
    },
    /** Won with a stream past its commit point: the idle watchdog, and the stream's end. */
    streaming: {
      after: {
        streamIdle: [
          { guard: 'silentTooLong', target: 'stalling', actions: ['streamStalled', reportStreamFailure, 'abortStream'] },
          { target: 'streaming', reenter: true },
        ],
      },
      on: {
        END: 'draining',
        BROKEN: { target: 'broken', actions: ['streamBroke', reportStreamFailure] },
      },
    },
    /** Stalled: the upstream is being aborted; the pump reports what the client has. */
    stalling: {
      on: { END: 'draining', BROKEN: 'stalled' },
    },
    succeeded: { type: 'final' },
    failed: { type: 'final' },
    stalled: { type: 'final', entry: 'dropResult' },
    broken: { type: 'final', entry: 'dropResult' },
  },
  output: ({ context }): HedgeOutput => {
    const extra = { declined: context.declined, winner: context.winner };
    if (context.result !== undefined && context.winner !== null) {
      return { ok: true, result: context.result, step: context.steps[context.winner], stepIndex: context.winner, attempts: context.attempts, servedBy: 'upstream', ...extra };
    }
    return { ok: false, error: context.lastError ?? deadlineError(context.deadlineMs), attempts: context.attempts, ...extra };
  },
});

export type HedgeMachine = typeof hedgeMachine;
