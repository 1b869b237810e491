/**
 * Part 4 of `npm run bench`: the CPU cost of the request's orchestration alone, in-process,
 * with no I/O: create + start + invoke an attempt whose promise is already resolved + reach
 * `done`. Two variants: the bare failover machine (the `report` action a no-op), and
 * `ChatService.serveChat`, the gateway's own entry point, which adds what the gateway really
 * does per request (the plan, the flow on the runtime with its clock, the outcome reported to
 * the target and its breakers, the headers). For scale, a third figure: the smallest XState
 * machine with one invoked promise, the floor of any actor-per-request design.
 *
 * `node bench/actor-cost.ts` runs it alone, as `parrot serve` runs (pretenuring off);
 * `node bench/actor-cost.ts --v8-defaults` runs it with V8's defaults, for comparison.
 */
import { BENCH_STORE } from './lib/systems.ts';
import { createActor, fromPromise, setup } from 'xstate';
import { failoverMachine } from '../machines/failover.machine.ts';
import { ResponseCache } from '../src/cache/response-cache.ts';
import { configFromObject } from '../src/config/load.ts';
import type { AttemptInput, AttemptSuccess, FlowStep } from '../src/core/flow.ts';
import { defaultPolicy } from '../src/policy/defaults.ts';
import { RouteTable } from '../src/routing/routes.ts';
import { FlowRuntime } from '../src/serve/flow-runtime.ts';
import { ChatService } from '../src/serve/serve-chat.ts';
import { TransitionHub } from '../src/events/transitions.ts';
import { adapterFor } from '../src/providers/adapters.ts';
import { tuneGc } from '../src/runtime/gc-tuning.ts';
import type { AttemptResult, Transport } from '../src/providers/transport.ts';

export interface ActorCostVariant {
  /** Requests run in the measured rounds. */
  iterations: number;
  /** CPU (user + system) per request, µs: the median of the rounds. */
  cpuUsPerRequest: number;
  /** Wall time per request, µs: the median of the rounds. */
  wallUsPerRequest: number;
}

export interface ActorCostReport {
  /** The bare failover machine, one request at a time. */
  requestActor: ActorCostVariant;
  /** The same with 50 request actors in flight at once (as at 50 connections). */
  requestActor50: ActorCostVariant;
  /** ChatService.serveChat: the flow on the runtime + the target's report + headers, one at a time. */
  engineRun: ActorCostVariant;
  /** For scale: the smallest useful XState machine (one invoked promise, two final states). */
  xstateFloor: ActorCostVariant;
}

const RESULT: AttemptResult = {
  type: 'completion',
  completion: {
    id: 'chatcmpl-bench',
    object: 'chat.completion',
    created: 0,
    model: 'gpt-4-turbo-preview',
    choices: [{ index: 0, message: { role: 'assistant', content: 'hello' }, finish_reason: 'stop', logprobs: null }],
  } as never,
};
const RESOLVED = Promise.resolve(RESULT);

export type RunOne = () => Promise<unknown>;

/** Median of `rounds` rounds of `iterations` requests, `inFlight` at a time, after a warm-up. */
async function measure(runOne: RunOne, opts: { iterations: number; rounds: number; warmup: number; inFlight: number }): Promise<ActorCostVariant> {
  const batch = async (n: number): Promise<void> => {
    if (opts.inFlight === 1) {
      for (let i = 0; i < n; i++) await runOne();
      return;
    }
    for (let i = 0; i < n; i += opts.inFlight) {
      const all: Promise<unknown>[] = [];
      for (let j = 0; j < opts.inFlight && i + j < n; j++) all.push(runOne());
      await Promise.all(all);
    }
  };
  await batch(opts.warmup);
  const cpu: number[] = [];
  const wall: number[] = [];
  for (let r = 0; r < opts.rounds; r++) {
    const c0 = process.cpuUsage();
    const w0 = performance.now();
    await batch(opts.iterations);
    const w = performance.now() - w0;
    const c = process.cpuUsage(c0);
    cpu.push((c.user + c.system) / opts.iterations);
    wall.push((w * 1000) / opts.iterations);
  }
  const median = (xs: number[]): number => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  return { iterations: opts.iterations * opts.rounds, cpuUsPerRequest: median(cpu), wallUsPerRequest: median(wall) };
}

const SUCCESS: AttemptSuccess = { result: { type: 'completion', complete: true, attempt: 1 }, latencyMs: 0 };
const SUCCEEDED = Promise.resolve(SUCCESS);

/**
 * One request through the bare failover machine (provided once, `report` a no-op) and
 * through the floor machine, each to `done`, with an attempt that is already resolved.
 * Shared with bench/gc-promotion.ts.
 */
