import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { buildConnector, request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { OriginPool } from '../../src/providers/origin-pool.ts';
import { closeServer } from '../helpers/servers.ts';

/**
 * The transport's per-origin pool: free connections on a stack (a call's cost does not depend
 * on the calls in flight), at most `connections` of them, FIFO beyond, and an aborted waiting
 * call leaves the queue at once. Against a real server that holds requests until answered.
 */
let server: Server | undefined;
let pool: OriginPool | undefined;
afterEach(async () => {
  await pool?.destroy();
  await closeServer(server);
  server = pool = undefined;
});

async function holding(): Promise<{ url: string; held: { path: string; res: ServerResponse }[]; sockets: () => number }> {
  const held: { path: string; res: ServerResponse }[] = [];
  let sockets = 0;
  server = createServer((req, res) => {
    req.resume();
    held.push({ path: req.url ?? '', res });
  });
  server.on('connection', () => sockets++);
  await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, held, sockets: () => sockets };
}

const until = async (cond: () => boolean): Promise<void> => {
  const deadline = Date.now() + 5_000;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`not met: ${cond.toString()}`);
    await new Promise((r) => setTimeout(r, 1));
  }
};

describe('OriginPool', () => {
  it('opens at most `connections`, queues the rest in order, and reuses a freed connection', async () => {
    const up = await holding();
    pool = new OriginPool(up.url, { connections: 2, keepAliveTimeout: 10_000 });
    const calls = ['/a', '/b', '/c', '/d'].map((path) => request(`${up.url}${path}`, { dispatcher: pool }).then(async (r) => `${path} ${await r.body.text()}`));
    await until(() => up.held.length === 2);
    expect({ paths: up.held.map((h) => h.path), size: pool.size, queued: pool.queued }).toEqual({ paths: ['/a', '/b'], size: 2, queued: 2 });
    up.held[1].res.end('ok');
    await until(() => up.held.length === 3);
    expect(up.held[2].path).toBe('/c');
    for (const h of up.held.slice(0, 1).concat(up.held.slice(2))) h.res.end('ok');
    await until(() => up.held.length === 4);
    up.held[3].res.end('ok');
    expect(await Promise.all(calls)).toEqual(['/a ok', '/b ok', '/c ok', '/d ok']);
    expect({ sockets: up.sockets(), size: pool.size, queued: pool.queued }).toEqual({ sockets: 2, size: 2, queued: 0 });
  });

  it('an aborted waiting call leaves the queue at once, without waiting for a connection', async () => {
    const up = await holding();
    pool = new OriginPool(up.url, { connections: 1, keepAliveTimeout: 10_000 });
    const a = request(`${up.url}/a`, { dispatcher: pool });
    await until(() => up.held.length === 1);
    const ac = new AbortController();
    const b = request(`${up.url}/b`, { dispatcher: pool, signal: ac.signal });
    expect(pool.queued).toBe(1);
    ac.abort(new Error('wait limit'));
    await expect(b).rejects.toThrow('wait limit');
    expect(pool.queued).toBe(0);
    up.held[0].res.end('a');
    expect(await (await a).body.text()).toBe('a');
    const c = request(`${up.url}/c`, { dispatcher: pool });
    await until(() => up.held.length === 2);
    up.held[1].res.end('c');
    expect(await (await c).body.text()).toBe('c');
    expect(up.held.map((h) => h.path)).toEqual(['/a', '/c']);
  });

  it('without a cap it opens a connection for every call in flight', async () => {
    const up = await holding();
    pool = new OriginPool(up.url, { connections: null, keepAliveTimeout: 10_000 });
    const calls = Array.from({ length: 50 }, (_, i) => request(`${up.url}/${i}`, { dispatcher: pool }));
    await until(() => up.held.length === 50);
    expect({ size: pool.size, queued: pool.queued, sockets: up.sockets() }).toEqual({ size: 50, queued: 0, sockets: 50 });
    for (const h of up.held) h.res.end('x');
    await Promise.all(calls.map(async (c) => (await c).body.text()));
  });

  it('a connector given to the pool opens every connection (the pool passes one connector to all its clients)', async () => {
    const up = await holding();
    const connectTo: string[] = [];
    const base = buildConnector({});
    const connect: buildConnector.connector = (opts, cb) => {
      connectTo.push(`${opts.hostname}:${opts.port}`);
      base(opts, cb);
    };
    pool = new OriginPool(up.url, { connections: 3, connect });
    const calls = ['/a', '/b', '/c'].map((path) => request(`${up.url}${path}`, { dispatcher: pool }));
    await until(() => up.held.length === 3);
    const hostPort = new URL(up.url).host;
    expect(connectTo).toEqual([hostPort, hostPort, hostPort]);
    for (const h of up.held) h.res.end('x');
    await Promise.all(calls.map(async (c) => (await c).body.text()));
  });
});
