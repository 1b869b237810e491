import { assign, fromPromise, setup } from 'xstate';
import type { ErrorKind } from '../src/core/error-kinds.ts';
import { toUpstreamError, UpstreamError } from '../src/core/upstream-error.ts';

/**
 * One client request: tries the steps of its plan in order, asking `decide` after every
 * failure whether to retry the same step, move to the next one, or give up. Every wait is a
 * statechart delay (attempt timeout, retry backoff, the request's deadline), so a
 * SimulatedClock drives it in tests. No I/O here: the `attempt` actor and the `report`
 * action are provided by the runtime.
 */

/** One place the request can be sent: opaque to the machine beyond its label. */
export interface RequestStep {
  provider: string;
  model: string;
}

export type Decision =
  | { action: 'retry'; delayMs: number }
  /** Move on: to `stepIndex` when given (a later step whose trigger matches), else the next step. */
  | { action: 'next'; stepIndex?: number }
  | { action: 'fail' };

export interface AttemptRecord {
  /** 1-based attempt number within the request. */
  attempt: number;
  step: number;
  provider: string;
  model: string;
  ok: boolean;
  kind?: ErrorKind;
  /** True when the target was skipped without an upstream call (open breaker, unhealthy). */
  skipped?: boolean;
  /** True when the request's deadline cut the attempt short. */
  cut?: boolean;
  latencyMs: number;
}

export interface DecideInput<S extends RequestStep = RequestStep> {
  error: UpstreamError;
  step: S;
  stepIndex: number;
  /** Attempts made on this step so far (the failed one included). */
  stepAttempts: number;
  /** Attempts across all steps. */
  attempts: number;
  hasNextStep: boolean;
  /** ms left before the request's deadline. */
  remainingMs: number;
}

export interface RequestInput<S extends RequestStep = RequestStep> {
  steps: readonly S[];
  /** Handed to every attempt unchanged (the client's request). */
  payload?: unknown;
  /** The request's one deadline across every attempt, in ms from start. */
  deadlineMs: number;
  /** Limit for one attempt to produce its result (for streams: the first content). */
  attemptTimeoutMs: number;
  /** After a stream's commit point, the longest silence before it counts as stalled. */
  streamIdleTimeoutMs?: number;
  /**
   * Where the stream pump stamps the time of the last chunk (on this clock). Read only when
   * the idle delay fires, so chunks cost no event: the watchdog re-arms for what is left.
   * Without it, each chunk must be sent as CHUNK.
   */
  activity?: { lastChunkAt: number };
  decide: (d: DecideInput<S>) => Decision;
  /** The clock's now(); the same clock that drives the delays. */
  now: () => number;
}

/**
 * Events a committed stream's pump sends. An attempt result `{ type: 'stream', complete: false }`
 * puts the request in `streaming` until END (or BROKEN, or the idle delay).
 */
export type RequestEvent =
  | { type: 'CHUNK' }
  | { type: 'END' }
  | { type: 'BROKEN'; error: UpstreamError };

export interface AttemptInput<S extends RequestStep = RequestStep> {
  step: S;
  payload: unknown;
  stepIndex: number;
  /** 1 for the first attempt on this step, 2 for its first retry... */
  stepAttempt: number;
  attempt: number;
}

export type RequestOutput<R = unknown, S extends RequestStep = RequestStep> =
  | { ok: true; result: R; step: S; stepIndex: number; attempts: AttemptRecord[] }
  | { ok: false; error: UpstreamError; attempts: AttemptRecord[] };

interface Context<S extends RequestStep> {
  steps: readonly S[];
  payload: unknown;
  stepIndex: number;
  stepAttempts: number;
  attempts: AttemptRecord[];
  startedAt: number;
  attemptStartedAt: number;
  deadlineMs: number;
  attemptTimeoutMs: number;
  streamIdleTimeoutMs: number;
  activity: { lastChunkAt: number } | undefined;
  decide: RequestInput<S>['decide'];
  now: () => number;
  decision: Decision | null;
  lastError: UpstreamError | null;
  result: unknown;
}

/** The record of the attempt now ending on the current step. */
function attemptRecord(
  context: Context<RequestStep>,
  outcome: Pick<AttemptRecord, 'ok' | 'kind' | 'skipped' | 'cut'>,
): AttemptRecord {
  const step = context.steps[context.stepIndex];
  return {
    attempt: context.attempts.length + 1,
    step: context.stepIndex,
    provider: step.provider,
    model: step.model,
    ...outcome,
    latencyMs: context.now() - context.attemptStartedAt,
  };
}

