import { LogThrottle } from '../core/log-throttle.ts';
import type { LocalLimitReason } from '../core/upstream-error.ts';
import type { CallCounts } from '../providers/call-tracking.ts';

/** Upstream calls one target may have at once, waiting for a connection included (providers[].max_in_flight). */
export const DEFAULT_MAX_IN_FLIGHT = 10_000;

/** How long a call may wait for a local connection before the gateway refuses it (providers[].queue_timeout_ms). */
export const DEFAULT_QUEUE_TIMEOUT_MS = 30_000;

/** Seconds a client refused by a local limit is told to wait (Retry-After): the queue moves in about one call's time. */
export const LOCAL_RETRY_AFTER_S = 1;

/** At most one log line per target this often while it keeps refusing calls. */
export const LOCAL_LIMIT_LOG_INTERVAL_MS = 10_000;

/** The log line a target writes when it starts refusing calls, and then at most every interval. */
export interface LocalLimitLine {
  at: string;
  event: 'local_limit';
  target: string;
  /** Refusals since the previous line (or since start-up), by reason. */
  in_flight_limit: number;
  wait_limit: number;
  local_resources: number;
  /** The target's calls at this moment. */
  in_flight: number;
  waiting: number;
  max_in_flight: number;
}

/**
 * A target's share of the gateway's own capacity: the calls in flight to it (the transport
 * keeps `inFlight` and `waiting`), the most it may have (`maxInFlight`; beyond it a call is
 * refused at once), and the refusals so far, for metrics. A refusal is the gateway's limit,
 * never the target's failure: no breaker, budget or health sees it.
 *
 * The wait limit itself is a delay of the failover machine (FlowStep.queueTimeoutMs), since
 * only it knows when a call started to wait.
 */
export class LocalLimit implements CallCounts {
  readonly key: string;
  readonly maxInFlight: number;
  inFlight = 0;
  waiting = 0;
  readonly #log: ((line: string) => void) | undefined;
  readonly #throttle = new LogThrottle(LOCAL_LIMIT_LOG_INTERVAL_MS);
  /** Refusals by reason: since start-up, and since the last log line. */
  readonly #refused = noRefusals();
  #since = noRefusals();

  constructor(key: string, maxInFlight: number, log?: (line: string) => void) {
    this.key = key;
    this.maxInFlight = maxInFlight;
    this.#log = log;
  }

  /** True when a new call must be refused. */
  get full(): boolean {
    return this.inFlight >= this.maxInFlight;
  }

  /**
   * Counts one refusal. The first one logs a line, and so does the first one an interval or
   * more after the previous line (with what was refused since): a saturated target writes at
   * most one line per interval, not one per request.
   */
  refused(reason: LocalLimitReason, now: number): void {
    this.#refused[reason]++;
    this.#since[reason]++;
    if (this.#log === undefined || !this.#throttle.due(now)) return;
    const line: LocalLimitLine = {
      at: new Date().toISOString(),
      event: 'local_limit',
      target: this.key,
      ...this.#since,
      in_flight: this.inFlight,
      waiting: this.waiting,
      max_in_flight: this.maxInFlight,
    };
    this.#since = noRefusals();
    this.#log(JSON.stringify(line));
  }

  /** Calls refused because `maxInFlight` were in flight. */
  get refusedInFlight(): number {
    return this.#refused.in_flight_limit;
  }

  /** Calls refused because they waited their queue timeout for a connection. */
  get refusedWait(): number {
    return this.#refused.wait_limit;
  }

  /** Calls that could not get a socket: the machine was out of open files or ports. */
  get refusedResources(): number {
    return this.#refused.local_resources;
  }
}

function noRefusals(): Record<LocalLimitReason, number> {
  return { in_flight_limit: 0, wait_limit: 0, local_resources: 0 };
}
