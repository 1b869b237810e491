import { and, assign, cancel, fromPromise, raise, setup } from 'xstate';
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
import { triggersMatch, type ErrorTrigger } from '../src/core/error-kinds.ts';
import { isLocalLimit, toUpstreamError, UpstreamError } from '../src/core/upstream-error.ts';

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
 * `decide`, `report`, `spendRetryToken` and `abortStream` actions, and everything that reads
 * the clock (src/serve/flow-runtime.ts, `clockProvisions`): the delays, the time guards, and
 * the actions that stamp an attempt's start or record how long it took. The defaults here
 * assume an attempt is sent the moment it starts and no deadline, so the chart runs alone.
 *
 * One timer per attempt (ATTEMPT_TIMER, raised with a delay): the attempt limit counts from
 * when the upstream got the request, which only the runtime's stamp knows, so when it fires
 * early (the call waited for a local connection) it re-arms for what is left without leaving
 * `attempting` (leaving would abort the call). Waiting for a connection longer than the
 * step's `queueTimeoutMs` is the gateway's own limit (`wait_limit`), never the target's failure.
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
  /** What moves a failure to a step without triggers of its own (default: any_error). */
  chainTriggers?: readonly ErrorTrigger[];
  /** Attempts the request already made before this flow started. */
  attempts?: readonly AttemptRecord[];
}

/** Input of the attempt actor (the runtime's upstream call). */
export type FailoverAttemptInput = AttemptInput;

