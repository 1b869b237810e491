import { enqueueActions, setup, type ActorRefFrom } from 'xstate';
import { breakerMachine } from './breaker.machine.ts';
import { degradedMachine } from './degraded.machine.ts';
import { healthProbeMachine } from './health-probe.machine.ts';
import { providerMachine, providerSystemId } from './provider.machine.ts';
import { recoveryProbeMachine } from './recovery-probe.machine.ts';

/**
 * The root of the long-lived actors, one actor system so every one is found by its systemId:
 * a provider actor per configured provider (each spawning its model actors), and, spawned on
 * demand by the targets, their breakers (`breaker:<provider>/<model>#<config>`), active health
 * probes (`probe:<provider>/<model>`) and recovery probes (`recovery:<provider>/<model>`).
 * Request flows are separate, short-lived roots.
 */
export interface GatewayInput {
  providers: ReadonlyArray<{ name: string; models: readonly string[] }>;
  /** The degraded-mode actor's evaluation interval; undefined: no degraded-mode actor. */
  degraded?: { intervalMs: number };
}

export interface GatewayContext {
  providers: Record<string, ActorRefFrom<typeof providerMachine>>;
}

/** The long-lived actors a target spawns into the system. */
export type SpawnedKind = 'breaker' | 'healthProbe' | 'recoveryProbe';

export type GatewayEvent =
  | { type: 'SPAWN'; src: SpawnedKind; id: string; systemId: string; input: unknown }
  | { type: 'STOP'; id: string };

export const gatewayMachine = setup({
  types: { context: {} as GatewayContext, input: {} as GatewayInput, events: {} as GatewayEvent },
  actors: {
    provider: providerMachine,
    breaker: breakerMachine,
    // The probes' I/O is provided by the runtime (src/serve/flow-runtime.ts).
    healthProbe: healthProbeMachine,
    recoveryProbe: recoveryProbeMachine,
    // Its `evaluate` (a reading of the targets' statistics) is provided by the runtime.
    degraded: degradedMachine,
  },
  actions: {
    spawn: enqueueActions(({ enqueue, event }) => {
      if (event.type !== 'SPAWN') return;
      enqueue.spawnChild(event.src, { id: event.id, systemId: event.systemId, input: event.input as never });
    }),
    stop: enqueueActions(({ enqueue, event }) => {
      if (event.type === 'STOP') enqueue.stopChild(event.id);
    }),
  },
}).createMachine({
  id: 'gateway',
  context: ({ input, spawn }) => {
    if (input.degraded !== undefined) spawn('degraded', { id: 'degraded', systemId: 'degraded', input: { intervalMs: input.degraded.intervalMs } });
    return {
      providers: Object.fromEntries(
        input.providers.map((p) => [
          p.name,
          spawn('provider', { id: p.name, systemId: providerSystemId(p.name), input: { name: p.name, models: p.models } }),
        ]),
      ),
    };
  },
  initial: 'running',
  states: {
    running: {
      on: {
        SPAWN: { actions: 'spawn' },
        STOP: { actions: 'stop' },
      },
    },
  },
});
