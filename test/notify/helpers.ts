import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { notificationsConfigSchema, type NotificationsConfig, type NotificationsConfigInput } from '../../src/notify/config.ts';
import { createSubscription, subscriptionRequestSchema, type Subscription } from '../../src/notify/subscription.ts';
import type { Incident, IncidentEvent } from '../../src/notify/types.ts';

export interface ReceivedRequest {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
  /** What `now()` said when the request arrived (the test's simulated clock). */
  at: number;
  remoteAddress: string | undefined;
}

export interface Receiver {
  url: string;
  port: number;
  requests: ReceivedRequest[];
  /** Resolves with the n-th request (1-based) once it has arrived. */
  nth(n: number): Promise<ReceivedRequest>;
  close(): Promise<void>;
}

type Handler = (req: ReceivedRequest, res: ServerResponse, n: number) => void;

/**
 * A real HTTP server on `host` (127.0.0.1 unless told), recording every request and
 * answering with `handler` (default 200). Open connections are destroyed on close.
 */
export async function startReceiver(handler: Handler = (_r, res) => res.end('ok'), opts: { host?: string; port?: number; now?: () => number } = {}): Promise<Receiver> {
  const requests: ReceivedRequest[] = [];
  const waiters: { n: number; resolve: (r: ReceivedRequest) => void }[] = [];
  const now = opts.now ?? Date.now;
  const server = createServer((req: IncomingMessage, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const r: ReceivedRequest = {
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
        at: now(),
        remoteAddress: req.socket.localAddress,
      };
      requests.push(r);
      for (const w of waiters.filter((x) => x.n === requests.length)) w.resolve(r);
      handler(r, res, requests.length);
    });
  });
  const host = opts.host ?? '127.0.0.1';
  await new Promise<void>((resolve) => server.listen(opts.port ?? 0, host, resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://${host}:${port}`,
    port,
    requests,
    nth(n) {
      const got = requests[n - 1];
      if (got) return Promise.resolve(got);
      return new Promise((resolve) => waiters.push({ n, resolve }));
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** The notifier settings with loopback allowed (as every test that talks to a local receiver needs). */
export function testConfig(over: NotificationsConfigInput = {}): NotificationsConfig {
  return notificationsConfigSchema.parse({
    ...over,
    webhook: { allow_cidrs: ['127.0.0.0/8', '::1/128'], ...over.webhook },
  });
}

export const incident: Incident = {
  id: 'inc_7f3a',
  type: 'outage',
  severity: 'high',
  status: 'open',
  regions: ['us-east-1'],
  timestamp: '2025-03-04T05:06:07.000Z',
  duration_minutes: null,
  impact: 'Every request to openai/gpt-4 failed with 503 for 4 minutes; traffic failed over to anthropic.',
  affected_services: ['openai/gpt-4'],
  resolution: null,
};

export function eventOf(over: Partial<IncidentEvent> = {}, data: Partial<Incident> = {}): IncidentEvent {
  return { id: 'msg_2mQ8dLq0aT', type: 'incident.opened', timestamp: '2025-03-04T05:06:08.000Z', data: { ...incident, ...data }, ...over };
}

/** A stored subscription from a subscribe body (no DNS involved). */
export function subscriptionOf(body: Record<string, unknown>): Subscription {
  return createSubscription(subscriptionRequestSchema.parse(body));
}
