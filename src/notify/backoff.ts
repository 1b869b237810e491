/**
 * The wait before a delivery's next try: exponential, capped, with proportional jitter so
 * the deliveries of one incident to many receivers do not retry in lockstep. Pure: the
 * caller owns the clock and the randomness.
 */

export interface RetrySchedule {
  /** Tries in all, the first included. */
  max_attempts: number;
  /** Wait after the first failed try. */
  initial_delay_ms: number;
  /** Each further wait is this many times the one before. */
  multiplier: number;
  /** No wait is longer than this (before jitter). */
  max_delay_ms: number;
  /** 0.2: each wait is drawn from ±20 % of the nominal one. */
  jitter: number;
}

/**
 * The wait after try number `attempt` (1-based) failed, or undefined when that was the last.
 * `random()` in [0, 1): 0.5 gives the nominal wait exactly.
 *
 * @example
 * // initial 5 s, x4, cap 1 h, 8 tries: 5 s, 20 s, 80 s, 320 s, 1280 s, 3600 s, 3600 s
 * retryDelay(2, schedule, () => 0.5) // 20_000
 */
export function retryDelay(attempt: number, schedule: RetrySchedule, random: () => number): number | undefined {
  if (attempt >= schedule.max_attempts) return undefined;
  const nominal = Math.min(schedule.max_delay_ms, schedule.initial_delay_ms * schedule.multiplier ** (attempt - 1));
  // Full jitter (random(0, d)) would let a retry land right after the failure it follows;
  // a band around the nominal wait keeps the schedule's shape and still spreads receivers.
  const factor = 1 - schedule.jitter + 2 * schedule.jitter * random();
  return Math.max(0, Math.round(nominal * factor));
}
