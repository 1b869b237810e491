import type { ErrorKind } from '../core/error-kinds.ts';

const EWMA_ALPHA = 0.2;

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
  /** Moving average of successful attempts' latency; null before the first. */
  latencyEwmaMs: number | null = null;

  /** Counts one outcome; true when the model actor must hear it. */
  record(ok: boolean, kind: ErrorKind | undefined, latencyMs: number): boolean {
    this.requests++;
    if (ok) {
      this.latencyEwmaMs = this.latencyEwmaMs === null ? latencyMs : this.latencyEwmaMs + EWMA_ALPHA * (latencyMs - this.latencyEwmaMs);
      const recovered = this.consecutiveFailures > 0;
      this.consecutiveFailures = 0;
      return recovered;
    }
    // A client's own bad request says nothing about the model's health.
    if (kind === 'bad_request') return false;
    this.failures++;
    this.consecutiveFailures++;
    return true;
  }
}
