import type { Server } from 'node:net';
import { hostPort } from './loopback.ts';

/**
 * A server could not start listening: the port is taken, the host does not resolve or is not
 * this machine's. The message is one line meant for a person; the CLI prints it and exits 2.
 */
export class ListenError extends Error {
  readonly code: string | undefined;

  constructor(message: string, code: string | undefined) {
    super(message);
    this.name = 'ListenError';
    this.code = code;
  }
}

const REASONS: Record<string, (host: string) => string> = {
  EADDRINUSE: () => 'the port is already in use',
  EACCES: () => 'permission denied (ports below 1024 need privileges)',
  EADDRNOTAVAIL: (host) => `${host} is not an address of this machine`,
  ENOTFOUND: (host) => `the host "${host}" does not resolve`,
  EAI_AGAIN: (host) => `the host "${host}" could not be resolved (the name service did not answer)`,
  EAI_FAIL: (host) => `the host "${host}" does not resolve`,
  EAI_NODATA: (host) => `the host "${host}" has no address`,
};

/**
 * Connections the kernel may hold for the server before it accepts them (Linux caps it at
 * net.core.somaxconn, 4096 by default). Node's default of 511 overflows when thousands of
 * clients connect within a moment while the event loop is busy: the kernel then drops their
 * SYNs, and each waits a second or more to retry (bench/inflight.ts saw connect timeouts).
 */
export const LISTEN_BACKLOG = 4096;

/**
 * `server.listen(port, host)` as a promise that rejects with a ListenError naming the address
 * and the reason, e.g. `cannot listen on 127.0.0.1:8080: the port is already in use (EADDRINUSE)`.
 */
export function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException): void => {
      const code = err.code;
      const reason = code !== undefined && REASONS[code] !== undefined ? `${REASONS[code](host)} (${code})` : err.message;
      reject(new ListenError(`cannot listen on ${hostPort(host, port)}: ${reason}`, code));
    };
    server.once('error', onError);
    server.listen({ port, host, backlog: LISTEN_BACKLOG }, () => {
      server.off('error', onError);
      resolve();
    });
  });
}
