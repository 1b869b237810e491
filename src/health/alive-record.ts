import type { FlowClock } from '../serve/flow-handle.ts';
import type { Store } from '../store/types.ts';
import { GATEWAY_SUBJECT } from '../uptime/down-spans.ts';
import type { WriteQueue } from './write-queue.ts';

/**
 * The gateway's own downtime: while it runs it writes when it was last alive (every
 * `intervalMs`, and at a clean stop); at start, a gap since then longer than one interval is
 * recorded as a closed down interval of the `gateway` subject (cause `not_running`), which the
 * SLA counts (docs/uptime.md). After a kill -9 the gap starts at the last write, so up to one
 * interval of the outage is counted as up.
 */
export const ALIVE_KEY = 'gateway:alive';

export class AliveRecord {
  readonly #store: Store;
  readonly #writes: WriteQueue;
  readonly #now: () => number;
  readonly #clock: FlowClock | undefined;
  readonly #intervalMs: number;
  #timer: unknown;

  constructor(opts: { store: Store; writes: WriteQueue; now: () => number; clock?: FlowClock; intervalMs?: number }) {
    this.#store = opts.store;
    this.#writes = opts.writes;
    this.#now = opts.now;
    this.#clock = opts.clock;
    this.#intervalMs = opts.intervalMs ?? 60_000;
  }

  /** Records the gap since the last run, then keeps the record fresh. */
  async start(): Promise<void> {
    const last = (await this.#store.snapshots.get(ALIVE_KEY)) as { at?: number } | undefined;
    const now = this.#now();
    if (typeof last?.at === 'number' && now - last.at > this.#intervalMs) {
      const from = last.at;
      await this.#writes.push('recording the time the gateway was not running', async () => {
        await this.#store.availability.openDownInterval(GATEWAY_SUBJECT, 'not_running', from);
        await this.#store.availability.closeDownInterval(GATEWAY_SUBJECT, now);
      });
    }
    this.#beat();
  }

  /** A clean stop: alive until now. */
  stop(): Promise<void> {
    if (this.#timer !== undefined) {
      if (this.#clock) this.#clock.clearTimeout(this.#timer);
      else clearTimeout(this.#timer as NodeJS.Timeout);
      this.#timer = undefined;
    }
    const at = this.#now();
    return this.#writes.push('recording the gateway alive', () => this.#store.snapshots.put(ALIVE_KEY, { at }));
  }

  #beat(): void {
    const at = this.#now();
    void this.#writes.push('recording the gateway alive', () => this.#store.snapshots.put(ALIVE_KEY, { at }));
    if (this.#clock) this.#timer = this.#clock.setTimeout(() => this.#beat(), this.#intervalMs);
    else {
      const t = setTimeout(() => this.#beat(), this.#intervalMs);
      t.unref();
      this.#timer = t;
    }
  }
}
