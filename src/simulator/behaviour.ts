/**
 * A model's config compiled once into what the request path needs: a latency sampler, the
 * pacing and the fault list. Nothing here is recomputed per request.
 */
import { lognormalFromPercentiles, normal, type Rng } from './rng.ts';
import type { SimFault, SimLatency, SimModelConfig, SimPrefillMode } from './types.ts';

const DEFAULT_COMPLETION_TOKENS = 16;

/** Draws a latency in ms; null means "no wait at all" (no timer on the hot path). */
export type LatencySampler = ((rng: Rng) => number) | null;

export interface Behaviour {
  /** The effective config (model fields over the defaults), as `GET /_sim/state` shows it. */
  readonly config: SimModelConfig;
  readonly latency: LatencySampler;
  readonly tokensPerSecond: number;
  readonly completionTokens: number;
  readonly faults: readonly SimFault[];
  /** The OpenAI prefix modes the model honours (SimModelConfig.prefill_modes). */
  readonly prefillModes: ReadonlySet<SimPrefillMode>;
}

/** Builds the sampler for a latency spec. */
export function latencySampler(spec: SimLatency | undefined): LatencySampler {
  if (spec === undefined) return null;
  switch (spec.type) {
    case 'fixed':
      return spec.ms > 0 ? () => spec.ms : null;
    case 'uniform': {
      const { min_ms: min, max_ms: max } = spec;
      return max <= 0 ? null : (rng) => min + (max - min) * rng();
    }
    case 'heavy_tail': {
      const { mu, sigma } = lognormalFromPercentiles(spec.p50_ms, spec.p99_ms);
      const cap = spec.max_ms ?? Infinity;
      return (rng) => Math.min(cap, Math.exp(mu + sigma * normal(rng)));
    }
  }
}

/** Field by field, the model's own settings win over the defaults. */
export function compileBehaviour(model: SimModelConfig | undefined, defaults: SimModelConfig): Behaviour {
  const config: SimModelConfig = { ...defaults, ...model };
  return {
    config,
    latency: latencySampler(config.latency),
    tokensPerSecond: config.tokens_per_second ?? 0,
    completionTokens: config.completion_tokens ?? DEFAULT_COMPLETION_TOKENS,
    faults: config.faults ?? [],
    prefillModes: new Set(config.prefill_modes ?? []),
  };
}
