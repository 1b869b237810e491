import type { IncomingHttpHeaders } from 'node:http';
import { describe, expect, it } from 'vitest';
import { GatewayError } from '../../src/core/openai-error.ts';
import { parsePolicy } from '../../src/policy/parse-headers.ts';
import { CUSTOM_RETRY_CONFIG, DEGRADED_MODE_CONFIG, FAILOVER_CONFIG, HEDGE_CONFIG, ctx } from './seed-headers.ts';

/** The error parsePolicy threw, as the client would see it. */
function rejection(headers: IncomingHttpHeaders): { status: number; body: unknown } {
  try {
    parsePolicy(headers, ctx);
  } catch (err) {
    if (err instanceof GatewayError) return { status: err.status, body: err.toJSON() };
    throw err;
  }
  throw new Error('parsePolicy accepted the headers');
}

/** Asserts the 400 for `headers` carries exactly `message` and names `param`. */
function expect400(headers: IncomingHttpHeaders, param: string, message: string): void {
  expect(rejection(headers)).toStrictEqual({
    status: 400,
    body: { error: { message, type: 'invalid_request_error', param, code: 'invalid_header' } },
  });
}

const KINDS = 'timeout, rate_limit, quota_exceeded, model_overloaded, server_error, connection_error, context_length_exceeded, content_filter, auth_error, bad_request';
const TRIGGERS = `${KINDS}, any_error`;
const CONFIGURED = 'configured: anthropic, google, openai';

/** A valid X-Failover-Config with one fallback replaced by `fallback` (JSON text). */
function failoverWith(fallback: string): string {
  return `{"primary": {"provider": "openai", "model": "a"}, "fallbacks": [{"trigger": "timeout", "provider": "google", "model": "b"}, ${fallback}]}`;
}

/** A valid custom X-Retry-Config whose second rule is `rule` (JSON text). */
function rulesWith(rule: string): string {
  return `{"strategy": "custom", "rules": [{"error_type": "rate_limit", "wait_ms": 1000}, ${rule}]}`;
}

describe('plain headers', () => {
  it.each([
    ['X-Failover-Enabled', 'yes', 'expected "true" or "false"'],
    ['X-Failover-Enabled', '1', 'expected "true" or "false"'],
    ['X-Failover-Providers', 'openai,mistral', `provider "mistral" is not configured (${CONFIGURED})`],
    ['X-Failover-Providers', 'openai,,google', 'entry 2 is empty'],
    ['X-Failover-Providers', '', 'entry 1 is empty'],
    ['X-Failover-Providers', 'openai, google,openai', 'provider "openai" is listed twice'],
    ['X-Failover-Providers', `openai,${'p'.repeat(65)}`, 'entry 2 is longer than 64 characters'],
    ['X-Max-Retries', '11', 'expected an integer between 0 and 10'],
    ['X-Max-Retries', '-1', 'expected an integer between 0 and 10'],
    ['X-Max-Retries', '2.5', 'expected an integer between 0 and 10'],
    ['X-Max-Retries', 'three', 'expected an integer between 0 and 10'],
    ['X-Retry-Delay-Ms', '60001', 'expected an integer between 0 and 60000'],
    ['X-Retry-Delay-Ms', '1e3', 'expected an integer between 0 and 60000'],
    ['X-Request-Timeout-Ms', '0', 'expected an integer between 1 and 600000'],
    ['X-Request-Timeout-Ms', '600001', 'expected an integer between 1 and 600000'],
    ['X-Retry-Strategy', 'random', 'expected one of: exponential, linear, fixed, custom'],
    ['X-Retry-Strategy', 'Exponential', 'expected one of: exponential, linear, fixed, custom'],
    ['X-Circuit-Breaker-Fallback', 'retry', 'expected one of: error, cache, degraded'],
    ['X-Request-Hedging', 'yes', 'expected "true" or "false"'],
    ['X-Request-Hedging', '', 'expected "true" or "false"'],
    ['X-User-Priority', 'urgent', 'expected one of: high, normal, low'],
    ['X-User-Priority', 'High', 'expected one of: high, normal, low'],
    ['X-User-Priority', '1', 'expected one of: high, normal, low'],
  ])('%s: %j', (header, value, message) => {
    expect400({ [header.toLowerCase()]: value }, header, `${header}: ${message}`);
  });

  it('X-Retry-Strategy custom needs rules', () => {
    expect400({ 'x-retry-strategy': 'custom' }, 'X-Retry-Strategy', 'X-Retry-Strategy: "custom" needs rules in X-Retry-Config');
  });

  it('X-Failover-Providers cannot be combined with X-Failover-Config', () => {
    expect400(
      { 'x-failover-providers': 'openai', 'x-failover-config': FAILOVER_CONFIG },
      'X-Failover-Providers',
      'X-Failover-Providers: cannot be combined with X-Failover-Config (its primary and fallbacks name the providers)',
    );
  });
});

