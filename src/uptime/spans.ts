/**
 * Sets of time as sorted, disjoint, half-open spans [start, end) of epoch milliseconds: the
 * arithmetic the uptime figures are made of. A normalised set has no empty spans and no two
 * spans that overlap or touch, so its measure is the plain sum of its spans' lengths.
 */
export type Span = readonly [start: number, end: number];

/** Sorts, drops empty spans, merges overlapping and touching ones. */
export function normalize(spans: Iterable<Span>): Span[] {
  const sorted = [...spans].filter(([s, e]) => e > s).sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  const out: Array<[number, number]> = [];
  for (const [s, e] of sorted) {
    const last = out[out.length - 1];
    if (last !== undefined && s <= last[1]) {
      if (e > last[1]) last[1] = e;
    } else {
      out.push([s, e]);
    }
  }
  return out;
}

/** Time in any of the sets. */
export function union(...sets: ReadonlyArray<readonly Span[]>): Span[] {
  return normalize(sets.flat());
}

/** Time in both normalised sets. */
export function intersect(a: readonly Span[], b: readonly Span[]): Span[] {
  const out: Span[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    const s = Math.max(a[i][0], b[j][0]);
    const e = Math.min(a[i][1], b[j][1]);
    if (e > s) out.push([s, e]);
    if (a[i][1] < b[j][1]) i++;
    else j++;
  }
  return out;
}

/** Time in every one of the normalised sets; no sets means no time (nothing is known down). */
export function intersectAll(sets: ReadonlyArray<readonly Span[]>): Span[] {
  if (sets.length === 0) return [];
  return sets.slice(1).reduce<Span[]>((acc, s) => intersect(acc, s), [...sets[0]]);
}

/** The part of a normalised set inside [from, to). */
export function clip(set: readonly Span[], from: number, to: number): Span[] {
  return intersect(set, to > from ? [[from, to]] : []);
}

/** Total length in ms of a normalised set. */
export function measure(set: readonly Span[]): number {
  let total = 0;
  for (const [s, e] of set) total += e - s;
  return total;
}
