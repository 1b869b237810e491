import { and, assign, fromPromise, setup } from 'xstate';
import {
  AttemptFailure,
  type AttemptInput,
  type AttemptRecord,
  type AttemptSuccess,
  type BreakerFallback,
  type Decision,
  type FlowOutput,
  type FlowStep,
  type ResultRef,
  type ServedBy,
  type StreamEvent,
} from '../src/core/flow.ts';
import { toUpstreamError, UpstreamError } from '../src/core/upstream-error.ts';

/**
 * One client request's sequential flow: the failover orchestrator. It sends the request to
 * the steps of its chain in order, one attempt actor at a time (a child promise actor with an
 * AbortSignal: leaving `attempting` stops it and aborts the upstream call), and after every
 * failure asks `decide` whether to retry the same step after a delay, move to a later step,
 * or stop. When the requested target's breaker refused the request and nothing else served
 * it, the breaker fallback (cache, degraded model, error) is a state of the flow too. Past a
 * stream's commit point the flow watches the stream; if it breaks or stalls, a later
 * prefill-capable step may continue it.
 *
 * No I/O and no clock here: the runtime provides the `attempt` and `cacheLookup` actors, the
 * `decide`, `report`, `spendRetryToken` and `abortStream` actions, and the clock-reading
 * `streamIdle` delay and `primaryCircuitOpen` guard (src/serve/flow-runtime.ts). Time spent
 * is kept from events: each attempt reports its own latency, and the flow adds the delays it
 * waited, so the request's one deadline needs no timer of its own.
 *
 * @example
 * const actor = createActor(failoverMachine.provide({ actors: { attempt } }), { input: { steps, payload, deadlineMs: 30_000, attemptTimeoutMs: 10_000, streamIdleTimeoutMs: 30_000 } });
 */

export interface FailoverInput<S extends FlowStep = FlowStep> {
  steps: readonly S[];
  /** Handed to every attempt unchanged (the client's request and its bookkeeping). */
  payload?: unknown;
  /** The request's one deadline across every attempt, in ms. */
  deadlineMs: number;
  /** Limit for one attempt to produce its result (for streams: the first content). */
  attemptTimeoutMs: number;
  /** After a stream's commit point, the longest silence before it counts as stalled. */
  streamIdleTimeoutMs?: number;
  /** What the request gets when the requested target's breaker refused it and nothing else served it. */
  fallback?: BreakerFallback;
  /** The cheaper model for the `degraded` fallback. */
  degradedStep?: S;
  /** Time the request already spent before this flow started (e.g. on hedges). */
  elapsedMs?: number;
  /** Attempts the request already made before this flow started. */
  attempts?: readonly AttemptRecord[];
}

/** Input of the attempt actor (the runtime's upstream call). */
export type FailoverAttemptInput = AttemptInput;

interface Context {
  steps: readonly FlowStep[];
  payload: unknown;
  fallback: BreakerFallback;
  degradedStep: FlowStep | undefined;
  stepIndex: number;
  stepAttempts: number;
  attempts: AttemptRecord[];
  /** Time spent so far: attempts' measured latencies plus the delays waited. */
  elapsedMs: number;
  deadlineMs: number;
  attemptTimeoutMs: number;
  streamIdleTimeoutMs: number;
  decision: Decision | null;
  lastError: UpstreamError | null;
  /** The attempt result the flow is serving (a cached answer's reference for the cache fallback). */
  result: ResultRef | undefined;
  servedBy: ServedBy;
  /** The breaker fallback the flow took, once it took one. */
  fellBack: BreakerFallback | null;
  /** The answer so far of a broken stream, sent to the continuation. */
  prefill: string | undefined;
}

/** ms left before the request's deadline (never negative). */
function remaining(context: Context): number {
  return Math.max(0, context.deadlineMs - context.elapsedMs);
}

/** The current attempt's time limit: its own, cut at the deadline. */
function attemptBudget(context: Context): number {
  return Math.min(context.attemptTimeoutMs, remaining(context));
}