describe('X-Failover-Config', () => {
  const H = 'X-Failover-Config';
  it.each([
    ['invalid JSON', '{"primary":', 'invalid JSON'],
    ['not an object', '[]', 'expected a JSON object'],
    ['null', 'null', 'expected a JSON object'],
    ['missing primary', '{"fallbacks": [{"trigger": "timeout", "provider": "google", "model": "b"}]}', 'field "primary": required'],
    ['missing model', '{"primary": {"provider": "openai"}, "fallbacks": []}', 'field "primary.model": required'],
    ['missing fallbacks', '{"primary": {"provider": "openai", "model": "a"}}', 'field "fallbacks": required'],
    ['fallbacks not a list', '{"primary": {"provider": "openai", "model": "a"}, "fallbacks": {}}', 'field "fallbacks": expected an array'],
    ['unknown top-level field', FAILOVER_CONFIG.replace('"failure_threshold"', '"priority": 1, "failure_threshold"'), 'field "priority": unknown field'],
    ['unknown fallback field', failoverWith('{"trigger": "timeout", "provider": "google", "model": "c", "weight": 2}'), 'field "fallbacks[1].weight": unknown field'],
    ['wrong type', failoverWith('{"trigger": "timeout", "provider": "google", "model": "c", "reduce_quality": "yes"}'), 'field "fallbacks[1].reduce_quality": expected true or false'],
    ['empty model', failoverWith('{"trigger": "timeout", "provider": "google", "model": ""}'), 'field "fallbacks[1].model": expected a non-empty string of at most 256 characters'],
    ['reduce_max_tokens 0', failoverWith('{"trigger": "timeout", "provider": "google", "model": "c", "reduce_max_tokens": 0}'), 'field "fallbacks[1].reduce_max_tokens": expected a number greater than 0 and at most 1'],
    ['reduce_max_tokens 1.5', failoverWith('{"trigger": "timeout", "provider": "google", "model": "c", "reduce_max_tokens": 1.5}'), 'field "fallbacks[1].reduce_max_tokens": expected a number greater than 0 and at most 1'],
    ['negative latency', failoverWith('{"trigger": "timeout", "provider": "google", "model": "c", "max_latency_increase": -5}'), 'field "fallbacks[1].max_latency_increase": expected an integer between 0 and 600000'],
    ['health check in ms by mistake', FAILOVER_CONFIG.replace('"health_check_interval": 30', '"health_check_interval": 300000'), 'field "health_check_interval": expected a number of seconds between 1 and 86400'],
    ['failure_threshold 0', FAILOVER_CONFIG.replace('"failure_threshold": 3', '"failure_threshold": 0'), 'field "failure_threshold": expected an integer between 1 and 100'],
    ['unknown trigger kind', failoverWith('{"trigger": "timeouts", "provider": "google", "model": "c"}'), `field "fallbacks[1].trigger": unknown error kind "timeouts" (expected one of: ${TRIGGERS})`],
    ['unknown kind in a trigger list', failoverWith('{"trigger": ["timeout", "overloaded"], "provider": "google", "model": "c"}'), `field "fallbacks[1].trigger[1]": unknown error kind "overloaded" (expected one of: ${TRIGGERS})`],
    ['duplicate trigger', failoverWith('{"trigger": ["timeout", "timeout"], "provider": "google", "model": "c"}'), 'field "fallbacks[1].trigger[1]": duplicate "timeout"'],
    ['empty trigger list', failoverWith('{"trigger": [], "provider": "google", "model": "c"}'), 'field "fallbacks[1].trigger": expected at least 1 error kind'],
    ['bad_request as a trigger', failoverWith('{"trigger": "bad_request", "provider": "google", "model": "c"}'), 'field "fallbacks[1].trigger": error kind "bad_request" never fails over (the client\'s own error)'],
    ['bad_request in a trigger list', failoverWith('{"trigger": ["timeout", "bad_request"], "provider": "google", "model": "c"}'), 'field "fallbacks[1].trigger[1]": error kind "bad_request" never fails over (the client\'s own error)'],
    ['trigger of the wrong type', failoverWith('{"trigger": 5, "provider": "google", "model": "c"}'), 'field "fallbacks[1].trigger": expected an error kind or a list of error kinds'],
    ['primary provider not configured', FAILOVER_CONFIG.replace('"provider": "openai", "model": "gpt-4-turbo-preview"', '"provider": "mistral", "model": "m"'), `field "primary.provider": provider "mistral" is not configured (${CONFIGURED})`],
    ['fallback provider not configured', failoverWith('{"trigger": "timeout", "provider": "groq", "model": "c"}'), `field "fallbacks[1].provider": provider "groq" is not configured (${CONFIGURED})`],
  ])('%s', (_name, value, message) => {
    expect400({ 'x-failover-config': value }, H, `${H}: ${message}`);
  });
});