export function actorRunners(): { runBare: RunOne; runFloor: RunOne; runPromise: RunOne } {
  // The bare machine, provided once, not per request.
  const machine = failoverMachine.provide({
    actors: { attempt: fromPromise<AttemptSuccess, AttemptInput>(() => SUCCEEDED) },
    actions: { report: () => {} },
  });
  const step: FlowStep = { provider: 'openai', model: 'gpt-4-turbo-preview', key: 'openai/gpt-4-turbo-preview' };
  const steps = [step];
  const runBare: RunOne = () =>
    new Promise((resolve, reject) => {
      const actor = createActor(machine, { input: { steps, payload: 'bench', deadlineMs: 120_000, attemptTimeoutMs: 120_000 } });
      actor.subscribe({ complete: () => resolve(actor.getSnapshot().output), error: reject });
      actor.start();
    });

  const floorMachine = setup({ actors: { attempt: fromPromise(() => RESOLVED) } }).createMachine({
    id: 'floor',
    initial: 'attempting',
    states: { attempting: { invoke: { src: 'attempt', onDone: 'succeeded', onError: 'failed' } }, succeeded: { type: 'final' }, failed: { type: 'final' } },
  });
  const runFloor: RunOne = () =>
    new Promise((resolve, reject) => {
      const actor = createActor(floorMachine);
      actor.subscribe({ complete: () => resolve(undefined), error: reject });
      actor.start();
    });

  const promiseLogic = fromPromise(() => RESOLVED);
  const runPromise: RunOne = () =>
    new Promise((resolve, reject) => {
      const actor = createActor(promiseLogic);
      actor.subscribe({ complete: () => resolve(undefined), error: reject });
      actor.start();
    });
  return { runBare, runFloor, runPromise };
}

/** Measures both variants; about 3-5 s on the reference machine. */
export async function runActorCost(opts: { iterations?: number; rounds?: number } = {}): Promise<ActorCostReport> {
  const iterations = opts.iterations ?? 10_000;
  const rounds = opts.rounds ?? 3;
  const warmup = Math.min(iterations, 3_000);

  // The engine as the gateway builds it, with a transport that answers at once.
  const config = configFromObject({
    server: { host: '127.0.0.1', port: 0 },
    store: { ...BENCH_STORE },
    providers: [{ name: 'openai', type: 'openai', base_url: 'http://127.0.0.1:9/v1', api_key: 'bench', models: ['gpt-4-turbo-preview'] }],
  });
  const routes = new RouteTable(config, adapterFor);
  const transport = { call: () => RESOLVED, probe: () => RESOLVED, close: async () => {} } as unknown as Transport;
  const r = config.resilience;
  const runtime = new FlowRuntime({
    routes,
    transport,
    hub: new TransitionHub(),
    targets: { defaultBreaker: r.policy.breaker, maxBreakersPerTarget: r.maxBreakersPerTarget, retryBudget: r.retryBudget, probeIntervalMs: r.breakerProbeIntervalMs },
  });
  const chat = new ChatService({
    runtime,
    defaults: r.policy,
    cache: new ResponseCache(r.cacheEntries),
    attemptTimeoutMs: r.attemptTimeoutMs,
    ttftTimeoutMs: r.ttftTimeoutMs,
    streamIdleTimeoutMs: r.streamIdleTimeoutMs,
    degraded: r.degraded,
  });
  const policy = defaultPolicy(r.policy);
  const request = { model: 'gpt-4-turbo-preview', messages: [{ role: 'user' as const, content: 'hi' }] };
  let n = 0;
  const runEngine: RunOne = () => chat.serveChat(request, policy, { requestId: `bench${++n}` }).then((o) => o.flow);

  const { runBare, runFloor } = actorRunners();

  try {
    const requestActor = await measure(runBare, { iterations, rounds, warmup, inFlight: 1 });
    const requestActor50 = await measure(runBare, { iterations, rounds, warmup, inFlight: 50 });
    const engineRun = await measure(runEngine, { iterations, rounds, warmup, inFlight: 1 });
    // Sanity: the measured path really finished successfully.
    const out = (await runEngine()) as { ok: boolean };
    if (!out.ok) throw new Error('serveChat did not succeed with a resolved attempt');
    const xstateFloor = await measure(runFloor, { iterations, rounds, warmup, inFlight: 1 });
    return { requestActor, requestActor50, engineRun, xstateFloor };
  } finally {
    runtime.stop();
  }
}

if (import.meta.main) {
  // As `parrot serve` runs (bin/parrot.js), unless asked for V8's defaults.
  if (!process.argv.includes('--v8-defaults')) tuneGc();
  const r = await runActorCost();
  for (const [name, v] of Object.entries(r)) {
    process.stdout.write(`${name.padEnd(16)} ${v.cpuUsPerRequest.toFixed(1).padStart(7)} µs CPU/request  ${v.wallUsPerRequest.toFixed(1).padStart(7)} µs wall/request  (${v.iterations} requests)\n`);
  }
}
