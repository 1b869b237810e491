import { describe, expect, it } from 'vitest';
import { configFromObject } from '../../src/config/load.ts';
import { DEFAULT_CONFIG } from '../../src/config/default-config.ts';
import { decideAfterFailure } from '../../src/decisions/after-failure.ts';
import { buildPlan } from '../../src/routing/plan.ts';
import { RouteTable } from '../../src/routing/routes.ts';
import { RetryBudget } from '../../src/targets/retry-budget.ts';
import { adapterFor } from '../../src/providers/adapters.ts';
import { parsePolicy } from '../../src/policy/parse-headers.ts';
import { UpstreamError, type SkipReason } from '../../src/core/upstream-error.ts';
import type { ErrorKind, ErrorTrigger } from '../../src/core/error-kinds.ts';

const config = configFromObject({ ...DEFAULT_CONFIG, resilience: { retry_budget: { max_tokens: 2 }, failover: { providers: ['openai', 'anthropic', 'google'] } } }, { env: {} });
const routes = new RouteTable(config, adapterFor);
const ctx = { providers: routes.providerNames, models: routes.modelNames, defaults: config.resilience.policy };

/** The decision for the requested chain, with the target's retry budget spent as the runtime spends it. `triggers` replaces the config's resilience.failover.triggers. */
function decider(headers: Record<string, string>, latency: Record<string, number> = {}, triggers?: readonly ErrorTrigger[]) {
  const defaults = triggers === undefined ? ctx.defaults : { ...ctx.defaults, failover: { ...ctx.defaults.failover, triggers } };
  const policy = parsePolicy(headers, { ...ctx, defaults });
  const steps = buildPlan(routes, routes.resolve('gpt-4-turbo-preview')!, 'gpt-4-turbo-preview', policy);
  const budgets = new Map<string, RetryBudget>();
  const budgetOf = (key: string) => budgets.get(key) ?? budgets.set(key, new RetryBudget(config.resilience.retryBudget)).get(key)!;
  return (stepIndex: number, kind: ErrorKind, o: { stepAttempts?: number; skipped?: SkipReason; retryAfterMs?: number; remainingMs?: number; breakerOpen?: boolean } = {}) => {
    const budget = budgetOf(steps[stepIndex].key);
    const decision = decideAfterFailure(
      {
        error: new UpstreamError({ kind, message: kind, ...(o.skipped ? { skipped: o.skipped } : {}), hints: o.retryAfterMs === undefined ? {} : { retryAfterMs: o.retryAfterMs } }),
        steps,
        stepIndex,
        stepAttempts: o.stepAttempts ?? 1,
        remainingMs: o.remainingMs ?? 60_000,
        retry: policy.retry,
        chainTriggers: policy.failover.triggers,
        latencyOf: (i) => latency[steps[i].provider] ?? null,
        budgetLeft: budget.hasToken(),
        breakerOpen: o.breakerOpen ?? false,
      },
      () => 0.5,
    );
    // The flow spends the token when it takes the retry (the spendRetryToken action).
    if (decision.action === 'retry') budget.canRetry();
    return decision;
  };
}

const ADVANCED = JSON.stringify({
  primary: { provider: 'openai', model: 'gpt-4-turbo-preview' },
  fallbacks: [
    { trigger: ['timeout', 'rate_limit'], provider: 'anthropic', model: 'claude-3-opus', max_latency_increase: 500 },
    { trigger: ['server_error', 'model_overloaded'], provider: 'google', model: 'gemini-pro', reduce_quality: true },
    { trigger: 'any_error', provider: 'openai', model: 'gpt-3.5-turbo', reduce_max_tokens: 0.5 },
  ],
});

