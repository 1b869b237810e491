import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { SimulatedClock } from 'xstate';
import type { ConfigFile } from '../../src/config/schema.ts';
import type { RunningGateway } from '../../src/gateway.ts';
import { sdkClient, startTestGateway, until } from '../helpers/gateway.ts';

/**
 * Health monitoring, incidents and uptime through the running gateway: the seed's
 * GET /v1/health, WS /v1/health/stream and GET /v1/incidents, with real HTTP and a real
 * WebSocket client against the built-in simulator; time on a simulated clock.
 */

const KEY = 'your-api-key';
const AUTH = { authorization: `Bearer ${KEY}` };
const MIN = 60_000;

let gw: RunningGateway | undefined;
let dir: string | undefined;
afterEach(async () => {
  await gw?.close();
  gw = undefined;
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

const get = async (path: string, headers: Record<string, string> = AUTH) => {
  const res = await fetch(`${gw!.url}${path}`, { headers });
  const text = await res.text();
  return { status: res.status, headers: res.headers, text, json: () => JSON.parse(text) };
};

/** A WebSocket client that keeps every message. */
async function connect(url: string, headers: Record<string, string> = AUTH): Promise<{ ws: WebSocket; messages: any[]; types: () => string[] }> {
  const ws = new WebSocket(url, { headers });
  const messages: any[] = [];
  ws.on('message', (m) => messages.push(JSON.parse(String(m))));
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  return { ws, messages, types: () => messages.map((m) => m.type).filter((t) => t !== 'heartbeat') };
}

/** Fail over at once, never wait for a retry (the simulated clock stands still while requests run). */
const NOW = { headers: { 'X-Failover-Enabled': 'true', 'X-Failover-Providers': 'openai,anthropic', 'X-Max-Retries': '0' } };
const ALONE = { headers: { 'X-Failover-Enabled': 'false', 'X-Max-Retries': '0' } };

const wsUrl = (g: RunningGateway) => `${g.url.replace('http', 'ws')}/v1/health/stream`;

/** Lets real I/O (simulator calls, store writes) settle while the simulated clock stands still. */
const settle = async (g: RunningGateway) => {
  await new Promise((r) => setTimeout(r, 30));
  await g.writes.drain();
};

const base = (over: Partial<ConfigFile> = {}): Partial<ConfigFile> => ({
  auth: { keys: [KEY], admin_keys: [KEY] },
  region: 'us-east-1',
  ...over,
});

describe('GET /v1/health and the load balancer pair', () => {
  it('answers the seed fields for every provider and model; /livez and /readyz need no key and say nothing else', async () => {
    gw = await startTestGateway(base());
    expect((await get('/v1/health', {})).status).toBe(401);
    const h = (await get('/v1/health')).json();
    expect(h.status).toBe('healthy');
    expect(h.uptime_percentage).toBe(100);
    expect(h.providers.map((p: any) => p.name)).toEqual(['openai', 'anthropic', 'google']);
    for (const p of h.providers) {
      expect(p).toMatchObject({ status: 'healthy', uptime_24h: 100, avg_response_time_ms: null, error_rate: 0 });
      for (const m of p.models) expect(m).toMatchObject({ status: 'healthy', healthy: true, circuit_breaker: { state: 'closed', opened_at: null }, last_error: null });
    }
    expect(h.providers[0].models.map((m: any) => m.name)).toEqual(['gpt-4-turbo-preview', 'gpt-3.5-turbo']);

    const live = await get('/livez', {});
    expect([live.status, live.text]).toEqual([200, 'ok']);
    const ready = await get('/readyz', {});
    expect([ready.status, ready.text]).toEqual([200, 'ready']);
  });

  it('after traffic: response time, error rate, p95, the last error; an unknown ?days is a 400 in OpenAI shape', async () => {
    gw = await startTestGateway(base());
    const sim = gw.simulator!;
    const client = sdkClient(gw, KEY);
    sim.setModel('claude-3-opus', { faults: [{ type: 'error', kind: 'server_error', first_n: 1 }] });
    for (let i = 0; i < 4; i++) await client.chat.completions.create({ model: 'claude-3-opus', messages: [{ role: 'user', content: 'hi' }] });
    const h = (await get('/v1/health')).json();
    const anthropic = h.providers.find((p: any) => p.name === 'anthropic');
    // Retries first: the failed attempt is retried on anthropic, which answers; then 3 more successes.
    expect(anthropic.models[0].requests).toBe(5);
    expect(anthropic.error_rate).toBe(20);
    expect(anthropic.models[0].last_error).toMatchObject({ kind: 'server_error' });
    expect(typeof anthropic.avg_response_time_ms).toBe('number');
    const bad = await get('/v1/uptime?days=0');
    expect(bad.status).toBe(400);
    expect(bad.json()).toEqual({ error: { message: expect.stringContaining("'days'"), type: 'invalid_request_error', param: 'days', code: 'invalid_days' } });
  });
});

describe('an openai outage: the stream, the incident and its resolution (simulated clock)', () => {
  it('provider_down names the models and the fallback; one incident opens, counts rescued requests and resolves after the quiet period', async () => {
    const clock = new SimulatedClock();
    const T0 = Date.UTC(2025, 8, 14, 3, 0);
    clock.set(T0);
    gw = await startTestGateway(base({ resilience: { breaker: { timeout: 3600 }, breaker_probe_interval_ms: MIN } }), { clock });
    const g = gw;
    const sim = g.simulator!;
    const client = sdkClient(g, KEY);

    // The handshake is authenticated: no key is a 401; a browser's ?token= works.
    await expect(connect(wsUrl(g), {})).rejects.toThrow(/401/);
    const browser = await connect(`${wsUrl(g)}?token=${KEY}`, {});
    const stream = await connect(wsUrl(g));
    await until(() => stream.messages.length === 1 && browser.messages.length === 1);
    expect(stream.messages[0]).toMatchObject({ type: 'snapshot', timestamp: new Date(T0).toISOString(), health: { status: 'healthy' } });
    browser.ws.close();

    for (const model of ['gpt-4-turbo-preview', 'gpt-3.5-turbo']) sim.setModel(model, { faults: [{ type: 'error', kind: 'server_error' }] });
    for (const model of ['gpt-4-turbo-preview', 'gpt-3.5-turbo']) {
      for (let i = 0; i < 5; i++) {
        const r = await client.chat.completions.create({ model, messages: [{ role: 'user', content: `Critical request ${i}` }] }, NOW).withResponse();
        expect(r.response.headers.get('x-provider')).toBe('anthropic');
      }
    }
    await settle(g);
    await until(() => stream.types().includes('provider_down') && stream.types().includes('incident_opened'));
    expect(stream.types()).toEqual([
      'snapshot',
      'circuit_opened', 'model_down', 'incident_opened',
      // gpt-3.5-turbo is failing (3 in a row) before its breaker opens: every model unhealthy is the provider down
      'provider_down', 'circuit_opened', 'model_down',
    ]);
    const down = stream.messages.find((m) => m.type === 'provider_down');
    expect(down).toEqual({ type: 'provider_down', timestamp: new Date(T0).toISOString(), provider: 'openai', models: ['gpt-4-turbo-preview', 'gpt-3.5-turbo'], fallback_provider: 'anthropic' });

    const health = (await get('/v1/health')).json();
    expect(health.status).toBe('degraded');
    const openai = health.providers[0];
    expect(openai.status).toBe('down');
    expect(openai.models.map((m: any) => [m.name, m.status, m.healthy, m.circuit_breaker.state, m.last_error.kind, m.next_probe])).toEqual([
      ['gpt-4-turbo-preview', 'down', false, 'open', 'server_error', { kind: 'recovery', at: new Date(T0 + MIN).toISOString() }],
      ['gpt-3.5-turbo', 'down', false, 'open', 'server_error', { kind: 'recovery', at: new Date(T0 + MIN).toISOString() }],
    ]);

    let list = (await get('/v1/incidents?days=30')).json();
    expect(list.incidents).toHaveLength(1);
    const id = list.incidents[0].id;
    expect(list.incidents[0]).toMatchObject({
      status: 'ongoing', timestamp: new Date(T0).toISOString(), duration_minutes: 0, impact: 'outage', severity: 'high', region: 'us-east-1',
      affected_services: ['openai/gpt-4-turbo-preview', 'openai', 'openai/gpt-3.5-turbo'],
    });

    // openai answers again: the recovery probes half-open both breakers a minute later.
    for (const model of ['gpt-4-turbo-preview', 'gpt-3.5-turbo']) sim.setModel(model, { faults: [] });
    clock.increment(MIN);
    await until(() => stream.types().filter((t) => t === 'model_recovered').length === 2);
    // Routable again, but each model still has its failures in a row until a request succeeds.
    expect(stream.types().slice(7).sort()).toEqual(['circuit_half_open', 'circuit_half_open', 'model_recovered', 'model_recovered']);
    expect((await get('/v1/health')).json().providers[0].models.map((m: any) => [m.status, m.circuit_breaker.state])).toEqual([['degraded', 'half_open'], ['degraded', 'half_open']]);
    // Two successful trials each close the breakers (success_threshold 2).
    for (const model of ['gpt-4-turbo-preview', 'gpt-3.5-turbo']) {
      for (let i = 0; i < 2; i++) {
        const r = await client.chat.completions.create({ model, messages: [{ role: 'user', content: 'trial' }] }, NOW).withResponse();
        expect(r.response.headers.get('x-provider')).toBe('openai');
      }
    }
    await until(() => stream.types().includes('provider_recovered'));
    await settle(g);
    // The first success makes openai degraded (one model healthy): recovered from down.
    expect(stream.types().slice(11)).toEqual(['provider_recovered', 'circuit_closed', 'circuit_closed']);
    // Still open: the resolution waits 2 minutes of calm.
    expect((await get(`/v1/incidents/${id}`)).json().status).toBe('ongoing');
    clock.increment(2 * MIN);
    await until(() => stream.types().includes('incident_resolved'));
    await settle(g);
    const inc = (await get(`/v1/incidents/${id}`)).json();
    expect(inc).toMatchObject({
      status: 'resolved', duration_minutes: 1, resolved_at: new Date(T0 + MIN).toISOString(),
      resolution: { routed_to: ['anthropic/claude-3-opus'], requests_rescued: 6 },
    });
    expect(inc.timeline.map((t: any) => t.type).slice(0, 4)).toEqual(['model_down', 'provider_down', 'circuit_opened', 'model_down']);
    expect(inc.timeline.map((t: any) => t.type).slice(4).sort()).toEqual(['circuit_closed', 'circuit_closed', 'circuit_half_open', 'circuit_half_open', 'model_recovered', 'model_recovered', 'provider_recovered', 'resolved']);
    expect(inc.timeline.at(-1)).toMatchObject({ type: 'resolved', at: new Date(T0 + MIN).toISOString() });
    list = (await get('/v1/incidents?days=30')).json();
    expect(list.incidents.map((i: any) => [i.id, i.status])).toEqual([[id, 'resolved']]);
    stream.ws.close();
  });

  it('flapping continues the same incident: down again within the quiet period is a "flap" entry, not a new incident', async () => {
    const clock = new SimulatedClock();
    clock.set(Date.UTC(2025, 8, 14, 3, 0));
    gw = await startTestGateway(base({ resilience: { breaker: { timeout: 3600, error_threshold: 2 }, breaker_probe_interval_ms: MIN, failover: { providers: [] } } }), { clock });
    const g = gw;
    const sim = g.simulator!;
    const client = sdkClient(g, KEY);
    const fail = async () => {
      for (let i = 0; i < 2; i++) await client.chat.completions.create({ model: 'claude-3-opus', messages: [{ role: 'user', content: 'x' }] }, ALONE).catch(() => undefined);
      await settle(g);
    };
    sim.setModel('claude-3-opus', { faults: [{ type: 'error', kind: 'server_error' }] });
    await fail();
    sim.setModel('claude-3-opus', { faults: [] });
    clock.increment(MIN); // probe succeeds: half-open, routable again
    await until(() => g.runtime.targets.byKey('anthropic/claude-3-opus').toJSON().routable);
    await settle(g);
    // a trial request fails: open again, within the quiet period
    sim.setModel('claude-3-opus', { faults: [{ type: 'error', kind: 'server_error' }] });
    await client.chat.completions.create({ model: 'claude-3-opus', messages: [{ role: 'user', content: 'x' }] }, ALONE).catch(() => undefined);
    await settle(g);
    sim.setModel('claude-3-opus', { faults: [] });
    clock.increment(MIN);
    await until(() => g.runtime.targets.byKey('anthropic/claude-3-opus').toJSON().routable);
    // A successful trial makes the model, and with it its provider, healthy again.
    await client.chat.completions.create({ model: 'claude-3-opus', messages: [{ role: 'user', content: 'x' }] }, ALONE);
    await settle(g);
    clock.increment(2 * MIN);
    await settle(g);
    const list = (await get('/v1/incidents?days=1')).json();
    expect(list.incidents).toHaveLength(1);
    const inc = (await get(`/v1/incidents/${list.incidents[0].id}`)).json();
    expect(inc.status).toBe('resolved');
    expect(inc.duration_minutes).toBe(2);
    expect(inc.timeline.filter((t: any) => t.type === 'flap')).toHaveLength(1);
  });
});

describe('GET /v1/uptime: the monthly SLA from a simulated outage', () => {
  it.each([
    [45, 99.896, false, 10],
    [43, 99.9, true, 0],
  ])('one model wholly down %i minutes in a 30-day month: availability %s, SLA met %s, credit %i', async (minutes, availability, met, credit) => {
    const clock = new SimulatedClock();
    const T0 = Date.UTC(2025, 8, 14, 3, 0); // September: 30 days
    clock.set(T0);
    gw = await startTestGateway(
      base({
        providers: [{ name: 'openai', type: 'openai', base_url: 'simulator', models: ['gpt-4-turbo-preview'] }],
        models: {},
        resilience: { failover: { providers: [] }, breaker: { timeout: 3600 }, breaker_probe_interval_ms: MIN },
      }),
      { clock },
    );
    const g = gw;
    const sim = g.simulator!;
    const client = sdkClient(g, KEY);
    sim.setModel('gpt-4-turbo-preview', { faults: [{ type: 'error', kind: 'server_error' }] });
    for (let i = 0; i < 5; i++) await client.chat.completions.create({ model: 'gpt-4-turbo-preview', messages: [{ role: 'user', content: 'x' }] }, ALONE).catch(() => undefined);
    await settle(g);
    // The recovery probe fails every minute until the fault is gone.
    for (let m = 1; m < minutes; m++) {
      clock.increment(MIN);
      // The probe's answer must be back before the clock moves again (else its interval cuts it short).
      await until(() => sim.calls().length === 5 + m && g.runtime.actor('recovery:openai/gpt-4-turbo-preview')?.getSnapshot().value === 'waiting');
    }
    sim.setModel('gpt-4-turbo-preview', { faults: [] });
    clock.increment(MIN);
    await until(() => g.runtime.targets.byKey('openai/gpt-4-turbo-preview').toJSON().routable);
    await settle(g);
    const u = (await get('/v1/uptime?days=30')).json();
    expect(u.sla).toMatchObject({ month: '2025-09', total_minutes: 43_200, downtime_minutes: minutes, availability_percentage: availability, target_percentage: 99.9, met, service_credit_percentage: credit, complete: false });
    expect(u.overall.downtime_minutes).toBe(minutes);
    expect(u.overall.incidents).toBe(1);
    expect(u.providers[0]).toMatchObject({ name: 'openai', downtime_minutes: minutes, incidents: 1 });
    expect(u.providers[0].models[0]).toMatchObject({ key: 'openai/gpt-4-turbo-preview', downtime_minutes: minutes });
    expect(u.models[0]).toMatchObject({ name: 'gpt-4-turbo-preview', downtime_minutes: minutes });
    expect(u.overall.daily.at(-1)).toMatchObject({ date: '2025-09-14', downtime_minutes: minutes, incidents: 1 });
    expect(u.overall.daily).toHaveLength(30);
  });
});

describe('a restart does not forget', () => {
  it('a target down before a restart starts down after it (not one client request sent to it), and its incident stays open', async () => {
    dir = mkdtempSync(join(tmpdir(), 'parrot-health-'));
    const store = { path: join(dir, 'parrot.db') };
    const over = base({ store, resilience: { breaker: { timeout: 3600 } } });
    gw = await startTestGateway(over);
    const sim = gw.simulator!;
    const client = sdkClient(gw, KEY);
    sim.setModel('gpt-4-turbo-preview', { faults: [{ type: 'error', kind: 'server_error' }] });
    for (let i = 0; i < 5; i++) await client.chat.completions.create({ model: 'gpt-4-turbo-preview', messages: [{ role: 'user', content: 'x' }] }, NOW);
    await settle(gw);
    const before = (await get('/v1/incidents')).json().incidents;
    expect(before.map((i: any) => i.status)).toEqual(['ongoing']);
    await gw.close();

    const log: string[] = [];
    gw = await startTestGateway(over, { log: (l) => log.push(l) });
    const h = (await get('/v1/health')).json();
    expect(h.providers[0].models[0]).toMatchObject({ name: 'gpt-4-turbo-preview', status: 'down', circuit_breaker: { state: 'open' } });
    // The operator's log says why it starts open (and a later change starts from open).
    const breakerChanges = log.filter((l) => l.startsWith('{')).map((l) => JSON.parse(l)).filter((c) => c.machine === 'breaker');
    expect(breakerChanges.map((c) => [c.from, c.to, c.event])).toEqual([['closed', 'open', 'RESTORE']]);
    const r = await sdkClient(gw, KEY).chat.completions.create({ model: 'gpt-4-turbo-preview', messages: [{ role: 'user', content: 'x' }] }, NOW).withResponse();
    expect(r.response.headers.get('x-provider')).toBe('anthropic');
    expect(gw.simulator!.calls({ model: 'gpt-4-turbo-preview' })).toHaveLength(0);
    const after = (await get('/v1/incidents')).json().incidents;
    expect(after.map((i: any) => [i.id, i.status])).toEqual([[before[0].id, 'ongoing']]);
  });

  it('45 minutes with the gateway not running count against its SLA: 99.896 %, a 10 % credit', async () => {
    dir = mkdtempSync(join(tmpdir(), 'parrot-health-'));
    const over = base({ store: { path: join(dir, 'parrot.db') } });
    const clock = new SimulatedClock();
    const T0 = Date.UTC(2025, 8, 14, 3, 0);
    clock.set(T0);
    gw = await startTestGateway(over, { clock });
    await gw.close();
    clock.set(T0 + 45 * MIN);
    gw = await startTestGateway(over, { clock });
    await gw.writes.drain();
    const u = (await get('/v1/uptime?days=30')).json();
    expect(u.sla).toMatchObject({ month: '2025-09', downtime_minutes: 45, availability_percentage: 99.896, met: false, service_credit_percentage: 10 });
    expect(u.overall.downtime_minutes).toBe(45);
    // Not a provider's downtime.
    expect(u.providers.map((p: any) => p.downtime_minutes)).toEqual([0, 0, 0]);
    expect((await get('/v1/health')).json().uptime_percentage).toBe(99.896);
  });
});
