import type { ServerResponse } from 'node:http';

/**
 * The committed streams the gateway is writing, so shutdown can end them well: each stream
 * still open when the grace period ends gets a final in-band error event and a clean end (no
 * `[DONE]`), and its client learns the answer is incomplete instead of seeing a TCP reset.
 * One entry per open stream, removed when the stream ends.
 */
export class OpenStreams {
  readonly #open = new Map<ServerResponse, () => void>();
  #cutting = false;

  /**
   * Track a stream until `delete`. `cut` must make its pump stop and end it with the shutdown
   * error; a stream that commits after shutdown began is cut at once.
   */
  add(res: ServerResponse, cut: () => void): void {
    this.#open.set(res, cut);
    if (this.#cutting) cut();
  }

  delete(res: ServerResponse): void {
    this.#open.delete(res);
  }

  /**
   * Cut every open stream (and any that commits later). Resolves once each has ended or
   * closed, or after `limitMs` (a client that stopped reading cannot hold shutdown up).
   */
  async cutAll(limitMs: number): Promise<void> {
    this.#cutting = true;
    if (this.#open.size === 0) return;
    const ended: Promise<void>[] = [];
    for (const [res, cut] of this.#open) {
      ended.push(endOf(res));
      cut();
    }
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.all(ended), new Promise<void>((resolve) => (timer = setTimeout(resolve, limitMs)))]);
    clearTimeout(timer);
  }
}

/** Resolves when the response has been flushed to the socket, or the socket closed. */
function endOf(res: ServerResponse): Promise<void> {
  if (res.writableFinished || res.destroyed) return Promise.resolve();
  return new Promise<void>((resolve) => {
    res.once('finish', resolve);
    res.once('close', resolve);
  });
}
