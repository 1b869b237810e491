import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { clip, intersect, intersectAll, measure, normalize, union, type Span } from '../../src/uptime/spans.ts';

describe('spans', () => {
  it('normalize sorts, drops empty spans and merges overlapping and touching ones', () => {
    expect(normalize([[50, 60], [10, 20], [15, 30], [30, 40], [45, 45], [70, 65]])).toEqual([[10, 40], [50, 60]]);
  });

  it('intersect keeps only the time in both sets', () => {
    expect(intersect([[0, 10], [20, 30]], [[5, 25]])).toEqual([[5, 10], [20, 25]]);
    expect(intersect([[0, 10]], [[10, 20]])).toEqual([]);
  });

  it('intersectAll of no sets is empty: nothing is known to be down', () => {
    expect(intersectAll([])).toEqual([]);
    expect(intersectAll([[[0, 10]], [[5, 20]], [[0, 7]]])).toEqual([[5, 7]]);
  });

  it('clip cuts a set to [from, to)', () => {
    expect(clip([[0, 10], [20, 30]], 5, 25)).toEqual([[5, 10], [20, 25]]);
    expect(clip([[0, 10]], 5, 5)).toEqual([]);
  });

  it('property: union and intersection measure like sets (|A ∪ B| = |A| + |B| - |A ∩ B|)', () => {
    const set = fc
      .array(fc.tuple(fc.integer({ min: 0, max: 1000 }), fc.integer({ min: 0, max: 100 })), { maxLength: 12 })
      .map((xs) => normalize(xs.map(([s, len]): Span => [s, s + len])));
    let cases = 0;
    fc.assert(
      fc.property(set, set, (a, b) => {
        cases++;
        expect(measure(union(a, b))).toBe(measure(a) + measure(b) - measure(intersect(a, b)));
        // normalised output: sorted, disjoint, not touching
        const u = union(a, b);
        for (let i = 1; i < u.length; i++) expect(u[i][0]).toBeGreaterThan(u[i - 1][1]);
      }),
      { numRuns: 300 },
    );
    expect(cases).toBe(300);
  });
});
