import { afterEach, describe, expect, it } from 'vitest';
import type { ConfigFile } from '../../src/config/schema.ts';
import type { RunningGateway } from '../../src/gateway.ts';
import { verifyWebhook } from '../../src/notify/signature.ts';
import { systemResolver, type Resolver } from '../../src/notify/webhook-target.ts';
import { sdkClient, startTestGateway, until } from '../helpers/gateway.ts';
import { startReceiver, type Receiver } from '../notify/helpers.ts';
import { headerOf, startSmtp, type SmtpTestServer } from '../notify/smtp.ts';
import { startTwilioStandIn, type TwilioStandIn } from '../notify/twilio-stand-in.ts';

/**
 * POST /v1/incidents/subscribe wired to the notifier: the seed's body as written, list and
 * delete, admin scope, every refused webhook address as a 400, and an incident reaching a
 * real SMTP server, a Twilio-shaped SMS API and a webhook receiver on 127.0.0.1 with a
 * valid signature.
 */

const ADMIN = 'your-api-key';
const CLIENT = 'client-key';
const SID = 'AC0123456789abcdef0123456789abcdef';
const TOKEN = 'sms-auth-t0ken-never-logged';
const SMTP_USER = 'parrot-alerts';
const SMTP_PASS = 'smtp-pa55word-never-logged';

const SEED_BODY = {
  channels: ['email', 'webhook', 'sms'],
  severity_threshold: 'medium',
  webhook_url: 'https://your-app.com/incidents',
  include_types: ['outage', 'degraded_performance', 'partial_outage'],
  regions: ['us-east-1', 'eu-west-1'],
};

/** A resolver as a hostile or absent DNS would answer; everything else asks the system. */
const resolve: Resolver = async (host) => {
  if (host === 'your-app.com') throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND' });
  if (host === 'hooks.internal') return [{ address: '10.0.0.5', family: 4 }];
  if (host === 'rebind.example') return [{ address: '93.184.216.34', family: 4 }, { address: '169.254.169.254', family: 4 }];
  return systemResolver(host);
};

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

interface World {
  gw: RunningGateway;
  smtp: SmtpTestServer;
  sms: TwilioStandIn;
  hooks: Receiver;
}

async function world(notifications: Partial<ConfigFile['notifications']> = {}, hook: Parameters<typeof startReceiver>[0] = (_r, res) => res.end('ok')): Promise<World> {
  const smtp = await startSmtp({ user: SMTP_USER, pass: SMTP_PASS });
  cleanup.push(() => smtp.close());
  const sms = await startTwilioStandIn(SID, TOKEN);
  cleanup.push(() => sms.close());
  const hooks = await startReceiver(hook);
  cleanup.push(() => hooks.close());
  const gw = await startTestGateway(
    {
      auth: { keys: [ADMIN, CLIENT], admin_keys: [ADMIN] },
      region: 'us-east-1',
      incidents: { resolve_after_ms: 0 },
      resilience: { breaker: { error_threshold: 2, timeout: 3600 } },
      notifications: {
        webhook: { allow_cidrs: ['127.0.0.0/8', '::1/128'] },
        email: { host: '127.0.0.1', port: smtp.port, starttls: 'never', username: SMTP_USER, password: SMTP_PASS, from: 'parrot <alerts@example.com>', default_to: ['oncall@example.com'] },
        sms: { base_url: sms.baseUrl, account_sid: SID, auth_token: TOKEN, from: '+15005550006', default_to: ['+14155550123'] },
        ...notifications,
      },
    },
    { resolve },
  );
  cleanup.push(() => gw.close());
  return { gw, smtp, sms, hooks };
}

