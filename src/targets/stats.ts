import type { ErrorKind } from '../core/error-kinds.ts';

const EWMA_ALPHA = 0.2;
/** Recent successful latencies kept for percentiles (a power of two: the ring index is masked). */
const SAMPLES = 256;

/**
 * A target's running numbers, updated in place on every outcome (no allocation on the hot
 * path). The model actor hears only the outcomes that can move its state (a failure, or the
 * first success after failures), each carrying these totals, so a healthy target's
 * successes cost no actor step.
 */
export class TargetStats {
  requests = 0;
  failures = 0;
  consecutiveFailures = 0;
  /** Failures of kind `rate_limit` (a provider's 429): degraded mode's rate_limiting share. */
  rateLimited = 0;
  /** Moving average of successful attempts' latency; null before the first. */
  latencyEwmaMs: number | null = null;
  /** The last SAMPLES successful latencies (for a stream: time to first content), a ring. */
  readonly #samples = new Float64Array(SAMPLES);
  #sampled = 0;

  /** Counts one outcome; true when the model actor must hear it. */
  record(ok: boolean, kind: ErrorKind | undefined, latencyMs: number): boolean {
    this.requests++;
    if (ok) {
      this.latencyEwmaMs = this.latencyEwmaMs === null ? latencyMs : this.latencyEwmaMs + EWMA_ALPHA * (latencyMs - this.latencyEwmaMs);
      this.#samples[this.#sampled++ & (SAMPLES - 1)] = latencyMs;
      const recovered = this.consecutiveFailures > 0;
      this.consecutiveFailures = 0;
      return recovered;
    }
    // A client's own bad request says nothing about the model's health.
    if (kind === 'bad_request') return false;
    if (kind === 'rate_limit') this.rateLimited++;
    this.failures++;
    this.consecutiveFailures++;
    return true;
  }

  /**
   * The `q` quantile (0..1) of the recent successful latencies, or null with fewer than
   * `minSamples`. Sorts a copy: for the rare reader (a hedged request, health), not per request.
   */
  latencyQuantile(q: number, minSamples = 20): number | null {
    const n = Math.min(this.#sampled, SAMPLES);
    if (n < minSamples) return null;
    const sorted = this.#samples.slice(0, n).sort();
    return sorted[Math.min(n - 1, Math.floor(q * n))];
  }

  /** Successful latencies recorded so far (a cursor for `samplesSince`). */
  get sampled(): number {
    return this.#sampled;
  }

  /**
   * Calls `fn` with each latency recorded since `cursor` (a past `sampled`), at most the ring's
   * size (older ones are overwritten); returns the new cursor. For a periodic reader.
   */
  samplesSince(cursor: number, fn: (latencyMs: number) => void): number {
    const from = Math.max(cursor, this.#sampled - SAMPLES);
    for (let i = from; i < this.#sampled; i++) fn(this.#samples[i & (SAMPLES - 1)]);
    return this.#sampled;
  }

  /**
   * The median of the recent successful latencies longer than `ms`, or null when none is:
   * what an attempt that has already run `ms` can be expected to take (hedging's estimate of
   * the latency a cancelled primary would have had). Sorts a copy: hedged requests only.
   */
  latencyMedianAbove(ms: number): number | null {
    const n = Math.min(this.#sampled, SAMPLES);
    const longer: number[] = [];
    for (let i = 0; i < n; i++) if (this.#samples[i] > ms) longer.push(this.#samples[i]);
    if (longer.length === 0) return null;
    longer.sort((a, b) => a - b);
    return longer[(longer.length - 1) >> 1];
  }

  toJSON(): { requests: number; failures: number; consecutiveFailures: number; latencyEwmaMs: number | null } {
    return { requests: this.requests, failures: this.failures, consecutiveFailures: this.consecutiveFailures, latencyEwmaMs: this.latencyEwmaMs };
  }
}
