/**
 * The client going away before its answer, as the serving layers hear it. An AbortSignal is
 * one; the HTTP layer passes a ClientDeparture, which a request holds for its whole life and
 * which costs less than an AbortController (no EventTarget with its listener map, no listener
 * records): its listener is the flow's run (a hedge race then its failover chain, one at a time),
or a request waiting in degraded mode's queue.
 */

/** What an 'abort' listener may be: a function or an object with handleEvent (no event is passed). */
export type AbortListener = (() => void) | { handleEvent(): void };

/** The part of AbortSignal the serving layers use; every listener is treated as `once`. */
export interface ClientSignal {
  readonly aborted: boolean;
  readonly reason: unknown;
  addEventListener(type: 'abort', listener: AbortListener, options?: { once?: boolean }): void;
  removeEventListener(type: 'abort', listener: AbortListener): void;
}

/**
 * A one-shot ClientSignal: `abort()` calls each listener once, in the order added, and
 * forgets them; a listener added after it is never called (as with an AbortSignal).
 */
export class ClientDeparture implements ClientSignal {
  aborted = false;
  reason: unknown = undefined;
  // One slot covers every request the gateway serves; more spill into an array.
  #first: AbortListener | undefined;
  #more: AbortListener[] | undefined;

  addEventListener(_type: 'abort', listener: AbortListener): void {
    if (this.aborted) return;
    if (this.#first === undefined) this.#first = listener;
    else (this.#more ??= []).push(listener);
  }

  removeEventListener(_type: 'abort', listener: AbortListener): void {
    if (this.#first === listener) {
      this.#first = this.#more?.shift();
      return;
    }
    const i = this.#more?.indexOf(listener) ?? -1;
    if (i >= 0) this.#more!.splice(i, 1);
  }

  abort(reason: unknown = new DOMException('The client went away.', 'AbortError')): void {
    if (this.aborted) return;
    this.aborted = true;
    this.reason = reason;
    const first = this.#first;
    const more = this.#more;
    this.#first = this.#more = undefined;
    if (first !== undefined) call(first);
    if (more !== undefined) for (const l of more) call(l);
  }
}

function call(l: AbortListener): void {
  if (typeof l === 'function') l();
  else l.handleEvent();
}
