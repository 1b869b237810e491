/**
 * A per-target retry budget: retries stay a bounded fraction of the target's traffic, so an
 * outage never multiplies the load on a provider that is already failing.
 *
 * A token bucket in the style of Finagle's RetryBudget and gRPC's retry throttling:
 * - the bucket starts full at `maxTokens` (10): the burst a cold or recovering target may retry;
 * - each request sent to the target earns `ratio` (0.2) of a token, but only once it succeeds
 *   (`onRequest` opens the credit, `onSuccess` cashes it), so a target that answers nothing
 *   earns nothing;
 * - a retry spends one whole token (`canRetry`).
 *
 * Hence, over any sequence of calls: retries <= maxTokens + ratio * requests. Healthy, a target
 * may retry up to 20% of its requests; in a total outage it gets its burst of 10 retries and
 * then none at all (the orchestrator fails over instead) until successes refill the bucket.
 *
 * Pure: no timers, no clock; counts are integers (thousandths of a token) so no float drift.
 */

/** Tuning for one budget. */
export interface RetryBudgetOptions {
  /** Burst size and cap, in retries. Default 10. */
  readonly maxTokens?: number;
  /** Retries earned per successful request. Default 0.2 (20%). */
  readonly ratio?: number;
}

/** The budget's state, for metrics and for crossing a wire. */
export interface RetryBudgetSnapshot {
  /** Retries available now (fractional). */
  readonly tokens: number;
  /** Requests sent whose success has not been credited yet. */
  readonly pendingCredits: number;
}

const MILLI = 1000;
/** Open credits kept at most: a bounded counter, enough for any realistic in-flight count. */
const MAX_PENDING = 10_000;

/**
 * One target's retry budget.
 *
 * @example
 * const budget = new RetryBudget();
 * budget.onRequest();            // a request goes to the target
 * if (failed && budget.canRetry()) retry(); else failover();
 * budget.onSuccess();            // any attempt on the target succeeded
 */
export class RetryBudget {
  readonly #cap: number;
  readonly #credit: number;
  #balance: number;
  #pending = 0;

  constructor(options: RetryBudgetOptions = {}) {
    const maxTokens = options.maxTokens ?? 10;
    const ratio = options.ratio ?? 0.2;
    if (!(maxTokens >= 0) || !(ratio >= 0 && ratio <= 1)) {
      throw new RangeError(`RetryBudget: maxTokens must be >= 0 and ratio within [0, 1]`);
    }
    this.#cap = Math.round(maxTokens * MILLI);
    this.#credit = Math.round(ratio * MILLI);
    this.#balance = this.#cap;
  }

  /** A request (first attempt, not a retry) was sent to the target. */
  onRequest(): void {
    if (this.#pending < MAX_PENDING) this.#pending++;
  }

  /** An attempt on the target succeeded: cash one open request credit, if any. */
  onSuccess(): void {
    if (this.#pending === 0) return;
    this.#pending--;
    const next = this.#balance + this.#credit;
    this.#balance = next < this.#cap ? next : this.#cap;
  }

  /** Whether a retry could be paid for now (spends nothing). */
  hasToken(): boolean {
    return this.#balance >= MILLI;
  }

  /** May this failure be retried on the target? Spends one token when it answers true. */
  canRetry(): boolean {
    if (this.#balance < MILLI) return false;
    this.#balance -= MILLI;
    return true;
  }

  toJSON(): RetryBudgetSnapshot {
    return { tokens: this.#balance / MILLI, pendingCredits: this.#pending };
  }
}
