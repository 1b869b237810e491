/**
 * The seed's header examples, exactly as its Python sends them: `json.dumps` output
 * (", " and ": " separators, `True` -> `true`) for the JSON headers.
 */
import { DEFAULT_POLICY_DEFAULTS } from '../../src/policy/defaults.ts';
import type { PolicyContext } from '../../src/policy/types.ts';

export const ctx: PolicyContext = {
  providers: new Set(['openai', 'anthropic', 'google']),
  defaults: DEFAULT_POLICY_DEFAULTS,
};

/** "Simple failover configuration". */
export const SIMPLE_FAILOVER = {
  'x-failover-enabled': 'true',
  'x-failover-providers': 'openai,anthropic,google',
  'x-max-retries': '3',
  'x-retry-delay-ms': '100',
};

/** json.dumps(failover_config) from "Advanced failover with conditions". */
export const FAILOVER_CONFIG =
  '{"primary": {"provider": "openai", "model": "gpt-4-turbo-preview"}, "fallbacks": [' +
  '{"trigger": ["timeout", "rate_limit"], "provider": "anthropic", "model": "claude-3-opus", "max_latency_increase": 500}, ' +
  '{"trigger": ["server_error", "model_overloaded"], "provider": "google", "model": "gemini-pro", "reduce_quality": true}, ' +
  '{"trigger": "any_error", "provider": "openai", "model": "gpt-3.5-turbo", "reduce_max_tokens": 0.5}], ' +
  '"health_check_interval": 30, "failure_threshold": 3, "success_threshold": 2}';

/** json.dumps(circuit_config) from "Configure Circuit Breakers". */
export const CIRCUIT_CONFIG =
  '{"error_threshold": 5, "error_threshold_window": 60, "timeout": 30, "half_open_requests": 3, ' +
  '"success_threshold": 2, "excluded_errors": ["rate_limit", "quota_exceeded"], "monitor_latency": true, ' +
  '"latency_threshold_ms": 5000}';

/** The X-Retry-Config of "Exponential Backoff". */
export const EXPONENTIAL_CONFIG =
  '{"initial_delay_ms": 100, "max_delay_ms": 10000, "multiplier": 2, "max_retries": 5, "jitter": true, ' +
  '"retry_on": ["timeout", "server_error", "rate_limit"]}';

/** json.dumps(retry_config) from "Custom retry logic". */
export const CUSTOM_RETRY_CONFIG =
  '{"strategy": "custom", "rules": [' +
  '{"error_type": "rate_limit", "wait_ms": "parse_retry_after_header", "max_wait_ms": 60000}, ' +
  '{"error_type": "timeout", "attempts": [100, 200, 500, 1000, 2000], "switch_provider_after": 2}, ' +
  '{"error_type": "server_error", "immediate_failover": true}]}';
