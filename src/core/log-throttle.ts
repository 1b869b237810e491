/**
 * At most one log line per interval for something that can repeat on every request (a local
 * limit refusing calls, malformed stream events, failed accepts): the first line at once, then
 * the first chance after each interval. The caller counts what happened in between and says so
 * in the line.
 *
 * @example
 * const throttle = new LogThrottle(10_000);
 * if (throttle.due(now)) log(JSON.stringify({ event: 'x', since }));
 */
export class LogThrottle {
  readonly #intervalMs: number;
  #loggedAt = Number.NEGATIVE_INFINITY;

  constructor(intervalMs: number) {
    this.#intervalMs = intervalMs;
  }

  /** True when a line may be written at `now`; it is then counted as written. */
  due(now: number): boolean {
    if (now - this.#loggedAt < this.#intervalMs) return false;
    this.#loggedAt = now;
    return true;
  }
}
