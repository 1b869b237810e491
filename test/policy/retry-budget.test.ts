import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { RetryBudget } from '../../src/targets/retry-budget.ts';

/** How many of `n` canRetry calls the budget grants. */
function grants(budget: RetryBudget, n: number): number {
  let granted = 0;
  for (let i = 0; i < n; i++) if (budget.canRetry()) granted++;
  return granted;
}

describe('RetryBudget', () => {
  it('starts with a burst of 10 retries', () => {
    const b = new RetryBudget();
    expect(grants(b, 15)).toBe(10);
    expect(b.toJSON()).toEqual({ tokens: 0, pendingCredits: 0 });
  });

  it('earns one retry per 5 successful requests (20%)', () => {
    const b = new RetryBudget();
    grants(b, 10);
    for (let i = 0; i < 4; i++) {
      b.onRequest();
      b.onSuccess();
    }
    expect(b.canRetry()).toBe(false);
    b.onRequest();
    b.onSuccess();
    expect(grants(b, 3)).toBe(1);
  });

  it('a request that fails earns nothing: a total outage gets only the burst', () => {
    const b = new RetryBudget();
    let retries = 0;
    for (let i = 0; i < 1000; i++) {
      b.onRequest();
      // every attempt fails; the caller asks for up to 3 retries per request
      retries += grants(b, 3);
    }
    expect(retries).toBe(10);
  });

  it('successes beyond the requests sent earn nothing', () => {
    const b = new RetryBudget();
    grants(b, 10);
    b.onRequest();
    for (let i = 0; i < 50; i++) b.onSuccess();
    expect(b.toJSON()).toEqual({ tokens: 0.2, pendingCredits: 0 });
  });

  it('never banks more than its cap', () => {
    const b = new RetryBudget({ maxTokens: 3 });
    for (let i = 0; i < 100; i++) {
      b.onRequest();
      b.onSuccess();
    }
    expect(grants(b, 10)).toBe(3);
  });

  it('a recovered target earns retries back', () => {
    const b = new RetryBudget();
    grants(b, 10);
    for (let i = 0; i < 50; i++) b.onRequest(); // outage: all failed
    for (let i = 0; i < 10; i++) {
      b.onRequest();
      b.onSuccess();
    }
    expect(grants(b, 5)).toBe(2);
  });

  it('rejects nonsense tuning', () => {
    expect(() => new RetryBudget({ ratio: 1.5 })).toThrow(RangeError);
    expect(() => new RetryBudget({ maxTokens: -1 })).toThrow(RangeError);
  });

  it('property: retries never exceed ratio * requests + the initial burst, over any sequence', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 20 }),
        fc.constantFrom(0, 0.05, 0.1, 0.2, 0.5),
        fc.array(fc.constantFrom('request', 'success', 'retry'), { maxLength: 500 }),
        (maxTokens, ratio, ops) => {
          const b = new RetryBudget({ maxTokens, ratio });
          let requests = 0;
          let retries = 0;
          for (const op of ops) {
            if (op === 'request') {
              b.onRequest();
              requests++;
            } else if (op === 'success') b.onSuccess();
            else if (b.canRetry()) retries++;
            // integer form of retries <= maxTokens + ratio * requests
            expect(retries * 1000).toBeLessThanOrEqual(maxTokens * 1000 + Math.round(ratio * 1000) * requests);
          }
        },
      ),
      { numRuns: 500 },
    );
  });

  it('property: with the defaults, retries stay within 20% of requests + 10', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.boolean(), fc.integer({ min: 0, max: 5 })), { maxLength: 2000 }), (requests) => {
        const b = new RetryBudget();
        let retries = 0;
        for (const [succeeds, wantedRetries] of requests) {
          b.onRequest();
          retries += grants(b, wantedRetries);
          if (succeeds) b.onSuccess();
        }
        expect(retries).toBeLessThanOrEqual(10 + 0.2 * requests.length);
      }),
      { numRuns: 200 },
    );
  });
});
