import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ERROR_KINDS, type ErrorKind } from '../../src/core/error-kinds.ts';
import { decideRetry, type RetryState } from '../../src/decisions/retry.ts';
import { RETRYABLE_KINDS } from '../../src/policy/schemas.ts';
import { PARSE_RETRY_AFTER, type RetryPolicy, type RetryRule } from '../../src/policy/types.ts';

const backoffPolicy: fc.Arbitrary<RetryPolicy> = fc
  .record({
    strategy: fc.constantFrom('exponential', 'linear', 'fixed'),
    initialDelayMs: fc.integer({ min: 0, max: 60_000 }),
    extraMaxMs: fc.integer({ min: 0, max: 240_000 }),
    multiplier: fc.double({ min: 1, max: 10, noNaN: true }),
    maxRetries: fc.integer({ min: 0, max: 10 }),
    jitter: fc.boolean(),
    retryOn: fc.subarray([...RETRYABLE_KINDS]),
  })
  .map(({ extraMaxMs, ...p }) => ({ ...p, maxDelayMs: p.initialDelayMs + extraMaxMs, rules: [] }));

/** A rule as the parser would let through: delays within max_wait_ms, no contradictory fields. */
const rule = (errorType: RetryRule['errorType']): fc.Arbitrary<RetryRule> =>
  fc
    .record(
      {
        maxWaitMs: fc.integer({ min: 0, max: 300_000 }),
        switchProviderAfter: fc.integer({ min: 0, max: 10 }),
        shape: fc.oneof(
          fc.constant({ kind: 'immediate' as const }),
          fc.constant({ kind: 'backoff' as const }),
          fc.constant({ kind: 'parse' as const }),
          fc.double({ min: 0, max: 1, noNaN: true }).map((f) => ({ kind: 'wait' as const, f })),
          fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: 1, maxLength: 10 }).map((fs) => ({ kind: 'attempts' as const, fs })),
        ),
      },
      { requiredKeys: ['shape'] },
    )
    .map(({ maxWaitMs, switchProviderAfter, shape }): RetryRule => {
      if (shape.kind === 'immediate') return { errorType, immediateFailover: true };
      const within = maxWaitMs ?? 300_000;
      const r: { -readonly [K in keyof RetryRule]: RetryRule[K] } = { errorType };
      if (maxWaitMs !== undefined) r.maxWaitMs = maxWaitMs;
      if (switchProviderAfter !== undefined) r.switchProviderAfter = switchProviderAfter;
      if (shape.kind === 'parse') r.waitMs = PARSE_RETRY_AFTER;
      if (shape.kind === 'wait') r.waitMs = Math.floor(shape.f * within);
      if (shape.kind === 'attempts') r.attempts = shape.fs.map((f) => Math.floor(f * within));
      return r;
    });

const customPolicy: fc.Arbitrary<RetryPolicy> = fc
  .tuple(backoffPolicy, fc.uniqueArray(fc.constantFrom<RetryRule['errorType']>(...RETRYABLE_KINDS, 'any_error'), { minLength: 1 }))
  .chain(([p, types]) => fc.tuple(...types.map(rule)).map((rules) => ({ ...p, strategy: 'custom' as const, rules })));

const anyPolicy = fc.oneof(backoffPolicy, customPolicy);

const failure = fc.record({
  kind: fc.constantFrom<ErrorKind>(...ERROR_KINDS),
  attempt: fc.integer({ min: 0, max: 12 }),
  hints: fc.oneof(fc.constant({}), fc.record({ retryAfterMs: fc.integer({ min: 0, max: 400_000 }) })),
  remainingMs: fc.oneof(fc.constant(Infinity), fc.integer({ min: 0, max: 400_000 })),
  fatal: fc.boolean(),
});

const rngValues = fc.array(fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), { minLength: 1, maxLength: 16 });

function cycling(values: readonly number[]): () => number {
  let i = 0;
  return () => values[i++ % values.length]!;
}

/** The rule decideRetry must consult: the one naming the kind, else any_error. */
function ruleFor(p: RetryPolicy, kind: ErrorKind): RetryRule | undefined {
  return p.rules.find((r) => r.errorType === kind) ?? (kind === 'bad_request' ? undefined : p.rules.find((r) => r.errorType === 'any_error'));
}

describe('decideRetry properties', () => {
  it('every delay is an integer within [0, max_delay_ms], or within a rule its own bound', () => {
    let retried = 0;
    fc.assert(
      fc.property(anyPolicy, failure, rngValues, (p, s: RetryState, rng) => {
        const d = decideRetry(p, s, cycling(rng));
        if (d.action !== 'retry') return;
        retried++;
        expect(Number.isInteger(d.delayMs)).toBe(true);
        expect(d.delayMs).toBeGreaterThanOrEqual(0);
        const r = ruleFor(p, s.kind);
        if (r?.attempts !== undefined) expect(d.delayMs).toBe(r.attempts[s.attempt]);
        else if (typeof r?.waitMs === 'number') expect(d.delayMs).toBe(r.waitMs);
        else expect(d.delayMs).toBeLessThanOrEqual(r?.maxWaitMs ?? p.maxDelayMs);
      }),
      { numRuns: 2000 },
    );
    // Not vacuous: some runs did retry (the checks above only look at retry decisions).
    expect(retried).toBeGreaterThan(0);
  });

  it('a delay never reaches the time left', () => {
    let retried = 0;
    fc.assert(
      fc.property(anyPolicy, failure, rngValues, (p, s, rng) => {
        const d = decideRetry(p, s, cycling(rng));
        if (d.action === 'retry') {
          retried++;
          expect(d.delayMs).toBeLessThan(s.remainingMs);
        }
      }),
      { numRuns: 2000 },
    );
    expect(retried).toBeGreaterThan(0);
  });

  it('the retries on one target never exceed max_retries, or the attempts length, or switch_provider_after', () => {
    let retried = 0;
    fc.assert(
      fc.property(anyPolicy, failure, rngValues, (p, s, rng) => {
        const random = cycling(rng);
        let retries = 0;
        while (decideRetry(p, { ...s, attempt: retries }, random).action === 'retry') {
          retries++;
          if (retries > 20) break;
        }
        retried += retries;
        const r = ruleFor(p, s.kind);
        const bound = Math.min(r?.attempts?.length ?? p.maxRetries, r?.switchProviderAfter ?? Infinity);
        expect(retries).toBeLessThanOrEqual(bound);
      }),
      { numRuns: 2000 },
    );
    expect(retried).toBeGreaterThan(0);
  });

  it('bad_request always fails, and kinds waiting cannot heal never retry', () => {
    fc.assert(
      fc.property(anyPolicy, failure, rngValues, (p, s, rng) => {
        const d = decideRetry(p, s, cycling(rng));
        if (s.kind === 'bad_request') expect(d).toEqual({ action: 'fail' });
        else if (s.fatal || ['quota_exceeded', 'context_length_exceeded', 'content_filter'].includes(s.kind)) {
          expect(d.action).toBe('failover');
        }
      }),
      { numRuns: 1000 },
    );
  });
});