describe('X-Circuit-Breaker', () => {
  const H = 'X-Circuit-Breaker';
  it.each([
    ['invalid JSON', "{'error_threshold': 5}", 'invalid JSON'],
    ['unknown field', '{"timeout_ms": 30000}', 'field "timeout_ms": unknown field'],
    ['error_threshold 0', '{"error_threshold": 0}', 'field "error_threshold": expected an integer between 1 and 1000'],
    ['error_threshold fractional', '{"error_threshold": 2.5}', 'field "error_threshold": expected an integer between 1 and 1000'],
    ['timeout as a string', '{"timeout": "30"}', 'field "timeout": expected a number of seconds between 0.1 and 3600'],
    ['window too long', '{"error_threshold_window": 86401}', 'field "error_threshold_window": expected a number of seconds between 1 and 86400'],
    ['half_open_requests 0', '{"half_open_requests": 0}', 'field "half_open_requests": expected an integer between 1 and 100'],
    ['monitor_latency as a string', '{"monitor_latency": "true"}', 'field "monitor_latency": expected true or false'],
    ['latency_threshold_ms 0', '{"latency_threshold_ms": 0}', 'field "latency_threshold_ms": expected an integer between 1 and 600000'],
    ['excluded_errors not a list', '{"excluded_errors": "rate_limit"}', 'field "excluded_errors": expected an array'],
    ['any_error is not a kind to exclude', '{"excluded_errors": ["rate_limit", "any_error"]}', `field "excluded_errors[1]": unknown error kind "any_error" (expected one of: ${KINDS})`],
    ['duplicate excluded kind', '{"excluded_errors": ["rate_limit", "rate_limit"]}', 'field "excluded_errors[1]": duplicate "rate_limit"'],
  ])('%s', (_name, value, message) => {
    expect400({ 'x-circuit-breaker': value }, H, `${H}: ${message}`);
  });
});