const deadlineError = (ms: number): UpstreamError => new UpstreamError({ kind: 'timeout', message: `request deadline of ${ms} ms exceeded` });

function record(context: Context, outcome: Pick<AttemptRecord, 'ok' | 'kind' | 'skipped' | 'cut' | 'latencyMs'>): AttemptRecord {
  const step = context.steps[context.stepIndex];
  return { attempt: context.attempts.length + 1, step: context.stepIndex, provider: step.provider, model: step.model, ...outcome };
}

/** A later step that can continue a broken stream, or -1. */
function continuationStep(context: Context): number {
  for (let i = context.stepIndex + 1; i < context.steps.length; i++) if (context.steps[i].prefill === true) return i;
  return -1;
}

function failureOf(err: unknown): { error: UpstreamError; latencyMs: number } {
  if (err instanceof AttemptFailure) return { error: err.error, latencyMs: err.latencyMs };
  return { error: toUpstreamError(err), latencyMs: 0 };
}

function isOpenStreamResult(result: ResultRef | undefined): boolean {
  return result?.type === 'stream' && !result.complete;
}

/** `report` with the last attempt as params (the runtime provides `report`). */
const reportLast = {
  type: 'report',
  params: ({ context }: { context: Context }) => ({ record: context.attempts[context.attempts.length - 1] }),
} as const;

/** A committed stream failed: its target must hear it, though the attempt had succeeded at the commit point. */
const reportStreamFailure = {
  type: 'report',
  params: ({ context }: { context: Context }) => {
    const last = context.attempts[context.attempts.length - 1];
    return { record: { ...last, ok: false, kind: context.lastError!.kind } };
  },
} as const;

const attemptInput = ({ context }: { context: Context }): FailoverAttemptInput => ({
  step: context.steps[context.stepIndex],
  payload: context.payload,
  stepIndex: context.stepIndex,
  stepAttempt: context.stepAttempts,
  attempt: context.attempts.length + 1,
  ...(context.prefill !== undefined ? { prefill: context.prefill } : {}),
});

