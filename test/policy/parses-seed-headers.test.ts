import { describe, expect, it } from 'vitest';
import { DEFAULT_BREAKER_CONFIG } from '../../src/core/breaker/config.ts';
import { DEFAULT_POLICY_DEFAULTS, DEFAULT_RETRY_POLICY } from '../../src/policy/defaults.ts';
import { parsePolicy } from '../../src/policy/parse-headers.ts';
import type { RequestPolicy, RetryPolicy } from '../../src/policy/types.ts';
import {
  CIRCUIT_CONFIG,
  CUSTOM_RETRY_CONFIG,
  DEGRADED_MODE_CONFIG,
  EXPONENTIAL_CONFIG,
  FAILOVER_CONFIG,
  HEDGE_CONFIG,
  REQUEST_HEDGING,
  SIMPLE_FAILOVER,
  USER_PRIORITY,
  ctx,
} from './seed-headers.ts';

const DEFAULT_RETRY: RetryPolicy = {
  strategy: 'exponential',
  initialDelayMs: 100,
  maxDelayMs: 10_000,
  multiplier: 2,
  maxRetries: 2,
  jitter: true,
  retryOn: ['timeout', 'rate_limit', 'model_overloaded', 'server_error', 'connection_error'],
  rules: [],
};

/** The policy of a request with no headers, with `over` replacing whole sections. */
function policy(over: Partial<RequestPolicy>): RequestPolicy {
  return {
    failover: { enabled: true, providers: [], explicitProviders: false, maxRetries: 2, retryDelayMs: 100, advanced: undefined, triggers: ['any_error'] },
    breaker: undefined,
    breakerFallback: 'error',
    retry: DEFAULT_RETRY,
    requestTimeoutMs: 120_000,
    hedging: undefined,
    degradedMode: undefined,
    userPriority: 'normal',
    ...over,
  };
}

