import type { DeliveryAttempt, DeliveryLog } from './types.ts';

/**
 * A delivery log in memory, keeping the newest `capacity` attempts. For tests and for a
 * gateway run without a store.
 *
 * @example
 * const log = new MemoryDeliveryLog();
 * const notifier = new Notifier({ config, log });
 * log.entries().filter((e) => e.status === 'failed');
 */
export class MemoryDeliveryLog implements DeliveryLog {
  readonly #capacity: number;
  readonly #ring: DeliveryAttempt[] = [];
  #next = 0;
  #appended = 0;
  readonly #listeners = new Set<(entry: DeliveryAttempt) => void>();

  constructor(capacity = 10_000) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError('capacity must be a positive integer');
    this.#capacity = capacity;
  }

  append(entry: DeliveryAttempt): void {
    if (this.#ring.length < this.#capacity) this.#ring.push(entry);
    else this.#ring[this.#next] = entry;
    this.#next = (this.#next + 1) % this.#capacity;
    this.#appended++;
    for (const l of this.#listeners) l(entry);
  }

  /** Oldest first. */
  entries(): DeliveryAttempt[] {
    if (this.#ring.length < this.#capacity) return [...this.#ring];
    return [...this.#ring.slice(this.#next), ...this.#ring.slice(0, this.#next)];
  }

  /** Entries appended since the log was made, including those the ring has since dropped. */
  get appended(): number {
    return this.#appended;
  }

  /** Resolves once `count` entries in all have been appended. */
  untilAppended(count: number): Promise<void> {
    if (this.#appended >= count) return Promise.resolve();
    return new Promise((resolve) => {
      const l = (): void => {
        if (this.#appended < count) return;
        this.#listeners.delete(l);
        resolve();
      };
      this.#listeners.add(l);
    });
  }
}
