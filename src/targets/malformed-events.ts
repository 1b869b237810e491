import type { UpstreamError } from '../core/upstream-error.ts';
import { LogThrottle } from '../core/log-throttle.ts';
import type { MalformedEventSink } from '../providers/malformed-event.ts';

/** At most one log line per target this often while its streams keep sending malformed events. */
export const MALFORMED_EVENTS_LOG_INTERVAL_MS = 10_000;

/** The log line a target writes when one of its streams skips a malformed event, then at most every interval. */
export interface MalformedEventsLine {
  at: string;
  event: 'malformed_event_skipped';
  target: string;
  /** Events skipped since the previous line (or since start-up). */
  skipped: number;
  /** The latest one, as the translator described it (scrubbed of key material). */
  message: string;
}

/**
 * A target's malformed stream events that were skipped (a lone garbled event in a healthy
 * stream; see src/providers/malformed-event.ts), counted for metrics and logged without
 * flooding: the first one writes a line, and so does the first one an interval or more after
 * the previous line, with the count since. A skipped event is not the target's failure: the
 * stream's outcome is what its breakers and health hear.
 */
export class MalformedEvents implements MalformedEventSink {
  readonly key: string;
  /** Events skipped since start-up. */
  count = 0;
  readonly #now: () => number;
  readonly #log: ((line: string) => void) | undefined;
  readonly #throttle = new LogThrottle(MALFORMED_EVENTS_LOG_INTERVAL_MS);
  #since = 0;

  constructor(key: string, now: () => number, log?: (line: string) => void) {
    this.key = key;
    this.#now = now;
    this.#log = log;
  }

  skipped(err: UpstreamError): void {
    this.count++;
    this.#since++;
    if (this.#log === undefined) return;
    if (!this.#throttle.due(this.#now())) return;
    const line: MalformedEventsLine = { at: new Date().toISOString(), event: 'malformed_event_skipped', target: this.key, skipped: this.#since, message: err.message };
    this.#since = 0;
    this.#log(JSON.stringify(line));
  }
}