describe('the seed examples parse to the exact policy', () => {
  it('simple failover configuration', () => {
    expect(parsePolicy(SIMPLE_FAILOVER, ctx)).toStrictEqual(
      policy({
        failover: {
          enabled: true,
          providers: ['openai', 'anthropic', 'google'],
          explicitProviders: true,
          maxRetries: 3,
          retryDelayMs: 100,
          advanced: undefined,
          triggers: ['any_error'],
        },
        retry: { ...DEFAULT_RETRY, maxRetries: 3, initialDelayMs: 100 },
      }),
    );
  });

  it('advanced failover with conditions', () => {
    expect(parsePolicy({ 'x-failover-config': FAILOVER_CONFIG }, ctx)).toStrictEqual(
      policy({
        failover: {
          enabled: true,
          providers: ['openai', 'anthropic', 'google'],
          explicitProviders: false,
          maxRetries: 2,
          retryDelayMs: 100,
          advanced: {
            primary: { provider: 'openai', model: 'gpt-4-turbo-preview' },
            fallbacks: [
              { trigger: ['timeout', 'rate_limit'], provider: 'anthropic', model: 'claude-3-opus', maxLatencyIncreaseMs: 500 },
              { trigger: ['server_error', 'model_overloaded'], provider: 'google', model: 'gemini-pro', reduceQuality: true },
              { trigger: ['any_error'], provider: 'openai', model: 'gpt-3.5-turbo', reduceMaxTokens: 0.5 },
            ],
            healthCheckIntervalMs: 30_000,
            failureThreshold: 3,
            successThreshold: 2,
          },
          triggers: ['any_error'],
        },
      }),
    );
  });

  it.each(['cache', 'degraded', 'error'] as const)('circuit breaker configuration with fallback %s', (fallback) => {
    expect(parsePolicy({ 'x-circuit-breaker': CIRCUIT_CONFIG, 'x-circuit-breaker-fallback': fallback }, ctx)).toStrictEqual(
      policy({
        breaker: {
          errorThreshold: 5,
          errorThresholdWindowMs: 60_000,
          openTimeoutMs: 30_000,
          halfOpenRequests: 3,
          successThreshold: 2,
          excludedErrors: ['rate_limit', 'quota_exceeded'],
          monitorLatency: true,
          latencyThresholdMs: 5000,
        },
        breakerFallback: fallback,
      }),
    );
  });

  it('exponential backoff', () => {
    expect(parsePolicy({ 'x-retry-strategy': 'exponential', 'x-retry-config': EXPONENTIAL_CONFIG }, ctx)).toStrictEqual(
      policy({
        failover: { enabled: true, providers: [], explicitProviders: false, maxRetries: 5, retryDelayMs: 100, advanced: undefined, triggers: ['any_error'] },
        retry: {
          strategy: 'exponential',
          initialDelayMs: 100,
          maxDelayMs: 10_000,
          multiplier: 2,
          maxRetries: 5,
          jitter: true,
          retryOn: ['timeout', 'server_error', 'rate_limit'],
          rules: [],
        },
      }),
    );
  });

  it('custom retry logic', () => {
    expect(parsePolicy({ 'x-retry-config': CUSTOM_RETRY_CONFIG }, ctx)).toStrictEqual(
      policy({
        retry: {
          ...DEFAULT_RETRY,
          strategy: 'custom',
          rules: [
            { errorType: 'rate_limit', waitMs: 'parse_retry_after_header', maxWaitMs: 60_000 },
            { errorType: 'timeout', attempts: [100, 200, 500, 1000, 2000], switchProviderAfter: 2 },
            { errorType: 'server_error', immediateFailover: true },
          ],
        },
      }),
    );
  });

  it('request hedging', () => {
    expect(parsePolicy({ 'x-request-hedging': REQUEST_HEDGING, 'x-hedge-config': HEDGE_CONFIG }, ctx)).toStrictEqual(
      policy({
        hedging: {
          enabled: true,
          strategy: 'latency',
          providers: ['openai', 'anthropic'],
          delayMs: 200,
          cancelSlower: true,
          maxAdditionalCostUsd: 0.05,
        },
      }),
    );
  });

  it('degraded mode operations, for a high-priority user', () => {
    expect(parsePolicy({ 'x-degraded-mode-config': DEGRADED_MODE_CONFIG, 'x-user-priority': USER_PRIORITY }, ctx)).toStrictEqual(
      policy({
        degradedMode: {
          enabled: true,
          triggers: ['high_latency', 'partial_outage', 'rate_limiting'],
          strategies: [
            {
              condition: 'high_latency',
              action: 'reduce_quality',
              config: { useModel: 'gpt-3.5-turbo', reduceMaxTokens: 0.7, disableStreaming: false, cacheAggressively: true },
            },
            {
              condition: 'partial_outage',
              action: 'feature_flags',
              config: { disableFeatures: ['image_generation', 'code_execution'], simplifyPrompts: true, useCachedResponses: true, cacheTtlMultiplier: 10 },
            },
            {
              condition: 'rate_limiting',
              action: 'queue_and_batch',
              config: { batchSize: 10, maxQueueTimeMs: 5000, priorityQueue: true, notifyUsers: true },
            },
          ],
          userNotification: { enabled: true, message: "We're experiencing high demand. Responses may be simplified.", showStatus: true },
        },
        userPriority: 'high',
      }),
    );
  });

  it('all of them on one request', () => {
    const p = parsePolicy(
      {
        'x-failover-enabled': 'true',
        'x-max-retries': '3',
        'x-retry-delay-ms': '100',
        'x-failover-config': FAILOVER_CONFIG,
        'x-circuit-breaker': CIRCUIT_CONFIG,
        'x-circuit-breaker-fallback': 'degraded',
        'x-retry-config': CUSTOM_RETRY_CONFIG,
        'x-request-timeout-ms': '30000',
        'x-request-hedging': 'true',
        'x-hedge-config': HEDGE_CONFIG,
        'x-degraded-mode-config': DEGRADED_MODE_CONFIG,
        'x-user-priority': 'low',
      },
      ctx,
    );
    expect([p.failover.enabled, p.failover.maxRetries, p.failover.advanced?.fallbacks.length]).toEqual([true, 3, 3]);
    expect([p.breaker?.errorThreshold, p.breakerFallback, p.retry.strategy, p.retry.maxRetries]).toEqual([5, 'degraded', 'custom', 3]);
    expect(p.retry.rules.map((r) => r.errorType)).toEqual(['rate_limit', 'timeout', 'server_error']);
    expect(p.requestTimeoutMs).toBe(30_000);
    expect([p.hedging?.providers, p.degradedMode?.strategies.length, p.userPriority]).toEqual([['openai', 'anthropic'], 3, 'low']);
  });
});

