import { assign, cancel, fromPromise, raise, setup } from 'xstate';
import type { ErrorKind } from '../src/core/error-kinds.ts';
import { toUpstreamError, UpstreamError, type SkipReason } from '../src/core/upstream-error.ts';

/**
 * One client request: tries the steps of its plan in order, asking `decide` after every
 * failure whether to retry the same step, move to the next one, or give up. Every wait is a
 * statechart delay (attempt timeout, local wait limit, retry backoff, the request's
 * deadline), so a SimulatedClock drives it in tests. No I/O here: the `attempt` actor and the
 * `report` action are provided by the runtime.
 */

/** One place the request can be sent: opaque to the machine beyond its label and its wait limit. */
export interface RequestStep {
  provider: string;
  model: string;
  /**
   * Longest an attempt on this step may wait for a local connection (with `sent` stamps):
   * past it the attempt is refused as the gateway's own limit (`wait_limit`), not the
   * target's failure. Without it, waiting is bounded by the deadline only.
   */
  queueTimeoutMs?: number;
}

/**
 * Where the runtime records that the upstream got an attempt's request (after any wait for a
 * local connection): `sentAttempt` is the attempt's number, `sentAt` the time on this clock.
 * Until it names the current attempt with a time, the attempt is waiting locally.
 */
export interface SentMark {
  sentAttempt: number;
  sentAt: number;
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
  /** Set when the target was skipped without an upstream call: why (open breaker, unhealthy, a local limit). */
  skipped?: SkipReason;
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
  /**
   * Limit for one attempt to produce its result (for streams: the first content), counted
   * from when the upstream got the request (see `sent`).
   */
  attemptTimeoutMs: number;
  /**
   * Stamped by the runtime when the upstream gets each attempt's request. Read only when the
   * attempt's delay fires, so a request sent at once costs no event: the delay re-arms for
   * what is left. Without it, the upstream has every attempt from its start.
   */
  sent?: SentMark;
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

/** The attempt's own delay (raised by the machine to itself). */
type AttemptTimer = { type: 'ATTEMPT_TIMER' };

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
  sent: SentMark | undefined;
  decide: RequestInput<S>['decide'];
  now: () => number;
  decision: Decision | null;
  lastError: UpstreamError | null;
  result: unknown;
}

/**
 * When the upstream got attempt number `attempt` (the current one by default): -1 while it
 * waits for a local connection; the attempt's start when the runtime stamps nothing.
 */
function sentAt(context: Context<RequestStep>, attempt = context.attempts.length + 1): number {
  const s = context.sent;
  if (s === undefined) return context.attemptStartedAt;
  return s.sentAttempt === attempt && s.sentAt >= 0 ? s.sentAt : -1;
}

/** The attempt's latency as its target saw it: from when the upstream got it (the local wait is not the target's). */
function latency(context: Context<RequestStep>, attempt?: number): number {
  const at = sentAt(context, attempt);
  return context.now() - (at < 0 ? context.attemptStartedAt : at);
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
    latencyMs: latency(context),
  };
}

/** ms left before the request's deadline (never negative). */
function remaining(context: { deadlineMs: number; startedAt: number; now: () => number }): number {
  return Math.max(0, context.deadlineMs - (context.now() - context.startedAt));
}

const deadlineError = (ms: number): UpstreamError =>
  new UpstreamError({ kind: 'timeout', message: `request deadline of ${ms} ms exceeded` });

/** The attempt never got a local connection in time: the gateway's own limit, skipped, never the target's failure. */
function waitLimitError(context: Context<RequestStep>): UpstreamError {
  const step = context.steps[context.stepIndex];
  const waited = context.now() - context.attemptStartedAt;
  return new UpstreamError({
    kind: 'server_error',
    skipped: 'wait_limit',
    message:
      remaining(context) <= 0
        ? `the request's deadline of ${context.deadlineMs} ms ran out after ${waited} ms waiting for a connection to ${step.provider}/${step.model}`
        : `no connection to ${step.provider}/${step.model} came free within ${waited} ms (queue_timeout_ms)`,
  });
}

/**
 * A committed stream failed: the target's health must hear it, though its attempt had
 * succeeded at the commit point.
 */
