/**
 * The chaos suite's scenarios: each is a fault (simulator faults, or toxics on the network path
 * through Toxiproxy) applied to a fresh gateway while a bounded load of official openai SDK
 * clients runs through it. A fault starts once `faultAt` of the scenario's requests have been
 * sent and, where the scenario heals, ends at `healAt`, so the report can time detection and
 * recovery against a healthy start and end.
 */
import type { SimModelConfig } from '../../src/simulator/types.ts';
import type { SimControl } from './sim-control.ts';
import type { Toxiproxy } from './toxiproxy.ts';

/** The simulator model each provider serves (one model name per provider). */
export const MODELS = { openai: 'gpt-4-turbo-preview', anthropic: 'claude-3-opus', google: 'gemini-pro', refused: 'refused-gpt' } as const;
export type Provider = keyof typeof MODELS;

export interface ScenarioContext {
  sim: SimControl;
  /** Present for network scenarios (the openai provider's calls go through its proxy `openai`). */
  toxiproxy?: Toxiproxy;
  /** True in --quick mode (shorter flaps). */
  quick: boolean;
}

export interface Scenario {
  name: string;
  title: string;
  /** Requests in the full run (2,000 or more where a target is checked); --quick runs a tenth (at least 200). */
  requests: number;
  /** Requests in flight at once (SDK clients in a closed loop). */
  concurrency: number;
  /** The models requested, in turn. */
  models: readonly Provider[];
  /** Which requests stream. */
  stream: 'mixed' | 'stream' | 'json';
  /** Policy headers every request sends. */
  headers?: Record<string, string>;
  /** Needs Toxiproxy on the openai provider's path. */
  network?: boolean;
  /** The providers the fault hits (their breakers time detection and recovery). */
  faulty: readonly Provider[];
  /** Fractions of the requests sent when the fault starts and ends (no healAt: it lasts to the end). */
  faultAt: number;
  healAt?: number;
  inject(ctx: ScenarioContext): Promise<(() => void) | void> | (() => void) | void;
  heal?(ctx: ScenarioContext): Promise<unknown> | void;
  /** The targets this scenario checks. */
  targets?: readonly TargetName[];
}

export type TargetName = 'success_99_95' | 'no_truncated' | 'amplification_1_2' | 'refused_adds_5ms' | 'open_breaker_0_attempts';

const set = (ctx: ScenarioContext, p: Provider, cfg: SimModelConfig): Promise<void> => ctx.sim.setModel(MODELS[p], { ...HEALTHY, ...cfg });
const healthy = async (ctx: ScenarioContext, ...ps: Provider[]): Promise<void> => {
  for (const p of ps) await ctx.sim.setModel(MODELS[p], HEALTHY);
};

/** Every model when healthy: an answer after 40-60 ms, 12 tokens, streamed as fast as they come. */
export const HEALTHY: SimModelConfig = { latency: { type: 'uniform', min_ms: 40, max_ms: 60 }, completion_tokens: 12, tokens_per_second: 0 };

/** Toggles a provider between down and up every `periodMs` until stopped. */
async function flap(ctx: ScenarioContext, p: Provider, down: SimModelConfig): Promise<() => void> {
  const periodMs = ctx.quick ? 1_500 : 3_000;
  let isDown = true;
  await set(ctx, p, down);
  const timer = setInterval(() => {
    isDown = !isDown;
    void (isDown ? set(ctx, p, down) : healthy(ctx, p)).catch(() => undefined);
  }, periodMs);
  return () => clearInterval(timer);
}

const SERVER_ERROR: SimModelConfig = { faults: [{ type: 'error', kind: 'server_error' }] };
const ALL: readonly Provider[] = ['openai', 'anthropic', 'google'];

