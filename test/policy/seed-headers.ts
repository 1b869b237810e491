/**
 * The seed's header examples, exactly as its Python sends them: `json.dumps` output
 * (", " and ": " separators, `True` -> `true`) for the JSON headers.
 */
import { DEFAULT_POLICY_DEFAULTS } from '../../src/policy/defaults.ts';
import type { PolicyContext } from '../../src/policy/types.ts';

export const ctx: PolicyContext = {
  providers: new Set(['openai', 'anthropic', 'google']),
  models: new Set(['gpt-4-turbo-preview', 'gpt-3.5-turbo', 'claude-3-opus', 'gemini-pro', 'openai/gpt-3.5-turbo']),
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

/** "Request Hedging": X-Request-Hedging and json.dumps of its X-Hedge-Config. */
export const REQUEST_HEDGING = 'true';
export const HEDGE_CONFIG =
  '{"strategy": "latency", "providers": ["openai", "anthropic"], "delay_ms": 200, "cancel_slower": true, "max_additional_cost": 0.05}';

/** json.dumps(degraded_config) from "Degraded Mode Operations", sent with X-User-Priority: high. */
export const DEGRADED_MODE_CONFIG =
  '{"enabled": true, "triggers": ["high_latency", "partial_outage", "rate_limiting"], "strategies": [' +
  '{"condition": "high_latency", "action": "reduce_quality", "config": {"use_model": "gpt-3.5-turbo", "reduce_max_tokens": 0.7, "disable_streaming": false, "cache_aggressively": true}}, ' +
  '{"condition": "partial_outage", "action": "feature_flags", "config": {"disable_features": ["image_generation", "code_execution"], "simplify_prompts": true, "use_cached_responses": true, "cache_ttl_multiplier": 10}}, ' +
  '{"condition": "rate_limiting", "action": "queue_and_batch", "config": {"batch_size": 10, "max_queue_time_ms": 5000, "priority_queue": true, "notify_users": true}}], ' +
  '"user_notification": {"enabled": true, "message": "We\'re experiencing high demand. Responses may be simplified.", "show_status": true}}';
export const USER_PRIORITY = 'high';