/** ms left before the request's deadline (never negative). */
function remaining(context: { deadlineMs: number; startedAt: number; now: () => number }): number {
  return Math.max(0, context.deadlineMs - (context.now() - context.startedAt));
}

const deadlineError = (ms: number): UpstreamError =>
  new UpstreamError({ kind: 'timeout', message: `request deadline of ${ms} ms exceeded` });

/**
 * A committed stream failed: the target's health must hear it, though its attempt had
 * succeeded at the commit point.
 */
const reportStreamFailure = {
  type: 'report',
  params: ({ context }: { context: Context<RequestStep> }) => {
    const last = context.attempts[context.attempts.length - 1];
    return { record: { ...last, ok: false, kind: context.lastError!.kind, latencyMs: context.now() - context.attemptStartedAt } };
  },
} as const;

/** `report` with the last attempt as params (the runtime provides `report`). */
const reportLast = {
  type: 'report',
  params: ({ context }: { context: Context<RequestStep> }) => ({ record: context.attempts[context.attempts.length - 1] }),
} as const;

export const requestMachine = setup({
  types: {
    context: {} as Context<RequestStep>,
    input: {} as RequestInput,
    output: {} as RequestOutput,
    events: {} as RequestEvent,
  },
  actors: {
    // Replaced by the runtime with `requestMachine.provide({ actors: { attempt } })`.
    attempt: fromPromise<unknown, AttemptInput>(async () => {
      throw new Error('attempt actor not provided');
    }),
  },
  actions: {
    // Replaced by the runtime: tells the target's model actor how the attempt went.
    report: (_, _params: { record: AttemptRecord }) => {},
    recordSuccess: assign(({ context, event }) => ({
      result: (event as unknown as { output: unknown }).output,
      attempts: [...context.attempts, attemptRecord(context, { ok: true })],
    })),
    /** Records the attempt the deadline cut short, as a timeout marked `cut`. */
    recordCut: assign(({ context }) => ({
      attempts: [...context.attempts, attemptRecord(context, { ok: false, kind: 'timeout', cut: true })],
    })),
    /** Records a failed attempt: an actor error, or the timeout already put in lastError. */
    recordFailure: assign(({ context, event }) => {
      const error =
        (event as { type: string }).type === 'xstate.error.actor.attempt' ? toUpstreamError((event as unknown as { error: unknown }).error) : context.lastError!;
      const record = attemptRecord(context, { ok: false, kind: error.kind, ...(error.skipped !== undefined ? { skipped: true } : {}) });
      return { lastError: error, attempts: [...context.attempts, record] };
    }),
  },
  delays: {
    attemptTimeout: ({ context }) => Math.min(context.attemptTimeoutMs, remaining(context)),
    retryDelay: ({ context }) => Math.min(context.decision?.action === 'retry' ? context.decision.delayMs : 0, remaining(context)),
    /** What is left of the idle limit since the last chunk (the full limit without `activity`). */
    streamIdle: ({ context }) =>
      context.activity === undefined ? context.streamIdleTimeoutMs : Math.max(1, context.streamIdleTimeoutMs - (context.now() - context.activity.lastChunkAt)),
  },
  guards: {
    pastDeadline: ({ context }) => remaining(context) <= 0,
    silentTooLong: ({ context }) =>
      context.activity === undefined || context.now() - context.activity.lastChunkAt >= context.streamIdleTimeoutMs,
    /** The attempt returned a stream that has not finished yet (see RequestResultShape). */
    isOpenStream: ({ event }) => {
      const out = (event as unknown as { output?: { type?: unknown; complete?: unknown } }).output;
      return out?.type === 'stream' && out.complete !== true;
    },
    shouldRetry: ({ context }) => context.decision?.action === 'retry',
    shouldMoveOn: ({ context }) => {
      const d = context.decision;
      if (d?.action !== 'next') return false;
      const to = d.stepIndex ?? context.stepIndex + 1;
      return to > context.stepIndex && to < context.steps.length;
    },
  },
}).createMachine({
  id: 'request',
  context: ({ input }) => {
    const now = input.now();
    return {
      steps: input.steps,
      payload: input.payload,
      stepIndex: 0,
      // The first attempt starts with the actor: its bookkeeping is here, not in an entry
      // action, so the common one-attempt request pays for no extra context copy.
      stepAttempts: 1,
      attempts: [],
      startedAt: now,
      attemptStartedAt: now,
      deadlineMs: input.deadlineMs,
      attemptTimeoutMs: input.attemptTimeoutMs,
      streamIdleTimeoutMs: input.streamIdleTimeoutMs ?? 30_000,
      activity: input.activity,
      decide: input.decide,
      now: input.now,
      decision: null,
      lastError: null,
      result: undefined,
    };
  },
  initial: 'attempting',
  states: {
    // attempting, deciding and backoff: everything before the response is committed. The
    // request's one deadline covers them all: each of their timers is cut at the deadline,
    // so no separate deadline timer is needed.
    attempting: {
      invoke: {
        id: 'attempt',
        src: 'attempt',
        input: ({ context }) => ({
          step: context.steps[context.stepIndex],
          payload: context.payload,
          stepIndex: context.stepIndex,
          stepAttempt: context.stepAttempts,
          attempt: context.attempts.length + 1,
        }),
        onDone: [
          { guard: 'isOpenStream', target: '#request.streaming', actions: ['recordSuccess', reportLast] },
          { target: '#request.succeeded', actions: ['recordSuccess', reportLast] },
        ],
        onError: {
          target: 'deciding',
          actions: ['recordFailure', reportLast],
        },
      },
      after: {
        attemptTimeout: [
          {
            // The deadline, not the attempt's own limit: the attempt is cut, and its target
            // hears of it as a timeout.
            guard: 'pastDeadline',
            target: '#request.failed',
            actions: [assign({ lastError: ({ context }) => deadlineError(context.deadlineMs) }), 'recordCut', reportLast],
          },
          {
          target: 'deciding',
          actions: [
            assign({
              lastError: ({ context }) =>
                new UpstreamError({
                  kind: 'timeout',
                  message: `attempt on ${context.steps[context.stepIndex].provider}/${context.steps[context.stepIndex].model} produced nothing within ${context.attemptTimeoutMs} ms`,
                }),
            }),
            'recordFailure',
            reportLast,
          ],
          },
        ],
      },
    },
    deciding: {
      entry: assign({
        decision: ({ context }) =>
          context.decide({
            error: context.lastError!,
            step: context.steps[context.stepIndex],
            stepIndex: context.stepIndex,
            stepAttempts: context.stepAttempts,
            attempts: context.attempts.length,
            hasNextStep: context.stepIndex + 1 < context.steps.length,
            remainingMs: context.deadlineMs - (context.now() - context.startedAt),
          }),
      }),
      always: [
        { guard: 'shouldRetry', target: 'backoff' },
        {
          guard: 'shouldMoveOn',
          target: 'attempting',
          actions: assign({
            stepIndex: ({ context }) => (context.decision as { stepIndex?: number }).stepIndex ?? context.stepIndex + 1,
            stepAttempts: 1,
            attemptStartedAt: ({ context }) => context.now(),
          }),
        },
        { target: '#request.failed' },
      ],
    },
    backoff: {
      after: {
        retryDelay: [
          { guard: 'pastDeadline', target: '#request.failed', actions: assign({ lastError: ({ context }) => deadlineError(context.deadlineMs) }) },
          {
            target: 'attempting',
            actions: assign({ attemptStartedAt: ({ context }) => context.now(), stepAttempts: ({ context }) => context.stepAttempts + 1 }),
          },
        ],
      },
    },
    // A stream past its commit point: no failover any more, only an idle watchdog.
    streaming: {
      after: {
        streamIdle: [
          {
            guard: 'silentTooLong',
            target: 'stalled',
            actions: assign({
              lastError: ({ context }) => new UpstreamError({ kind: 'timeout', message: `upstream stream stalled: nothing for ${context.streamIdleTimeoutMs} ms` }),
            }),
          },
          // Chunks came since the delay was armed: wait out the rest.
          { target: 'streaming', reenter: true },
        ],
      },
      on: {
        CHUNK: { target: 'streaming', reenter: true },
        END: 'succeeded',
        BROKEN: {
          target: 'broken',
          actions: assign({ lastError: ({ event }) => event.error }),
        },
      },
    },
    succeeded: { type: 'final' },
    failed: { type: 'final' },
    /** The stream went silent after its commit point. */
    stalled: { type: 'final', entry: [reportStreamFailure, assign({ result: undefined })] },
    /** The stream broke after its commit point. */
    broken: { type: 'final', entry: [reportStreamFailure, assign({ result: undefined })] },
  },
  output: ({ context }): RequestOutput => {
    if (context.result !== undefined) {
      return { ok: true, result: context.result, step: context.steps[context.stepIndex], stepIndex: context.stepIndex, attempts: context.attempts };
    }
    return { ok: false, error: context.lastError ?? deadlineError(context.deadlineMs), attempts: context.attempts };
  },
});