const reportStreamFailure = {
  type: 'report',
  params: ({ context }: { context: Context<RequestStep> }) => {
    const last = context.attempts[context.attempts.length - 1];
    return { record: { ...last, ok: false, kind: context.lastError!.kind, latencyMs: latency(context, last.attempt) } };
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
    events: {} as RequestEvent | AttemptTimer,
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
    /** The attempt's one timer: (re-)armed on entering `attempting`, and again while neither limit is reached. */
    armAttemptTimer: raise({ type: 'ATTEMPT_TIMER' }, { id: 'attemptTimer', delay: 'attemptTimer' }),
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
      const record = attemptRecord(context, { ok: false, kind: error.kind, ...(error.skipped !== undefined ? { skipped: error.skipped } : {}) });
      return { lastError: error, attempts: [...context.attempts, record] };
    }),
  },
  delays: {
    /**
     * Until the upstream has the request: the sooner of the wait limit and one attempt limit
     * from now (it cannot be sent earlier than now, so its own limit is never checked late).
     * Once it has it: what is left of the attempt limit since then. Both cut at the deadline.
     */
    attemptTimer: ({ context }) => {
      const now = context.now();
      const at = sentAt(context);
      if (at < 0) {
        const wait = (context.steps[context.stepIndex].queueTimeoutMs ?? Number.POSITIVE_INFINITY) - (now - context.attemptStartedAt);
        return Math.max(0, Math.min(context.attemptTimeoutMs, wait, remaining(context)));
      }
      return Math.max(0, Math.min(context.attemptTimeoutMs - (now - at), remaining(context)));
    },
    retryDelay: ({ context }) => Math.min(context.decision?.action === 'retry' ? context.decision.delayMs : 0, remaining(context)),
    /** What is left of the idle limit since the last chunk (the full limit without `activity`). */
    streamIdle: ({ context }) =>
      context.activity === undefined ? context.streamIdleTimeoutMs : Math.max(1, context.streamIdleTimeoutMs - (context.now() - context.activity.lastChunkAt)),
  },
  guards: {
    pastDeadline: ({ context }) => remaining(context) <= 0,
    /** The deadline ran out while the attempt still waited for a local connection. */
    pastDeadlineWaiting: ({ context }) => remaining(context) <= 0 && sentAt(context) < 0,
    waitedTooLong: ({ context }) => {
      const limit = context.steps[context.stepIndex].queueTimeoutMs;
      return limit !== undefined && sentAt(context) < 0 && context.now() - context.attemptStartedAt >= limit;
    },
    /** The upstream has had the request for the whole attempt limit. */
    attemptTimedOut: ({ context }) => {
      const at = sentAt(context);
      return at >= 0 && context.now() - at >= context.attemptTimeoutMs;
    },
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
      sent: input.sent,
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
      // An `after` delay that can re-arm without leaving the state (leaving would abort the
      // call): the attempt limit counts from when the upstream got the request, which only
      // the runtime's stamp knows, so the timer re-arms for what is left when it fires early.
      entry: 'armAttemptTimer',
      exit: cancel('attemptTimer'),
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
      on: {
        ATTEMPT_TIMER: [
          {
            // The deadline ran out before the upstream had the request: the gateway's own
            // limit, recorded as skipped (no target hears of it).
            guard: 'pastDeadlineWaiting',
            target: '#request.failed',
            actions: [assign({ lastError: ({ context }) => waitLimitError(context) }), 'recordFailure', reportLast],
          },
          {
            // The deadline, not the attempt's own limit: the attempt is cut, and its target
            // hears of it as a timeout.
            guard: 'pastDeadline',
            target: '#request.failed',
            actions: [assign({ lastError: ({ context }) => deadlineError(context.deadlineMs) }), 'recordCut', reportLast],
          },
          {
            guard: 'waitedTooLong',
            target: 'deciding',
            actions: [assign({ lastError: ({ context }) => waitLimitError(context) }), 'recordFailure', reportLast],
          },
          {
            guard: 'attemptTimedOut',
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
          // Neither limit is reached: the upstream got the request after the attempt started
          // (or has not yet). Wait out the rest.
          { actions: 'armAttemptTimer' },
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