describe('the retry-or-failover decision', () => {
  it('retries a transient failure on the same target first (max_retries, the budget), then fails over', () => {
    const d = decider({ 'x-failover-providers': 'openai,anthropic', 'x-max-retries': '2', 'x-retry-strategy': 'fixed', 'x-retry-delay-ms': '100' });
    // Full jitter (on by default) with rng() = 0.5: half of the fixed 100 ms.
    expect(d(0, 'server_error', { stepAttempts: 1 })).toEqual({ action: 'retry', delayMs: 50 });
    expect(d(0, 'connection_error', { stepAttempts: 2 })).toEqual({ action: 'retry', delayMs: 50 });
    expect(d(0, 'server_error', { stepAttempts: 3 })).toEqual({ action: 'next', stepIndex: 1 });
    expect(decider({ 'x-failover-providers': 'openai,anthropic' })(0, 'rate_limit')).toMatchObject({ action: 'retry' });
  });

  it('a spent retry budget moves on instead of retrying', () => {
    const d = decider({ 'x-failover-providers': 'openai,anthropic', 'x-max-retries': '5' });
    // The budget has 2 tokens in this config.
    expect(d(0, 'server_error', { stepAttempts: 1 })).toMatchObject({ action: 'retry' });
    expect(d(0, 'server_error', { stepAttempts: 2 })).toMatchObject({ action: 'retry' });
    expect(d(0, 'server_error', { stepAttempts: 3 })).toEqual({ action: 'next', stepIndex: 1 });
  });

  it('moves on at once for what the same target cannot fix: a silent provider, an overload, quota, auth, context length, an open breaker', () => {
    const d = decider({ 'x-failover-providers': 'openai,anthropic', 'x-max-retries': '3' });
    for (const kind of ['timeout', 'model_overloaded', 'quota_exceeded', 'auth_error', 'context_length_exceeded'] as const) {
      expect(d(0, kind)).toEqual({ action: 'next', stepIndex: 1 });
    }
    expect(d(0, 'server_error', { breakerOpen: true })).toEqual({ action: 'next', stepIndex: 1 });
    // On the last step a timeout or an overload is retried as the policy says.
    const last = decider({ 'x-failover-enabled': 'false', 'x-max-retries': '3' });
    expect(last(0, 'timeout')).toMatchObject({ action: 'retry' });
    expect(last(0, 'model_overloaded')).toMatchObject({ action: 'retry' });
    expect(last(0, 'quota_exceeded')).toEqual({ action: 'fail' });
  });

  it('a rule saying immediate_failover, or a Retry-After longer than the policy waits, moves on at once', () => {
    const rules = JSON.stringify({ strategy: 'custom', rules: [{ error_type: 'server_error', immediate_failover: true }] });
    expect(decider({ 'x-failover-providers': 'openai,anthropic', 'x-retry-config': rules })(0, 'server_error')).toEqual({ action: 'next', stepIndex: 1 });
    const d = decider({ 'x-failover-providers': 'openai,anthropic', 'x-retry-config': JSON.stringify({ max_delay_ms: 5000 }) });
    expect(d(0, 'rate_limit', { retryAfterMs: 5_000 })).toEqual({ action: 'retry', delayMs: 5_000 });
    expect(d(0, 'rate_limit', { retryAfterMs: 5_001 })).toEqual({ action: 'next', stepIndex: 1 });
  });

  it('retries on the last step, within max_retries and the budget', () => {
    const d = decider({ 'x-failover-enabled': 'false', 'x-max-retries': '3', 'x-retry-strategy': 'fixed', 'x-retry-delay-ms': '100' });
    // Full jitter (on by default) with rng() = 0.5: half of the fixed 100 ms.
    expect(d(0, 'server_error', { stepAttempts: 1 })).toEqual({ action: 'retry', delayMs: 50 });
    expect(d(0, 'server_error', { stepAttempts: 2 })).toEqual({ action: 'retry', delayMs: 50 });
    // The budget (2 tokens in this config) is spent: no third retry, nothing to fail over to.
    expect(d(0, 'server_error', { stepAttempts: 3 })).toEqual({ action: 'fail' });
  });

  it('never retries or fails over a bad request', () => {
    expect(decider({ 'x-failover-providers': 'openai,anthropic' })(0, 'bad_request')).toEqual({ action: 'fail' });
  });

  it("routes X-Failover-Config failures by trigger, once the primary's retries are spent", () => {
    const d = decider({ 'x-failover-config': ADVANCED, 'x-max-retries': '0' });
    expect(d(0, 'rate_limit')).toEqual({ action: 'next', stepIndex: 1 });
    expect(d(0, 'server_error')).toEqual({ action: 'next', stepIndex: 2 });
    expect(d(0, 'context_length_exceeded')).toEqual({ action: 'next', stepIndex: 3 });
    expect(d(2, 'timeout')).toEqual({ action: 'next', stepIndex: 3 });
  });

  it('never fails a content_filter refusal over on any_error; only a trigger naming it does', () => {
    expect(decider({ 'x-failover-config': ADVANCED })(0, 'content_filter')).toEqual({ action: 'fail' });
    const named = JSON.stringify({
      primary: { provider: 'openai', model: 'gpt-4-turbo-preview' },
      fallbacks: [
        { trigger: 'any_error', provider: 'anthropic', model: 'claude-3-opus' },
        { trigger: ['timeout', 'content_filter'], provider: 'google', model: 'gemini-pro' },
      ],
    });
    expect(decider({ 'x-failover-config': named })(0, 'content_filter')).toEqual({ action: 'next', stepIndex: 2 });
    expect(decider({ 'x-failover-config': named, 'x-max-retries': '0' })(0, 'server_error')).toEqual({ action: 'next', stepIndex: 1 });
  });

  it('a chain without triggers (X-Failover-Providers, the default chain) fails content_filter over only when the config lists it', () => {
    expect(decider({ 'x-failover-providers': 'openai,anthropic' })(0, 'content_filter')).toEqual({ action: 'fail' });
    expect(decider({})(0, 'content_filter')).toEqual({ action: 'fail' });
    expect(decider({ 'x-failover-providers': 'openai,anthropic' }, {}, ['any_error', 'content_filter'])(0, 'content_filter')).toEqual({ action: 'next', stepIndex: 1 });
    expect(decider({}, {}, ['content_filter'])(0, 'content_filter')).toEqual({ action: 'next', stepIndex: 1 });
    // The config's list is the whole rule for such a chain: a kind it leaves out stays on the step.
    expect(decider({}, {}, ['content_filter'])(0, 'context_length_exceeded')).toEqual({ action: 'fail' });
  });

  it('"fallbacks": [] is the primary alone: a failure is retried there as the policy allows, never failed over', () => {
    const none = JSON.stringify({ primary: { provider: 'openai', model: 'gpt-4-turbo-preview' }, fallbacks: [] });
    const d = decider({ 'x-failover-config': none, 'x-retry-strategy': 'fixed', 'x-retry-delay-ms': '100' });
    expect(d(0, 'server_error', { stepAttempts: 1 })).toEqual({ action: 'retry', delayMs: 50 });
    expect(d(0, 'context_length_exceeded')).toEqual({ action: 'fail' });
  });

  it('a skipped primary makes every later fallback eligible, whatever its trigger', () => {
    const d = decider({ 'x-failover-config': ADVANCED });
    expect(d(0, 'server_error', { skipped: 'circuit_open' })).toEqual({ action: 'next', stepIndex: 1 });
  });

  it('passes over a fallback slower than max_latency_increase allows', () => {
    expect(decider({ 'x-failover-config': ADVANCED }, { openai: 1000, anthropic: 1501 })(0, 'timeout')).toEqual({ action: 'next', stepIndex: 3 });
    expect(decider({ 'x-failover-config': ADVANCED }, { openai: 1000, anthropic: 1500 })(0, 'timeout')).toEqual({ action: 'next', stepIndex: 1 });
  });

  it('honours a custom rule for the kind even with a chain: retries, then switches provider', () => {
    const cfg = JSON.stringify({ strategy: 'custom', rules: [{ error_type: 'timeout', attempts: [100, 200, 500], switch_provider_after: 2 }] });
    const d = decider({ 'x-failover-providers': 'openai,anthropic', 'x-retry-config': cfg });
    expect(d(0, 'timeout', { stepAttempts: 1 })).toEqual({ action: 'retry', delayMs: 100 });
    expect(d(0, 'timeout', { stepAttempts: 2 })).toEqual({ action: 'retry', delayMs: 200 });
    expect(d(0, 'timeout', { stepAttempts: 3 })).toEqual({ action: 'next', stepIndex: 1 });
  });

  it('a Retry-After beyond the deadline fails over instead of sleeping', () => {
    const cfg = JSON.stringify({ strategy: 'custom', rules: [{ error_type: 'rate_limit', wait_ms: 'parse_retry_after_header', max_wait_ms: 60000 }] });
    const d = decider({ 'x-failover-providers': 'openai,anthropic', 'x-retry-config': cfg });
    expect(d(0, 'rate_limit', { retryAfterMs: 2000, remainingMs: 10_000 })).toEqual({ action: 'retry', delayMs: 2000 });
    expect(d(0, 'rate_limit', { retryAfterMs: 20_000, remainingMs: 10_000 })).toEqual({ action: 'next', stepIndex: 1 });
  });
});
