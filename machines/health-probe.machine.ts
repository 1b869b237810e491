import { assign, fromPromise, setup } from 'xstate';

/**
 * Active health checks of one target (X-Failover-Config's health_check_interval,
 * failure_threshold, success_threshold): every interval it invokes `probe` (a tiny real
 * request, provided by the runtime). `failureThreshold` consecutive failed probes make the
 * target `unhealthy` (requests skip it); `successThreshold` consecutive good ones make it
 * `healthy` again. The interval is an `after` delay, so a SimulatedClock drives it.
 */
export interface HealthProbeInput {
  target: string;
  intervalMs: number;
  failureThreshold: number;
  successThreshold: number;
}

interface Context extends HealthProbeInput {
  failures: number;
  successes: number;
}

type ProbeTransition = { guard?: 'tooManyFailures' | 'enoughSuccesses'; target: string; actions: 'countSuccess' | 'countFailure' };

/**
 * Wait an interval, probe, and go where the outcome says. The same cycle runs in both health
 * states; only the transitions differ. A probe that hangs a whole interval has failed (and is
 * aborted by leaving the state), so a timeout takes the failure transitions.
 */
function probeCycle(onSuccess: ProbeTransition[], onFailure: ProbeTransition[]) {
  return {
    initial: 'waiting' as const,
    states: {
      waiting: { after: { interval: 'probing' } },
      probing: {
        invoke: {
          src: 'probe' as const,
          input: ({ context }: { context: { target: string } }) => ({ target: context.target, kind: 'health' }),
          onDone: onSuccess,
          onError: onFailure,
        },
        after: { interval: onFailure },
      },
    },
  };
}

export const healthProbeMachine = setup({
  types: { context: {} as Context, input: {} as HealthProbeInput },
  actors: {
    // Provided by the runtime: resolves when the target answered, rejects otherwise.
    probe: fromPromise<void, { target: string; kind: string }>(async () => {
      throw new Error('probe not provided');
    }),
  },
  actions: {
    // Provided by the runtime: flips the target's `unhealthy` flag.
    setHealthy: (_, _params: { healthy: boolean }) => {},
    // Each resets the other count: the transitions into and out of `unhealthy` need no resets of their own.
    countSuccess: assign({ successes: ({ context }) => context.successes + 1, failures: 0 }),
    countFailure: assign({ failures: ({ context }) => context.failures + 1, successes: 0 }),
  },
  delays: {
    interval: ({ context }) => context.intervalMs,
  },
  guards: {
    tooManyFailures: ({ context }) => context.failures + 1 >= context.failureThreshold,
    enoughSuccesses: ({ context }) => context.successes + 1 >= context.successThreshold,
  },
}).createMachine({
  id: 'healthProbe',
  context: ({ input }) => ({ ...input, failures: 0, successes: 0 }),
  initial: 'healthy',
  states: {
    healthy: probeCycle(
      [{ target: 'waiting', actions: 'countSuccess' }],
      [
        { guard: 'tooManyFailures', target: '#healthProbe.unhealthy', actions: 'countFailure' },
        { target: 'waiting', actions: 'countFailure' },
      ],
    ),
    unhealthy: {
      entry: { type: 'setHealthy', params: { healthy: false } },
      exit: { type: 'setHealthy', params: { healthy: true } },
      ...probeCycle(
        [
          { guard: 'enoughSuccesses', target: '#healthProbe.healthy', actions: 'countSuccess' },
          { target: 'waiting', actions: 'countSuccess' },
        ],
        [{ target: 'waiting', actions: 'countFailure' }],
      ),
    },
  },
});
