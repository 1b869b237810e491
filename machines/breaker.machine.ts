import { assign, setup, type ActorRefFrom, type SnapshotFrom } from 'xstate';
import type { BreakerConfig } from '../src/core/breaker/config.ts';
import type { ErrorKind } from '../src/core/error-kinds.ts';
import { classifyOutcome } from '../src/core/breaker/outcome.ts';
import {
  EMPTY_WINDOW,
  isTripped,
  recordFailure,
  type FailureWindow,
} from '../src/core/breaker/sliding-window.ts';

/**
 * The seed's circuit breaker (X-Circuit-Breaker) as a statechart: `closed` -> `open` ->
 * `half_open` -> `closed` | `open`. State names are the X-Circuit-Status header values.
 *
 * The machine has no clock of its own beyond two named `after` delays (`openTimeout`,
 * `trialLease`); every outcome carries `at` from the caller's clock, so the failure window is
 * a pure function of the events. The trip decision lives in src/core/breaker/sliding-window.ts and
 * the failure/success verdict in src/core/breaker/outcome.ts; this file only wires them to states.
 *
 * While open, a background probe of the target (machines/recovery-probe.machine.ts, run by
 * the runtime) sends PROBE_SUCCEEDED as soon as the target answers again: traffic returns
 * within one probe interval of recovery; `openTimeoutMs` stays the upper bound.
 *
 * Trials: in `half_open` a request must be admitted (ACQUIRE with its token) to pass. At most
 * `halfOpenRequests` trials are in flight; only their outcomes count there, because every
 * breaker of a target observes the same outcome stream. The first trial of a round starts a
 * lease (`trialLease`, default `openTimeoutMs`): if it expires with trials still in flight the
 * breaker re-opens, so a hung trial cannot pin it in `half_open`.
 *
 * @example
 * const actor = createActor(breakerMachine, { input: { config, target: 'openai/gpt-4o' } }).start();
 * actor.send({ type: 'OUTCOME', ok: false, kind: 'server_error', latencyMs: 80, at: Date.now() });
 * actor.getSnapshot().value; // 'closed' until error_threshold failures fall in one window
 */

/** The three breaker states, named as the X-Circuit-Status header values. */
export type BreakerStatus = 'closed' | 'open' | 'half_open';

export interface BreakerInput {
  config: BreakerConfig;
  /** The target (provider/model) this breaker guards; for logs and the visualizer. */
  target: string;
  /** Lease of a half-open trial round; defaults to `config.openTimeoutMs`. */
  trialTimeoutMs?: number;
}

/** One upstream outcome of the target. `token` marks the outcome of an admitted trial. */
export interface BreakerOutcomeEvent {
  type: 'OUTCOME';
  ok: boolean;
  kind?: ErrorKind;
  latencyMs: number;
  /** When the outcome was observed, in ms on the caller's clock. */
  at: number;
  token?: string;
}

/** A request asks to pass. Check `isAdmitted(snapshot, token)` right after sending it. */
export interface BreakerAcquireEvent {
  type: 'ACQUIRE';
  token: string;
  at: number;
}

/** A trial abandoned without an outcome (client gone): frees its slot, counts nothing. */
export interface BreakerReleaseEvent {
  type: 'RELEASE';
  token: string;
}

/** A background probe of the open breaker's target succeeded: try traffic again now. */
export interface BreakerProbeSucceededEvent {
  type: 'PROBE_SUCCEEDED';
}

/**
 * The breaker was open when the gateway last stopped (src/health/persist.ts): it opens again
 * with its old `openedAt`, so a target that was down is not sent traffic as if healthy; the
 * recovery probe half-opens it as soon as the target answers.
 */
export interface BreakerRestoreEvent {
  type: 'RESTORE';
  openedAt: number;
}

export type BreakerEvent = BreakerOutcomeEvent | BreakerAcquireEvent | BreakerReleaseEvent | BreakerProbeSucceededEvent | BreakerRestoreEvent;

