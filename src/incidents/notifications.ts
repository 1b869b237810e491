import { createHash } from 'node:crypto';
import { newIncidentEvent } from '../notify/event.ts';
import type { Notifier } from '../notify/notifier.ts';
import type { Subscription as NotifySubscription, SubscriptionRequest } from '../notify/subscription.ts';
import type { DeliveryAttempt, DeliveryLog } from '../notify/types.ts';
import type { Incident, Store, Subscription as StoredSubscription } from '../store/types.ts';
import { notifyIncident } from './incident-json.ts';
import type { IncidentChange } from './recorder.ts';

/**
 * Between the store and the notifier, whose shapes differ a little (docs/health.md): the
 * store keeps one `email` and one `phone` column, a subscription may name several addresses
 * and numbers, so they are stored comma-separated (neither a validated address nor an E.164
 * number contains a comma); the store's delivery log counts tries from 1, so a delivery
 * dropped before any try is logged as try 1, failed, its error saying it was dropped.
 */

/** Who owns a subscription: a digest of the admin key that created it, never the key. */
export function ownerOf(key: string | undefined): string {
  return key === undefined || key === '' ? 'open' : `key_${createHash('sha256').update(key).digest('hex').slice(0, 16)}`;
}

/** The subscribe body as the store keeps it, with its webhook signing secret. */
export function toStored(owner: string, req: SubscriptionRequest, secret: string | null) {
  return {
    owner,
    channels: req.channels,
    severityThreshold: req.severity_threshold,
    webhookUrl: req.webhook_url ?? null,
    email: req.emails?.join(',') ?? null,
    phone: req.phone_numbers?.join(',') ?? null,
    includeTypes: req.include_types ?? [],
    regions: req.regions ?? [],
    secret,
  };
}

/** A stored subscription as the notifier and the API see it. */
export function fromStored(s: StoredSubscription): NotifySubscription {
  return {
    id: s.id,
    created_at: new Date(s.createdAt).toISOString(),
    channels: [...s.channels],
    severity_threshold: s.severityThreshold,
    ...(s.webhookUrl !== null ? { webhook_url: s.webhookUrl } : {}),
    ...(s.includeTypes.length > 0 ? { include_types: [...s.includeTypes] } : {}),
    ...(s.regions.length > 0 ? { regions: [...s.regions] } : {}),
    ...(s.email !== null ? { emails: s.email.split(',') } : {}),
    ...(s.phone !== null ? { phone_numbers: s.phone.split(',') } : {}),
    ...(s.secret !== null ? { webhook_secret: s.secret } : {}),
  };
}

/** The notifier's delivery log, written to the store. */
export function storeDeliveryLog(store: Store): DeliveryLog {
  return {
    append: async (a: DeliveryAttempt) => {
      await store.deliveries.append({
        subscriptionId: a.subscription_id,
        incidentId: a.incident_id,
        channel: a.channel,
        event: a.event_type.slice('incident.'.length),
        at: Math.round(a.started_at),
        attempt: Math.max(1, a.attempt),
        ok: a.status === 'delivered',
        statusCode: a.http_status,
        error: a.status === 'dropped' ? `dropped: ${a.error ?? 'not sent'}` : a.error,
      });
    },
  };
}

/** Tells the matching subscriptions about each incident change; never waits for a receiver. */
export function incidentNotifications(store: Store, notifier: Notifier, now: () => number, log: (line: string) => void) {
  return (change: IncidentChange, incident: Incident): void => {
    store.subscriptions.list().then(
      (subs) => {
        if (subs.length === 0) return;
        notifier.notify(newIncidentEvent(change, notifyIncident(incident), now), subs.map(fromStored));
      },
      (err: unknown) => log(`notifications: reading subscriptions failed: ${err instanceof Error ? err.message : String(err)}`),
    );
  };
}