export const failoverMachine = setup({
  types: {
    context: {} as Context,
    input: {} as FailoverInput,
    output: {} as FlowOutput,
    events: {} as StreamEvent,
  },
  actors: {
    /** The upstream call: resolves AttemptSuccess, rejects AttemptFailure. Provided by the runtime. */
    attempt: fromPromise<AttemptSuccess, FailoverAttemptInput>(async () => {
      throw new Error('attempt actor not provided');
    }),
    /** The last good answer for this request, for the `cache` fallback; rejects on a miss. */
    cacheLookup: fromPromise<ResultRef, { payload: unknown }>(async () => {
      throw new Error('no cache');
    }),
  },
  actions: {
    /** Tells the target how an attempt went (breakers, statistics, health). Provided by the runtime. */
    report: (_, _params: { record: AttemptRecord }) => {},
    /**
     * Decides what follows a failure; the runtime replaces it with the policy's decision
     * (src/decisions/after-failure.ts). This default moves to the next step, else stops.
     */
    decide: assign({
      decision: ({ context }): Decision => (context.stepIndex + 1 < context.steps.length ? { action: 'next' } : { action: 'fail' }),
    }),
    /** A retry spends a token of the target's retry budget. Provided by the runtime. */
    spendRetryToken: () => {},
    /** The committed stream went silent: the runtime aborts its upstream body. */
    abortStream: () => {},
    recordSuccess: assign(({ context, event }) => {
      const out = (event as unknown as { output: AttemptSuccess }).output;
      return {
        result: out.result,
        elapsedMs: context.elapsedMs + out.latencyMs,
        attempts: [...context.attempts, record(context, { ok: true, latencyMs: out.latencyMs })],
      };
    }),
    recordFailure: assign(({ context, event }) => {
      const { error, latencyMs } = failureOf((event as unknown as { error: unknown }).error);
      return {
        lastError: error,
        elapsedMs: context.elapsedMs + latencyMs,
        attempts: [...context.attempts, record(context, { ok: false, kind: error.kind, latencyMs, ...(error.skipped !== undefined ? { skipped: error.skipped } : {}) })],
      };
    }),
    recordTimeout: assign(({ context }) => {
      const step = context.steps[context.stepIndex];
      const latencyMs = attemptBudget(context);
      return {
        lastError: new UpstreamError({ kind: 'timeout', message: `attempt on ${step.provider}/${step.model} produced nothing within ${latencyMs} ms` }),
        elapsedMs: context.elapsedMs + latencyMs,
        attempts: [...context.attempts, record(context, { ok: false, kind: 'timeout', latencyMs })],
      };
    }),
    /** The deadline cut the attempt: recorded as a timeout marked `cut`. */
    recordCut: assign(({ context }) => {
      const latencyMs = attemptBudget(context);
      return {
        lastError: deadlineError(context.deadlineMs),
        elapsedMs: context.elapsedMs + latencyMs,
        attempts: [...context.attempts, record(context, { ok: false, kind: 'timeout', cut: true, latencyMs })],
      };
    }),
    moveOn: assign({
      stepIndex: ({ context }) => (context.decision as { stepIndex?: number }).stepIndex ?? context.stepIndex + 1,
      stepAttempts: 1,
    }),
    waitedRetry: assign({
      elapsedMs: ({ context }) => context.elapsedMs + Math.min((context.decision as { delayMs: number }).delayMs, remaining(context)),
      stepAttempts: ({ context }) => context.stepAttempts + 1,
    }),
    failAtDeadline: assign({ lastError: ({ context }) => deadlineError(context.deadlineMs) }),
    takeFallback: assign({ fellBack: ({ context }) => context.fallback }),
    enterDegraded: assign(({ context }) => ({
      fellBack: 'degraded' as const,
      servedBy: 'degraded' as const,
      steps: [...context.steps, context.degradedStep!],
      stepIndex: context.steps.length,
      stepAttempts: 1,
    })),
    servedFromCache: assign({ result: ({ event }) => (event as unknown as { output: ResultRef }).output, servedBy: 'cache' as const }),
    streamBroke: assign({ lastError: ({ event }) => (event as Extract<StreamEvent, { type: 'BROKEN' }>).error }),
    streamStalled: assign({
      lastError: ({ context }) => new UpstreamError({ kind: 'timeout', message: `no data for ${context.streamIdleTimeoutMs} ms` }),
    }),
    /** Continue on the next prefill-capable step with what the client already has. */
    startContinuation: assign(({ context, event }) => ({
      prefill: (event as Extract<StreamEvent, { type: 'BROKEN' }>).partial,
      stepIndex: continuationStep(context),
      stepAttempts: 1,
    })),
    /** A continuation took over the stream: its result is the stream now. */
    continued: assign(({ context, event }) => {
      const out = (event as unknown as { output: AttemptSuccess }).output;
      return { result: out.result, attempts: [...context.attempts, record(context, { ok: true, latencyMs: out.latencyMs })] };
    }),
    /** A continuation failed: recorded, but the client hears the original break. */
    continuationFailed: assign(({ context, event }) => {
      const { error, latencyMs } = failureOf((event as { error: unknown }).error);
      return { attempts: [...context.attempts, record(context, { ok: false, kind: error.kind, latencyMs, ...(error.skipped !== undefined ? { skipped: error.skipped } : {}) })] };
    }),
    dropResult: assign({ result: undefined }),
  },
  delays: {
    attemptTimeout: ({ context }) => attemptBudget(context),
    retryDelay: ({ context }) => Math.min(context.decision?.action === 'retry' ? context.decision.delayMs : 0, remaining(context)),
    /** The runtime provides a clock-aware version (what is left since the last chunk). */
    streamIdle: ({ context }) => context.streamIdleTimeoutMs,
  },
  guards: {
    /** The attempt's limit is the deadline itself: when it fires, the request is out of time. */
    attemptReachesDeadline: ({ context }) => context.attemptTimeoutMs >= remaining(context),
    retryReachesDeadline: ({ context }) => context.decision?.action === 'retry' && context.decision.delayMs >= remaining(context),
    isOpenStream: ({ event }) => isOpenStreamResult((event as unknown as { output?: AttemptSuccess }).output?.result),
    isStream: ({ event }) => (event as unknown as { output?: AttemptSuccess }).output?.result.type === 'stream',
    shouldRetry: ({ context }) => context.decision?.action === 'retry',
    shouldMoveOn: ({ context }) => {
      const d = context.decision;
      if (d?.action !== 'next') return false;
      const to = d.stepIndex ?? context.stepIndex + 1;
      return to > context.stepIndex && to < context.steps.length;
    },
    /** The requested target was skipped by its breaker, or the last step was. */
    refusedByBreaker: ({ context }) => context.attempts[0]?.skipped === 'circuit_open' || context.attempts[0]?.skipped === 'unhealthy' || context.lastError?.skipped === 'circuit_open',
    /** The requested target's breaker is not closed now. The runtime reads the breaker. */
    primaryCircuitOpen: () => true,
    fallbackIs: ({ context }, params: { fallback: BreakerFallback }) => context.fallback === params.fallback,
    hasDegradedStep: ({ context }) => context.degradedStep !== undefined,
    /** Nothing came for the idle limit. The runtime provides a clock-aware version. */
    silentTooLong: () => true,
    canContinue: ({ context, event }) => {
      const e = event as Extract<StreamEvent, { type: 'BROKEN' }>;
      return e.type === 'BROKEN' && !e.toolCalls && e.partial.trim() !== '' && continuationStep(context) !== -1;
    },
  },
}).createMachine({
  id: 'failover',
  context: ({ input }) => ({
    steps: input.steps,
    payload: input.payload,
    fallback: input.fallback ?? 'error',
    degradedStep: input.degradedStep,
    stepIndex: 0,
    // The first attempt starts with the actor: its bookkeeping is here, not in an entry action.
    stepAttempts: 1,
    attempts: input.attempts === undefined ? [] : [...input.attempts],
    elapsedMs: input.elapsedMs ?? 0,
    deadlineMs: input.deadlineMs,
    attemptTimeoutMs: input.attemptTimeoutMs,
    streamIdleTimeoutMs: input.streamIdleTimeoutMs ?? 30_000,
    decision: null,
    lastError: null,
    result: undefined,
    servedBy: 'upstream',
    fellBack: null,
    prefill: undefined,
  }),
  initial: 'attempting',
  states: {
    // attempting, deciding and backoff: everything before the response is committed. Each of
    // their timers is cut at the request's deadline.
    attempting: {
      invoke: {
        id: 'attempt',
        src: 'attempt',
        input: attemptInput,
        onDone: [
          { guard: 'isOpenStream', target: 'streaming', actions: ['recordSuccess', reportLast] },
          { target: 'succeeded', actions: ['recordSuccess', reportLast] },
        ],
        onError: { target: 'deciding', actions: ['recordFailure', reportLast] },
      },
      after: {
        attemptTimeout: [
          // The deadline, not the attempt's own limit: the attempt is cut, and its target hears of it.
          { guard: 'attemptReachesDeadline', target: 'failed', actions: ['recordCut', reportLast] },
          { target: 'deciding', actions: ['recordTimeout', reportLast] },
        ],
      },
    },
    deciding: {
      entry: 'decide',
      always: [
        { guard: 'shouldRetry', target: 'backoff', actions: 'spendRetryToken' },
        { guard: 'shouldMoveOn', target: 'attempting', actions: 'moveOn' },
        {
          guard: and(['refusedByBreaker', 'primaryCircuitOpen', { type: 'fallbackIs', params: { fallback: 'cache' as const } }]),
          target: 'cacheFallback',
          actions: 'takeFallback',
        },
        {
          guard: and(['refusedByBreaker', 'primaryCircuitOpen', { type: 'fallbackIs', params: { fallback: 'degraded' as const } }, 'hasDegradedStep']),
          target: 'degradedFallback',
          actions: 'enterDegraded',
        },
        { guard: and(['refusedByBreaker', 'primaryCircuitOpen']), target: 'failed', actions: 'takeFallback' },
        { target: 'failed' },
      ],
    },
    backoff: {
      after: {
        retryDelay: [
          { guard: 'retryReachesDeadline', target: 'failed', actions: 'failAtDeadline' },
          { target: 'attempting', actions: 'waitedRetry' },
        ],
      },
    },
    /** The breaker fallback `cache`: the last good answer to the same request. */
    cacheFallback: {
      invoke: {
        src: 'cacheLookup',
        input: ({ context }) => ({ payload: context.payload }),
        onDone: { target: 'succeeded', actions: 'servedFromCache' },
        onError: { target: 'failed' },
      },
    },
    /** The breaker fallback `degraded`: the configured cheaper model, one attempt. */
    degradedFallback: {
      invoke: {
        id: 'attempt',
        src: 'attempt',
        input: attemptInput,
        onDone: [
          { guard: 'isOpenStream', target: 'streaming', actions: ['recordSuccess', reportLast] },
          { target: 'succeeded', actions: ['recordSuccess', reportLast] },
        ],
        onError: { target: 'failed', actions: ['recordFailure', reportLast] },
      },
      after: {
        attemptTimeout: { target: 'failed', actions: ['recordTimeout', reportLast] },
      },
    },
    // A stream past its commit point: no failover any more, only an idle watchdog and, when
    // it breaks, a continuation on a prefill-capable step.
    streaming: {
      after: {
        streamIdle: [
          { guard: 'silentTooLong', target: 'stalling', actions: ['streamStalled', reportStreamFailure, 'abortStream'] },
          // Chunks came since the delay was armed: wait out the rest.
          { target: 'streaming', reenter: true },
        ],
      },
      on: {
        END: 'succeeded',
        BROKEN: [
          { guard: 'canContinue', target: 'continuing', actions: ['streamBroke', reportStreamFailure, 'startContinuation'] },
          { target: 'broken', actions: ['streamBroke', reportStreamFailure] },
        ],
      },
    },
    /** Stalled: the upstream is being aborted; the pump reports what the client has. */
    stalling: {
      on: {
        END: 'succeeded',
        BROKEN: [{ guard: 'canContinue', target: 'continuing', actions: 'startContinuation' }, { target: 'stalled' }],
      },
    },
    /** A later prefill-capable step continues the broken stream as one answer. */
    continuing: {
      invoke: {
        id: 'attempt',
        src: 'attempt',
        input: attemptInput,
        onDone: [
          { guard: 'isOpenStream', target: 'streaming', actions: ['continued', reportLast] },
          { guard: 'isStream', target: 'succeeded', actions: ['continued', reportLast] },
          { target: 'broken' },
        ],
        onError: { target: 'broken', actions: ['continuationFailed', reportLast] },
      },
      after: {
        attemptTimeout: { target: 'broken' },
      },
    },
    succeeded: { type: 'final' },
    failed: { type: 'final' },
    /** The stream went silent after its commit point and nothing continued it. */
    stalled: { type: 'final', entry: 'dropResult' },
    /** The stream broke after its commit point and nothing continued it. */
    broken: { type: 'final', entry: 'dropResult' },
  },
  output: ({ context }): FlowOutput => {
    if (context.result !== undefined) {
      return { ok: true, result: context.result, step: context.steps[context.stepIndex], stepIndex: context.stepIndex, attempts: context.attempts, servedBy: context.servedBy };
    }
    return { ok: false, error: context.lastError ?? deadlineError(context.deadlineMs), attempts: context.attempts, ...(context.fellBack !== null ? { fellBack: context.fellBack } : {}) };
  },
});

export type FailoverMachine = typeof failoverMachine;