describe('X-Retry-Config', () => {
  const H = 'X-Retry-Config';
  it.each([
    ['max_retries out of range', '{"max_retries": 11}', 'field "max_retries": expected an integer between 0 and 10'],
    ['invalid JSON', '{"max_retries": 3,}', 'invalid JSON'],
    ['a string', '"exponential"', 'expected a JSON object'],
    ['unknown field', '{"initial_delay": 100}', 'field "initial_delay": unknown field'],
    ['jitter as a string', '{"jitter": "true"}', 'field "jitter": expected true or false'],
    ['multiplier below 1', '{"multiplier": 0.5}', 'field "multiplier": expected a number between 1 and 10'],
    ['initial_delay_ms too long', '{"initial_delay_ms": 60001}', 'field "initial_delay_ms": expected an integer between 0 and 60000'],
    ['max_delay_ms below initial_delay_ms', '{"initial_delay_ms": 500, "max_delay_ms": 400}', 'field "max_delay_ms": must be at least the initial delay (500)'],
    ['unknown kind in retry_on', '{"retry_on": ["timeout", "5xx"]}', `field "retry_on[1]": unknown error kind "5xx" (expected one of: ${TRIGGERS})`],
    ['bad_request in retry_on', '{"retry_on": ["timeout", "bad_request"]}', 'field "retry_on[1]": error kind "bad_request" is never retried on the same target'],
    ['quota_exceeded in retry_on', '{"retry_on": ["quota_exceeded"]}', 'field "retry_on[0]": error kind "quota_exceeded" is never retried on the same target'],
    ['unknown strategy', '{"strategy": "random"}', 'field "strategy": expected one of: exponential, linear, fixed, custom'],
    ['rules under a backoff strategy', '{"strategy": "exponential", "rules": []}', 'field "rules": unknown field'],
    ['custom without rules', '{"strategy": "custom"}', 'field "rules": required'],
    ['custom with no rule', '{"strategy": "custom", "rules": []}', 'field "rules": expected at least 1 rule'],
    ['unknown error_type', rulesWith('{"error_type": "rate_limits", "wait_ms": 5}'), `field "rules[1].error_type": unknown error kind "rate_limits" (expected one of: ${TRIGGERS})`],
    ['error_type never retried', rulesWith('{"error_type": "content_filter", "immediate_failover": true}'), 'field "rules[1].error_type": error kind "content_filter" is never retried on the same target'],
    ['duplicate rule', rulesWith('{"error_type": "rate_limit", "wait_ms": 5}'), 'field "rules[1].error_type": duplicate rule for "rate_limit"'],
    ['misspelt wait_ms sentinel', rulesWith('{"error_type": "timeout", "wait_ms": "parse_retry_after"}'), 'field "rules[1].wait_ms": expected an integer between 0 and 300000 or "parse_retry_after_header"'],
    ['negative attempt delay', rulesWith('{"error_type": "timeout", "attempts": [100, -1]}'), 'field "rules[1].attempts[1]": expected an integer between 0 and 300000'],
    ['too many attempts', rulesWith('{"error_type": "timeout", "attempts": [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]}'), 'field "rules[1].attempts": expected at most 10 delays'],
    ['wait_ms over max_wait_ms', rulesWith('{"error_type": "timeout", "wait_ms": 70000, "max_wait_ms": 60000}'), 'field "rules[1].wait_ms": exceeds max_wait_ms (60000)'],
    ['an attempt over max_wait_ms', rulesWith('{"error_type": "timeout", "attempts": [100, 900], "max_wait_ms": 500}'), 'field "rules[1].attempts[1]": exceeds max_wait_ms (500)'],
    ['wait_ms with attempts', rulesWith('{"error_type": "timeout", "wait_ms": 100, "attempts": [100]}'), 'field "rules[1].attempts": cannot be combined with wait_ms'],
    ['immediate_failover with attempts', rulesWith('{"error_type": "server_error", "immediate_failover": true, "attempts": [100]}'), 'field "rules[1].attempts": cannot be combined with immediate_failover'],
    ['switch_provider_after out of range', rulesWith('{"error_type": "timeout", "switch_provider_after": 11}'), 'field "rules[1].switch_provider_after": expected an integer between 0 and 10'],
    ['a rule without error_type', rulesWith('{"wait_ms": 5}'), 'field "rules[1].error_type": required'],
    ['unknown rule field', rulesWith('{"error_type": "timeout", "backoff": "exponential"}'), 'field "rules[1].backoff": unknown field'],
  ])('%s', (_name, value, message) => {
    expect400({ 'x-retry-config': value }, H, `${H}: ${message}`);
  });

  it('its strategy must agree with X-Retry-Strategy', () => {
    expect400(
      { 'x-retry-strategy': 'exponential', 'x-retry-config': CUSTOM_RETRY_CONFIG },
      H,
      `${H}: field "strategy": "custom" disagrees with X-Retry-Strategy "exponential"`,
    );
  });

  it('X-Retry-Strategy custom with a backoff-only config names the missing rules', () => {
    expect400({ 'x-retry-strategy': 'custom', 'x-retry-config': '{"max_retries": 3}' }, H, `${H}: field "rules": required`);
  });

  it('max_retries must agree with X-Max-Retries', () => {
    expect400(
      { 'x-max-retries': '3', 'x-retry-config': '{"max_retries": 5}' },
      H,
      `${H}: field "max_retries": 5 disagrees with X-Max-Retries (3)`,
    );
  });

  it('initial_delay_ms must agree with X-Retry-Delay-Ms', () => {
    expect400(
      { 'x-retry-delay-ms': '100', 'x-retry-config': '{"initial_delay_ms": 200}' },
      H,
      `${H}: field "initial_delay_ms": 200 disagrees with X-Retry-Delay-Ms (100)`,
    );
  });

  it('X-Retry-Delay-Ms above an explicit max_delay_ms', () => {
    expect400(
      { 'x-retry-delay-ms': '5000', 'x-retry-config': '{"max_delay_ms": 1000}' },
      H,
      `${H}: field "max_delay_ms": must be at least the initial delay (5000)`,
    );
  });
});

