import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { request } from 'undici';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { closeServer } from '../helpers/servers.ts';
import { until } from '../helpers/gateway.ts';

// The connectors undici builds through its public buildConnector (a Client builds its own
// through an internal path, which this does not count).
const built = vi.hoisted(() => ({ count: 0 }));
vi.mock('undici', async (importActual) => {
  const actual = await importActual<typeof import('undici')>();
  return {
    ...actual,
    buildConnector: (...args: Parameters<typeof actual.buildConnector>) => {
      built.count++;
      return actual.buildConnector(...args);
    },
  };
});
const { OriginPool } = await import('../../src/providers/origin-pool.ts');

let server: Server | undefined;
let pool: InstanceType<typeof OriginPool> | undefined;
afterEach(async () => {
  await pool?.destroy();
  await closeServer(server);
  server = pool = undefined;
});

describe('OriginPool connector', () => {
  it('builds one connector for the pool and opens every connection with it (not one per connection)', async () => {
    const held: ServerResponse[] = [];
    server = createServer((req, res) => {
      req.resume();
      held.push(res);
    });
    await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    built.count = 0;
    pool = new OriginPool(url, { connections: 3 });
    const calls = ['/a', '/b', '/c'].map((path) => request(`${url}${path}`, { dispatcher: pool }));
    await until(() => held.length === 3);
    expect(built.count).toBe(1);
    for (const res of held) res.end('x');
    await Promise.all(calls.map(async (c) => (await c).body.text()));
  });
});
