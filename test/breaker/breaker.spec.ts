import { assign, setup, type SnapshotFrom } from 'xstate';
import type { BreakerConfig } from '../../src/core/breaker/config.ts';

/**
 * The breaker's specification for model-based testing: the same three states with time as
 * explicit events, over the small fixed config below. xstate/graph cannot traverse `after`,
 * so each time event stands for "the clock advances by exactly this delay":
 *
 * - WINDOW_EXPIRES: errorThresholdWindowMs (every counted failure leaves the window)
 * - OPEN_TIMEOUT: openTimeoutMs (open -> half_open)
 * - LEASE_EXPIRES: trialTimeoutMs (the trial round's lease ends)
 *
 * Only time events move the clock, so a half-open round always started "now" when
 * LEASE_EXPIRES arrives: advancing by the lease lands exactly on its end.
 */
export const SPEC_CONFIG: BreakerConfig = {
  errorThreshold: 2,
  errorThresholdWindowMs: 10_000,
  openTimeoutMs: 1_000,
  halfOpenRequests: 2,
  successThreshold: 2,
  excludedErrors: ['rate_limit'],
  monitorLatency: true,
  latencyThresholdMs: 100,
};
export const SPEC_TRIAL_TIMEOUT_MS = 500;

export type SpecEvent =
  // Outcomes of requests that are not half-open trials.
  | { type: 'FAIL' }
  | { type: 'SLOW_SUCCESS' }
  | { type: 'SUCCEED' }
  | { type: 'EXCLUDED_FAIL' }
  // Requests asking to pass, and the outcomes of the oldest trial in flight.
  | { type: 'ACQUIRE' }
  | { type: 'RELEASE' }
  | { type: 'TRIAL_SUCCESS' }
  | { type: 'TRIAL_FAIL' }
  | { type: 'TRIAL_SLOW' }
  | { type: 'TRIAL_EXCLUDED' }
  // Time.
  | { type: 'WINDOW_EXPIRES' }
  | { type: 'OPEN_TIMEOUT' }
  | { type: 'LEASE_EXPIRES' };

export interface SpecContext {
  failures: number;
  trials: number;
  successes: number;
}

const failureTrips = ({ context }: { context: SpecContext }) =>
  context.failures + 1 >= SPEC_CONFIG.errorThreshold;

export const breakerSpec = setup({
  types: {} as { context: SpecContext; events: SpecEvent },
  guards: {
    failureTrips,
    hasTrial: ({ context }) => context.trials > 0,
    hasSlot: ({ context }) => context.trials < SPEC_CONFIG.halfOpenRequests,
    closingSuccess: ({ context }) =>
      context.trials > 0 && context.successes + 1 >= SPEC_CONFIG.successThreshold,
  },
  actions: {
    countFailure: assign({ failures: ({ context }) => context.failures + 1 }),
    forgetFailures: assign({ failures: 0 }),
    reset: assign({ failures: 0, trials: 0, successes: 0 }),
    admit: assign({ trials: ({ context }) => context.trials + 1 }),
    release: assign({ trials: ({ context }) => context.trials - 1 }),
    succeed: assign({
      trials: ({ context }) => context.trials - 1,
      successes: ({ context }) => context.successes + 1,
    }),
  },
}).createMachine({
  id: 'breakerSpec',
  context: { failures: 0, trials: 0, successes: 0 },
  initial: 'closed',
  states: {
    closed: {
      on: {
        FAIL: [{ guard: 'failureTrips', target: 'open', actions: 'reset' }, { actions: 'countFailure' }],
        SLOW_SUCCESS: [{ guard: 'failureTrips', target: 'open', actions: 'reset' }, { actions: 'countFailure' }],
        SUCCEED: {},
        EXCLUDED_FAIL: {},
        ACQUIRE: {},
        WINDOW_EXPIRES: { actions: 'forgetFailures' },
      },
    },
    open: {
      on: {
        ACQUIRE: {},
        FAIL: {},
        SUCCEED: {},
        OPEN_TIMEOUT: { target: 'half_open', actions: 'reset' },
      },
    },
    half_open: {
      on: {
        ACQUIRE: { guard: 'hasSlot', actions: 'admit' },
        RELEASE: { guard: 'hasTrial', actions: 'release' },
        TRIAL_SUCCESS: [
          { guard: 'closingSuccess', target: 'closed', actions: 'reset' },
          { guard: 'hasTrial', actions: 'succeed' },
        ],
        TRIAL_FAIL: { guard: 'hasTrial', target: 'open', actions: 'reset' },
        TRIAL_SLOW: { guard: 'hasTrial', target: 'open', actions: 'reset' },
        TRIAL_EXCLUDED: { guard: 'hasTrial', actions: 'release' },
        FAIL: {},
        SUCCEED: {},
        LEASE_EXPIRES: { guard: 'hasTrial', target: 'open', actions: 'reset' },
      },
    },
  },
});

export type SpecSnapshot = SnapshotFrom<typeof breakerSpec>;

/**
 * The events to explore in each spec state: everything the state handles. A trial outcome
 * with no trial in flight is the outcome of a request the breaker never admitted.
 */
export function specEvents(snapshot: SpecSnapshot): SpecEvent[] {
  const on = breakerSpec.states[snapshot.value as string].config.on ?? {};
  return (Object.keys(on) as SpecEvent['type'][]).map((type) => ({ type }) as SpecEvent);
}
