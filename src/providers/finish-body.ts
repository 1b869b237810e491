import type { Readable } from 'node:stream';

/**
 * Lets go of a response body whose stream is complete (its end marker was read). The body's
 * own end has nearly always arrived in the same packet as the marker; reading it ends the
 * body cleanly. Closing the iterator first instead makes Node destroy the body with an
 * AbortError, stack trace and all: about 5 % of the gateway's CPU per streamed request. A
 * body whose end has not arrived (a server that keeps it open after the marker) is cut, since
 * nothing more is wanted from it.
 */
export function finishBody(body: Readable, iterator: AsyncIterator<unknown>): void {
  // `ended`: the stream has received its end, though 'end' waits for the next read.
  const state = (body as { _readableState?: { ended?: boolean; length?: number } })._readableState;
  if (state?.ended === true && state.length === 0) {
    void iterator.next().then(undefined, () => {});
  } else {
    void iterator.return?.()?.then(undefined, () => {});
  }
}
