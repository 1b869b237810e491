import { createRequire } from 'node:module';
import { buildConnector, Client, Dispatcher } from 'undici';

type DispatchOptions = Dispatcher.DispatchOptions;
type DispatchHandler = Dispatcher.DispatchHandler;

/**
 * undici's hook for a call that waits in a dispatcher's queue: its request API puts a function
 * under this symbol that, given a cancel function, lets an abort take the call out of the
 * queue (a wait limit must free the call's place at once, as undici's Pool does).
 */
const kQueuedAbort: symbol = (createRequire(import.meta.url)('undici/lib/core/symbols.js') as { kQueuedAbort: symbol }).kQueuedAbort;

/** A call waiting for a connection; `cancelled` once its abort took it out. */
interface Waiting {
  opts: DispatchOptions;
  handler: DispatchHandler;
  cancelled: boolean;
}

/** One connection of the pool and whether it is on the free stack. */
interface Slot {
  client: Client;
  free: boolean;
}

/**
 * A keep-alive pool for one origin whose cost per call does not grow with the calls in flight.
 * undici's Pool looks for a free connection by walking its connections from the first one on
 * every dispatch (and again to learn whether any is left), so with 8,000 calls held open each
 * new call walked 8,000 busy connections: about 190 µs of CPU per call at 8,000 in flight
 * (docs/performance.md). Here the free connections are a stack: a call takes the last one
 * freed (warm), or opens a new one while fewer than `connections` exist, or waits in a FIFO
 * queue. Each connection is an undici Client (keep-alive, no pipelining), so the wire
 * behaviour and the dispatch interceptors are undici's own.
 */
export class OriginPool extends Dispatcher {
  /** Parsed once: a Client given a string parses its own copy. */
  readonly #origin: URL;
  readonly #options: Client.Options;
  readonly #max: number;
  readonly #slots: Slot[] = [];
  readonly #free: Slot[] = [];
  /** Calls waiting for a connection, oldest at `#head` (an array with a moving head). */
  #queue: Waiting[] = [];
  #head = 0;
  #queued = 0;
  #closed = false;

  constructor(origin: string | URL, options: Client.Options & { connections?: number | null }) {
    super();
    const { connections, connect, connectTimeout, tls, maxCachedSessions, socketPath, autoSelectFamily, autoSelectFamilyAttemptTimeout, allowH2, ...rest } =
      options;
    this.#origin = new URL(String(origin));
    // One connector (and TLS session cache) for every connection, as undici's Pool builds it:
    // a Client left to build its own makes one per connection, with a FinalizationRegistry each.
    const connector =
      typeof connect === 'function'
        ? connect
        : buildConnector({
            ...(tls as object | undefined),
            maxCachedSessions,
            allowH2,
            socketPath,
            timeout: connectTimeout,
            ...(typeof autoSelectFamily === 'boolean' ? { autoSelectFamily, autoSelectFamilyAttemptTimeout } : {}),
            ...(connect as buildConnector.BuildOptions | undefined),
          } as buildConnector.BuildOptions);
    this.#options = { ...rest, connect: connector, allowH2, socketPath };
    this.#max = connections ?? Number.POSITIVE_INFINITY;
  }

  /** Connections opened so far (each keeps its Client after its socket idles out, as undici's Pool does). */
  get size(): number {
    return this.#slots.length;
  }

  /** Calls waiting for a connection. */
  get queued(): number {
    return this.#queued;
  }

  override dispatch(opts: DispatchOptions, handler: DispatchHandler): boolean {
    if (this.#closed) throw new Error('the pool is closed');
    const slot = this.#free.pop() ?? this.#open();
    if (slot === undefined) {
      this.#wait(opts, handler);
      return true;
    }
    slot.free = false;
    this.#send(slot, opts, handler);
    return true;
  }

  #wait(opts: DispatchOptions, handler: DispatchHandler): void {
    const entry: Waiting = { opts, handler, cancelled: false };
    this.#queue.push(entry);
    this.#queued++;
    const onQueued = (opts as unknown as Record<symbol, unknown>)[kQueuedAbort] as ((cancel: (reason: Error) => void) => void) | undefined;
    onQueued?.((reason) => {
      if (entry.cancelled) return;
      entry.cancelled = true;
      this.#queued--;
      handler.onResponseError?.(null as never, reason);
    });
  }

  /** The oldest call still waiting, taken out of the queue. */
  #next(): Waiting | undefined {
    while (this.#head < this.#queue.length) {
      const entry = this.#queue[this.#head];
      this.#queue[this.#head++] = undefined as never;
      if (this.#head === this.#queue.length) {
        this.#queue = [];
        this.#head = 0;
      } else if (this.#head > 1024 && this.#head * 2 > this.#queue.length) {
        this.#queue = this.#queue.slice(this.#head);
        this.#head = 0;
      }
      if (entry.cancelled) continue;
      this.#queued--;
      return entry;
    }
    return undefined;
  }

  #open(): Slot | undefined {
    if (this.#slots.length >= this.#max) return undefined;
    const client = new Client(this.#origin, this.#options);
    const slot: Slot = { client, free: false };
    client.on('drain', () => this.#drained(slot));
    this.#slots.push(slot);
    return slot;
  }

  #send(slot: Slot, opts: DispatchOptions, handler: DispatchHandler): void {
    // true: the connection can take another call at once (it was not busy after all).
    if (slot.client.dispatch(opts, handler)) this.#drained(slot);
  }

  /** A connection can take a call: the oldest waiting one, else it goes back on the free stack. */
  #drained(slot: Slot): void {
    const next = this.#queued > 0 ? this.#next() : undefined;
    if (next !== undefined) {
      slot.free = false;
      this.#send(slot, next.opts, next.handler);
      return;
    }
    if (slot.free || this.#closed) return;
    slot.free = true;
    this.#free.push(slot);
  }

  override close(): Promise<void>;
  override close(callback: () => void): void;
  override close(callback?: () => void): Promise<void> | void {
    this.#closed = true;
    const done = Promise.all(this.#slots.map((s) => s.client.close())).then(() => undefined);
    if (callback) void done.then(callback);
    else return done;
  }

  override destroy(): Promise<void>;
  override destroy(err: Error | null): Promise<void>;
  override destroy(callback: () => void): void;
  override destroy(err: Error | null, callback: () => void): void;
  override destroy(a?: Error | null | (() => void), b?: () => void): Promise<void> | void {
    const err = typeof a === 'function' ? null : (a ?? null);
    const callback = typeof a === 'function' ? a : b;
    this.#closed = true;
    const reason = err ?? new Error('the pool was destroyed');
    for (let w = this.#next(); w !== undefined; w = this.#next()) w.handler.onResponseError?.(null as never, reason);
    const done = Promise.all(this.#slots.map((s) => s.client.destroy(err))).then(() => undefined);
    if (callback) void done.then(callback);
    else return done;
  }
}
