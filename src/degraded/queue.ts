import { GatewayError } from '../core/openai-error.ts';
import type { ClientSignal } from '../core/client-signal.ts';
import type { UserPriority } from '../policy/types.ts';

/** The clock the queue's timers run on (the runtime's: SimulatedClock in tests). */
export interface QueueClock {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(id: unknown): void;
  now(): number;
}

/** How one request waits. */
export interface WaitOptions {
  priority: UserPriority;
  /** The longest it may wait (max_queue_time_ms); past it, a 429. */
  maxWaitMs: number;
  /** Released with this many others at most (batch_size of the batch's first request). */
  batchSize: number;
  /** priority_queue: false orders the request as `normal` (first come, first served). */
  byPriority: boolean;
  /** The client went away: the request leaves the queue (and the promise rejects with the signal's reason). */
  signal?: ClientSignal;
}

interface Waiter {
  rank: number;
  batchSize: number;
  enqueuedAt: number;
  timer: unknown;
  resolve(waitedMs: number): void;
  reject(err: GatewayError): void;
}

const RANK: Record<UserPriority, number> = { high: 0, normal: 1, low: 2 };

/**
 * A bounded priority queue in front of rate-limited targets: requests wait in priority order
 * (high, normal, low; first come first served within each) until `release` lets a batch go.
 * Never grows past `maxSize`: a request arriving at a full queue sheds the newest waiter of a
 * lower priority, or is itself refused; a waiter past its own time limit leaves. Both get a 429
 * in OpenAI's shape with Retry-After.
 */
export class PriorityQueue {
  readonly #levels: Waiter[][] = [[], [], []];
  readonly #max: number;
  readonly #clock: QueueClock;
  readonly #retryAfterS: number;
  #size = 0;

  constructor(opts: { maxSize: number; clock: QueueClock; retryAfterS: number }) {
    this.#max = opts.maxSize;
    this.#clock = opts.clock;
    this.#retryAfterS = opts.retryAfterS;
  }

  get size(): number {
    return this.#size;
  }

  /** Resolves with the milliseconds waited when released; rejects with a 429 when shed, refused or timed out. */
  wait(o: WaitOptions): Promise<number> {
    const rank = o.byPriority ? RANK[o.priority] : RANK.normal;
    if (o.signal?.aborted === true) return Promise.reject(o.signal.reason);
    if (this.#size >= this.#max) {
      const lowest = this.#lowestBelow(rank);
      if (lowest === undefined) return Promise.reject(this.#error('queue_full', `The degraded-mode queue is full (${this.#max} requests waiting).`));
      const shed = this.#levels[lowest].pop()!;
      this.#size--;
      this.#clock.clearTimeout(shed.timer);
      shed.reject(this.#error('queue_shed', 'A request of higher priority took this request\'s place in the degraded-mode queue.'));
    }
    return new Promise<number>((resolve, reject) => {
      const signal = o.signal;
      const leave = (): boolean => {
        const level = this.#levels[rank];
        const i = level.indexOf(w);
        if (i < 0) return false;
        level.splice(i, 1);
        this.#size--;
        return true;
      };
      const onAbort = (): void => {
        if (!leave()) return;
        this.#clock.clearTimeout(w.timer);
        reject(signal!.reason);
      };
      const settle = (fn: () => void): void => {
        signal?.removeEventListener('abort', onAbort);
        fn();
      };
      const w: Waiter = {
        rank,
        batchSize: o.batchSize,
        enqueuedAt: this.#clock.now(),
        timer: undefined,
        resolve: (ms) => settle(() => resolve(ms)),
        reject: (err) => settle(() => reject(err)),
      };
      w.timer = this.#clock.setTimeout(() => {
        if (leave()) w.reject(this.#error('queue_timeout', `The request waited its max_queue_time_ms of ${o.maxWaitMs} ms in the degraded-mode queue.`));
      }, o.maxWaitMs);
      this.#levels[rank].push(w);
      this.#size++;
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** Releases one batch (its size is the batch_size of its first request); returns how many left. */
  release(): number {
    let n = 0;
    let limit = Number.POSITIVE_INFINITY;
    for (const level of this.#levels) {
      while (level.length > 0 && n < limit) {
        const w = level.shift()!;
        if (n === 0) limit = w.batchSize;
        this.#size--;
        n++;
        this.#clock.clearTimeout(w.timer);
        w.resolve(this.#clock.now() - w.enqueuedAt);
      }
    }
    return n;
  }

  /** Releases every waiter, in order. */
  releaseAll(): void {
    while (this.#size > 0) this.release();
  }

  /** Every waiter leaves with `err` (shutdown). */
  clear(err: GatewayError): void {
    for (const level of this.#levels) {
      for (const w of level.splice(0)) {
        this.#clock.clearTimeout(w.timer);
        w.reject(err);
      }
    }
    this.#size = 0;
  }

  /** The lowest-priority level below `rank` with a waiter. */
  #lowestBelow(rank: number): number | undefined {
    for (let r = this.#levels.length - 1; r > rank; r--) if (this.#levels[r].length > 0) return r;
    return undefined;
  }

  #error(code: string, message: string): GatewayError {
    return new GatewayError(429, `${message} Retry after ${this.#retryAfterS} s.`, {
      type: 'rate_limit_error',
      code,
      headers: { 'retry-after': String(this.#retryAfterS) },
    });
  }
}
