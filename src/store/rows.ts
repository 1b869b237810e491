import type { SqlDb, SqlRow } from './sql-db.ts';
import type {
  Delivery,
  DownInterval,
  Incident,
  IncidentImpact,
  IncidentSeverity,
  IncidentStatus,
  Json,
  NotificationChannel,
  Subscription,
  TimelineEntry,
  UnservedMinute,
} from './types.ts';

/**
 * Rows to records, for both dialects: the columns are the same; JSON columns come back as
 * text from SQLite and already parsed from PostgreSQL (JSONB), booleans as 1/0 or true/false.
 */
export type Dialect = SqlDb['dialect'];

export function readJson<T extends Json>(dialect: Dialect, value: unknown): T {
  return (dialect === 'sqlite' ? JSON.parse(value as string) : value) as T;
}

function num(value: unknown): number {
  return Number(value);
}

function numOrNull(value: unknown): number | null {
  return value === null || value === undefined ? null : Number(value);
}

function strOrNull(value: unknown): string | null {
  return value === null || value === undefined ? null : String(value);
}

export const INCIDENT_COLUMNS =
  'id, title, status, impact, severity, region, affected_services, started_at, resolved_at, summary, routed_to, requests_rescued, updated_at';

export function toIncident(d: Dialect, r: SqlRow): Incident {
  return {
    id: String(r.id),
    title: String(r.title),
    status: r.status as IncidentStatus,
    impact: r.impact as IncidentImpact,
    severity: r.severity as IncidentSeverity,
    region: String(r.region),
    affectedServices: readJson<string[]>(d, r.affected_services),
    startedAt: num(r.started_at),
    resolvedAt: numOrNull(r.resolved_at),
    resolution: {
      summary: String(r.summary),
      routedTo: readJson<string[]>(d, r.routed_to),
      requestsRescued: num(r.requests_rescued),
    },
    updatedAt: num(r.updated_at),
  };
}

export const TIMELINE_COLUMNS = 'id, incident_id, at, type, message, details';

export function toTimelineEntry(d: Dialect, r: SqlRow): TimelineEntry {
  return {
    id: num(r.id),
    incidentId: String(r.incident_id),
    at: num(r.at),
    type: String(r.type),
    message: String(r.message),
    details: r.details === null || r.details === undefined ? null : readJson<{ [key: string]: Json }>(d, r.details),
  };
}

export const SUBSCRIPTION_COLUMNS =
  'id, owner, channels, severity_threshold, webhook_url, email, phone, include_types, regions, secret, created_at';

export function toSubscription(d: Dialect, r: SqlRow): Subscription {
  return {
    id: String(r.id),
    owner: String(r.owner),
    channels: readJson<NotificationChannel[]>(d, r.channels),
    severityThreshold: r.severity_threshold as IncidentSeverity,
    webhookUrl: strOrNull(r.webhook_url),
    email: strOrNull(r.email),
    phone: strOrNull(r.phone),
    includeTypes: readJson<IncidentImpact[]>(d, r.include_types),
    regions: readJson<string[]>(d, r.regions),
    secret: strOrNull(r.secret),
    createdAt: num(r.created_at),
  };
}

export const DELIVERY_COLUMNS = 'id, subscription_id, incident_id, channel, event, at, attempt, ok, status_code, error';

export function toDelivery(r: SqlRow): Delivery {
  return {
    id: num(r.id),
    subscriptionId: String(r.subscription_id),
    incidentId: String(r.incident_id),
    channel: r.channel as NotificationChannel,
    event: String(r.event),
    at: num(r.at),
    attempt: num(r.attempt),
    ok: r.ok === true || r.ok === 1,
    statusCode: numOrNull(r.status_code),
    error: strOrNull(r.error),
  };
}

export const DOWN_INTERVAL_COLUMNS = 'id, subject, cause, started_at, ended_at';

export function toDownInterval(r: SqlRow): DownInterval {
  return {
    id: num(r.id),
    subject: String(r.subject),
    cause: String(r.cause),
    startedAt: num(r.started_at),
    endedAt: numOrNull(r.ended_at),
  };
}

export function toUnservedMinute(r: SqlRow): UnservedMinute {
  return { minute: num(r.minute), model: String(r.model), failures: num(r.failures) };
}
