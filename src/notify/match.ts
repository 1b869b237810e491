/**
 * Which incidents reach which subscription: the incident's severity at or above the
 * threshold, its type among `include_types`, and one of its regions among `regions`. A
 * filter left out matches everything; an incident tied to no region reaches every
 * subscription (an outage everywhere is an outage in your region too).
 */
import type { SubscriptionRequest } from './subscription.ts';
import { SEVERITIES, type Incident, type Severity } from './types.ts';

const RANK: Record<Severity, number> = Object.fromEntries(SEVERITIES.map((s, i) => [s, i])) as Record<Severity, number>;

type Filters = Pick<SubscriptionRequest, 'severity_threshold' | 'include_types' | 'regions'>;

/**
 * @example
 * matches({ severity_threshold: 'medium', include_types: ['outage'], regions: ['us-east-1'] },
 *         { type: 'outage', severity: 'high', regions: ['us-east-1', 'us-west-2'] }) // true
 */
export function matches(sub: Filters, incident: Pick<Incident, 'type' | 'severity' | 'regions'>): boolean {
  if (RANK[incident.severity] < RANK[sub.severity_threshold]) return false;
  if (sub.include_types !== undefined && !sub.include_types.includes(incident.type)) return false;
  if (sub.regions !== undefined && incident.regions.length > 0 && !incident.regions.some((r) => sub.regions!.includes(r))) return false;
  return true;
}
