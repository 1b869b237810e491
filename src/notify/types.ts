/**
 * The vocabulary of incident notifications: what an incident event carries, which channels
 * deliver it, and what one delivery attempt records.
 */

/** Ordered: a subscription's `severity_threshold` lets through its own level and every higher one. */
export const SEVERITIES = ['low', 'medium', 'high', 'critical'] as const;
export type Severity = (typeof SEVERITIES)[number];

/** The seed's incident types (`include_types`). */
export const INCIDENT_TYPES = ['outage', 'degraded_performance', 'partial_outage'] as const;
export type IncidentType = (typeof INCIDENT_TYPES)[number];

export const CHANNELS = ['email', 'webhook', 'sms'] as const;
export type Channel = (typeof CHANNELS)[number];

/** What happened to the incident. */
export const EVENT_TYPES = ['incident.opened', 'incident.updated', 'incident.resolved'] as const;
export type IncidentEventType = (typeof EVENT_TYPES)[number];

/**
 * An incident as subscribers see it: the seed's history fields (`id`, `timestamp`,
 * `duration_minutes`, `impact`, `affected_services`, `resolution`) plus what matching reads
 * (`type`, `severity`, `regions`).
 */
export interface Incident {
  id: string;
  type: IncidentType;
  severity: Severity;
  /** `open` until resolved. */
  status: 'open' | 'resolved';
  /** Regions the incident touches; empty when it is not tied to one (it then reaches every subscription). */
  regions: readonly string[];
  /** When it started, ISO 8601. */
  timestamp: string;
  /** Null while open. */
  duration_minutes: number | null;
  /** What users saw, in words. */
  impact: string;
  /** e.g. `openai/gpt-4`. */
  affected_services: readonly string[];
  /** Null while open. */
  resolution: string | null;
}

/**
 * One change to an incident, the body of a webhook (the Standard Webhooks payload shape:
 * `type`, `timestamp`, `data`). `id` is the message id: the same for every subscription and
 * every retry, so a receiver can drop duplicates.
 */
export interface IncidentEvent {
  id: string;
  type: IncidentEventType;
  /** When the change happened, ISO 8601. */
  timestamp: string;
  data: Incident;
}

/**
 * Time for retries and attempt timeouts. XState's SimulatedClock fits, so tests move time
 * by hand instead of sleeping.
 */
export interface NotifyClock {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(id: unknown): void;
  now(): number;
}

/** The process clock; timers are unref'd so pending retries never keep a process alive. */
export const systemClock: NotifyClock = {
  setTimeout(fn, ms) {
    const t = setTimeout(fn, ms);
    t.unref();
    return t;
  },
  clearTimeout(id) {
    clearTimeout(id as NodeJS.Timeout);
  },
  now: Date.now,
};

/** One attempt (or one refusal to queue) of one delivery, as the delivery log keeps it. */
export interface DeliveryAttempt {
  /** One delivery = one event to one subscription over one channel to one recipient; stable across its retries. */
  delivery_id: string;
  event_id: string;
  event_type: IncidentEventType;
  incident_id: string;
  subscription_id: string;
  channel: Channel;
  /** Where it went, without secrets: a webhook's origin and path (no query, no credentials), the e-mail addresses, the phone number. */
  target: string;
  /** 1 for the first try; 0 for a delivery dropped before any try. */
  attempt: number;
  /** `dropped`: the queue was full, nothing was sent. */
  status: 'delivered' | 'failed' | 'dropped';
  /** The receiver's HTTP status (webhook, SMS), when there was one. */
  http_status: number | null;
  /** Why it failed; never contains a secret. */
  error: string | null;
  /** What the receiver gave back on success: the SMTP message id, the SMS sid. */
  detail: string | null;
  /** Clock time the attempt started, ms. */
  started_at: number;
  duration_ms: number;
  /** When the next try is due (clock time, ms); null when this was the last. */
  next_attempt_at: number | null;
}

/**
 * Where delivery attempts are recorded. The gateway's store implements it; `append` must not
 * throw into the notifier (a rejected promise is reported and otherwise ignored).
 */
export interface DeliveryLog {
  append(entry: DeliveryAttempt): void | Promise<void>;
}
