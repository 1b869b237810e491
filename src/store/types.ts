/**
 * What the gateway keeps across restarts: incident history, notification subscriptions and
 * their delivery log, the availability records the uptime and SLA figures are computed from,
 * and snapshots of runtime state (breakers, target health). One interface, two backends
 * (SQLite by default, PostgreSQL when DATABASE_URL is set); see docs/store.md.
 *
 * Times are Unix epoch milliseconds (UTC) everywhere. Bookkeeping times (`updatedAt`,
 * `createdAt`) come from the store's clock (the engine's, so simulated time works). Every
 * method returns a promise; once a write's resolves it is committed (a kill -9 afterwards
 * loses nothing).
 */

/** The seed's incident impacts. */
export const INCIDENT_IMPACTS = ['outage', 'partial_outage', 'degraded_performance'] as const;
export type IncidentImpact = (typeof INCIDENT_IMPACTS)[number];

/** The seed's severities, lowest first (a subscription's `severity_threshold` compares by this order). */
export const INCIDENT_SEVERITIES = ['low', 'medium', 'high', 'critical'] as const;
export type IncidentSeverity = (typeof INCIDENT_SEVERITIES)[number];

/** An incident is `ongoing` from the first failure the recorder sees until it is `resolved`. */
export const INCIDENT_STATUSES = ['ongoing', 'resolved'] as const;
export type IncidentStatus = (typeof INCIDENT_STATUSES)[number];

/** The seed's notification channels. */
export const NOTIFICATION_CHANNELS = ['email', 'webhook', 'sms'] as const;
export type NotificationChannel = (typeof NOTIFICATION_CHANNELS)[number];

/** A JSON value as stored in a JSON column (what JSON.parse can return). */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** How an incident ended, or how it is going: the seed's `resolution`. */
export interface IncidentResolution {
  /** What happened, in a sentence ("openai answered 503 to every request; breaker opened"). */
  readonly summary: string;
  /** Where traffic went meanwhile: target keys (`provider/model`) that served it. */
  readonly routedTo: readonly string[];
  /** Requests a fallback answered that the affected targets would have failed. */
  readonly requestsRescued: number;
}

export interface Incident {
  readonly id: string;
  readonly title: string;
  readonly status: IncidentStatus;
  readonly impact: IncidentImpact;
  readonly severity: IncidentSeverity;
  /** The gateway's region (from config) that saw it. */
  readonly region: string;
  /** Providers (`openai`) and targets (`openai/gpt-4-turbo-preview`) affected. */
  readonly affectedServices: readonly string[];
  readonly startedAt: number;
  /** null while ongoing. */
  readonly resolvedAt: number | null;
  readonly resolution: IncidentResolution;
  /** The last write to the incident (its timeline included). */
  readonly updatedAt: number;
}

/** One step of an incident's timeline: a transition the recorder saw, or a note. */
export interface TimelineEntry {
  /** Increases with every entry of every incident: the timeline's order. */
  readonly id: number;
  readonly incidentId: string;
  readonly at: number;
  /** What kind of step (`provider_down`, `breaker_open`, `failover`, `recovered`, `resolved`...). */
  readonly type: string;
  readonly message: string;
  /** Structured facts of the step (actor, from/to state, counts), if any. */
  readonly details: { readonly [key: string]: Json } | null;
}

export type NewTimelineEntry = Omit<TimelineEntry, 'id' | 'incidentId' | 'details'> & {
  readonly details?: { readonly [key: string]: Json } | null;
};

export interface IncidentWithTimeline extends Incident {
  /** Oldest first. */
  readonly timeline: readonly TimelineEntry[];
}

export interface NewIncident {
  /** Generated (`inc_...`) when absent. */
  readonly id?: string;
  readonly title: string;
  readonly impact: IncidentImpact;
  readonly severity: IncidentSeverity;
  readonly region: string;
  readonly affectedServices: readonly string[];
  readonly startedAt: number;
  readonly resolution?: Partial<IncidentResolution>;
  /** Written with the incident, in the same transaction. */
  readonly timeline?: readonly NewTimelineEntry[];
}

/** Fields an update may change; absent fields are kept. */
export interface IncidentPatch {
  readonly title?: string;
  readonly impact?: IncidentImpact;
  readonly severity?: IncidentSeverity;
  readonly affectedServices?: readonly string[];
  readonly summary?: string;
  readonly routedTo?: readonly string[];
  /** Added to `requestsRescued` (an increment, so replicas sharing a database do not overwrite each other). */
  readonly rescuedDelta?: number;
}

export interface IncidentQuery {
  /** Incidents that were ongoing at some time in [from, to): started before `to`, not resolved before `from`. */
  readonly from?: number;
  readonly to?: number;
  readonly status?: IncidentStatus;
  /** Newest first; default 1000. */
  readonly limit?: number;
}

/** Incidents, each with an append-only timeline. */
export interface IncidentStore {
  create(input: NewIncident): Promise<IncidentWithTimeline>;
  /** Undefined when no such incident. A resolved incident can still be annotated. */
  update(id: string, patch: IncidentPatch, entry?: NewTimelineEntry): Promise<Incident | undefined>;
  /**
   * Marks the incident resolved at `at` (never before it started), with the patch and entry
   * in the same transaction. Resolving a resolved incident changes nothing and returns it
   * as it is (a replayed resolve after a restart is harmless).
   */
  resolve(id: string, at: number, patch?: IncidentPatch, entry?: NewTimelineEntry): Promise<Incident | undefined>;
  appendTimeline(id: string, entry: NewTimelineEntry): Promise<TimelineEntry | undefined>;
  get(id: string): Promise<IncidentWithTimeline | undefined>;
  /** Newest first, without timelines. */
  list(query?: IncidentQuery): Promise<Incident[]>;
}

