import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { SimulatedClock } from 'xstate';
import type { RunningGateway } from '../../src/gateway.ts';
import { SLOW_CLIENT_CLOSE } from '../../src/health/stream.ts';
import { startTestGateway, until } from '../helpers/gateway.ts';

/** WS /v1/health/stream's heartbeats and its protection against clients that do not read. */

const KEY = 'your-api-key';
let gw: RunningGateway | undefined;
afterEach(async () => {
  await gw?.close();
  gw = undefined;
});

function open(url: string): Promise<{ ws: WebSocket; messages: any[] }> {
  const ws = new WebSocket(url, { headers: { authorization: `Bearer ${KEY}` } });
  const messages: any[] = [];
  ws.on('message', (m) => messages.push(JSON.parse(String(m))));
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve({ ws, messages }));
    ws.once('error', reject);
  });
}

describe('WS /v1/health/stream', () => {
  it('sends a heartbeat every health.heartbeat_interval_ms of the gateway clock', async () => {
    const clock = new SimulatedClock();
    clock.set(Date.UTC(2025, 0, 1));
    gw = await startTestGateway({ auth: { keys: [KEY] }, health: { heartbeat_interval_ms: 15_000 } }, { clock });
    const c = await open(`${gw.url.replace('http', 'ws')}/v1/health/stream`);
    await until(() => c.messages.length === 1);
    clock.increment(14_999);
    await new Promise((r) => setTimeout(r, 20));
    expect(c.messages.map((m) => m.type)).toEqual(['snapshot']);
    clock.increment(1);
    await until(() => c.messages.length === 2);
    expect(c.messages[1]).toEqual({ type: 'heartbeat', timestamp: '2025-01-01T00:00:15.000Z', clients: 1 });
    clock.increment(15_000);
    await until(() => c.messages.length === 3);
    c.ws.close();
  });

  it('a client that stops reading is closed with 1008 once its unsent data passes the limit; a reading client gets everything', async () => {
    gw = await startTestGateway({ auth: { keys: [KEY] }, health: { stream_buffer_bytes: 64 * 1024 } });
    const url = `${gw.url.replace('http', 'ws')}/v1/health/stream`;
    const slow = await open(url);
    const fast = await open(url);
    await until(() => slow.messages.length === 1 && fast.messages.length === 1);
    let closed: [number, string] | undefined;
    slow.ws.on('close', (code, reason) => (closed = [code, String(reason)]));
    (slow.ws as unknown as { _socket: { pause(): void; resume(): void } })._socket.pause();
    const EVENTS = 2_000;
    const state = 'x'.repeat(10_000);
    // 20 MB to each client, far past what the kernel buffers for a paused reader, 200 KB a turn of the event loop.
    for (let i = 0; i < EVENTS; i++) {
      gw.monitor.publish({ type: 'degraded_mode_entered', timestamp: new Date().toISOString(), state });
      if (i % 20 === 19) await new Promise((r) => setImmediate(r));
    }
    expect(gw.healthStream.clients).toBe(1);
    // Reading again within the grace period, the slow client gets the close frame after what was sent.
    (slow.ws as unknown as { _socket: { resume(): void } })._socket.resume();
    const events = (c: { messages: any[] }) => c.messages.filter((m) => m.type === 'degraded_mode_entered').length;
    await until(() => events(fast) === EVENTS, 10_000);
    await until(() => closed !== undefined, 10_000);
    expect(closed).toEqual([SLOW_CLIENT_CLOSE.code, SLOW_CLIENT_CLOSE.reason]);
    expect(events(slow)).toBeLessThan(EVENTS);
    fast.ws.close();
  });
});
