import { describe, expect, it } from 'vitest';
import type { ErrorKind } from '../../src/core/error-kinds.ts';
import type { RetryHints } from '../../src/core/upstream-error.ts';
import { DEFAULT_RETRY_POLICY } from '../../src/policy/defaults.ts';
import { parsePolicy } from '../../src/policy/parse-headers.ts';
import { backoffDelay, decideRetry, type RetryState } from '../../src/decisions/retry.ts';
import type { RetryPolicy } from '../../src/policy/types.ts';
import { CUSTOM_RETRY_CONFIG, ctx } from './seed-headers.ts';

const noJitter: RetryPolicy = { ...DEFAULT_RETRY_POLICY, maxRetries: 10, jitter: false };
const never = (): number => {
  throw new Error('rng must not be called');
};

function state(kind: ErrorKind, attempt = 0, extra: { hints?: RetryHints; remainingMs?: number; fatal?: boolean } = {}): RetryState {
  return { kind, attempt, hints: extra.hints ?? {}, remainingMs: extra.remainingMs ?? Infinity, fatal: extra.fatal ?? false };
}

/** The delays decideRetry picks for retries 0..n-1 of `kind`, or its first non-retry answer. */
function schedule(policy: RetryPolicy, kind: ErrorKind, n: number, rng: () => number = never): unknown[] {
  const out: unknown[] = [];
  for (let attempt = 0; attempt < n; attempt++) {
    const d = decideRetry(policy, state(kind, attempt), rng);
    out.push(d.action === 'retry' ? d.delayMs : d);
  }
  return out;
}

describe('backoff strategies', () => {
  it('exponential doubles from the initial delay up to the cap', () => {
    expect(schedule({ ...noJitter, maxDelayMs: 1000 }, 'timeout', 6)).toEqual([100, 200, 400, 800, 1000, 1000]);
  });

  it('exponential honours the multiplier', () => {
    expect(schedule({ ...noJitter, multiplier: 3 }, 'timeout', 4)).toEqual([100, 300, 900, 2700]);
  });

  it('linear grows by the initial delay each retry, capped', () => {
    expect(schedule({ ...noJitter, strategy: 'linear', maxDelayMs: 350 }, 'timeout', 5)).toEqual([100, 200, 300, 350, 350]);
  });

  it('fixed waits the initial delay every time', () => {
    expect(schedule({ ...noJitter, strategy: 'fixed', initialDelayMs: 250 }, 'server_error', 3)).toEqual([250, 250, 250]);
  });

  it('full jitter draws uniformly from [0, delay]', () => {
    const p = { ...noJitter, jitter: true };
    expect(backoffDelay(p, 2, () => 0)).toBe(0);
    expect(backoffDelay(p, 2, () => 0.5)).toBe(200); // floor(0.5 * 401)
    expect(backoffDelay(p, 2, () => 0.999_999_9)).toBe(400);
  });

  it('a misbehaving rng cannot push a jittered delay out of range', () => {
    const p = { ...noJitter, jitter: true };
    expect([backoffDelay(p, 2, () => 1), backoffDelay(p, 2, () => -0.5)]).toEqual([400, 0]);
  });

  it('stops at max_retries and fails over', () => {
    expect(schedule({ ...noJitter, maxRetries: 2 }, 'timeout', 3)).toEqual([100, 200, { action: 'failover', reason: 'retries_exhausted' }]);
  });

  it('max_retries 0 never retries', () => {
    expect(decideRetry({ ...noJitter, maxRetries: 0 }, state('timeout'), never)).toEqual({ action: 'failover', reason: 'retries_exhausted' });
  });
});

describe('what is retried', () => {
  it.each([
    ['bad_request', { action: 'fail' }],
    ['context_length_exceeded', { action: 'failover', reason: 'not_retryable' }],
    ['content_filter', { action: 'failover', reason: 'not_retryable' }],
    ['quota_exceeded', { action: 'failover', reason: 'quota_exceeded' }],
    ['auth_error', { action: 'failover', reason: 'not_in_retry_on' }],
  ] as const)('%s -> %j, even with every other kind in retry_on', (kind, expected) => {
    const p = { ...noJitter, retryOn: ['timeout', 'auth_error'] as ErrorKind[] };
    const wanted = kind === 'auth_error' ? { action: 'retry', delayMs: 100 } : expected;
    expect(decideRetry(p, state(kind), never)).toEqual(wanted);
    expect(decideRetry(noJitter, state(kind), never)).toEqual(expected);
  });

  it('a fatal failure fails over without a retry', () => {
    expect(decideRetry(noJitter, state('rate_limit', 0, { fatal: true }), never)).toEqual({ action: 'failover', reason: 'fatal' });
  });

  it('only kinds in retry_on are retried', () => {
    const p = { ...noJitter, retryOn: ['timeout'] as ErrorKind[] };
    expect(decideRetry(p, state('timeout'), never)).toEqual({ action: 'retry', delayMs: 100 });
    expect(decideRetry(p, state('server_error'), never)).toEqual({ action: 'failover', reason: 'not_in_retry_on' });
  });
});