describe('normalisation', () => {
  it('"fallbacks": [] is accepted: the primary alone, no failover', () => {
    const f = parsePolicy({ 'x-failover-config': '{"primary": {"provider": "anthropic", "model": "claude-3-opus"}, "fallbacks": []}' }, ctx).failover;
    expect([f.enabled, f.providers, f.advanced?.primary, f.advanced?.fallbacks]).toEqual([true, ['anthropic'], { provider: 'anthropic', model: 'claude-3-opus' }, []]);
  });

  it('the default chain\'s triggers come from the config defaults', () => {
    const defaults = { ...DEFAULT_POLICY_DEFAULTS, failover: { ...DEFAULT_POLICY_DEFAULTS.failover, triggers: ['any_error', 'content_filter'] as const } };
    expect(parsePolicy({ 'x-failover-providers': 'openai,google' }, { ...ctx, defaults }).failover.triggers).toEqual(['any_error', 'content_filter']);
  });

  it('X-Hedge-Config alone asks for hedging; missing fields take their defaults or stay unset', () => {
    expect(parsePolicy({ 'x-hedge-config': '{"providers": ["google"]}' }, ctx).hedging).toStrictEqual({
      enabled: true,
      strategy: 'latency',
      providers: ['google'],
      delayMs: undefined,
      cancelSlower: true,
      maxAdditionalCostUsd: undefined,
    });
  });

  it('X-Request-Hedging alone (any case), or false with a config', () => {
    expect(parsePolicy({ 'x-request-hedging': 'True' }, ctx).hedging).toStrictEqual({
      enabled: true,
      strategy: 'latency',
      providers: undefined,
      delayMs: undefined,
      cancelSlower: true,
      maxAdditionalCostUsd: undefined,
    });
    const off = parsePolicy({ 'x-request-hedging': 'false', 'x-hedge-config': '{"strategy": "first-success", "cancel_slower": false}' }, ctx).hedging;
    expect([off?.enabled, off?.strategy, off?.cancelSlower]).toEqual([false, 'first-success', false]);
  });

  it('a minimal degraded-mode config: enabled, no strategies, no notification', () => {
    expect(parsePolicy({ 'x-degraded-mode-config': '{"triggers": ["partial_outage"]}' }, ctx).degradedMode).toStrictEqual({
      enabled: true,
      triggers: ['partial_outage'],
      strategies: [],
      userNotification: undefined,
    });
  });

  it('a strategy without config gets every config field unset', () => {
    const d = parsePolicy({ 'x-degraded-mode-config': '{"triggers": ["rate_limiting"], "strategies": [{"condition": "rate_limiting", "action": "queue_and_batch"}]}' }, ctx).degradedMode;
    expect(d?.strategies).toStrictEqual([
      { condition: 'rate_limiting', action: 'queue_and_batch', config: { batchSize: undefined, maxQueueTimeMs: undefined, priorityQueue: undefined, notifyUsers: undefined } },
    ]);
  });

  it.each(['high', 'normal', 'low'] as const)('X-User-Priority: %s', (priority) => {
    expect(parsePolicy({ 'x-user-priority': priority }, ctx).userPriority).toBe(priority);
  });

  it('a single trigger string becomes a one-element list', () => {
    const cfg = '{"primary": {"provider": "openai", "model": "a"}, "fallbacks": [{"trigger": "timeout", "provider": "google", "model": "b"}]}';
    expect(parsePolicy({ 'x-failover-config': cfg }, ctx).failover.advanced?.fallbacks).toStrictEqual([
      { trigger: ['timeout'], provider: 'google', model: 'b' },
    ]);
  });

  it('an advanced config without thresholds takes the defaults, and its chain lists each provider once', () => {
    const cfg =
      '{"primary": {"provider": "google", "model": "a"}, "fallbacks": [' +
      '{"trigger": "timeout", "provider": "openai", "model": "b"}, {"trigger": "any_error", "provider": "google", "model": "c"}]}';
    const f = parsePolicy({ 'x-failover-config': cfg }, ctx).failover;
    expect(f.providers).toEqual(['google', 'openai']);
    expect([f.advanced?.healthCheckIntervalMs, f.advanced?.failureThreshold, f.advanced?.successThreshold]).toEqual([30_000, 3, 2]);
  });

  it('a partial circuit-breaker config fills the rest from the defaults, seconds to ms', () => {
    expect(parsePolicy({ 'x-circuit-breaker': '{"error_threshold": 2, "timeout": 0.5}' }, ctx).breaker).toStrictEqual({
      ...DEFAULT_BREAKER_CONFIG,
      errorThreshold: 2,
      openTimeoutMs: 500,
    });
  });

  it('an empty circuit-breaker config selects the default breaker config', () => {
    expect(parsePolicy({ 'x-circuit-breaker': '{}' }, ctx).breaker).toStrictEqual(DEFAULT_BREAKER_CONFIG);
  });

  it('latency_threshold_ms without monitor_latency turns latency monitoring on', () => {
    const b = parsePolicy({ 'x-circuit-breaker': '{"latency_threshold_ms": 800}' }, ctx).breaker;
    expect([b?.monitorLatency, b?.latencyThresholdMs]).toEqual([true, 800]);
    const off = parsePolicy({ 'x-circuit-breaker': '{"latency_threshold_ms": 800, "monitor_latency": false}' }, ctx).breaker;
    expect(off?.monitorLatency).toBe(false);
  });

  it('X-Failover-Enabled false keeps the named providers but disables failover', () => {
    const f = parsePolicy({ 'x-failover-enabled': 'False', 'x-failover-providers': 'anthropic, openai' }, ctx).failover;
    expect([f.enabled, f.providers]).toEqual([false, ['anthropic', 'openai']]);
  });

  it('X-Failover-Providers alone turns failover on even when config has it off', () => {
    const defaults = { ...DEFAULT_POLICY_DEFAULTS, failover: { ...DEFAULT_POLICY_DEFAULTS.failover, enabled: false } };
    const on = parsePolicy({ 'x-failover-providers': 'google' }, { ...ctx, defaults });
    expect(on.failover.enabled).toBe(true);
    expect(parsePolicy({ 'x-request-timeout-ms': '5' }, { ...ctx, defaults }).failover.enabled).toBe(false);
  });

  it('X-Retry-Strategy alone switches the strategy and keeps the rest', () => {
    expect(parsePolicy({ 'x-retry-strategy': 'linear' }, ctx).retry).toStrictEqual({ ...DEFAULT_RETRY, strategy: 'linear' });
  });

  it('the strategy may be named in X-Retry-Config instead of X-Retry-Strategy', () => {
    expect(parsePolicy({ 'x-retry-config': '{"strategy": "fixed", "jitter": false}' }, ctx).retry).toStrictEqual({
      ...DEFAULT_RETRY,
      strategy: 'fixed',
      jitter: false,
    });
  });

  it('both strategy names may be given when they agree', () => {
    const p = parsePolicy({ 'x-retry-strategy': 'custom', 'x-retry-config': CUSTOM_RETRY_CONFIG }, ctx);
    expect(p.retry.strategy).toBe('custom');
  });

  it('a rules object without a strategy is custom, and may carry backoff fields for kinds without a rule', () => {
    const r = parsePolicy({ 'x-retry-config': '{"rules": [{"error_type": "any_error", "wait_ms": 250}], "max_retries": 4}' }, ctx).retry;
    expect(r).toStrictEqual({ ...DEFAULT_RETRY, strategy: 'custom', maxRetries: 4, rules: [{ errorType: 'any_error', waitMs: 250 }] });
  });

  it('X-Retry-Delay-Ms above the default cap raises the cap to it', () => {
    expect(parsePolicy({ 'x-retry-delay-ms': '20000' }, ctx).retry).toStrictEqual({
      ...DEFAULT_RETRY,
      initialDelayMs: 20_000,
      maxDelayMs: 20_000,
    });
  });

  it('max_delay_ms below the default initial delay lowers the initial delay to it', () => {
    const r = parsePolicy({ 'x-retry-config': '{"max_delay_ms": 50}' }, ctx).retry;
    expect([r.initialDelayMs, r.maxDelayMs]).toEqual([50, 50]);
  });

  it('X-Max-Retries and X-Retry-Delay-Ms may repeat the same values as X-Retry-Config', () => {
    const r = parsePolicy(
      { 'x-max-retries': '5', 'x-retry-delay-ms': '100', 'x-retry-config': EXPONENTIAL_CONFIG },
      ctx,
    ).retry;
    expect([r.maxRetries, r.initialDelayMs]).toEqual([5, 100]);
  });

  it('retry_on any_error means every kind that may be retried', () => {
    expect(parsePolicy({ 'x-retry-config': '{"retry_on": ["any_error"]}' }, ctx).retry.retryOn).toEqual([
      'timeout',
      'rate_limit',
      'model_overloaded',
      'server_error',
      'connection_error',
      'auth_error',
    ]);
  });

  it('an empty retry_on means retry nothing', () => {
    expect(parsePolicy({ 'x-retry-config': '{"retry_on": []}' }, ctx).retry.retryOn).toEqual([]);
  });

  it('X-Request-Timeout-Ms sets the deadline', () => {
    expect(parsePolicy({ 'x-request-timeout-ms': '600000' }, ctx).requestTimeoutMs).toBe(600_000);
  });

  it('a value of exactly 8192 bytes is accepted', () => {
    const padded = '{"error_threshold": 7}'.padEnd(8192, ' ');
    expect(parsePolicy({ 'x-circuit-breaker': padded }, ctx).breaker?.errorThreshold).toBe(7);
  });

  it('a parsed policy is deeply frozen', () => {
    const p = parsePolicy({ 'x-failover-config': FAILOVER_CONFIG, 'x-retry-config': CUSTOM_RETRY_CONFIG }, ctx);
    expect(Object.isFrozen(p)).toBe(true);
    expect(Object.isFrozen(p.failover.advanced?.fallbacks[0]?.trigger)).toBe(true);
    expect(Object.isFrozen(p.retry.rules[1]?.attempts)).toBe(true);
  });

  it('the default retry policy is the one a bare request gets', () => {
    expect(parsePolicy({}, ctx).retry).toBe(DEFAULT_RETRY_POLICY);
  });
});
