/**
 * The breaker's failure counter over a sliding time window, as pure functions over a plain
 * array so the breaker's context stays serialisable (snapshots persist and cross the wire).
 *
 * Only the most recent `capacity` (= error_threshold) timestamps matter: the breaker trips
 * when `capacity` failures fall inside one window, and an older failure can never be part of
 * a tighter cluster than the newer ones. Memory is therefore bounded by the threshold, not by
 * the failure rate.
 *
 * A failure at `t` counts while `now < t + windowMs` (the window is half-open: a failure
 * exactly `windowMs` old has left it).
 *
 * @see classifyOutcome in ./outcome.ts for what counts as a failure.
 */

/** Failure timestamps (ms), ascending, at most `capacity` of them. */
export type FailureWindow = readonly number[];

/** The empty window (shared: windows are never mutated). */
export const EMPTY_WINDOW: FailureWindow = Object.freeze([]) as FailureWindow;

/**
 * Returns a new window with a failure at `at`, keeping only the newest `capacity` timestamps.
 * Outcomes of concurrent requests may arrive slightly out of order, so `at` is inserted in
 * place rather than appended.
 *
 * @example
 * recordFailure([10, 20], 30, 2); // [20, 30]
 */
export function recordFailure(window: FailureWindow, at: number, capacity: number): FailureWindow {
  const keep = Math.max(1, capacity);
  let i = window.length;
  while (i > 0 && window[i - 1] > at) i--;
  const next = [...window.slice(0, i), at, ...window.slice(i)];
  return next.length > keep ? next.slice(next.length - keep) : next;
}

/**
 * How many failures of `window` are still inside the window at `now`.
 *
 * @example
 * failuresInWindow([0, 500, 900], 1000, 1000); // 2 (the failure at 0 has just left)
 */
export function failuresInWindow(window: FailureWindow, now: number, windowMs: number): number {
  const horizon = now - windowMs;
  let n = 0;
  for (let i = window.length - 1; i >= 0 && window[i] > horizon; i--) n++;
  return n;
}

/**
 * Whether `window` holds `capacity` failures that all fit in one window: the trip decision.
 * Measured from the newest failure, so a late-arriving old outcome cannot trip the breaker
 * on failures that were in fact spread wider than the window.
 *
 * @example
 * isTripped([0, 400, 800], 1000, 3); // true
 * isTripped([0, 400, 1000], 1000, 3); // false: 0 and 1000 are a full window apart
 */
export function isTripped(window: FailureWindow, windowMs: number, capacity: number): boolean {
  const need = Math.max(1, capacity);
  if (window.length < need) return false;
  const newest = window[window.length - 1];
  return failuresInWindow(window, newest, windowMs) >= need;
}
