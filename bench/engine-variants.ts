/**
 * A server for `bench/variants.ts`: the gateway's own request handling (body, validation,
 * routing, policy, the transport to the provider) with the actor engine swapped for one of
 * a few variants, to see what the per-request actors cost under real load:
 *   bypass   the transport called directly (no actor)
 *   promise  a bare `fromPromise` actor per request around the call
 *   machine  a trivial one-state machine actor created and stopped beside the direct call
 *   floor    a minimal machine per request whose one state invokes the call and goes final
 *   spawned  the floor machine spawned as a child of one long-lived root actor (one shared
 *            system), reaped when done, instead of a root actor of its own
 *   engine   the gateway as shipped (`startGateway`)
 *   engine-v8-defaults  the same with V8's default allocation-site pretenuring (no tuneGc)
 * Prints "listening on <url>". Usage: node bench/engine-variants.ts --variant NAME --upstream URL
 */
import { BENCH_STORE } from './lib/systems.ts';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseArgs } from 'node:util';
import { assign, createActor, fromPromise, setup, spawnChild, stopChild, type AnyActorRef } from 'xstate';
import { configFromObject } from '../src/config/load.ts';
import { RouteTable } from '../src/routing/routes.ts';
import { startGateway } from '../src/gateway.ts';
import { readJsonBody } from '../src/http/body.ts';
import { validateChatRequest } from '../src/http/validate-chat.ts';
import { parsePolicy } from '../src/policy/parse-headers.ts';
import { adapterFor } from '../src/providers/adapters.ts';
import { Transport, type AttemptResult } from '../src/providers/transport.ts';
import { tuneGc } from '../src/runtime/gc-tuning.ts';

const { values } = parseArgs({ options: { variant: { type: 'string' }, upstream: { type: 'string' } } });
// `engine-v8-defaults`: the shipped engine with V8's default pretenuring, to show what tuneGc buys.
const v8Defaults = values.variant === 'engine-v8-defaults';
const variant = v8Defaults ? 'engine' : (values.variant ?? 'bypass');
// As `parrot serve` runs (bin/parrot.js).
if (!v8Defaults) tuneGc();
const config = configFromObject(
  {
    server: { host: '127.0.0.1', port: 0 },
    store: { ...BENCH_STORE },
    providers: [{ name: 'openai', type: 'openai', base_url: `${values.upstream}/v1`, api_key: 'bench', models: ['gpt-4-turbo-preview'] }],
    simulator: { enabled: false },
  },
  { env: {} },
);

if (variant === 'engine') {
  const gw = await startGateway(config);
  process.stdout.write(`listening on ${gw.url}\n`);
} else {
  const routes = new RouteTable(config, adapterFor);
  const transport = new Transport();
  const policyCtx = { providers: routes.providerNames, models: routes.modelNames, defaults: config.resilience.policy };

  type Call = (signal: AbortSignal) => Promise<AttemptResult>;
  const invoke = fromPromise<AttemptResult, { call: Call }>(({ input, signal }) => input.call(signal));
  const BARE = setup({}).createMachine({ initial: 'idle', states: { idle: {} } });
  const FLOOR = setup({ types: { context: {} as { call: Call; out: AttemptResult | null }, input: {} as { call: Call } }, actors: { invoke } }).createMachine({
    context: ({ input }) => ({ call: input.call, out: null }),
    initial: 'calling',
    states: {
      calling: {
        invoke: { src: 'invoke', input: ({ context }) => ({ call: context.call }), onDone: { target: 'done', actions: assign({ out: ({ event }) => event.output }) } },
      },
      done: { type: 'final' },
    },
    output: ({ context }) => context.out,
  });
  type RootEvent = { type: 'REQ'; id: string; call: Call } | { type: `xstate.done.actor.${string}`; actorId: string };
  const ROOT = setup({ types: { events: {} as RootEvent }, actors: { floor: FLOOR } }).createMachine({
    on: {
      REQ: { actions: spawnChild('floor', { id: ({ event }) => (event as { id: string }).id, input: ({ event }) => ({ call: (event as { call: Call }).call }) }) },
      // Reap each finished child, or the root's children grow with every request.
      'xstate.done.actor.*': { actions: stopChild(({ event }) => (event as { actorId: string }).actorId) },
    },
  });
  const root = createActor(ROOT).start();
  let nextId = 0;
  const spawned = (call: Call): Promise<AttemptResult> => {
    const id = `r${nextId++}`;
    root.send({ type: 'REQ', id, call });
    const child = root.getSnapshot().children[id] as AnyActorRef;
    return new Promise((resolve) => {
      const snap = child.getSnapshot();
      if (snap.status === 'done') resolve(snap.output);
      else child.subscribe({ complete: () => resolve(child.getSnapshot().output) });
    });
  };
  const untilDone = <T>(actor: { subscribe(o: { complete(): void }): unknown; start(): unknown; getSnapshot(): { output?: unknown } }): Promise<T> =>
    new Promise((resolve) => {
      actor.subscribe({ complete: () => resolve(actor.getSnapshot().output as T) });
      actor.start();
    });

  const server = createServer(async (req, res) => {
    const request = validateChatRequest(await readJsonBody(req, config.server.bodyLimitBytes));
    parsePolicy(req.headers, policyCtx);
    const step = routes.resolve(request.model)!;
    const call: Call = (signal) => transport.call(step.adapter, request, { target: step.target, model: step.upstreamModel, stream: false }, signal);
    let result: AttemptResult;
    if (variant === 'promise') result = await untilDone(createActor(invoke, { input: { call } }));
    else if (variant === 'floor') result = await untilDone(createActor(FLOOR, { input: { call } }));
    else if (variant === 'spawned') result = await spawned(call);
    else if (variant === 'machine') {
      const actor = createActor(BARE).start();
      result = await call(new AbortController().signal);
      actor.stop();
    } else result = await call(new AbortController().signal);
    if (result.type !== 'completion' || result.raw === undefined) throw new Error('variants serve untranslated completions only');
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(result.raw.byteLength) });
    res.end(result.raw);
  });
  server.listen(0, '127.0.0.1', () => process.stdout.write(`listening on http://127.0.0.1:${(server.address() as AddressInfo).port}\n`));
}
