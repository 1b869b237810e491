/**
 * Runs one chaos scenario: a fresh gateway (`parrot serve`, its own process) in front of the
 * simulator (and Toxiproxy for network scenarios), a closed loop of official openai SDK
 * clients through it from this process, the fault injected and healed on schedule, what each
 * request came to recorded, and the gateway's state changes read from its log (stderr).
 */
import { BENCH_STORE, serveArgs } from '../lib/systems.ts';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import OpenAI from 'openai';
import type { ConfigFile } from '../../src/config/schema.ts';
import type { StateChange } from '../../src/events/state-changes.ts';
import { startProcess } from '../lib/processes.ts';
import { MODELS, type Provider, type Scenario, type ScenarioContext } from './scenarios.ts';

/** What one client request came to. */
export interface RequestRecord {
  /** ms since the scenario started (wall clock), when it was sent. */
  at: number;
  ms: number;
  ok: boolean;
  /** A success (no error reached the client) whose answer did not finish: no finish_reason, or one other than `stop`. */
  truncated: boolean;
  stream: boolean;
  model: Provider;
  /** Who answered (X-Provider), X-Attempts, X-Failover-Used, X-Cache. */
  provider?: string;
  attempts: number;
  failover: boolean;
  cached: boolean;
  /** The failure: `http_<status>` with the error code, or the SDK's error name. */
  error?: string;
}

export interface ScenarioRun {
  scenario: Scenario;
  records: RequestRecord[];
  changes: { at: number; change: StateChange }[];
  faultAt: number;
  healAt?: number;
  durationMs: number;
  /** Upstream calls that client requests caused (probes left out), from the simulator's log, per provider, with when each came. */
  upstreamCalls: { at: number; provider: string; model: string }[];
}

const PROMPTS = Array.from({ length: 20 }, (_, i) => `Chaos prompt ${i}: say something short.`);

/** The suite's gateway config: the three providers of the default config on the simulator, plus one on a port that refuses connections. */
function gatewayConfig(simUrl: string, openaiOrigin: string, refusedOrigin: string): ConfigFile {
  return {
    server: { host: '127.0.0.1', port: 0 },
    simulator: { enabled: false },
    store: { ...BENCH_STORE },
    providers: [
      { name: 'openai', type: 'openai', base_url: `${openaiOrigin}/v1`, api_key: 'chaos', models: [MODELS.openai] },
      { name: 'anthropic', type: 'anthropic', base_url: simUrl, api_key: 'chaos', models: [MODELS.anthropic] },
      { name: 'google', type: 'google', base_url: simUrl, api_key: 'chaos', models: [MODELS.google] },
      { name: 'refused', type: 'openai', base_url: `${refusedOrigin}/v1`, api_key: 'chaos', models: [MODELS.refused] },
    ],
    models: {
      [MODELS.openai]: { anthropic: MODELS.anthropic, google: MODELS.google },
      [MODELS.anthropic]: { openai: MODELS.openai, google: MODELS.google },
      [MODELS.google]: { openai: MODELS.openai, anthropic: MODELS.anthropic },
      [MODELS.refused]: { anthropic: MODELS.anthropic },
    },
    resilience: {
      failover: { providers: ['openai', 'anthropic', 'google'] },
      // Bounded runs: a stalled or hung call is cut in seconds, not the defaults' 15-60 s.
      ttft_timeout_ms: 2_000,
      attempt_timeout_ms: 5_000,
      stream_idle_timeout_ms: 2_000,
      breaker_probe_interval_ms: 1_000,
    },
  };
}

export interface RunOptions {
  ctx: ScenarioContext;
  requests: number;
  /** The openai provider's origin: the simulator's, or its Toxiproxy proxy for network scenarios. */
  openaiOrigin: string;
  refusedOrigin: string;
  tmpDir: string;
  onProgress: (done: number) => void;
}

