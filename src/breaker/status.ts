import type { BreakerSnapshot, BreakerStatus } from '../../machines/breaker.machine.ts';
import { failuresInWindow } from '../core/breaker/sliding-window.ts';

/**
 * Pure reads of a breaker snapshot for the HTTP layer (X-Circuit-Status, X-Retry-After),
 * health and metrics. `now` is on the same clock as the outcomes' `at`.
 */

/**
 * The X-Circuit-Status value of a snapshot.
 *
 * @example
 * breakerStatus(actor.getSnapshot()); // 'half_open'
 */
export function breakerStatus(snapshot: BreakerSnapshot): BreakerStatus {
  return snapshot.value as BreakerStatus;
}

/**
 * Milliseconds until an open breaker goes half-open: `openTimeoutMs - (now - openedAt)`,
 * never negative. 0 when the breaker is not open (closed admits now; half-open admits as
 * soon as a trial slot frees, which no clock can predict).
 *
 * @example
 * retryAfterMs(snapshot, Date.now()); // 12_400 -> X-Retry-After: 13 (seconds, rounded up)
 */
export function retryAfterMs(snapshot: BreakerSnapshot, now: number): number {
  const { openedAt, config } = snapshot.context;
  if (snapshot.value !== 'open' || openedAt === null) return 0;
  return Math.max(0, config.openTimeoutMs - (now - openedAt));
}

/**
 * Whether the request with `token` may pass: always in closed, never in open, and in
 * half_open only if it holds a trial slot. Read it right after sending ACQUIRE (send is
 * synchronous).
 */
export function isAdmitted(snapshot: BreakerSnapshot, token: string): boolean {
  switch (snapshot.value) {
    case 'closed':
      return true;
    case 'half_open':
      return snapshot.context.trials.includes(token);
    default:
      return false;
  }
}

/** Counted failures still inside the window at `now`. */
export function failuresNow(snapshot: BreakerSnapshot, now: number): number {
  const { failures, config } = snapshot.context;
  return failuresInWindow(failures, now, config.errorThresholdWindowMs);
}