describe('X-Hedge-Config', () => {
  const H = 'X-Hedge-Config';
  it.each([
    ['invalid JSON', "{'strategy': 'latency'}", 'invalid JSON'],
    ['not an object', '["openai"]', 'expected a JSON object'],
    ['unknown field', HEDGE_CONFIG.replace('"delay_ms"', '"delay"'), 'field "delay": unknown field'],
    ['unknown strategy', HEDGE_CONFIG.replace('"latency"', '"fastest"'), 'field "strategy": unknown strategy "fastest" (expected one of: latency, first-success)'],
    ['strategy of the wrong type', '{"strategy": 1}', 'field "strategy": expected a strategy (a string)'],
    ['providers not a list', '{"providers": "openai,anthropic"}', 'field "providers": expected an array'],
    ['no providers', '{"providers": []}', 'field "providers": expected at least 1 provider'],
    ['provider not configured', '{"providers": ["openai", "mistral"]}', `field "providers[1]": provider "mistral" is not configured (${CONFIGURED})`],
    ['duplicate provider', '{"providers": ["openai", "openai"]}', 'field "providers[1]": duplicate "openai"'],
    ['negative delay', HEDGE_CONFIG.replace('"delay_ms": 200', '"delay_ms": -1'), 'field "delay_ms": expected an integer between 0 and 600000'],
    ['delay as a string', '{"delay_ms": "200ms"}', 'field "delay_ms": expected an integer between 0 and 600000'],
    ['cancel_slower as a string', '{"cancel_slower": "True"}', 'field "cancel_slower": expected true or false'],
    ['negative cost', '{"max_additional_cost": -0.05}', 'field "max_additional_cost": expected a number between 0 and 1000'],
    ['cost as a string', '{"max_additional_cost": "$0.05"}', 'field "max_additional_cost": expected a number between 0 and 1000'],
  ])('%s', (_name, value, message) => {
    expect400({ 'x-hedge-config': value }, H, `${H}: ${message}`);
  });

  it('is validated even when X-Request-Hedging is false', () => {
    expect400({ 'x-request-hedging': 'false', 'x-hedge-config': '{"delay_ms": -1}' }, H, `${H}: field "delay_ms": expected an integer between 0 and 600000`);
  });
});

