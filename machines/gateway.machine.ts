import { setup, type ActorRefFrom } from 'xstate';
import { providerMachine, providerSystemId } from './provider.machine.ts';

/**
 * The root of the long-lived actors: one provider actor per configured provider (each
 * spawning its model actors), all in one actor system so they are found by systemId.
 * Request actors are separate, short-lived roots.
 */
export interface GatewayInput {
  providers: ReadonlyArray<{ name: string; models: readonly string[] }>;
}

export interface GatewayContext {
  providers: Record<string, ActorRefFrom<typeof providerMachine>>;
}

export const gatewayMachine = setup({
  types: { context: {} as GatewayContext, input: {} as GatewayInput },
  actors: { provider: providerMachine },
}).createMachine({
  id: 'gateway',
  context: ({ input, spawn }) => ({
    providers: Object.fromEntries(
      input.providers.map((p) => [
        p.name,
        spawn('provider', { id: p.name, systemId: providerSystemId(p.name), input: { name: p.name, models: p.models } }),
      ]),
    ),
  }),
  initial: 'running',
  states: { running: {} },
});