export const SCENARIOS: readonly Scenario[] = [
  { name: 'baseline', title: 'no fault', requests: 1_000, concurrency: 32, models: ALL, stream: 'mixed', faulty: [], faultAt: 0, inject: () => undefined },
  {
    name: 'hard-down',
    title: 'openai hard down (every call a 500), then back',
    requests: 2_000,
    concurrency: 32,
    models: ['openai'],
    stream: 'mixed',
    faulty: ['openai'],
    faultAt: 0.1,
    healAt: 0.6,
    inject: (ctx) => set(ctx, 'openai', SERVER_ERROR),
    heal: (ctx) => healthy(ctx, 'openai'),
    targets: ['open_breaker_0_attempts'],
  },
  {
    name: 'flapping',
    title: 'openai flapping (down and up in turn)',
    requests: 1_000,
    concurrency: 32,
    models: ['openai'],
    stream: 'mixed',
    faulty: ['openai'],
    faultAt: 0.1,
    healAt: 0.8,
    inject: (ctx) => flap(ctx, 'openai', SERVER_ERROR),
    heal: (ctx) => healthy(ctx, 'openai'),
  },
  {
    name: 'slow',
    title: 'openai slow (heavy tail: p50 300 ms, p99 10 s)',
    requests: 1_000,
    concurrency: 64,
    models: ['openai'],
    stream: 'mixed',
    faulty: ['openai'],
    faultAt: 0.1,
    inject: (ctx) => set(ctx, 'openai', { latency: { type: 'heavy_tail', p50_ms: 300, p99_ms: 10_000, max_ms: 12_000 } }),
  },
  {
    name: 'rate-limited',
    title: 'openai rate-limited (30 % of calls 429 with Retry-After: 1)',
    requests: 1_000,
    concurrency: 32,
    models: ['openai'],
    stream: 'mixed',
    faulty: ['openai'],
    faultAt: 0.1,
    inject: (ctx) => set(ctx, 'openai', { faults: [{ type: 'error', kind: 'rate_limit', retry_after_s: 1, probability: 0.3 }] }),
  },
  {
    name: 'rate-limited-bare',
    title: 'openai rate-limited (30 % of calls 429, no Retry-After)',
    requests: 1_000,
    concurrency: 32,
    models: ['openai'],
    stream: 'mixed',
    faulty: ['openai'],
    faultAt: 0.1,
    inject: (ctx) => set(ctx, 'openai', { faults: [{ type: 'error', kind: 'rate_limit', probability: 0.3 }] }),
  },
  {
    name: '529-storm',
    title: 'anthropic 529 storm (80 % of calls overloaded)',
    requests: 1_000,
    concurrency: 32,
    models: ['anthropic'],
    stream: 'mixed',
    faulty: ['anthropic'],
    faultAt: 0.1,
    healAt: 0.7,
    inject: (ctx) => set(ctx, 'anthropic', { faults: [{ type: 'error', kind: 'model_overloaded', probability: 0.8 }] }),
    heal: (ctx) => healthy(ctx, 'anthropic'),
  },
  {
    name: 'in-band-errors',
    title: 'openai streams: 30 % end in an in-band error before any content',
    requests: 1_000,
    concurrency: 32,
    models: ['openai'],
    stream: 'stream',
    faulty: ['openai'],
    faultAt: 0.1,
    inject: (ctx) => set(ctx, 'openai', { faults: [{ type: 'in_band_error', kind: 'server_error', probability: 0.3 }] }),
  },
  {
    name: 'cut-streams',
    title: 'openai streams: 20 % cut after 4 tokens',
    requests: 1_000,
    concurrency: 32,
    models: ['openai'],
    stream: 'stream',
    faulty: ['openai'],
    faultAt: 0.1,
    inject: (ctx) => set(ctx, 'openai', { faults: [{ type: 'cut', after_tokens: 4, probability: 0.2 }] }),
    targets: ['no_truncated'],
  },
  {
    name: 'stalls',
    title: 'openai: 10 % of calls stall mid-answer (streams after 3 tokens, whole answers after half the body)',
    requests: 1_000,
    concurrency: 64,
    models: ['openai'],
    stream: 'mixed',
    faulty: ['openai'],
    faultAt: 0.1,
    inject: (ctx) => set(ctx, 'openai', { faults: [{ type: 'stall', after_tokens: 3, probability: 0.1 }] }),
    targets: ['no_truncated'],
  },
  {
    name: 'partial-outage',
    title: 'openai down and google failing half its calls; anthropic healthy',
    requests: 1_000,
    concurrency: 32,
    models: ALL,
    stream: 'mixed',
    faulty: ['openai', 'google'],
    faultAt: 0.1,
    healAt: 0.7,
    inject: async (ctx) => {
      await set(ctx, 'openai', SERVER_ERROR);
      await set(ctx, 'google', { faults: [{ type: 'error', kind: 'server_error', probability: 0.5 }] });
    },
    heal: (ctx) => healthy(ctx, 'openai', 'google'),
  },
  {
    name: 'all-down-cache',
    title: 'every provider down; requests ask for X-Circuit-Breaker-Fallback: cache',
    requests: 1_000,
    concurrency: 16,
    models: ['openai'],
    stream: 'json',
    headers: { 'x-circuit-breaker-fallback': 'cache' },
    faulty: ['openai', 'anthropic', 'google'],
    faultAt: 0.2,
    healAt: 0.8,
    inject: async (ctx) => {
      for (const p of ALL) await set(ctx, p, SERVER_ERROR);
    },
    heal: (ctx) => healthy(ctx, ...ALL),
  },
  {
    name: 'refused-primary',
    title: 'a primary whose port refuses connections, anthropic behind it; direct anthropic requests beside',
    requests: 2_000,
    concurrency: 16,
    models: ['refused', 'anthropic'],
    stream: 'json',
    faulty: ['refused'],
    faultAt: 0,
    inject: () => undefined,
    targets: ['refused_adds_5ms'],
  },
  {
    name: 'net-resets',
    title: 'network path to openai: 20 % of connections reset (Toxiproxy reset_peer)',
    requests: 1_000,
    concurrency: 32,
    models: ['openai'],
    stream: 'mixed',
    network: true,
    faulty: ['openai'],
    faultAt: 0.1,
    healAt: 0.7,
    inject: async (ctx) => {
      await ctx.toxiproxy!.toxic('openai', { name: 'resets', type: 'reset_peer', toxicity: 0.2, attributes: { timeout: 0 } });
    },
    heal: async (ctx) => ctx.toxiproxy!.reset(),
  },
  {
    name: 'net-latency',
    title: 'network path to openai: +100 ms latency, 50 ms jitter (Toxiproxy latency)',
    requests: 1_000,
    concurrency: 32,
    models: ['openai'],
    stream: 'mixed',
    network: true,
    faulty: ['openai'],
    faultAt: 0.1,
    healAt: 0.7,
    inject: async (ctx) => {
      await ctx.toxiproxy!.toxic('openai', { name: 'latency', type: 'latency', attributes: { latency: 100, jitter: 50 } });
    },
    heal: async (ctx) => ctx.toxiproxy!.reset(),
  },
  {
    name: 'flap-and-429',
    title: 'the target: openai flapping and google rate-limited (50 % 429, Retry-After: 1) over 20,000 requests',
    requests: 20_000,
    concurrency: 64,
    models: ALL,
    stream: 'mixed',
    faulty: ['openai', 'google'],
    faultAt: 0.05,
    inject: async (ctx) => {
      await set(ctx, 'google', { faults: [{ type: 'error', kind: 'rate_limit', retry_after_s: 1, probability: 0.5 }] });
      return flap(ctx, 'openai', SERVER_ERROR);
    },
    targets: ['success_99_95', 'no_truncated', 'amplification_1_2'],
  },
];
