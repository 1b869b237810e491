import { GatewayError } from '../core/openai-error.ts';
import { DEFAULT_POLICY_DEFAULTS, deepFreeze } from '../policy/defaults.ts';
import { parsePolicy } from '../policy/parse-headers.ts';
import type { PolicyDefaults } from '../policy/types.ts';
import type { ParsedConfig } from './schema.ts';

/**
 * The config's resilience block as PolicyDefaults. `breaker` and `retry` have exactly the
 * fields of the X-Circuit-Breaker and X-Retry-Config headers, so they go through the very
 * same parser (one set of rules and bounds for both); an error names the config field.
 */
export function policyDefaultsFromConfig(c: ParsedConfig, providers: ReadonlySet<string>): PolicyDefaults {
  const r = c.resilience;
  const headers: Record<string, string> = {};
  if (r.breaker !== undefined) headers['x-circuit-breaker'] = JSON.stringify(r.breaker);
  if (r.retry !== undefined) headers['x-retry-config'] = JSON.stringify(r.retry);
  let parsed;
  try {
    parsed = parsePolicy(headers, { providers, models: new Set(), defaults: DEFAULT_POLICY_DEFAULTS });
  } catch (err) {
    if (err instanceof GatewayError) {
      const field = err.param === 'X-Circuit-Breaker' ? 'resilience.breaker' : 'resilience.retry';
      throw new Error(`${field}: ${err.message.replace(/^X-[A-Za-z-]+: /, '')}`);
    }
    throw err;
  }
  return deepFreeze({
    failover: {
      enabled: r.failover.enabled,
      providers: r.failover.providers,
      triggers: r.failover.triggers,
      healthCheckIntervalMs: r.failover.health_check_interval * 1000,
      failureThreshold: r.failover.failure_threshold,
      successThreshold: r.failover.success_threshold,
    },
    breaker: parsed.breaker ?? DEFAULT_POLICY_DEFAULTS.breaker,
    breakerFallback: r.breaker_fallback,
    retry: parsed.retry,
    requestTimeoutMs: c.server.request_timeout_ms,
  });
}