describe('X-Degraded-Mode-Config', () => {
  const H = 'X-Degraded-Mode-Config';
  /** The seed's config with its strategies replaced by `strategies` (JSON text). */
  const withStrategies = (strategies: string) => `{"triggers": ["high_latency", "partial_outage", "rate_limiting"], "strategies": [${strategies}]}`;
  const CONDITIONS = 'high_latency, partial_outage, rate_limiting';
  it.each([
    ['invalid JSON', '{"enabled": True}', 'invalid JSON'],
    ['not an object', 'true', 'expected a JSON object'],
    ['unknown top-level field', DEGRADED_MODE_CONFIG.replace('"enabled"', '"mode": "auto", "enabled"'), 'field "mode": unknown field'],
    ['enabled as a string', DEGRADED_MODE_CONFIG.replace('"enabled": true', '"enabled": "yes"'), 'field "enabled": expected true or false'],
    ['missing triggers', '{"enabled": true}', 'field "triggers": required'],
    ['no triggers', '{"triggers": []}', 'field "triggers": expected at least 1 trigger'],
    ['unknown trigger', '{"triggers": ["high_latency", "outage"]}', `field "triggers[1]": unknown condition "outage" (expected one of: ${CONDITIONS})`],
    ['duplicate trigger', '{"triggers": ["high_latency", "high_latency"]}', 'field "triggers[1]": duplicate "high_latency"'],
    ['strategies not a list', '{"triggers": ["high_latency"], "strategies": {}}', 'field "strategies": expected an array'],
    ['a strategy not an object', withStrategies('"reduce_quality"'), 'field "strategies[0]": expected a JSON object'],
    ['missing action', withStrategies('{"condition": "high_latency"}'), 'field "strategies[0].action": required'],
    ['unknown action', withStrategies('{"condition": "high_latency", "action": "shed_load"}'), 'field "strategies[0].action": unknown action "shed_load" (expected one of: reduce_quality, feature_flags, queue_and_batch)'],
    ['action of the wrong type', withStrategies('{"condition": "high_latency", "action": 3}'), 'field "strategies[0].action": expected an action (one of: reduce_quality, feature_flags, queue_and_batch)'],
    ['missing condition', withStrategies('{"action": "reduce_quality"}'), 'field "strategies[0].condition": required'],
    ['unknown condition', withStrategies('{"condition": "slow", "action": "reduce_quality"}'), `field "strategies[0].condition": unknown condition "slow" (expected one of: ${CONDITIONS})`],
    ['a condition not among the triggers', '{"triggers": ["high_latency"], "strategies": [{"condition": "rate_limiting", "action": "queue_and_batch"}]}', 'field "strategies[0].condition": "rate_limiting" is not listed in triggers'],
    ['two strategies for one condition', withStrategies('{"condition": "high_latency", "action": "reduce_quality"}, {"condition": "high_latency", "action": "feature_flags"}'), 'field "strategies[1].condition": duplicate strategy for "high_latency"'],
    ['unknown strategy field', withStrategies('{"condition": "high_latency", "action": "reduce_quality", "priority": 1}'), 'field "strategies[0].priority": unknown field'],
    ['a field of another action', withStrategies('{"condition": "high_latency", "action": "reduce_quality", "config": {"batch_size": 10}}'), 'field "strategies[0].config.batch_size": unknown field'],
    ['config not an object', withStrategies('{"condition": "high_latency", "action": "reduce_quality", "config": []}'), 'field "strategies[0].config": expected a JSON object'],
    ['use_model not configured', withStrategies('{"condition": "high_latency", "action": "reduce_quality", "config": {"use_model": "gpt-5"}}'), 'field "strategies[0].config.use_model": model "gpt-5" is not configured'],
    ['reduce_max_tokens 0', withStrategies('{"condition": "high_latency", "action": "reduce_quality", "config": {"reduce_max_tokens": 0}}'), 'field "strategies[0].config.reduce_max_tokens": expected a number greater than 0 and at most 1'],
    ['disable_streaming as a string', withStrategies('{"condition": "high_latency", "action": "reduce_quality", "config": {"disable_streaming": "False"}}'), 'field "strategies[0].config.disable_streaming": expected true or false'],
    ['disable_features not a list', withStrategies('{"condition": "partial_outage", "action": "feature_flags", "config": {"disable_features": "image_generation"}}'), 'field "strategies[0].config.disable_features": expected an array'],
    ['an empty feature name', withStrategies('{"condition": "partial_outage", "action": "feature_flags", "config": {"disable_features": [""]}}'), 'field "strategies[0].config.disable_features[0]": unknown feature "" (expected one of: image_generation, vision, code_execution, function_calling, structured_output, audio, file_input, web_search, logprobs)'],
    ['an unknown feature name', withStrategies('{"condition": "partial_outage", "action": "feature_flags", "config": {"disable_features": ["teleport"]}}'), 'field "strategies[0].config.disable_features[0]": unknown feature "teleport" (expected one of: image_generation, vision, code_execution, function_calling, structured_output, audio, file_input, web_search, logprobs)'],
    ['cache_ttl_multiplier 0', withStrategies('{"condition": "partial_outage", "action": "feature_flags", "config": {"cache_ttl_multiplier": 0}}'), 'field "strategies[0].config.cache_ttl_multiplier": expected a number between 1 and 100'],
    ['batch_size 0', withStrategies('{"condition": "rate_limiting", "action": "queue_and_batch", "config": {"batch_size": 0}}'), 'field "strategies[0].config.batch_size": expected an integer between 1 and 1000'],
    ['max_queue_time_ms fractional', withStrategies('{"condition": "rate_limiting", "action": "queue_and_batch", "config": {"max_queue_time_ms": 5000.5}}'), 'field "strategies[0].config.max_queue_time_ms": expected an integer between 0 and 600000'],
    ['notify_users as a number', withStrategies('{"condition": "rate_limiting", "action": "queue_and_batch", "config": {"notify_users": 1}}'), 'field "strategies[0].config.notify_users": expected true or false'],
    ['unknown notification field', '{"triggers": ["high_latency"], "user_notification": {"channel": "email"}}', 'field "user_notification.channel": unknown field'],
    ['empty notification message', '{"triggers": ["high_latency"], "user_notification": {"message": ""}}', 'field "user_notification.message": expected a non-empty string of at most 500 characters'],
    ['show_status as a string', '{"triggers": ["high_latency"], "user_notification": {"show_status": "yes"}}', 'field "user_notification.show_status": expected true or false'],
  ])('%s', (_name, value, message) => {
    expect400({ 'x-degraded-mode-config': value }, H, `${H}: ${message}`);
  });
});

describe('size limit', () => {
  it.each(['X-Failover-Config', 'X-Circuit-Breaker', 'X-Retry-Config', 'X-Failover-Providers', 'X-Hedge-Config', 'X-Degraded-Mode-Config'])('%s over 8 KiB', (header) => {
    expect400({ [header.toLowerCase()]: ' '.repeat(8193) }, header, `${header}: value is 8193 bytes, over the 8192-byte limit`);
  });
});

it('the first bad header met is the one reported, never a silent fallback', () => {
  expect400(
    { 'x-failover-enabled': 'maybe', 'x-retry-config': '{' },
    'X-Failover-Enabled',
    'X-Failover-Enabled: expected "true" or "false"',
  );
});