const call = async (gw: RunningGateway, method: string, path: string, key: string, body?: unknown) => {
  const res = await fetch(`${gw.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${key}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  return { status: res.status, json: (await res.json()) as any };
};

describe('POST /v1/incidents/subscribe', () => {
  it("takes the seed's body as written (201, a webhook secret shown once), lists it without the secret, deletes it; admin scope", async () => {
    const { gw } = await world();
    const refused = await call(gw, 'POST', '/v1/incidents/subscribe', CLIENT, SEED_BODY);
    expect(refused.status).toBe(403);
    expect(refused.json.error).toMatchObject({ type: 'permission_error', code: 'admin_key_required' });

    const created = await call(gw, 'POST', '/v1/incidents/subscribe', ADMIN, SEED_BODY);
    expect(created.status).toBe(201);
    expect(created.json).toMatchObject({
      object: 'incident_subscription',
      id: expect.stringMatching(/^sub_/),
      channels: ['email', 'webhook', 'sms'],
      severity_threshold: 'medium',
      webhook_url: 'https://your-app.com/incidents',
      include_types: ['outage', 'degraded_performance', 'partial_outage'],
      regions: ['us-east-1', 'eu-west-1'],
      webhook_secret: expect.stringMatching(/^whsec_/),
    });
    const listed = await call(gw, 'GET', '/v1/incidents/subscriptions', ADMIN);
    expect(listed.json.data.map((s: any) => s.id)).toEqual([created.json.id]);
    expect(listed.json.data[0].webhook_secret).toBeUndefined();
    expect((await call(gw, 'DELETE', `/v1/incidents/subscriptions/${created.json.id}`, ADMIN)).json).toEqual({ id: created.json.id, object: 'incident_subscription', deleted: true });
    expect((await call(gw, 'GET', '/v1/incidents/subscriptions', ADMIN)).json.data).toEqual([]);
    expect((await call(gw, 'DELETE', `/v1/incidents/subscriptions/${created.json.id}`, ADMIN)).status).toBe(404);
  });

  it('refuses every internal webhook address with a 400 naming webhook_url, and stores nothing', async () => {
    const { gw } = await world({ webhook: { allow_cidrs: [] } });
    const urls = [
      'http://127.0.0.1:9/hook', 'http://2130706433/', 'http://0x7f.1/', 'http://0177.0.0.1/', 'http://127.1/', 'http://localhost/', 'http://a.localhost/',
      'http://[::1]/', 'http://[::ffff:127.0.0.1]/', 'http://[::ffff:7f00:1]/',
      'http://10.0.0.5/', 'http://172.16.0.1/', 'http://192.168.1.1/', 'http://[fc00::1]/',
      'http://169.254.1.1/', 'http://[fe80::1]/', 'http://100.64.0.1/',
      'http://169.254.169.254/latest/meta-data/', 'http://100.100.100.200/', 'http://[fd00:ec2::254]/', 'http://metadata.google.internal/', 'http://metadata/',
      'http://0.0.0.0/', 'http://[::]/', 'http://[64:ff9b::a00:1]/', 'http://[2002:7f00:1::]/',
      'http://hooks.internal/', 'http://rebind.example/',
      'https://user:pass@example.com/', 'ftp://example.com/',
    ];
    for (const webhook_url of urls) {
      const r = await call(gw, 'POST', '/v1/incidents/subscribe', ADMIN, { channels: ['webhook'], webhook_url });
      expect([webhook_url, r.status, r.json.error?.param]).toEqual([webhook_url, 400, 'webhook_url']);
    }
    expect((await call(gw, 'GET', '/v1/incidents/subscriptions', ADMIN)).json.data).toEqual([]);
  });
});

describe('an incident reaches every channel', () => {
  it('incident.opened arrives signed at the webhook receiver, by mail on the SMTP server and by SMS; the deliveries are logged', async () => {
    const { gw, smtp, sms, hooks } = await world();
    const sub = await call(gw, 'POST', '/v1/incidents/subscribe', ADMIN, { ...SEED_BODY, webhook_url: `${hooks.url}/incidents?source=parrot` });
    expect(sub.status).toBe(201);
    const secret = sub.json.webhook_secret as string;

    gw.simulator!.setModel('claude-3-opus', { faults: [{ type: 'error', kind: 'server_error' }] });
    const client = sdkClient(gw, ADMIN);
    for (let i = 0; i < 2; i++) {
      await client.chat.completions.create({ model: 'claude-3-opus', messages: [{ role: 'user', content: 'x' }] }, { headers: { 'X-Failover-Enabled': 'false', 'X-Max-Retries': '0' } }).catch(() => undefined);
    }
    const first = await hooks.nth(1);
    expect(first.url).toBe('/incidents?source=parrot');
    expect(verifyWebhook(secret, first.headers, first.body)).toMatchObject({ ok: true, id: first.headers['webhook-id'] });
    const event = JSON.parse(first.body);
    // anthropic serves one model: its provider actor is down in the same step as the model, and reported first.
    expect(event).toMatchObject({ type: 'incident.opened', data: { type: 'outage', severity: 'high', status: 'open', regions: ['us-east-1'], affected_services: ['anthropic'] } });

    await until(() => smtp.mails.length >= 1 && sms.sent.length >= 1, 10_000);
    expect(smtp.mails[0]!.to).toEqual(['oncall@example.com']);
    expect(headerOf(smtp.mails[0]!.raw, 'X-Parrot-Incident')).toBe(event.data.id);
    expect(sms.sent[0]).toMatchObject({ to: '+14155550123', from: '+15005550006' });
    expect(sms.sent[0]!.body).toContain(event.data.id);

    await gw.notifier.idle();
    await gw.writes.drain();
    const log = await gw.store.deliveries.list({ incidentId: event.data.id });
    expect(new Set(log.filter((d) => d.event === 'opened' && d.ok).map((d) => d.channel))).toEqual(new Set(['webhook', 'email', 'sms']));
  });

  it('a receiver that fails is retried with the same webhook-id, while the gateway goes on serving; each try is in the delivery log', async () => {
    let failed = false;
    const { gw, hooks } = await world({ retry: { initial_delay_ms: 50, multiplier: 2, jitter: 0 } }, (r, res) => {
      // The first try of incident.opened fails.
      const fail = !failed && JSON.parse(r.body).type === 'incident.opened';
      failed ||= fail;
      res.statusCode = fail ? 503 : 200;
      res.end();
    });
    const sub = await call(gw, 'POST', '/v1/incidents/subscribe', ADMIN, { channels: ['webhook'], webhook_url: `${hooks.url}/hook` });
    gw.simulator!.setModel('claude-3-opus', { faults: [{ type: 'error', kind: 'server_error' }] });
    const client = sdkClient(gw, ADMIN);
    for (let i = 0; i < 2; i++) {
      await client.chat.completions.create({ model: 'claude-3-opus', messages: [{ role: 'user', content: 'x' }] }, { headers: { 'X-Failover-Enabled': 'false', 'X-Max-Retries': '0' } }).catch(() => undefined);
    }
    const opened = () => hooks.requests.filter((r) => JSON.parse(r.body).type === 'incident.opened');
    await until(() => opened().length === 2, 10_000);
    const [first, second] = opened() as [(typeof hooks.requests)[number], (typeof hooks.requests)[number]];
    expect(second.headers['webhook-id']).toBe(first.headers['webhook-id']);
    expect(verifyWebhook(sub.json.webhook_secret, second.headers, second.body).ok).toBe(true);
    // Meanwhile requests are answered as ever.
    const ok = await client.chat.completions.create({ model: 'gpt-4-turbo-preview', messages: [{ role: 'user', content: 'x' }] });
    expect(ok.choices[0]!.message.content).toMatch(/\w/);
    await gw.notifier.idle();
    await gw.writes.drain();
    const incidentId = JSON.parse(first.body).data.id;
    const log = await gw.store.deliveries.list({ subscriptionId: sub.json.id, incidentId });
    expect(log.filter((d) => d.event === 'opened').map((d) => [d.attempt, d.ok, d.statusCode]).reverse()).toEqual([
      [1, false, 503],
      [2, true, 200],
    ]);
  });
});