export interface BreakerContext {
  readonly config: BreakerConfig;
  readonly target: string;
  readonly trialTimeoutMs: number;
  /** Recent failure timestamps (see sliding-window.ts); cleared when the breaker closes. */
  readonly failures: FailureWindow;
  /** When the breaker last opened (caller's clock); null while it has never opened. */
  readonly openedAt: number | null;
  /** Tokens of the half-open trials in flight (at most `halfOpenRequests`). */
  readonly trials: readonly string[];
  /** Successful trials in this half-open period. */
  readonly trialSuccesses: number;
  /** When the current trial round's lease started; null when no round is running. */
  readonly leaseStartedAt: number | null;
}

const NO_TRIALS: readonly string[] = Object.freeze([]) as readonly string[];

/**
 * Clamp the counts to at least 1: a breaker with zero half-open slots or a zero success
 * threshold could never close again. The header parser rejects such values; this guards
 * programmatic configs.
 */
function normaliseConfig(c: BreakerConfig): BreakerConfig {
  if (c.errorThreshold >= 1 && c.halfOpenRequests >= 1 && c.successThreshold >= 1) return c;
  return {
    ...c,
    errorThreshold: Math.max(1, c.errorThreshold),
    halfOpenRequests: Math.max(1, c.halfOpenRequests),
    successThreshold: Math.max(1, c.successThreshold),
  };
}

/** Whether the event carries the token of a trial this breaker admitted. */
function isTrialEvent(context: BreakerContext, event: BreakerEvent): boolean {
  return (event.type === 'OUTCOME' || event.type === 'ACQUIRE' || event.type === 'RELEASE') && event.token !== undefined && context.trials.includes(event.token);
}

function verdictOf(context: BreakerContext, event: BreakerEvent) {
  return event.type === 'OUTCOME' ? classifyOutcome(context.config, event) : undefined;
}

function withoutTrial(trials: readonly string[], token: string): readonly string[] {
  return trials.length === 1 ? NO_TRIALS : trials.filter((t) => t !== token);
}

/** Context reset shared by every way into `open` (trials end, the lease ends). */
const openedFields = (openedAt: number) =>
  ({ openedAt, trials: NO_TRIALS, trialSuccesses: 0, leaseStartedAt: null }) as const;

