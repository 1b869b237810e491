import type { SimCall, SimCallFilter } from './types.ts';

/**
 * A bounded ring of calls: a long benchmark keeps the latest `limit` entries and never grows.
 * Entries are live (status is filled in when the status line goes out); reads return copies.
 */
export class CallLog {
  readonly #limit: number;
  #ring: SimCall[] = [];
  #next = 0;
  #total = 0;
  /** Calls still holding their body, oldest first: at most `#bodies`, so bodies never pile up. */
  readonly #withBody: SimCall[] = [];
  readonly #bodies: number;

  /** `bodies`: how many of the latest calls keep the request body they received. */
  constructor(limit: number, bodies = 32) {
    this.#limit = Math.max(1, Math.floor(limit));
    this.#bodies = Math.max(0, Math.floor(bodies));
  }

  push(call: SimCall): void {
    this.#total++;
    if (call.body !== undefined) {
      if (this.#bodies === 0) delete call.body;
      else {
        this.#withBody.push(call);
        if (this.#withBody.length > this.#bodies) delete this.#withBody.shift()!.body;
      }
    }
    if (this.#ring.length < this.#limit) this.#ring.push(call);
    else this.#ring[this.#next] = call;
    this.#next = (this.#next + 1) % this.#limit;
  }

  clear(): void {
    this.#ring = [];
    this.#withBody.length = 0;
    this.#next = 0;
    this.#total = 0;
  }

  /** Calls pushed since construction or the last clear(), including those the ring has dropped. */
  get total(): number {
    return this.#total;
  }

  /** Calls held (at most the limit). */
  get size(): number {
    return this.#ring.length;
  }

  /** Oldest first. */
  list(filter?: SimCallFilter): SimCall[] {
    const n = this.#ring.length;
    const start = n < this.#limit ? 0 : this.#next;
    const out: SimCall[] = [];
    for (let i = 0; i < n; i++) {
      const c = this.#ring[(start + i) % n];
      if (filter?.model !== undefined && c.model !== filter.model) continue;
      if (filter?.provider !== undefined && c.provider !== filter.provider) continue;
      const { body, ...rest } = c;
      out.push(filter?.bodies === true && body !== undefined ? { ...rest, body } : rest);
    }
    return out;
  }
}
