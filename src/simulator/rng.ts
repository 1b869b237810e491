/** A seeded uniform source in [0, 1). */
export type Rng = () => number;

/**
 * mulberry32: tiny, fast and good enough for fault schedules and latency draws. Seeded, so a
 * chaos run replays identically for the same seed and request order.
 * @example const rng = seededRng(42); rng(); // 0.6011037519201636
 */
export function seededRng(seed: number): Rng {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A standard normal draw (Box-Muller; one of the pair is dropped to stay stateless). */
export function normal(rng: Rng): number {
  let u = rng();
  while (u === 0) u = rng();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rng());
}

/** z such that P(N(0,1) <= z) = 0.99. */
const Z99 = 2.3263478740408408;

/**
 * Lognormal parameters whose median is `p50` and whose 99th percentile is `p99`:
 * mu = ln p50, sigma = (ln p99 - ln p50) / z(0.99).
 */
export function lognormalFromPercentiles(p50: number, p99: number): { mu: number; sigma: number } {
  return { mu: Math.log(p50), sigma: (Math.log(p99) - Math.log(p50)) / Z99 };
}

/** 32-bit FNV-1a, continued from `h` (start with FNV_OFFSET). Deterministic answers hash the prompt with it. */
export function fnv1a(s: string, h: number): number {
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

export const FNV_OFFSET = 0x811c9dc5;