export interface NewSubscription {
  /** Who may list and delete it: an identifier of the client's API key, never the key. */
  readonly owner: string;
  readonly channels: readonly NotificationChannel[];
  readonly severityThreshold: IncidentSeverity;
  readonly webhookUrl: string | null;
  readonly email: string | null;
  readonly phone: string | null;
  /** Impacts notified; empty means every impact. */
  readonly includeTypes: readonly IncidentImpact[];
  /** Regions notified; empty means every region. */
  readonly regions: readonly string[];
  /** Key for the webhook's HMAC signature. */
  readonly secret: string | null;
}

export interface Subscription extends NewSubscription {
  readonly id: string;
  readonly createdAt: number;
}

/** Notification subscriptions. */
export interface SubscriptionStore {
  /** `createdAt` defaults to now; `id` is generated (`sub_...`). */
  create(input: NewSubscription): Promise<Subscription>;
  get(id: string): Promise<Subscription | undefined>;
  /** Oldest first; only `owner`'s when given. */
  list(query?: { readonly owner?: string }): Promise<Subscription[]>;
  /** False when there was none (or it belongs to another owner). Its deliveries stay in the log. */
  delete(id: string, owner?: string): Promise<boolean>;
}

export interface NewDelivery {
  readonly subscriptionId: string;
  readonly incidentId: string;
  readonly channel: NotificationChannel;
  /** Which incident event was sent (`opened`, `updated`, `resolved`). */
  readonly event: string;
  readonly at: number;
  /** 1 for the first try. */
  readonly attempt: number;
  readonly ok: boolean;
  /** The receiver's HTTP status, when there was one. */
  readonly statusCode: number | null;
  /** Why it failed, without secrets. */
  readonly error: string | null;
}

export interface Delivery extends NewDelivery {
  readonly id: number;
}

export interface DeliveryQuery {
  readonly subscriptionId?: string;
  readonly incidentId?: string;
  readonly from?: number;
  readonly to?: number;
  /** Newest first; default 100. */
  readonly limit?: number;
}

/** Every notification attempt, successful or not. */
export interface DeliveryLog {
  append(input: NewDelivery): Promise<Delivery>;
  list(query?: DeliveryQuery): Promise<Delivery[]>;
}

/**
 * A span during which a subject could not serve: a target (`provider/model`) whose breaker
 * was open or whose health checks held it down, or `gateway` itself. Open (`endedAt` null)
 * while it lasts; a subject has at most one open interval.
 */
export interface DownInterval {
  readonly id: number;
  readonly subject: string;
  /** What opened it (`breaker_open`, `health_check`...). */
  readonly cause: string;
  readonly startedAt: number;
  readonly endedAt: number | null;
}

/** A UTC minute in which requests for `model` failed for lack of any provider that could serve them. */
export interface UnservedMinute {
  /** The minute's first millisecond (a multiple of 60 000). */
  readonly minute: number;
  /** The model the client asked for. */
  readonly model: string;
  readonly failures: number;
}

/** The records the uptime and SLA figures are computed from (src/uptime/, docs/uptime.md). */
export interface AvailabilityStore {
  /** Opens the subject's down interval; when one is already open, returns it unchanged. */
  openDownInterval(subject: string, cause: string, at: number): Promise<DownInterval>;
  /** Closes the subject's open interval at `at` (never before it started); undefined when none is open. */
  closeDownInterval(subject: string, at: number): Promise<DownInterval | undefined>;
  /** Intervals overlapping [from, to) (open ones included), oldest first. */
  listDownIntervals(query: { readonly from: number; readonly to: number; readonly subjects?: readonly string[] }): Promise<DownInterval[]>;
  /**
   * Adds `failures` to the count of `model`'s minute containing `at`. The first call for a
   * minute is what marks it down; callers may batch the rest of the minute's count.
   */
  recordUnserved(model: string, at: number, failures?: number): Promise<void>;
  /** Minutes starting in [from, to), oldest first. */
  listUnservedMinutes(query: { readonly from: number; readonly to: number }): Promise<UnservedMinute[]>;
}

export interface Snapshot {
  readonly key: string;
  readonly value: Json;
  readonly updatedAt: number;
}

/** Persisted runtime state: one JSON value per key (`breaker:<target>#<config>`, `health:<target>`). */
export interface SnapshotStore {
  put(key: string, value: Json): Promise<void>;
  /** All in one transaction. */
  putMany(entries: Iterable<readonly [key: string, value: Json]>): Promise<void>;
  get(key: string): Promise<Json | undefined>;
  /** Keys starting with `prefix`, in key order (by UTF-16 code units, the same on both backends). */
  list(prefix?: string): Promise<Snapshot[]>;
  delete(key: string): Promise<boolean>;
}

/** Rows removed by `prune`. */
export interface PruneCounts {
  readonly incidents: number;
  readonly deliveries: number;
  readonly downIntervals: number;
  readonly unservedMinutes: number;
}

export type StoreBackend = 'sqlite' | 'postgres';

/** Everything the gateway persists, on one backend. */
export interface Store {
  readonly backend: StoreBackend;
  /** The SQLite file, or the PostgreSQL URL without its password: safe to log. */
  readonly location: string;
  readonly incidents: IncidentStore;
  readonly subscriptions: SubscriptionStore;
  readonly deliveries: DeliveryLog;
  readonly availability: AvailabilityStore;
  readonly snapshots: SnapshotStore;
  /**
   * Deletes history that ended before `before`: resolved incidents (with their timelines),
   * deliveries, closed down intervals, unserved minutes. Open incidents and intervals,
   * subscriptions and snapshots are kept. The retention policy is the caller's.
   */
  prune(before: number): Promise<PruneCounts>;
  close(): Promise<void>;
}