/** The failover machine's context (data only). */
export interface FailoverContext {
  steps: readonly FlowStep[];
  payload: unknown;
  fallback: BreakerFallback;
  degradedStep: FlowStep | undefined;
  chainTriggers: readonly ErrorTrigger[];
  stepIndex: number;
  stepAttempts: number;
  attempts: AttemptRecord[];
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

const deadlineError = (ms: number): UpstreamError => new UpstreamError({ kind: 'timeout', message: `request deadline of ${ms} ms exceeded` });

function record(context: FailoverContext, outcome: Pick<AttemptRecord, 'ok' | 'kind' | 'skipped' | 'cut' | 'latencyMs'>): AttemptRecord {
  const step = context.steps[context.stepIndex];
  return { attempt: context.attempts.length + 1, step: context.stepIndex, provider: step.provider, model: step.model, ...outcome };
}

const ANY_ERROR: readonly ErrorTrigger[] = Object.freeze(['any_error']);

/**
 * A later step that can continue a stream broken by a failure of `kind`, or -1: it continues
 * a prefill, and takes that failure like any failover (its trigger, or the chain's, names the
 * kind), so a content_filter refusal mid-stream is not finished by another provider.
 */
function continuationStep(context: FailoverContext, kind: UpstreamError['kind']): number {
  for (let i = context.stepIndex + 1; i < context.steps.length; i++) {
    const s = context.steps[i];
    if (s.prefill === true && triggersMatch(s.trigger ?? context.chainTriggers, kind)) return i;
  }
  return -1;
}

function failureOf(err: unknown): { error: UpstreamError; latencyMs: number } {
  if (err instanceof AttemptFailure) return { error: err.error, latencyMs: err.latencyMs };
  return { error: toUpstreamError(err), latencyMs: 0 };
}

function isOpenStreamResult(result: ResultRef | undefined): boolean {
  return result?.type === 'stream' && !result.complete;
}

/** The context change when the upstream had the request for the whole attempt limit (`latencyMs`: how long it had it). */
export function timedOut(context: FailoverContext, latencyMs: number): Partial<FailoverContext> {
  const step = context.steps[context.stepIndex];
  return {
    lastError: new UpstreamError({ kind: 'timeout', message: `attempt on ${step.provider}/${step.model} produced nothing within ${context.attemptTimeoutMs} ms` }),
    attempts: [...context.attempts, record(context, { ok: false, kind: 'timeout', latencyMs })],
  };
}

/** The context change when the deadline cut the attempt: a timeout marked `cut`. */
export function cutAtDeadline(context: FailoverContext, latencyMs: number): Partial<FailoverContext> {
  return {
    lastError: deadlineError(context.deadlineMs),
    attempts: [...context.attempts, record(context, { ok: false, kind: 'timeout', cut: true, latencyMs })],
  };
}

/**
 * The context change when the attempt never got a local connection in time (`waitedMs`; the
 * deadline ran out first when `deadline`): the gateway's own limit, recorded as skipped.
 */
export function waitLimited(context: FailoverContext, waitedMs: number, deadline: boolean): Partial<FailoverContext> {
  const step = context.steps[context.stepIndex];
  const error = new UpstreamError({
    kind: 'server_error',
    skipped: 'wait_limit',
    message: deadline
      ? `the request's deadline of ${context.deadlineMs} ms ran out after ${waitedMs} ms waiting for a connection to ${step.provider}/${step.model}`
      : `no connection to ${step.provider}/${step.model} came free within ${waitedMs} ms (queue_timeout_ms)`,
  });
  return { lastError: error, attempts: [...context.attempts, record(context, { ok: false, kind: error.kind, skipped: 'wait_limit', latencyMs: waitedMs })] };
}

/** The attempt's own delay, raised by the machine to itself so it can re-arm without leaving the state. */
export type AttemptTimerEvent = { type: 'ATTEMPT_TIMER' };

/** Every event the failover machine takes. */
export type FailoverEvent = StreamEvent | AttemptTimerEvent;


/** `report` with the last attempt as params (the runtime provides `report`). */
const reportLast = {
  type: 'report',
  params: ({ context }: { context: FailoverContext }) => ({ record: context.attempts[context.attempts.length - 1] }),
} as const;

/** A committed stream failed: its target must hear it, though the attempt had succeeded at the commit point. */
const reportStreamFailure = {
  type: 'report',
  params: ({ context }: { context: FailoverContext }) => {
    const last = context.attempts[context.attempts.length - 1];
    return { record: { ...last, ok: false, kind: context.lastError!.kind } };
  },
} as const;

const attemptInput = ({ context }: { context: FailoverContext }): FailoverAttemptInput => {
  const input: FailoverAttemptInput = {
    step: context.steps[context.stepIndex],
    payload: context.payload,
    stepIndex: context.stepIndex,
    stepAttempt: context.stepAttempts,
    attempt: context.attempts.length + 1,
  };
  // Set only for a continuation: the common attempt allocates no second object for it.
  if (context.prefill !== undefined) input.prefill = context.prefill;
  return input;
};

export const failoverMachine = setup({
  types: {
    context: {} as FailoverContext,
    input: {} as FailoverInput,
    output: {} as FlowOutput,
    events: {} as FailoverEvent,
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
      return { result: out.result, attempts: [...context.attempts, record(context, { ok: true, latencyMs: out.latencyMs })] };
    }),
    recordFailure: assign(({ context, event }) => {
      const { error, latencyMs } = failureOf((event as unknown as { error: unknown }).error);
      return {
        lastError: error,
        attempts: [...context.attempts, record(context, { ok: false, kind: error.kind, latencyMs, ...(error.skipped !== undefined ? { skipped: error.skipped } : {}) })],
      };
    }),
    /** An attempt begins: the runtime stamps its start (its wait for a connection starts here). */
    startAttempt: () => {},
    /** The attempt's one timer: (re-)armed on entering the state, and again while neither limit is reached. */
    armAttemptTimer: raise({ type: 'ATTEMPT_TIMER' }, { id: 'attemptTimer', delay: 'attemptTimer' }),
    // The runtime's versions measure on the clock; these assume the whole limit passed.
    /** The upstream had the request for the whole attempt limit. */
    recordTimeout: assign(({ context }) => timedOut(context, context.attemptTimeoutMs)),
    /** The deadline cut the attempt. */
    recordCut: assign(({ context }) => cutAtDeadline(context, context.attemptTimeoutMs)),
    /** Waited past the step's queue timeout for a local connection. */
    recordWaitLimit: assign(({ context }) => waitLimited(context, context.steps[context.stepIndex].queueTimeoutMs ?? 0, false)),
    /** The deadline ran out while waiting for a local connection. */
    recordDeadlineWaiting: assign(({ context }) => waitLimited(context, 0, true)),
    moveOn: assign({
      stepIndex: ({ context }) => (context.decision as { stepIndex?: number }).stepIndex ?? context.stepIndex + 1,
      stepAttempts: 1,
    }),
    waitedRetry: assign({ stepAttempts: ({ context }) => context.stepAttempts + 1 }),
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
      // The break the client hears: the upstream's (streamBroke ran first), or in `stalling` the stall.
      stepIndex: continuationStep(context, context.lastError!.kind),
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
    /**
     * A continuation that its own timer ended, or that answered with a completion (it cannot
     * continue a stream): recorded and reported to its target like any attempt, while the
     * client hears the original break (lastError is left as it is).
     */
    continuationTimedOut: assign(({ context }) => ({ attempts: timedOut(context, context.attemptTimeoutMs).attempts })),
    continuationWaitLimited: assign(({ context }) => ({ attempts: waitLimited(context, context.steps[context.stepIndex].queueTimeoutMs ?? 0, false).attempts })),
    continuationNotAStream: assign(({ context, event }) => {
      const out = (event as unknown as { output: AttemptSuccess }).output;
      return { attempts: [...context.attempts, record(context, { ok: true, latencyMs: out.latencyMs })] };
    }),
    dropResult: assign({ result: undefined }),
  },
  delays: {
    // The runtime's versions read the clock: what is left of the limit since the upstream got
    // the request (or of the wait limit before), each cut at the request's deadline.
    attemptTimer: ({ context }) => context.attemptTimeoutMs,
    retryDelay: ({ context }) => (context.decision?.action === 'retry' ? context.decision.delayMs : 0),
    /** What is left of the idle limit since the last chunk (runtime). */
    streamIdle: ({ context }) => context.streamIdleTimeoutMs,
  },
  guards: {
    // Time guards: the runtime's versions read the clock.
    /** The deadline ran out while the attempt still waited for a local connection. */
    pastDeadlineWaiting: () => false,
    /** The request is out of time (the attempt is cut). */
    pastDeadline: () => false,
    /** The attempt waited longer than its step's queue timeout for a local connection. */
    waitedTooLong: () => false,
    /** The upstream has had the request for the whole attempt limit. */
    attemptTimedOut: () => true,
    retryReachesDeadline: () => false,
    isOpenStream: ({ event }) => isOpenStreamResult((event as unknown as { output?: AttemptSuccess }).output?.result),
    isStream: ({ event }) => (event as unknown as { output?: AttemptSuccess }).output?.result.type === 'stream',
    shouldRetry: ({ context }) => context.decision?.action === 'retry',
    shouldMoveOn: ({ context }) => {
      const d = context.decision;
      if (d?.action !== 'next') return false;
      const to = d.stepIndex ?? context.stepIndex + 1;
      return to > context.stepIndex && to < context.steps.length;
    },
    /**
     * The requested target was refused without a call (its breaker, health checks), or the last
     * step's breaker refused. A local limit is the gateway's own refusal: no breaker fallback.
     */
    refusedByBreaker: ({ context }) => {
      const first = context.attempts[0]?.skipped;
      return (first !== undefined && !isLocalLimit(first)) || context.lastError?.skipped === 'circuit_open';
    },
    /** The requested target's breaker is not closed now. The runtime reads the breaker. */
    primaryCircuitOpen: () => true,
    fallbackIs: ({ context }, params: { fallback: BreakerFallback }) => context.fallback === params.fallback,
    hasDegradedStep: ({ context }) => context.degradedStep !== undefined,
    /** Nothing came for the idle limit. The runtime provides a clock-aware version. */
    silentTooLong: () => true,
    /** A later prefill-capable step can continue the text the client has after this break. */
    canContinue: ({ context, event }) => {
      const e = event as Extract<StreamEvent, { type: 'BROKEN' }>;
      return e.type === 'BROKEN' && !e.toolCalls && e.partial.trim() !== '' && continuationStep(context, e.error.kind) !== -1;
    },
    /** The same after a stall: the stall (a timeout) is the failure a continuation must take. */
    canContinueStall: ({ context, event }) => {
      const e = event as Extract<StreamEvent, { type: 'BROKEN' }>;
      return e.type === 'BROKEN' && !e.toolCalls && e.partial.trim() !== '' && continuationStep(context, context.lastError!.kind) !== -1;
    },
  },
}).createMachine({
  id: 'failover',
  context: ({ input }) => ({
    steps: input.steps,
    payload: input.payload,
    fallback: input.fallback ?? 'error',
    degradedStep: input.degradedStep,
    chainTriggers: input.chainTriggers ?? ANY_ERROR,
    stepIndex: 0,
    // The first attempt starts with the actor: its bookkeeping is here, not in an entry action.
    stepAttempts: 1,
    attempts: input.attempts === undefined ? [] : [...input.attempts],
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
      entry: ['startAttempt', 'armAttemptTimer'],
      exit: cancel('attemptTimer'),
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
      on: {
        ATTEMPT_TIMER: [
          // Out of time before the upstream had the request: the gateway's own limit.
          { guard: 'pastDeadlineWaiting', target: 'failed', actions: ['recordDeadlineWaiting', reportLast] },
          // The deadline, not the attempt's own limit: the attempt is cut, and its target hears of it.
          { guard: 'pastDeadline', target: 'failed', actions: ['recordCut', reportLast] },
          { guard: 'waitedTooLong', target: 'deciding', actions: ['recordWaitLimit', reportLast] },
          { guard: 'attemptTimedOut', target: 'deciding', actions: ['recordTimeout', reportLast] },
          // Neither limit is reached (the call waited for a connection): wait out the rest.
          { actions: 'armAttemptTimer' },
        ],
      },
    },
    deciding: {
      entry: 'decide',
      always: [
        // A failure that arrives with no time left ends the request with that failure: an
        // attempt started now would be cut at once.
        { guard: 'pastDeadline', target: 'failed' },
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
      entry: ['startAttempt', 'armAttemptTimer'],
      exit: cancel('attemptTimer'),
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
      on: {
        ATTEMPT_TIMER: [
          { guard: 'pastDeadlineWaiting', target: 'failed', actions: ['recordDeadlineWaiting', reportLast] },
          { guard: 'pastDeadline', target: 'failed', actions: ['recordCut', reportLast] },
          { guard: 'waitedTooLong', target: 'failed', actions: ['recordWaitLimit', reportLast] },
          { guard: 'attemptTimedOut', target: 'failed', actions: ['recordTimeout', reportLast] },
          { actions: 'armAttemptTimer' },
        ],
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
        BROKEN: [{ guard: 'canContinueStall', target: 'continuing', actions: 'startContinuation' }, { target: 'stalled' }],
      },
    },
    /** A later prefill-capable step continues the broken stream as one answer. */
    continuing: {
      entry: ['startAttempt', 'armAttemptTimer'],
      exit: cancel('attemptTimer'),
      invoke: {
        id: 'attempt',
        src: 'attempt',
        input: attemptInput,
        onDone: [
          { guard: 'isOpenStream', target: 'streaming', actions: ['continued', reportLast] },
          { guard: 'isStream', target: 'succeeded', actions: ['continued', reportLast] },
          { target: 'broken', actions: ['continuationNotAStream', reportLast] },
        ],
        onError: { target: 'broken', actions: ['continuationFailed', reportLast] },
      },
      on: {
        // The continuation gets its own first-token limit; its failure never hides the break,
        // and its target hears of it like any attempt's.
        ATTEMPT_TIMER: [
          { guard: 'attemptTimedOut', target: 'broken', actions: ['continuationTimedOut', reportLast] },
          { guard: 'waitedTooLong', target: 'broken', actions: ['continuationWaitLimited', reportLast] },
          { actions: 'armAttemptTimer' },
        ],
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
