import { describe, expect, it } from 'vitest';
import { percentile, Samples, summarize } from './stats.ts';

describe('percentile (nearest rank)', () => {
  it('picks the sample at rank ceil(p/100 * n)', () => {
    const s = Float64Array.of(1, 2, 3, 4, 5, 6, 7, 8, 9, 10);
    expect(percentile(s, 50)).toBe(5);
    expect(percentile(s, 90)).toBe(9);
    expect(percentile(s, 99)).toBe(10);
    expect(percentile(s, 0)).toBe(1);
  });

  it('takes p99.9 of 2,000 samples at rank 1,998', () => {
    const s = Float64Array.from({ length: 2000 }, (_, i) => i + 1);
    expect(percentile(s, 99.9)).toBe(1998);
  });

  it('is NaN for no samples', () => {
    expect(percentile(new Float64Array(0), 50)).toBeNaN();
  });
});

describe('summarize', () => {
  it('sorts a copy and reports count, mean, p50, p90, p99, p99.9, max', () => {
    const values = Float64Array.of(5, 1, 4, 2, 3);
    expect(summarize(values)).toEqual({ count: 5, mean: 3, p50: 3, p90: 5, p99: 5, p999: 5, max: 5 });
    expect([...values]).toEqual([5, 1, 4, 2, 3]);
  });
});

describe('Samples', () => {
  it('refuses samples past its capacity and reports full', () => {
    const s = new Samples(2);
    expect(s.add(1)).toBe(true);
    expect(s.full).toBe(false);
    expect(s.add(2)).toBe(true);
    expect(s.full).toBe(true);
    expect(s.add(3)).toBe(false);
    expect(s.length).toBe(2);
    expect(s.summary().max).toBe(2);
  });
});
