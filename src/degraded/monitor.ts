import type { DegradedReading, DegradedReason } from '../../machines/degraded.machine.ts';
import type { DegradedSettings } from './settings.ts';

/** What the monitor reads of one target: its running totals and whether routing sends it traffic. */
export interface WatchedTarget {
  readonly key: string;
  readonly routable: boolean;
  readonly stats: {
    readonly requests: number;
    readonly rateLimited: number;
    readonly sampled: number;
    samplesSince(cursor: number, fn: (latencyMs: number) => void): number;
  };
}

/** One evaluation's share of a target's traffic. */
interface Bucket {
  requests: number;
  rateLimited: number;
  latencies: number[];
}

/** A target's sliding window: one bucket per evaluation, the oldest overwritten. */
class TargetWindow {
  readonly #buckets: Bucket[];
  #next = 0;
  #requests: number;
  #rateLimited: number;
  #cursor: number;
  readonly target: WatchedTarget;

  constructor(target: WatchedTarget, size: number) {
    this.target = target;
    this.#buckets = Array.from({ length: size }, () => ({ requests: 0, rateLimited: 0, latencies: [] }));
    this.#requests = target.stats.requests;
    this.#rateLimited = target.stats.rateLimited;
    this.#cursor = target.stats.sampled;
  }

  /** Closes the current evaluation's bucket with what happened since the last one. */
  advance(): void {
    const s = this.target.stats;
    const b = this.#buckets[this.#next];
    this.#next = (this.#next + 1) % this.#buckets.length;
    b.requests = s.requests - this.#requests;
    b.rateLimited = s.rateLimited - this.#rateLimited;
    b.latencies.length = 0;
    this.#cursor = s.samplesSince(this.#cursor, (ms) => b.latencies.push(ms));
    this.#requests = s.requests;
    this.#rateLimited = s.rateLimited;
  }

  totals(): { requests: number; rateLimited: number; latencies: number[] } {
    let requests = 0;
    let rateLimited = 0;
    const latencies: number[] = [];
    for (const b of this.#buckets) {
      requests += b.requests;
      rateLimited += b.rateLimited;
      for (const l of b.latencies) latencies.push(l);
    }
    return { requests, rateLimited, latencies };
  }
}

/** The p95 of `xs` (sorted in place): the value below which 95% of them fall. */
export function p95(xs: number[]): number {
  xs.sort((a, b) => a - b);
  return xs[Math.min(xs.length - 1, Math.ceil(0.95 * xs.length) - 1)];
}

/**
 * Reads the targets' live statistics once per evaluation and says which degraded-mode triggers
 * hold (the degraded-mode actor's `evaluate`):
 * - high_latency: some target's p95 time to first token over the window is above the threshold
 *   (with at least `min_samples` successful calls in the window);
 * - partial_outage: some model's chain has some, but not all, of its targets down (routing skips them);
 * - rate_limiting: some target's share of 429s over the window reaches the threshold (with at
 *   least `min_requests` calls in the window).
 * Periodic and bounded: one bucket per target per evaluation, at most the stats ring per bucket.
 */
export class DegradedMonitor {
  readonly #windows: TargetWindow[];
  readonly #chains: ReadonlyArray<{ model: string; targets: readonly WatchedTarget[] }>;
  readonly #s: Pick<DegradedSettings, 'highLatency' | 'rateLimiting'>;

  constructor(
    targets: Iterable<WatchedTarget>,
    chains: ReadonlyArray<{ model: string; targets: readonly WatchedTarget[] }>,
    settings: Pick<DegradedSettings, 'highLatency' | 'rateLimiting' | 'intervalMs' | 'windowMs'>,
  ) {
    const size = Math.max(1, Math.round(settings.windowMs / settings.intervalMs));
    this.#windows = [...targets].map((t) => new TargetWindow(t, size));
    this.#chains = chains.filter((c) => c.targets.length > 1);
    this.#s = settings;
  }

  evaluate(): DegradedReading {
    const details: Partial<Record<DegradedReason, string>> = {};
    const hl = this.#s.highLatency;
    const rl = this.#s.rateLimiting;
    for (const w of this.#windows) {
      w.advance();
      const t = w.totals();
      if (details.high_latency === undefined && t.latencies.length >= hl.minSamples) {
        const p = p95(t.latencies);
        if (p > hl.p95TtftMs) details.high_latency = `${w.target.key}: p95 time to first token ${Math.round(p)} ms > ${hl.p95TtftMs} ms`;
      }
      if (details.rate_limiting === undefined && t.requests >= rl.minRequests && t.rateLimited / t.requests >= rl.share) {
        details.rate_limiting = `${w.target.key}: ${t.rateLimited} of ${t.requests} calls rate limited (429)`;
      }
    }
    for (const c of this.#chains) {
      let down = 0;
      for (const t of c.targets) if (!t.routable) down++;
      if (down > 0 && down < c.targets.length) {
        const names = c.targets.filter((t) => !t.routable).map((t) => t.key);
        details.partial_outage = `${c.model}: ${names.join(', ')} down, ${c.targets.length - down} of ${c.targets.length} up`;
        break;
      }
    }
    const reasons = (['high_latency', 'partial_outage', 'rate_limiting'] as const).filter((r) => details[r] !== undefined);
    return { reasons, details };
  }
}
