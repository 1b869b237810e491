import { ConfigError } from '../config/load.ts';
import type { GatewayConfig } from '../config/types.ts';
import { GatewayError } from '../core/openai-error.ts';
import { defaultPolicy } from '../policy/defaults.ts';
import { parsePolicy } from '../policy/parse-headers.ts';
import type { DegradedModePolicy } from '../policy/types.ts';
import type { RouteTable } from '../routing/routes.ts';
import { buildPlan } from '../routing/plan.ts';
import type { Target } from '../targets/target.ts';
import type { Targets } from '../targets/targets.ts';
import { DegradedMonitor } from './monitor.ts';
import type { DegradedSettings } from './settings.ts';

/**
 * The `degraded_mode` block in runtime shape. Its `policy` is checked exactly as the
 * X-Degraded-Mode-Config header is (the same schema, the same configured models).
 * @throws ConfigError naming the field.
 */
export function degradedSettings(config: GatewayConfig, routes: RouteTable): DegradedSettings {
  const d = config.degradedMode;
  let policy: DegradedModePolicy | undefined;
  if (d.policy !== undefined) {
    try {
      policy = parsePolicy(
        { 'x-degraded-mode-config': JSON.stringify(d.policy) },
        { providers: routes.providerNames, models: routes.modelNames, defaults: config.resilience.policy },
      ).degradedMode;
    } catch (err) {
      if (err instanceof GatewayError) throw new ConfigError(`config ${config.source}: degraded_mode.policy: ${err.message.replace(/^X-Degraded-Mode-Config: /, '')}`);
      throw err;
    }
  }
  return {
    intervalMs: d.evaluate_interval_ms,
    windowMs: Math.max(d.window_ms, d.evaluate_interval_ms),
    highLatency: { p95TtftMs: d.high_latency.p95_ttft_ms, minSamples: d.high_latency.min_samples },
    rateLimiting: { share: d.rate_limiting.share, minRequests: d.rate_limiting.min_requests },
    policy,
    quality: d.quality,
    priorities: { keys: d.priorities.keys, defaultMax: d.priorities.default_max },
    queue: { maxSize: d.queue.max_size, releaseIntervalMs: d.queue.release_interval_ms },
    simplifyMaxTokens: d.simplify_prompts.max_tokens,
  };
}

/**
 * The degraded-mode actor's reading: a monitor over every target and every configured model's
 * default chain. `prime` builds it once the targets exist (its window starts then).
 */
export function degradedEvaluator(config: GatewayConfig, routes: RouteTable, settings: DegradedSettings) {
  let monitor: DegradedMonitor | undefined;
  const prime = (targets: Targets): DegradedMonitor => {
    if (monitor !== undefined) return monitor;
    const policy = defaultPolicy(config.resilience.policy);
    const chains: Array<{ model: string; targets: Target[] }> = [];
    for (const p of config.providers) {
      for (const m of p.models) {
        const route = routes.resolve(m.name);
        if (route === undefined || chains.some((c) => c.model === m.name)) continue;
        const keys = [...new Set(buildPlan(routes, route, m.name, policy).map((s) => s.key))];
        chains.push({ model: m.name, targets: keys.map((k) => targets.byKey(k)) });
      }
    }
    return (monitor = new DegradedMonitor(targets.values(), chains, settings));
  };
  return { prime, evaluate: (targets: Targets) => prime(targets).evaluate() };
}
