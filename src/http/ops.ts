import type { Express, RequestHandler } from 'express';
import { presentedKey } from '../auth/keys.ts';
import { GatewayError } from '../core/openai-error.ts';
import { ownerOf, fromStored, toStored } from '../incidents/notifications.ts';
import { incidentJson, incidentWithTimelineJson } from '../incidents/incident-json.ts';
import type { Notifier } from '../notify/notifier.ts';
import { generateSecret } from '../notify/signature.ts';
import { parseSubscription, publicSubscription } from '../notify/subscription.ts';
import type { Store } from '../store/types.ts';
import { DAY_MS } from '../uptime/calendar.ts';
import { readJsonBody } from './body.ts';

/**
 * The operations API: health, incidents, uptime, incident subscriptions and metrics
 * (docs/health.md). Everything here reads the gateway's state; nothing is on the chat path.
 */
export interface OpsApi {
  store: Store;
  notifier: Notifier;
  now: () => number;
  health: () => Promise<unknown>;
  uptime: (days: number) => Promise<unknown>;
  metrics: () => string;
  /** False while starting or shutting down: /readyz answers 503. */
  ready: () => boolean;
  bodyLimitBytes: number;
}

/** Most days GET /v1/incidents and GET /v1/uptime look back. */
export const MAX_DAYS = 366;

export function mountOps(app: Express, ops: OpsApi, requireKey: RequestHandler, requireAdmin: RequestHandler): void {
  // For load balancers: no key, and nothing in the answer but the word.
  app.get('/livez', (_req, res) => {
    res.type('text/plain').set('cache-control', 'no-store').send('ok');
  });
  app.get('/readyz', (_req, res) => {
    const ready = ops.ready();
    res.status(ready ? 200 : 503).type('text/plain').set('cache-control', 'no-store').send(ready ? 'ready' : 'not ready');
  });

  app.get('/v1/health', requireKey, async (_req, res) => {
    res.set('cache-control', 'no-store').json(await ops.health());
  });

  app.get('/v1/uptime', requireKey, async (req, res) => {
    const days = daysParam(req.query.days, 30);
    res.json(await ops.uptime(days));
  });

  app.get('/v1/incidents', requireKey, async (req, res) => {
    const days = daysParam(req.query.days, 30);
    const now = ops.now();
    const list = await ops.store.incidents.list({ from: now - days * DAY_MS, to: now + 1, limit: 1000 });
    res.json({ object: 'list', days, incidents: list.map((i) => incidentJson(i, now)) });
  });

  app.post('/v1/incidents/subscribe', requireAdmin, async (req, res) => {
    const parsed = await parseSubscription(await readJsonBody(req, ops.bodyLimitBytes), ops.notifier.subscribeContext);
    const secret = parsed.channels.includes('webhook') ? generateSecret() : null;
    const stored = await ops.store.subscriptions.create(toStored(ownerOf(presentedKey(req.headers)), parsed, secret));
    res.status(201).json({ object: 'incident_subscription', ...fromStored(stored) });
  });
  app.get('/v1/incidents/subscriptions', requireAdmin, async (req, res) => {
    const subs = await ops.store.subscriptions.list({ owner: ownerOf(presentedKey(req.headers)) });
    res.json({ object: 'list', data: subs.map((s) => ({ object: 'incident_subscription', ...publicSubscription(fromStored(s)) })) });
  });
  app.delete('/v1/incidents/subscriptions/:id', requireAdmin, async (req, res) => {
    const id = String(req.params.id);
    if (!(await ops.store.subscriptions.delete(id, ownerOf(presentedKey(req.headers))))) {
      throw new GatewayError(404, `No incident subscription '${id}'.`, { code: 'subscription_not_found', param: 'id' });
    }
    res.json({ id, object: 'incident_subscription', deleted: true });
  });

  app.get('/v1/incidents/:id', requireKey, async (req, res) => {
    const id = String(req.params.id);
    const inc = await ops.store.incidents.get(id);
    if (inc === undefined) throw new GatewayError(404, `No incident '${id}'.`, { code: 'incident_not_found', param: 'id' });
    res.json(incidentWithTimelineJson(inc, ops.now()));
  });

  app.get('/metrics', requireKey, (_req, res) => {
    res.set('content-type', 'text/plain; version=0.0.4; charset=utf-8').send(ops.metrics());
  });
}

/** `?days=N`: a whole number of days in [1, MAX_DAYS]; absent: `fallback`. */
function daysParam(raw: unknown, fallback: number): number {
  if (raw === undefined) return fallback;
  const text = Array.isArray(raw) ? raw[0] : raw;
  if (typeof text !== 'string' || !/^\d{1,4}$/.test(text) || Number(text) < 1 || Number(text) > MAX_DAYS) {
    throw new GatewayError(400, `Invalid value for 'days': expected a whole number of days from 1 to ${MAX_DAYS}.`, { param: 'days', code: 'invalid_days' });
  }
  return Number(text);
}
