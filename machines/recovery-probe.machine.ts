import { fromPromise, setup } from 'xstate';

/**
 * While a target's breaker is open, tests the target in the background so it learns of
 * recovery without waiting for client traffic: every `intervalMs` one probe (a tiny real
 * request, provided by the runtime), at most one in flight. A success is `recovered`: the
 * runtime half-opens the target's open breakers at once, so traffic returns within one probe
 * interval of recovery; the breaker's own `timeout` stays the upper bound. The runtime stops
 * the actor when no breaker of the target is open any more.
 */
export interface RecoveryProbeInput {
  /** The target's key, `provider/model`. */
  target: string;
  intervalMs: number;
}

export const recoveryProbeMachine = setup({
  types: { context: {} as RecoveryProbeInput, input: {} as RecoveryProbeInput },
  actors: {
    // Provided by the runtime: resolves when the target answered, rejects otherwise.
    probe: fromPromise<void, { target: string; kind: string }>(async () => {
      throw new Error('probe not provided');
    }),
  },
  actions: {
    // Provided by the runtime: half-opens the target's open breakers.
    recovered: () => {},
  },
  delays: {
    interval: ({ context }) => context.intervalMs,
  },
}).createMachine({
  id: 'recoveryProbe',
  context: ({ input }) => ({ ...input }),
  initial: 'waiting',
  states: {
    waiting: { after: { interval: 'probing' } },
    probing: {
      invoke: {
        src: 'probe',
        input: ({ context }) => ({ target: context.target, kind: 'recovery' }),
        onDone: { target: 'waiting', actions: 'recovered' },
        onError: 'waiting',
      },
      // A probe that hangs a whole interval has failed (leaving the state aborts it).
      after: { interval: 'waiting' },
    },
  },
});