export async function runScenario(scenario: Scenario, opts: RunOptions): Promise<ScenarioRun> {
  const { sim } = opts.ctx;
  await sim.reset();
  const configPath = join(opts.tmpDir, `gateway-${scenario.name}.json`);
  writeFileSync(configPath, JSON.stringify(gatewayConfig(sim.url, opts.openaiOrigin, opts.refusedOrigin)));
  const gw = await startProcess({
    name: 'parrot',
    command: process.execPath,
    args: serveArgs(configPath),
    ready: { pattern: /parrot listening on (http:\/\/[^\s]+)/ },
    env: { PORT: '', HOST: '' },
  });
  // Times are wall-clock ms since t0: the gateway's log lines and the simulator's call log use the same clock.
  const t0 = Date.now();
  const now = (): number => Date.now() - t0;
  const changes: ScenarioRun['changes'] = [];
  let partial = '';
  gw.child.stderr!.on('data', (text: string) => {
    const lines = (partial + text).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) {
      if (!line.startsWith('{')) continue;
      const change = JSON.parse(line) as StateChange & { event: string };
      if (change.machine !== undefined) changes.push({ at: Date.parse(change.at) - t0, change });
    }
  });
  // The SDK's own retries off: what the client sees is what the gateway answered.
  const client = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: 'chaos', maxRetries: 0, timeout: 30_000 });
  const records: RequestRecord[] = [];
  const faultIndex = Math.floor(scenario.faultAt * opts.requests);
  const healIndex = scenario.healAt === undefined ? undefined : Math.floor(scenario.healAt * opts.requests);
  let faultAt = 0;
  let healAt: number | undefined;
  let stopFault: (() => void) | undefined;
  let next = 0;

  const one = async (i: number): Promise<void> => {
    const model = scenario.models[i % scenario.models.length];
    const stream = scenario.stream === 'stream' || (scenario.stream === 'mixed' && i % 2 === 1);
    const body = { model: MODELS[model], messages: [{ role: 'user' as const, content: PROMPTS[i % PROMPTS.length] }] };
    const options = scenario.headers ? { headers: scenario.headers } : {};
    const at = now();
    const started = performance.now();
    const rec: RequestRecord = { at, ms: 0, ok: false, truncated: false, stream, model, attempts: 0, failover: false, cached: false };
    const fromHeaders = (h: Headers): void => {
      rec.provider = h.get('x-provider') ?? undefined;
      rec.attempts = Number(h.get('x-attempts') ?? 0);
      rec.failover = h.get('x-failover-used') === 'true';
      rec.cached = h.get('x-cache') !== null;
    };
    try {
      if (stream) {
        const { data, response } = await client.chat.completions.create({ ...body, stream: true }, options).withResponse();
        fromHeaders(response.headers);
        let finish: string | null = null;
        for await (const chunk of data) finish = chunk.choices[0]?.finish_reason ?? finish;
        rec.ok = true;
        rec.truncated = finish !== 'stop';
      } else {
        const { data, response } = await client.chat.completions.create(body, options).withResponse();
        fromHeaders(response.headers);
        rec.ok = true;
        rec.truncated = data.choices[0]?.finish_reason !== 'stop';
      }
    } catch (err) {
      if (err instanceof OpenAI.APIError) {
        if (err.headers) fromHeaders(err.headers as Headers);
        rec.error = err.status !== undefined ? `http_${err.status} ${err.code ?? ''}`.trim() : err.constructor.name;
      } else rec.error = (err as Error).name;
      rec.ok = false;
    }
    rec.ms = performance.now() - started;
    records.push(rec);
  };

  const worker = async (): Promise<void> => {
    while (next < opts.requests) {
      const i = next++;
      if (i === faultIndex) {
        faultAt = now();
        stopFault = (await scenario.inject(opts.ctx)) ?? undefined;
      }
      if (healIndex !== undefined && i === healIndex) {
        stopFault?.();
        stopFault = undefined;
        await scenario.heal?.(opts.ctx);
        healAt = now();
      }
      await one(i);
      opts.onProgress(records.length);
    }
  };
  try {
    await Promise.all(Array.from({ length: scenario.concurrency }, worker));
  } finally {
    (stopFault as (() => void) | undefined)?.();
    await gw.stop();
  }
  const upstreamCalls = (await sim.calls())
    .filter((c) => c.probe !== true)
    .map((c) => ({ at: c.at - t0, provider: c.provider, model: c.model }));
  return { scenario, records, changes, faultAt, ...(healAt !== undefined ? { healAt } : {}), durationMs: now(), upstreamCalls };
}
