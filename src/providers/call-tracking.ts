import type { Dispatcher } from 'undici';

/**
 * A target's live call counts, kept by the transport for the gateway's own limit (see
 * src/engine/local-limit.ts): every call is in flight from dispatch until its response ends
 * or fails, and waiting until the upstream has it.
 */
export interface CallCounts {
  /** Calls dispatched and not finished (a streamed body holds its call until it ends). */
  inFlight: number;
  /** Of those, the calls still waiting for a local connection. */
  waiting: number;
}

/**
 * Where a call's request records when the upstream got it: its connection was ready and the
 * request went out, after any wait for a pooled connection. -1 until then.
 */
export interface SentStamp {
  sentAt: number;
}

/** undici dispatch options that carry a call's tracking (symbols: never sent, never clash with undici's own). */
export const kCounts: unique symbol = Symbol('parrot.counts');
export const kSent: unique symbol = Symbol('parrot.sent');

export interface TrackedOptions {
  [kCounts]?: CallCounts;
  [kSent]?: SentStamp;
}

/**
 * A dispatch interceptor that counts a call in flight and stamps when the upstream has it.
 * undici calls `onRequestStart` once the request has a connected socket and is being written,
 * so the time before it is exactly the local wait (the pool's queue when every connection is
 * busy, plus connecting); `onResponseEnd` or `onResponseError` ends every dispatched call
 * exactly once, a call aborted in the queue included. Calls without counts pass through
 * untouched.
 *
 * @example
 * new Agent().compose(trackCalls(Date.now))
 */
export function trackCalls(now: () => number): Dispatcher.DispatcherComposeInterceptor {
  return (dispatch) => (opts, handler) => {
    const counts = (opts as TrackedOptions)[kCounts];
    if (counts === undefined) return dispatch(opts, handler);
    return dispatch(opts, new TrackedHandler(handler, counts, (opts as TrackedOptions)[kSent], (opts as { signal?: AbortSignal | null }).signal ?? undefined, now));
  };
}

const WAITING = 0;
const STARTED = 1;
const ENDED = 2;

/** Wraps undici's handler for one call: counts it, stamps its start, delegates everything else. */
class TrackedHandler implements Dispatcher.DispatchHandler {
  readonly #handler: Dispatcher.DispatchHandler;
  readonly #counts: CallCounts;
  readonly #sent: SentStamp | undefined;
  readonly #signal: AbortSignal | undefined;
  readonly #now: () => number;
  #state = WAITING;

  constructor(
    handler: Dispatcher.DispatchHandler,
    counts: CallCounts,
    sent: SentStamp | undefined,
    signal: AbortSignal | undefined,
    now: () => number,
  ) {
    this.#handler = handler;
    this.#counts = counts;
    this.#sent = sent;
    this.#signal = signal;
    this.#now = now;
    counts.inFlight++;
    counts.waiting++;
  }

  onRequestStart(controller: Dispatcher.DispatchController, context: unknown): void {
    if (this.#state === WAITING) {
      this.#state = STARTED;
      this.#counts.waiting--;
      // An aborted call (its attempt is over) must not stamp the request's next attempt.
      if (this.#sent !== undefined && this.#signal?.aborted !== true) this.#sent.sentAt = this.#now();
    }
    this.#handler.onRequestStart?.(controller, context);
  }

  onRequestUpgrade(controller: Dispatcher.DispatchController, statusCode: number, headers: Parameters<NonNullable<Dispatcher.DispatchHandler['onRequestUpgrade']>>[2], socket: Parameters<NonNullable<Dispatcher.DispatchHandler['onRequestUpgrade']>>[3]): void {
    this.#handler.onRequestUpgrade?.(controller, statusCode, headers, socket);
  }

  onResponseStarted(): void {
    this.#handler.onResponseStarted?.();
  }

  onResponseStart(controller: Dispatcher.DispatchController, statusCode: number, headers: Parameters<NonNullable<Dispatcher.DispatchHandler['onResponseStart']>>[2], statusMessage?: string): void {
    this.#handler.onResponseStart?.(controller, statusCode, headers, statusMessage);
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    this.#handler.onResponseData?.(controller, chunk);
  }

  onResponseEnd(controller: Dispatcher.DispatchController, trailers: Parameters<NonNullable<Dispatcher.DispatchHandler['onResponseEnd']>>[1]): void {
    this.#end();
    this.#handler.onResponseEnd?.(controller, trailers);
  }

  onResponseError(controller: Dispatcher.DispatchController, error: Error): void {
    this.#end();
    this.#handler.onResponseError?.(controller, error);
  }

  onBodySent(chunk: Buffer): void {
    this.#handler.onBodySent?.(chunk);
  }

  onRequestSent(): void {
    this.#handler.onRequestSent?.();
  }

  #end(): void {
    if (this.#state === ENDED) return;
    if (this.#state === WAITING) this.#counts.waiting--;
    this.#counts.inFlight--;
    this.#state = ENDED;
  }
}
