import type { Incident as NotifyIncident } from '../notify/types.ts';
import type { Incident, IncidentWithTimeline } from '../store/types.ts';

/**
 * An incident as the API shows it (`GET /v1/incidents`, the stream's incident events): the
 * seed's id, timestamp, duration_minutes, impact, affected_services and resolution, with
 * severity, region, status and title. `duration_minutes` of an ongoing incident is the time
 * so far.
 */
export function incidentJson(i: Incident, now: number) {
  return {
    id: i.id,
    title: i.title,
    status: i.status,
    timestamp: new Date(i.startedAt).toISOString(),
    resolved_at: i.resolvedAt === null ? null : new Date(i.resolvedAt).toISOString(),
    duration_minutes: minutes((i.resolvedAt ?? Math.max(now, i.startedAt)) - i.startedAt),
    impact: i.impact,
    severity: i.severity,
    region: i.region === '' ? null : i.region,
    affected_services: i.affectedServices,
    resolution: { summary: i.resolution.summary, routed_to: i.resolution.routedTo, requests_rescued: i.resolution.requestsRescued },
  };
}

/** With its timeline, oldest first (`GET /v1/incidents/{id}`). */
export function incidentWithTimelineJson(i: IncidentWithTimeline, now: number) {
  return {
    ...incidentJson(i, now),
    timeline: i.timeline.map((t) => ({ at: new Date(t.at).toISOString(), type: t.type, message: t.message, details: t.details })),
  };
}

/** The incident as notifications carry it (docs/notifications.md). */
export function notifyIncident(i: Incident): NotifyIncident {
  const resolved = i.status === 'resolved' && i.resolvedAt !== null;
  return {
    id: i.id,
    type: i.impact,
    severity: i.severity,
    status: resolved ? 'resolved' : 'open',
    regions: i.region === '' ? [] : [i.region],
    timestamp: new Date(i.startedAt).toISOString(),
    duration_minutes: resolved ? minutes(i.resolvedAt! - i.startedAt) : null,
    impact: i.title + (i.resolution.summary ? `: ${i.resolution.summary}` : ''),
    affected_services: i.affectedServices,
    resolution: resolved ? resolutionText(i) : null,
  };
}

function resolutionText(i: Incident): string {
  const r = i.resolution;
  const where = r.routedTo.length > 0 ? ` Traffic went to ${r.routedTo.join(', ')}.` : '';
  return `${r.summary}${where} ${r.requestsRescued} request${r.requestsRescued === 1 ? '' : 's'} rescued by failover.`;
}

function minutes(ms: number): number {
  return Math.round(ms / 600) / 100;
}
