import { LogThrottle } from '../core/log-throttle.ts';

/** At most one log line this often while a listening server keeps reporting errors. */
export const SERVER_ERROR_LOG_INTERVAL_MS = 10_000;

/**
 * What a listening server reports after start-up. Node emits an accept that failed (EMFILE or
 * ENFILE when the process or the machine is out of open files) as an `error` event on the
 * server, and an `error` event nobody listens to ends the process: a gateway under a burst
 * of connections would exit and drop every request it holds. Here each is counted and logged
 * (the first at once, then at most one line per interval with the count since), and the
 * server goes on accepting once files are free again.
 *
 * @example
 * const errors = new ServerErrors(warn, Date.now);
 * server.on('error', errors.onError);
 */
export class ServerErrors {
  /** Errors since start-up. */
  count = 0;
  readonly #log: (line: string) => void;
  readonly #now: () => number;
  #since = 0;
  readonly #throttle = new LogThrottle(SERVER_ERROR_LOG_INTERVAL_MS);

  constructor(log: (line: string) => void, now: () => number) {
    this.#log = log;
    this.#now = now;
  }

  readonly onError = (err: NodeJS.ErrnoException): void => {
    this.count++;
    this.#since++;
    const now = this.#now();
    if (!this.#throttle.due(now)) return;
    const code = err.code ?? 'unknown';
    const hint = code === 'EMFILE' || code === 'ENFILE' ? 'out of open files: raise the open-file limit (ulimit -n) or lower server.max_in_flight' : err.message;
    this.#log(JSON.stringify({ at: new Date(now).toISOString(), event: 'server_error', code, syscall: err.syscall ?? null, errors: this.#since, hint }));
    this.#since = 0;
  };
}
