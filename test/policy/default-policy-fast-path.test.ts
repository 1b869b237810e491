import { describe, expect, it } from 'vitest';
import { DEFAULT_POLICY_DEFAULTS, DEFAULT_RETRY_POLICY, defaultPolicy } from '../../src/policy/defaults.ts';
import { parsePolicy } from '../../src/policy/parse-headers.ts';
import type { PolicyDefaults } from '../../src/policy/types.ts';
import { ctx } from './seed-headers.ts';

function isDeepFrozen(value: unknown): boolean {
  if (typeof value !== 'object' || value === null) return true;
  return Object.isFrozen(value) && Object.values(value).every(isDeepFrozen);
}

describe('a request without policy headers', () => {
  it('gets the same shared object every time', () => {
    const a = parsePolicy({}, ctx);
    const b = parsePolicy({ 'content-type': 'application/json', authorization: 'Bearer k', 'x-request-id': 'r1' }, ctx);
    expect(b).toBe(a);
    expect(a).toBe(defaultPolicy(ctx.defaults));
  });

  it('gets a deeply frozen policy', () => {
    const p = parsePolicy({}, ctx);
    expect(isDeepFrozen(p)).toBe(true);
    expect(() => {
      (p.failover as { enabled: boolean }).enabled = false;
    }).toThrow(TypeError);
  });

  it('gets exactly the config defaults', () => {
    expect(parsePolicy({}, ctx)).toStrictEqual({
      failover: { enabled: true, providers: [], explicitProviders: false, maxRetries: 2, retryDelayMs: 100, advanced: undefined, triggers: ['any_error'] },
      breaker: undefined,
      breakerFallback: 'error',
      retry: DEFAULT_RETRY_POLICY,
      requestTimeoutMs: 120_000,
      hedging: undefined,
      degradedMode: undefined,
      userPriority: 'normal',
    });
  });

  it('gets one shared object per defaults object', () => {
    const other: PolicyDefaults = {
      ...DEFAULT_POLICY_DEFAULTS,
      failover: { ...DEFAULT_POLICY_DEFAULTS.failover, providers: ['openai', 'google'] },
      breakerFallback: 'cache',
      requestTimeoutMs: 30_000,
    };
    const p = parsePolicy({}, { ...ctx, defaults: other });
    expect(p).not.toBe(parsePolicy({}, ctx));
    expect(parsePolicy({}, { ...ctx, defaults: other })).toBe(p);
    expect([p.failover.providers, p.breakerFallback, p.requestTimeoutMs]).toEqual([['openai', 'google'], 'cache', 30_000]);
  });

  it('is not mistaken for one: any single policy header leaves the fast path', () => {
    const shared = parsePolicy({}, ctx);
    for (const h of [
      { 'x-failover-enabled': 'true' },
      { 'x-failover-providers': 'openai' },
      { 'x-max-retries': '2' },
      { 'x-retry-delay-ms': '100' },
      { 'x-failover-config': '{"primary": {"provider": "openai", "model": "a"}, "fallbacks": [{"trigger": "timeout", "provider": "google", "model": "b"}]}' },
      { 'x-circuit-breaker': '{}' },
      { 'x-circuit-breaker-fallback': 'error' },
      { 'x-retry-strategy': 'exponential' },
      { 'x-retry-config': '{}' },
      { 'x-request-timeout-ms': '120000' },
      { 'x-request-hedging': 'false' },
      { 'x-hedge-config': '{}' },
      { 'x-degraded-mode-config': '{"triggers": ["high_latency"]}' },
      { 'x-user-priority': 'normal' },
    ]) {
      expect(parsePolicy(h, ctx)).not.toBe(shared);
    }
  });
});
