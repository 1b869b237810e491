/**
 * One stream event a translator could not read (not JSON, not the provider's shape), told apart
 * from the provider's in-band errors: the transport may skip it (see MalformedEventTolerance).
 */
import { UpstreamError } from '../core/upstream-error.ts';

/**
 * A stream breaks at the `inARow`-th malformed event with no good event between, or at the
 * `perStream`-th in one stream; a malformed event before that is skipped (counted and
 * logged). One garbled event in a healthy stream (a proxy that split a UTF-8 sequence, a
 * stray debug line) costs the client one delta, not the whole answer; a stream that keeps
 * sending them is broken and ends (or fails over, before the commit point) as before.
 */
export const MALFORMED_EVENT_LIMITS = Object.freeze({ inARow: 2, perStream: 3 });

/**
 * The UpstreamError a stream translator throws for an event it cannot read: `server_error`,
 * in band, status 200. Thrown before the translator appends anything or changes its state,
 * so the event can be skipped as if it never came.
 *
 * @example
 * throw new MalformedEvent(`upstream sent a stream event that is not JSON: ${excerpt}`, err);
 */
export class MalformedEvent extends UpstreamError {
  constructor(message: string, cause?: unknown, providerCode?: string) {
    super({ kind: 'server_error', status: 200, inBand: true, message, cause, ...(providerCode !== undefined ? { providerCode } : {}) });
  }
}

/** Where a stream reports each malformed event it skipped (the target's counter and log). */
export interface MalformedEventSink {
  skipped(err: UpstreamError): void;
}

/**
 * Counts one stream's malformed events against MALFORMED_EVENT_LIMITS.
 *
 * @example
 * const t = new MalformedEventTolerance();
 * t.malformed(); // true: skip it
 * t.malformed(); // false: the second in a row breaks the stream
 */
export class MalformedEventTolerance {
  #inARow = 0;
  #total = 0;

  /** A malformed event: true when it is to be skipped, false when the stream breaks. */
  malformed(): boolean {
    this.#total++;
    this.#inARow++;
    return this.#inARow < MALFORMED_EVENT_LIMITS.inARow && this.#total < MALFORMED_EVENT_LIMITS.perStream;
  }

  /** A good event: the run of malformed ones is over. */
  good(): void {
    this.#inARow = 0;
  }
}
