/**
 * `npm run bench:hedging`: what request hedging does to tail latency. The in-process
 * simulator answers every model from a heavy-tailed model (95% of calls in 90..110 ms, 5%
 * about 2 s: a `slow_first_token` fault of 1,900 ms with probability 0.05), and the gateway
 * is sent a fixed request rate for a bounded time (open loop: a request leaves on schedule
 * whether or not earlier ones finished), once without hedging and once with the seed's
 * X-Hedge-Config across openai and anthropic, delay_ms 150 (just past the fast mode).
 * `--delay-ms p95` leaves delay_ms out, so the primary's observed p95 decides: with a tail of
 * exactly 5% that p95 often lands in the tail itself and hedging then seldom fires
 * (docs/hedging.md).
 * It prints p50, p99, p99.9 and the extra upstream calls of each, and checks the target:
 * p99 cut at least 4x with at most 10% extra upstream calls.
 *
 *   npm run bench:hedging -- [--rate 50] [--seconds 8] [--delay-ms 150|p95]
 *
 * Defaults: 50 requests/s for 8 s per run (400 requests each, plus 40 of warm-up), about
 * 20 s in all. p99.9 of 400 samples is their maximum; raise --seconds for a finer tail.
 */
import { BENCH_STORE } from './lib/systems.ts';
import { parseArgs } from 'node:util';
import { configFromObject } from '../src/config/load.ts';
import { DEFAULT_CONFIG } from '../src/config/default-config.ts';
import { startGateway, type RunningGateway } from '../src/gateway.ts';
import { summarize, type LatencySummary } from './lib/stats.ts';

const { values: args } = parseArgs({
  options: {
    rate: { type: 'string', default: '50' },
    seconds: { type: 'string', default: '8' },
    'delay-ms': { type: 'string', default: '150' },
  },
});
const RATE = Math.min(500, Math.max(1, Number(args.rate)));
const SECONDS = Math.min(120, Math.max(1, Number(args.seconds)));
const WARMUP = 40;
const DELAY_MS = args['delay-ms'] === 'p95' ? undefined : Math.max(0, Number(args['delay-ms']));

/** 95% near 100 ms, 5% near 2 s. */
const HEAVY_TAIL = {
  latency: { type: 'uniform' as const, min_ms: 90, max_ms: 110 },
  faults: [{ type: 'slow_first_token' as const, delay_ms: 1_900, probability: 0.05 }],
};

interface RunResult {
  label: string;
  latency: LatencySummary;
  requests: number;
  failed: number;
  upstreamCalls: number;
  hedgeWins: number;
}

async function startBenchGateway(): Promise<RunningGateway> {
  const config = configFromObject(
    {
      ...DEFAULT_CONFIG,
      server: { host: '127.0.0.1', port: 0 },
      store: { ...BENCH_STORE },
      simulator: { enabled: true, seed: 7, models: { 'gpt-4-turbo-preview': HEAVY_TAIL, 'claude-3-opus': HEAVY_TAIL } },
      // One provider per request unless hedged: failover would add calls of its own.
      resilience: { ...DEFAULT_CONFIG.resilience, failover: { providers: [] } },
    },
    { env: {} },
  );
  return startGateway(config);
}

async function send(url: string, headers: Record<string, string>, i: number): Promise<{ ms: number; ok: boolean; winner: string | null }> {
  const t0 = performance.now();
  const res = await fetch(`${url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: 'Bearer dev', ...headers },
    body: JSON.stringify({ model: 'gpt-4-turbo-preview', messages: [{ role: 'user', content: `Time-critical request ${i}` }], max_tokens: 16 }),
  });
  await res.arrayBuffer();
  return { ms: performance.now() - t0, ok: res.ok, winner: res.headers.get('x-hedge-winner') };
}

/** `count` requests at RATE per second, open loop; resolves when all are answered. */
async function openLoop(url: string, headers: Record<string, string>, count: number, offset: number) {
  const interval = 1000 / RATE;
  const start = performance.now();
  const pending: Array<Promise<{ ms: number; ok: boolean; winner: string | null }>> = [];
  for (let i = 0; i < count; i++) {
    const due = start + i * interval;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    pending.push(send(url, headers, offset + i));
  }
  return Promise.all(pending);
}

async function run(label: string, headers: Record<string, string>): Promise<RunResult> {
  const gw = await startBenchGateway();
  try {
    // Warm-up: connections, and the primary's latency record (the default hedge delay is its p95).
    await openLoop(gw.url, headers, WARMUP, 0);
    const before = gw.simulator!.calls().filter((c) => !c.probe).length;
    const count = Math.round(RATE * SECONDS);
    const results = await openLoop(gw.url, headers, count, WARMUP);
    const upstreamCalls = gw.simulator!.calls().filter((c) => !c.probe).length - before;
    const ms = Float64Array.from(results.map((r) => r.ms));
    return {
      label,
      latency: summarize(ms),
      requests: count,
      failed: results.filter((r) => !r.ok).length,
      upstreamCalls,
      hedgeWins: results.filter((r) => r.winner !== null && r.winner !== 'openai').length,
    };
  } finally {
    await gw.close();
  }
}

const f = (n: number) => n.toFixed(1).padStart(8);

async function main(): Promise<void> {
  console.log(`bench:hedging: ${RATE} req/s for ${SECONDS} s per run (+${WARMUP} warm-up), heavy tail: 95% 90..110 ms, 5% ~2,000 ms`);
  const hedgeConfig = { strategy: 'latency', providers: ['openai', 'anthropic'], cancel_slower: true, ...(DELAY_MS !== undefined ? { delay_ms: DELAY_MS } : {}) };
  const off = await run('no hedging', {});
  const on = await run(`hedging (${DELAY_MS === undefined ? 'delay: p95' : `delay ${DELAY_MS} ms`})`, { 'X-Request-Hedging': 'true', 'X-Hedge-Config': JSON.stringify(hedgeConfig) });
  console.log('');
  console.log(`${'run'.padEnd(28)}${'p50 ms'.padStart(8)}${'p99 ms'.padStart(8)}${'p99.9'.padStart(8)}  requests  failed  upstream calls  extra`);
  for (const r of [off, on]) {
    const extra = (r.upstreamCalls - r.requests) / r.requests;
    console.log(
      `${r.label.padEnd(28)}${f(r.latency.p50)}${f(r.latency.p99)}${f(r.latency.p999)}  ${String(r.requests).padStart(8)}  ${String(r.failed).padStart(6)}  ${String(r.upstreamCalls).padStart(14)}  ${(extra * 100).toFixed(1).padStart(4)}%`,
    );
  }
  const cut = off.latency.p99 / on.latency.p99;
  const extra = (on.upstreamCalls - on.requests) / on.requests;
  console.log('');
  console.log(`hedge won by anthropic: ${on.hedgeWins} of ${on.requests}`);
  console.log(`p99 cut ${cut.toFixed(1)}x (target >= 4x): ${cut >= 4 ? 'met' : 'NOT met'}; extra upstream calls ${(extra * 100).toFixed(1)}% (target <= 10%): ${extra <= 0.1 ? 'met' : 'NOT met'}`);
}

await main();