export const breakerMachine = setup({
  types: {} as {
    context: BreakerContext;
    events: BreakerEvent;
    input: BreakerInput;
  },
  guards: {
    /** A counted failure that completes error_threshold failures within one window. */
    failureTrips: ({ context, event }) =>
      event.type === 'OUTCOME' &&
      verdictOf(context, event) === 'failure' &&
      isTripped(
        recordFailure(context.failures, event.at, context.config.errorThreshold),
        context.config.errorThresholdWindowMs,
        context.config.errorThreshold,
      ),
    isFailure: ({ context, event }) => verdictOf(context, event) === 'failure',
    isAdmittedTrial: ({ context, event }) => isTrialEvent(context, event),
    isTrialFailure: ({ context, event }) =>
      isTrialEvent(context, event) && verdictOf(context, event) === 'failure',
    isTrialSuccess: ({ context, event }) =>
      isTrialEvent(context, event) && verdictOf(context, event) === 'success',
    isClosingTrialSuccess: ({ context, event }) =>
      isTrialEvent(context, event) &&
      verdictOf(context, event) === 'success' &&
      context.trialSuccesses + 1 >= context.config.successThreshold,
    noTrialsInFlight: ({ context }) => context.trials.length === 0,
    trialsInFlight: ({ context }) => context.trials.length > 0,
    hasTrialSlot: ({ context }) => context.trials.length < context.config.halfOpenRequests,
  },
  actions: {
    recordFailure: assign({
      failures: ({ context, event }) =>
        event.type === 'OUTCOME'
          ? recordFailure(context.failures, event.at, context.config.errorThreshold)
          : context.failures,
    }),
    openAtEvent: assign(({ event }) => openedFields(event.type === 'OUTCOME' ? event.at : 0)),
    openAsRestored: assign(({ event }) => openedFields(event.type === 'RESTORE' ? event.openedAt : 0)),
    /** The lease expired: the breaker re-opens at the lease's end on the caller's clock. */
    openAtLeaseEnd: assign(({ context }) =>
      openedFields((context.leaseStartedAt ?? 0) + context.trialTimeoutMs),
    ),
    startHalfOpen: assign({ trials: NO_TRIALS, trialSuccesses: 0, leaseStartedAt: null }),
    admitTrial: assign({
      trials: ({ context, event }) =>
        event.type === 'ACQUIRE' ? [...context.trials, event.token] : context.trials,
    }),
    startLease: assign({
      leaseStartedAt: ({ event }) => (event.type === 'ACQUIRE' ? event.at : null),
    }),
    releaseTrial: assign({
      trials: ({ context, event }) =>
        event.type === 'OUTCOME' || event.type === 'RELEASE'
          ? withoutTrial(context.trials, event.token ?? '')
          : context.trials,
    }),
    countTrialSuccess: assign({ trialSuccesses: ({ context }) => context.trialSuccesses + 1 }),
    close: assign({
      failures: EMPTY_WINDOW,
      openedAt: null,
      trials: NO_TRIALS,
      trialSuccesses: 0,
      leaseStartedAt: null,
    }),
  },
  delays: {
    openTimeout: ({ context }) => context.config.openTimeoutMs,
    trialLease: ({ context }) => context.trialTimeoutMs,
  },
}).createMachine({
  id: 'breaker',
  context: ({ input }) => {
    const config = normaliseConfig(input.config);
    return {
      config,
      target: input.target,
      trialTimeoutMs: input.trialTimeoutMs ?? config.openTimeoutMs,
      failures: EMPTY_WINDOW,
      openedAt: null,
      trials: NO_TRIALS,
      trialSuccesses: 0,
      leaseStartedAt: null,
    };
  },
  initial: 'closed',
  states: {
    closed: {
      // ACQUIRE needs no handler: closed admits everything without bookkeeping.
      on: {
        OUTCOME: [
          { guard: 'failureTrips', target: 'open', actions: ['recordFailure', 'openAtEvent'] },
          { guard: 'isFailure', actions: 'recordFailure' },
        ],
        RESTORE: { target: 'open', actions: 'openAsRestored' },
      },
    },
    open: {
      // Refuses every ACQUIRE and ignores outcomes of requests that started before it opened.
      // Half-opens when a background probe finds the target answering, or at `timeout` at the latest.
      after: {
        openTimeout: { target: 'half_open', actions: 'startHalfOpen' },
      },
      on: {
        PROBE_SUCCEEDED: { target: 'half_open', actions: 'startHalfOpen' },
      },
    },
    half_open: {
      after: {
        // Guarded: a lease that ends with nothing in flight leaves the breaker waiting.
        trialLease: { guard: 'trialsInFlight', target: 'open', actions: 'openAtLeaseEnd' },
      },
      on: {
        ACQUIRE: [
          // Idempotent: a token already admitted stays admitted and takes no second slot.
          { guard: 'isAdmittedTrial' },
          // The first trial of a round re-enters half_open, which restarts the lease timer.
          {
            guard: 'noTrialsInFlight',
            target: 'half_open',
            reenter: true,
            actions: ['admitTrial', 'startLease'],
          },
          { guard: 'hasTrialSlot', actions: 'admitTrial' },
        ],
        RELEASE: { guard: 'isAdmittedTrial', actions: 'releaseTrial' },
        OUTCOME: [
          { guard: 'isTrialFailure', target: 'open', actions: 'openAtEvent' },
          { guard: 'isClosingTrialSuccess', target: 'closed', actions: 'close' },
          { guard: 'isTrialSuccess', actions: ['releaseTrial', 'countTrialSuccess'] },
          // An excluded error from a trial: the slot frees, nothing counts.
          { guard: 'isAdmittedTrial', actions: 'releaseTrial' },
        ],
      },
    },
  },
});

export type BreakerMachine = typeof breakerMachine;
export type BreakerActor = ActorRefFrom<BreakerMachine>;
export type BreakerSnapshot = SnapshotFrom<BreakerMachine>;