describe('Retry-After and the deadline', () => {
  it('a Retry-After hint is a floor under the backoff', () => {
    expect(decideRetry(noJitter, state('rate_limit', 0, { hints: { retryAfterMs: 2500 } }), never)).toEqual({ action: 'retry', delayMs: 2500 });
    expect(decideRetry(noJitter, state('rate_limit', 3, { hints: { retryAfterMs: 50 } }), never)).toEqual({ action: 'retry', delayMs: 800 });
  });

  it('a Retry-After longer than max_delay_ms fails over instead of waiting', () => {
    expect(decideRetry(noJitter, state('rate_limit', 0, { hints: { retryAfterMs: 10_001 } }), never)).toEqual({
      action: 'failover',
      reason: 'retry_after_too_long',
    });
  });

  it('a delay that would reach the deadline fails over', () => {
    expect(decideRetry(noJitter, state('timeout', 2, { remainingMs: 400 }), never)).toEqual({ action: 'failover', reason: 'deadline' });
    expect(decideRetry(noJitter, state('timeout', 2, { remainingMs: 401 }), never)).toEqual({ action: 'retry', delayMs: 400 });
  });
});

describe('the seed custom rules', () => {
  const custom = { ...parsePolicy({ 'x-retry-config': CUSTOM_RETRY_CONFIG }, ctx).retry, jitter: false };

  it('rate_limit waits what Retry-After says', () => {
    expect(decideRetry(custom, state('rate_limit', 0, { hints: { retryAfterMs: 30_000 } }), never)).toEqual({ action: 'retry', delayMs: 30_000 });
    expect(decideRetry(custom, state('rate_limit', 0, { hints: { retryAfterMs: 60_000 } }), never)).toEqual({ action: 'retry', delayMs: 60_000 });
  });

  it('rate_limit fails over when Retry-After exceeds max_wait_ms', () => {
    expect(decideRetry(custom, state('rate_limit', 0, { hints: { retryAfterMs: 60_001 } }), never)).toEqual({
      action: 'failover',
      reason: 'retry_after_too_long',
    });
  });

  it('rate_limit without a Retry-After waits the initial delay, up to max_retries', () => {
    expect(schedule(custom, 'rate_limit', 3)).toEqual([100, 100, { action: 'failover', reason: 'retries_exhausted' }]);
  });

  it('timeout walks the attempts list and switches provider after 2', () => {
    expect(schedule(custom, 'timeout', 3)).toEqual([100, 200, { action: 'failover', reason: 'switch_provider_after' }]);
  });

  it('server_error fails over at once', () => {
    expect(decideRetry(custom, state('server_error'), never)).toEqual({ action: 'failover', reason: 'immediate_failover' });
  });

  it('a kind without a rule falls back to exponential backoff over retry_on', () => {
    expect(schedule(custom, 'model_overloaded', 3)).toEqual([100, 200, { action: 'failover', reason: 'retries_exhausted' }]);
    expect(decideRetry(custom, state('auth_error'), never)).toEqual({ action: 'failover', reason: 'not_in_retry_on' });
  });
});

describe('custom rule shapes', () => {
  const base: RetryPolicy = { ...noJitter, strategy: 'custom', maxRetries: 3 };

  it('the attempts list bounds the retries when there is no switch_provider_after', () => {
    const p = { ...base, maxRetries: 1, rules: [{ errorType: 'timeout' as const, attempts: [5, 10, 15] }] };
    expect(schedule(p, 'timeout', 4)).toEqual([5, 10, 15, { action: 'failover', reason: 'retries_exhausted' }]);
  });

  it('a numeric wait_ms waits exactly that, max_retries times', () => {
    const p = { ...base, rules: [{ errorType: 'connection_error' as const, waitMs: 750 }] };
    expect(schedule(p, 'connection_error', 4)).toEqual([750, 750, 750, { action: 'failover', reason: 'retries_exhausted' }]);
  });

  it('a rule with only switch_provider_after uses the backoff', () => {
    const p = { ...base, rules: [{ errorType: 'timeout' as const, switchProviderAfter: 1 }] };
    expect(schedule(p, 'timeout', 2)).toEqual([100, { action: 'failover', reason: 'switch_provider_after' }]);
  });

  it('switch_provider_after 0 fails over at once', () => {
    const p = { ...base, rules: [{ errorType: 'timeout' as const, waitMs: 10, switchProviderAfter: 0 }] };
    expect(decideRetry(p, state('timeout'), never)).toEqual({ action: 'failover', reason: 'switch_provider_after' });
  });

  it('the rule naming the kind wins over an earlier any_error rule', () => {
    const p = {
      ...base,
      rules: [
        { errorType: 'any_error' as const, waitMs: 5 },
        { errorType: 'timeout' as const, waitMs: 9 },
      ],
    };
    expect([decideRetry(p, state('timeout'), never), decideRetry(p, state('auth_error'), never)]).toEqual([
      { action: 'retry', delayMs: 9 },
      { action: 'retry', delayMs: 5 },
    ]);
  });

  it('any_error never retries bad_request', () => {
    const p = { ...base, rules: [{ errorType: 'any_error' as const, waitMs: 5 }] };
    expect(decideRetry(p, state('bad_request'), never)).toEqual({ action: 'fail' });
  });

  it('parse_retry_after_header without max_wait_ms is capped by max_delay_ms', () => {
    const p = { ...base, rules: [{ errorType: 'model_overloaded' as const, waitMs: 'parse_retry_after_header' as const }] };
    expect(decideRetry(p, state('model_overloaded', 0, { hints: { retryAfterMs: 10_000 } }), never)).toEqual({ action: 'retry', delayMs: 10_000 });
    expect(decideRetry(p, state('model_overloaded', 0, { hints: { retryAfterMs: 10_001 } }), never)).toEqual({
      action: 'failover',
      reason: 'retry_after_too_long',
    });
  });

  it('a rule delay past the deadline fails over', () => {
    const p = { ...base, rules: [{ errorType: 'timeout' as const, attempts: [100, 5000] }] };
    expect(decideRetry(p, state('timeout', 1, { remainingMs: 4000 }), never)).toEqual({ action: 'failover', reason: 'deadline' });
  });
});
