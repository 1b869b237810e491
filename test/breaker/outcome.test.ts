import { describe, expect, it } from 'vitest';
import { DEFAULT_BREAKER_CONFIG, type BreakerConfig } from '../../src/core/breaker/config.ts';
import { classifyOutcome } from '../../src/core/breaker/outcome.ts';

const config: BreakerConfig = {
  ...DEFAULT_BREAKER_CONFIG,
  excludedErrors: ['rate_limit', 'quota_exceeded'],
  monitorLatency: true,
  latencyThresholdMs: 5000,
};

describe('outcome verdict', () => {
  it('an error of a kind not excluded is a failure', () => {
    expect(classifyOutcome(config, { ok: false, kind: 'server_error', latencyMs: 10 })).toBe('failure');
    expect(classifyOutcome(config, { ok: false, kind: 'timeout', latencyMs: 10 })).toBe('failure');
  });

  it('an error without a kind is a failure', () => {
    expect(classifyOutcome(config, { ok: false, latencyMs: 10 })).toBe('failure');
  });

  it('excluded kinds and bad_request are neutral', () => {
    expect(classifyOutcome(config, { ok: false, kind: 'rate_limit', latencyMs: 10 })).toBe('neutral');
    expect(classifyOutcome(config, { ok: false, kind: 'quota_exceeded', latencyMs: 10 })).toBe('neutral');
    expect(classifyOutcome(DEFAULT_BREAKER_CONFIG, { ok: false, kind: 'bad_request', latencyMs: 10 })).toBe(
      'neutral',
    );
  });

  it('a success slower than the threshold is a failure only when monitoring latency', () => {
    expect(classifyOutcome(config, { ok: true, latencyMs: 5001 })).toBe('failure');
    expect(classifyOutcome(config, { ok: true, latencyMs: 5000 })).toBe('success');
    expect(classifyOutcome({ ...config, monitorLatency: false }, { ok: true, latencyMs: 60_000 })).toBe('success');
  });

  it('latency does not turn an excluded error into a failure', () => {
    expect(classifyOutcome(config, { ok: false, kind: 'rate_limit', latencyMs: 9000 })).toBe('neutral');
  });
});
