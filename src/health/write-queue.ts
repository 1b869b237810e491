/**
 * Store writes that must land in the order their causes happened (a down interval opened
 * before it is closed, an incident created before its timeline grows), whatever the backend's
 * pool does with concurrent calls. Writes happen on state changes, not per request. A failed
 * write is reported and does not stop the ones after it: the gateway keeps serving.
 */
export class WriteQueue {
  #tail: Promise<void> = Promise.resolve();
  #pending = 0;
  readonly #onError: (message: string) => void;

  constructor(onError: (message: string) => void) {
    this.#onError = onError;
  }

  /** Runs `write` after every write queued before it. */
  push(what: string, write: () => Promise<unknown>): Promise<void> {
    this.#pending++;
    const next = this.#tail.then(write).then(
      () => {},
      (err: unknown) => this.#onError(`store: ${what} failed: ${err instanceof Error ? err.message : String(err)}`),
    ).finally(() => {
      this.#pending--;
    });
    this.#tail = next;
    return next;
  }

  /** Writes queued and not yet settled. */
  get pending(): number {
    return this.#pending;
  }

  /** Resolves when every write queued so far has settled. */
  drain(): Promise<void> {
    return this.#tail;
  }
}
