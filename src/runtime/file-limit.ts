import { readFileSync } from 'node:fs';

/** Files the gateway needs beside two per request in flight: listeners, logs, the store, probes. */
const SPARE_FILES = 256;

/** The soft limit on open files from the text of /proc/self/limits; undefined when it is absent or unlimited. */
export function openFilesLimit(limitsText: string): number | undefined {
  const m = /^Max open files\s+(\S+)/m.exec(limitsText);
  if (m === null || m[1] === 'unlimited') return undefined;
  const n = Number(m[1]);
  return Number.isInteger(n) ? n : undefined;
}

/**
 * A start-up warning when the process may not open enough files to hold `maxInFlight`
 * requests: each holds a client socket and an upstream one, so past the limit new connections
 * fail (EMFILE) below the admission limit the config promises. Undefined when the limit
 * suffices or cannot be read.
 */
export function fileLimitWarning(maxInFlight: number, limit: number | undefined): string | undefined {
  const needed = 2 * maxInFlight + SPARE_FILES;
  if (limit === undefined || limit >= needed) return undefined;
  return `warning: the open-file limit is ${limit}, but holding server.max_in_flight (${maxInFlight}) requests takes about ${needed} (a client and an upstream socket each): raise it (ulimit -n ${needed}) or lower server.max_in_flight to ${Math.max(1, Math.floor((limit - SPARE_FILES) / 2))}`;
}

/** This process's soft limit on open files (Linux); undefined elsewhere. */
export function readOpenFilesLimit(): number | undefined {
  try {
    return openFilesLimit(readFileSync('/proc/self/limits', 'utf8'));
  } catch {
    return undefined;
  }
}
