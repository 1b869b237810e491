import WebSocket from 'ws';
import { afterEach, describe, expect, it } from 'vitest';
import type { RunningGateway } from '../../src/gateway.ts';
import { startTestGateway, until } from '../helpers/gateway.ts';

let gw: RunningGateway | undefined;
const sockets: WebSocket[] = [];
afterEach(async () => {
  for (const ws of sockets) ws.terminate();
  sockets.length = 0;
  await gw?.close();
  gw = undefined;
});

interface Msg {
  type: string;
  actors?: Array<{ systemId: string | null; machine: string; state: unknown }>;
  t?: { actorId: string; systemId: string | null; machine: string; from: unknown; to: unknown; event: string; context: { payload?: string; attempts?: Array<{ provider: string; ok: boolean }> } };
}

function open(url: string, headers: Record<string, string> = {}): Promise<{ ws: WebSocket; msgs: Msg[]; closed: Promise<number> }> {
  const ws = new WebSocket(url.replace('http', 'ws') + '/visualizer/ws', { headers });
  sockets.push(ws);
  const msgs: Msg[] = [];
  ws.on('message', (d) => msgs.push(JSON.parse(String(d)) as Msg));
  const closed = new Promise<number>((r) => ws.on('close', (code) => r(code)));
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve({ ws, msgs, closed }));
    ws.once('error', reject);
  });
}

const chat = () =>
  fetch(`${gw!.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'gemini-pro', messages: [{ role: 'user', content: 'hi' }] }) }).then((r) => r.text());

describe('the visualizer feed', () => {
  it('greets a viewer with every long-lived actor and its state, then streams each request flow as it moves', async () => {
    gw = await startTestGateway();
    const { msgs } = await open(gw.url);
    await until(() => msgs.length > 0);
    const hello = msgs[0];
    expect(hello.type).toBe('hello');
    const ids = hello.actors!.map((a) => a.systemId).sort();
    expect(ids).toEqual([
      'breaker:anthropic/claude-3-opus#5:60000:30000:3:2::-',
      'breaker:google/gemini-pro#5:60000:30000:3:2::-',
      'breaker:openai/gpt-3.5-turbo#5:60000:30000:3:2::-',
      'breaker:openai/gpt-4-turbo-preview#5:60000:30000:3:2::-',
      'degraded',
      'model:anthropic/claude-3-opus',
      'model:google/gemini-pro',
      'model:openai/gpt-3.5-turbo',
      'model:openai/gpt-4-turbo-preview',
      'provider:anthropic',
      'provider:google',
      'provider:openai',
    ]);
    expect(hello.actors!.find((a) => a.systemId === 'provider:openai')).toMatchObject({ machine: 'provider', state: 'healthy' });
    await chat();
    await until(() => msgs.some((m) => m.t?.machine === 'failover' && m.t.to === 'succeeded'));
    const flow = msgs.filter((m) => m.t?.machine === 'failover').map((m) => [m.t!.event, m.t!.from ?? null, m.t!.to]);
    expect(flow).toEqual([
      ['xstate.init', null, 'attempting'],
      ['xstate.done.actor.attempt', 'attempting', 'succeeded'],
    ]);
    const last = msgs.filter((m) => m.t?.machine === 'failover').at(-1)!.t!;
    expect(last.context.payload).toMatch(/^req_/);
    expect(last.context.attempts).toMatchObject([{ provider: 'google', ok: true }]);
    // Only drawn machines are fed: no promise actors (attempts).
    expect(msgs.filter((m) => m.t && !['failover', 'breaker', 'model', 'provider', 'recoveryProbe', 'healthProbe', 'gateway'].includes(m.t.machine))).toEqual([]);
  });

  it("each transition carries its event's scalar fields: why a breaker counted a failure", async () => {
    gw = await startTestGateway({ chaos: { enabled: true } });
    const { msgs } = await open(gw.url);
    await until(() => msgs.length > 0);
    gw.chaos!.add({ target: 'google/gemini-pro', fault: 'server_error', requests: 1 });
    await chat();
    await until(() => msgs.some((m) => m.t?.machine === 'breaker' && m.t.systemId?.startsWith('breaker:google/') === true));
    const outcome = msgs.find((m) => m.t?.machine === 'breaker' && m.t.systemId?.startsWith('breaker:google/'))!.t as unknown as { event: string; payload: Record<string, unknown> };
    expect(outcome.event).toBe('OUTCOME');
    expect(outcome.payload).toMatchObject({ ok: false, kind: 'server_error' });
  });

  it('request actors are inspected only while a viewer is connected', async () => {
    gw = await startTestGateway();
    expect(gw.hub.requestInspector).toBeUndefined();
    const a = await open(gw.url);
    const b = await open(gw.url);
    await until(() => a.msgs.length > 0 && b.msgs.length > 0);
    expect(gw.hub.requestInspector).toBeDefined();
    a.ws.close();
    await a.closed;
    expect(gw.hub.requestInspector).toBeDefined();
    b.ws.close();
    await b.closed;
    await until(() => gw!.hub.requestInspector === undefined);
    await chat();
    expect(gw.hub.requestInspector).toBeUndefined();
  });

  it('needs an admin key: a header, or the first message from a browser; a wrong key is closed with 4403', async () => {
    gw = await startTestGateway({ auth: { keys: ['user-key'], admin_keys: ['admin-key'] } });
    const byHeader = await open(gw.url, { authorization: 'Bearer admin-key' });
    await until(() => byHeader.msgs.length > 0);
    expect(byHeader.msgs[0].type).toBe('hello');
    const byMessage = await open(gw.url);
    byMessage.ws.send(JSON.stringify({ key: 'admin-key' }));
    await until(() => byMessage.msgs.length > 0);
    expect(byMessage.msgs[0].type).toBe('hello');
    const wrong = await open(gw.url);
    wrong.ws.send(JSON.stringify({ key: 'user-key' }));
    expect(await wrong.closed).toBe(4403);
    expect(wrong.msgs).toEqual([]);
    const api = await fetch(`${gw.url}/visualizer/api/charts`, { headers: { authorization: 'Bearer user-key' } });
    expect(api.status).toBe(403);
  });

  it('serves its pages and elkjs from the package, with no outside address in them', async () => {
    gw = await startTestGateway();
    for (const path of ['/visualizer', '/visualizer/app.js', '/visualizer/chart.js', '/visualizer/style.css', '/visualizer/vendor/elk.bundled.js', '/status', '/status/status.js']) {
      const res = await fetch(`${gw.url}${path}`);
      expect(res.status, path).toBe(200);
      const text = await res.text();
      if (!path.includes('elk')) expect(text, path).not.toMatch(/(src|href)=["']https?:/);
    }
    const ws = await fetch(`${gw.url}/v1/health/stream`, { headers: { connection: 'upgrade', upgrade: 'websocket', 'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==', 'sec-websocket-version': '13' } }).catch((e: Error) => e);
    // A WebSocket path nobody serves is refused at once (not left hanging).
    expect(ws instanceof Error ? 'refused' : ws.status).not.toBe(101);
  });
});
