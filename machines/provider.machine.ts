import { assign, setup, type ActorRefFrom } from 'xstate';
import { modelMachine } from './model.machine.ts';

/**
 * One configured provider. Spawns a model actor per model it serves (systemId
 * `model:<provider>/<model>`) and derives its own health from theirs: `healthy` when every
 * model is, `down` when none is, `degraded` in between.
 */

export interface ProviderInput {
  name: string;
  models: readonly string[];
}

export type ProviderEvent = { type: 'MODEL_HEALTH'; model: string; healthy: boolean };

export interface ProviderContext {
  name: string;
  models: Record<string, ActorRefFrom<typeof modelMachine>>;
  unhealthy: readonly string[];
  modelCount: number;
}

export const modelSystemId = (provider: string, model: string): string => `model:${provider}/${model}`;
export const providerSystemId = (provider: string): string => `provider:${provider}`;

export const providerMachine = setup({
  types: {
    context: {} as ProviderContext,
    input: {} as ProviderInput,
    events: {} as ProviderEvent,
  },
  actors: { model: modelMachine },
  actions: {
    track: assign({
      unhealthy: ({ context, event }) => {
        const rest = context.unhealthy.filter((m) => m !== event.model);
        return event.healthy ? rest : [...rest, event.model];
      },
    }),
  },
  guards: {
    allDown: ({ context }) => context.unhealthy.length >= context.modelCount,
    someDown: ({ context }) => context.unhealthy.length > 0,
  },
}).createMachine({
  id: 'provider',
  context: ({ input, spawn }) => ({
    name: input.name,
    models: Object.fromEntries(
      input.models.map((m) => [
        m,
        spawn('model', { id: m, systemId: modelSystemId(input.name, m), input: { provider: input.name, model: m } }),
      ]),
    ),
    unhealthy: [],
    modelCount: input.models.length,
  }),
  initial: 'healthy',
  on: {
    MODEL_HEALTH: { actions: 'track', target: '.evaluate' },
  },
  states: {
    evaluate: {
      always: [{ guard: 'allDown', target: 'down' }, { guard: 'someDown', target: 'degraded' }, { target: 'healthy' }],
    },
    healthy: {},
    degraded: {},
    down: {},
  },
});
