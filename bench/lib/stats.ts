/**
 * Latency summaries for the benchmark. Samples are kept raw (a bounded Float64Array) and
 * sorted once at the end: exact percentiles, no histogram bucketing error at the
 * sub-millisecond scale the targets are written in.
 */

/** Percentiles of one latency series, in milliseconds. */
export interface LatencySummary {
  count: number;
  mean: number;
  p50: number;
  p90: number;
  p99: number;
  /** 99.9th percentile (the open-loop report's tail; with under 1,000 samples it is the max). */
  p999: number;
  max: number;
}

/** A fixed-capacity sample buffer: adding past capacity is refused, never reallocated. */
export class Samples {
  readonly #values: Float64Array;
  #length = 0;

  constructor(capacity: number) {
    this.#values = new Float64Array(capacity);
  }

  get length(): number {
    return this.#length;
  }

  get full(): boolean {
    return this.#length === this.#values.length;
  }

  /** False when the buffer is full (the sample is dropped). */
  add(value: number): boolean {
    if (this.#length === this.#values.length) return false;
    this.#values[this.#length++] = value;
    return true;
  }

  summary(): LatencySummary {
    return summarize(this.#values.subarray(0, this.#length));
  }
}

/**
 * Nearest-rank percentile of an ascending series (the value below which `p`% of samples
 * fall, as HdrHistogram and wrk report it).
 * @example percentile(Float64Array.of(1, 2, 3, 4), 50) // => 2
 */
export function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  // p * n first, and a tolerance: (99.9 / 100) * 2000 is 1998.0000000000002 in floating point.
  const rank = Math.ceil((p * sorted.length) / 100 - 1e-9);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1];
}

/** Sorts a copy of `values` and summarises it. */
export function summarize(values: Float64Array): LatencySummary {
  const sorted = Float64Array.from(values).sort();
  let sum = 0;
  for (const v of sorted) sum += v;
  return {
    count: sorted.length,
    mean: sorted.length === 0 ? Number.NaN : sum / sorted.length,
    p50: percentile(sorted, 50),
    p90: percentile(sorted, 90),
    p99: percentile(sorted, 99),
    p999: percentile(sorted, 99.9),
    max: sorted.length === 0 ? Number.NaN : sorted[sorted.length - 1],
  };
}
