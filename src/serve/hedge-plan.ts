import type { HedgeInput, HedgeOutput } from '../../machines/hedge.machine.ts';
import type { HedgeDefaults } from '../config/types.ts';
import type { FlowStep } from '../core/flow.ts';
import type { ChatRequest } from '../core/openai-types.ts';
import { headerError } from '../policy/header-error.ts';
import type { HedgePolicy } from '../policy/types.ts';
import type { RouteStep, RouteTable } from '../routing/routes.ts';
import type { TargetStats } from '../targets/stats.ts';

/** Output tokens assumed for the cost estimate when the request sets no max_tokens / max_completion_tokens. */
export const DEFAULT_EXPECTED_OUTPUT_TOKENS = 256;
/** Characters per token for the prompt estimate (the usual rule of thumb for English text). */
const CHARS_PER_TOKEN = 4;
/** Percentile of the primary's time to first token used as the hedge delay when none is given. */
const DELAY_QUANTILE = 0.95;
/** The hedge delay while the primary has fewer than 20 recorded successes (no p95 yet). */
export const COLD_HEDGE_DELAY_MS = 1_000;

/**
 * The tokens a request is expected to cost: its prompt (every message's text and the tools'
 * JSON, one token per 4 characters, rounded up) and its answer (max_tokens, else
 * max_completion_tokens, else DEFAULT_EXPECTED_OUTPUT_TOKENS).
 */
export function estimateTokens(request: ChatRequest): { prompt: number; output: number } {
  let chars = 0;
  for (const m of request.messages) {
    const c = m.content;
    if (typeof c === 'string') chars += c.length;
    else if (Array.isArray(c)) for (const part of c) if (typeof (part as { text?: unknown }).text === 'string') chars += (part as { text: string }).text.length;
  }
  if (request.tools !== undefined) chars += JSON.stringify(request.tools).length;
  const output = request.max_tokens ?? request.max_completion_tokens ?? DEFAULT_EXPECTED_OUTPUT_TOKENS;
  return { prompt: Math.ceil(chars / CHARS_PER_TOKEN), output };
}

/** USD of one call at `price` (per 1,000 tokens); null when the model has no configured price. */
export function estimateCostUsd(price: RouteStep['price'], tokens: { prompt: number; output: number }): number | null {
  if (price === undefined) return null;
  return (tokens.prompt * price.inputPer1k + tokens.output * price.outputPer1k) / 1000;
}

/** Hedging as it applies to one request: the header's fields over the model's config. */
export interface HedgeSettings {
  strategy: HedgeInput['strategy'];
  providers: readonly string[] | undefined;
  delayMs: number | undefined;
  cancelSlower: boolean;
  maxAdditionalCost: number | undefined;
  /** The providers came from the request's header (a provider without the model is then a 400). */
  explicit: boolean;
}

/**
 * Whether a request is hedged, and how: X-Request-Hedging false turns it off; otherwise the
 * header's X-Hedge-Config fields, each over the model's configured `hedge`. Undefined: not hedged.
 */
export function hedgeSettings(policy: HedgePolicy | undefined, config: HedgeDefaults | undefined): HedgeSettings | undefined {
  if (policy === undefined) {
    if (config === undefined) return undefined;
    return { strategy: config.strategy, providers: config.providers, delayMs: config.delayMs, cancelSlower: config.cancelSlower, maxAdditionalCost: config.maxAdditionalCost, explicit: false };
  }
  if (!policy.enabled) return undefined;
  return {
    strategy: policy.strategy,
    providers: policy.providers ?? config?.providers,
    delayMs: policy.delayMs ?? config?.delayMs,
    cancelSlower: policy.cancelSlower,
    maxAdditionalCost: policy.maxAdditionalCostUsd ?? config?.maxAdditionalCost,
    explicit: policy.providers !== undefined,
  };
}

/**
 * The race's steps: the request's primary first, then the requested model on each listed
 * provider (its configured equivalent there), in the order listed, each target once. Without
 * a list, the rest of the request's failover chain. A listed provider that serves no
 * equivalent is a 400 when the header named it, and left out when the config did.
 */
export function hedgeSteps(routes: RouteTable, chain: readonly FlowStep[], model: string, s: HedgeSettings): FlowStep[] {
  const primary = chain[0];
  if (s.providers === undefined) return [...chain];
  const steps: FlowStep[] = [primary];
  s.providers.forEach((provider, i) => {
    if (provider === primary.provider) return;
    const route = routes.equivalentOn(provider, model);
    if (route === undefined) {
      if (s.explicit) throw headerError('X-Hedge-Config', ['providers', i], `provider "${provider}" serves no equivalent of model "${model}" (add one under models: in the config)`);
      return;
    }
    if (!steps.some((x) => x.key === route.key)) steps.push(route.step);
  });
  return steps;
}

/**
 * The delay between sends: the one given, else the primary's observed p95 time to first
 * token (COLD_HEDGE_DELAY_MS before it has 20 successes), never below `floorMs`.
 */
export function hedgeDelayMs(given: number | undefined, primary: TargetStats, floorMs: number): number {
  if (given !== undefined) return given;
  const p95 = primary.latencyQuantile(DELAY_QUANTILE);
  return Math.max(floorMs, Math.round(p95 ?? COLD_HEDGE_DELAY_MS));
}

/**
 * X-Hedge-Latency-Saved, in whole ms, at the moment the race was won (`elapsedMs` after the
 * request started):
 * - the primary won, failed, or was never sent: 0;
 * - the primary was still running (cancelled, or left running with cancel_slower false): the
 *   median of the primary's recent successful latencies longer than it had already run
 *   (what a call that slow can be expected to take), minus `elapsedMs`; 0 when it has no such
 *   latency on record (no evidence it would have taken longer).
 */
export function latencySavedMs(out: HedgeOutput & { ok: true }, primary: TargetStats, elapsedMs: number): number {
  if (out.stepIndex === 0) return 0;
  const rec = out.attempts.find((a) => a.step === 0);
  // Failed or skipped before the win: no latency to compare.
  if (rec !== undefined && !rec.cancelled) return 0;
  // No record yet: still running (cancel_slower false) for as long as the request.
  const ran = rec?.latencyMs ?? elapsedMs;
  const expected = primary.latencyMedianAbove(ran);
  return expected === null ? 0 : Math.max(0, Math.round(expected - elapsedMs));
}

/** The costs of sending each step (USD, null when unknown) for the machine's cost guard. */
export function hedgeCosts(routes: RouteTable, steps: readonly FlowStep[], request: ChatRequest, capped: boolean): (number | null)[] {
  if (!capped) return steps.map(() => null);
  const tokens = estimateTokens(request);
  return steps.map((s) => estimateCostUsd(routes.byKey(s.key)?.price, tokens));
}
