import { randomBytes } from 'node:crypto';
import type { Incident, IncidentEvent, IncidentEventType } from './types.ts';

/**
 * A new event about `incident`, with a fresh id (`msg_...`: the `webhook-id` receivers
 * de-duplicate on, kept across retries and subscriptions).
 *
 * @example
 * notifier.notify(newIncidentEvent('incident.resolved', incident), subscriptions);
 */
export function newIncidentEvent(type: IncidentEventType, incident: Incident, now: () => number = Date.now): IncidentEvent {
  return { id: `msg_${randomBytes(16).toString('base64url')}`, type, timestamp: new Date(now()).toISOString(), data: incident };
}
