import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeClients, openClients, runCountedLoad, runInterleavedLoad, runTimedLoad, type Target } from './load.ts';

/**
 * A server that counts requests and the most it ever had in flight. `/barrier/N` holds every
 * request until N are waiting (or 300 ms pass), so N concurrent connections must show up as
 * exactly N in flight. `/stream` sends two chunks 100 ms apart.
 */
let server: Server;
let origin: string;
let inFlight = 0;
let maxInFlight = 0;
let received = 0;
let waiting: Array<() => void> = [];
let barrierTimer: NodeJS.Timeout | undefined;

function releaseAll(): void {
  clearTimeout(barrierTimer);
  const all = waiting;
  waiting = [];
  for (const answer of all) answer();
}

beforeAll(async () => {
  server = createServer((req, res) => {
    received++;
    inFlight++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    req.resume();
    req.on('end', () => {
      const done = (): void => {
        inFlight--;
      };
      if (req.url === '/stream') {
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        res.write('data: first\n\n');
        setTimeout(() => {
          done();
          res.end('data: [DONE]\n\n');
        }, 100);
        return;
      }
      const answer = (): void => {
        done();
        res.writeHead(req.url === '/fail' ? 500 : 200, { 'content-type': 'application/json' });
        res.end('{}');
      };
      const barrier = /^\/barrier\/(\d+)$/.exec(req.url ?? '');
      if (!barrier) return void setImmediate(answer);
      waiting.push(answer);
      if (waiting.length >= Number(barrier[1])) releaseAll();
      else if (waiting.length === 1) barrierTimer = setTimeout(releaseAll, 300);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

const target = (path: string): Target => ({ origin, path, body: '{}', headers: { 'content-type': 'application/json' } });

describe('runCountedLoad', () => {
  it('sends exactly `count` requests, never more in flight than connections', async () => {
    received = 0;
    maxInFlight = 0;
    const clients = openClients(origin, 4);
    try {
      const r = await runCountedLoad(clients, target('/barrier/4'), 100, 10_000);
      expect(r).toMatchObject({ ok: 100, errors: 0, firstError: null, timedOut: false });
      expect(received).toBe(100);
      expect(maxInFlight).toBe(4);
    } finally {
      await closeClients(clients);
    }
  });

  it('counts non-200 answers as errors with the first status', async () => {
    const clients = openClients(origin, 2);
    try {
      const r = await runCountedLoad(clients, target('/fail'), 5, 10_000);
      expect(r).toMatchObject({ ok: 0, errors: 5, firstError: 'HTTP 500' });
    } finally {
      await closeClients(clients);
    }
  });
});

describe('runTimedLoad', () => {
  it('keeps exactly `connections` requests in flight and opens then closes its window once each', async () => {
    maxInFlight = 0;
    const events: string[] = [];
    const r = await runTimedLoad(
      { ...target('/barrier/3'), stream: false, connections: 3, warmupMs: 30, durationMs: 150, maxSamples: 1_000_000 },
      { onOpen: () => events.push('open'), onClose: () => events.push('close') },
    );
    expect(events).toEqual(['open', 'close']);
    expect(maxInFlight).toBe(3);
    expect(r.errors).toBe(0);
    expect(r.completed).toBeGreaterThan(0);
    expect(r.latency.count).toBe(r.completed);
    expect(r.ttfb).toBeNull();
    expect(r.rps).toBeCloseTo((r.completed * 1000) / r.windowMs, 6);
  });

  it('measures time to first byte separately from the whole streamed response', async () => {
    const r = await runTimedLoad({ ...target('/stream'), stream: true, connections: 1, warmupMs: 0, durationMs: 350, maxSamples: 1_000_000 });
    expect(r.completed).toBeGreaterThan(0);
    expect(r.latency.p50).toBeGreaterThanOrEqual(99);
    expect(r.ttfb!.p50).toBeLessThan(r.latency.p50);
    expect(r.ttfb!.count).toBe(r.completed);
  });

  it('closes the window early when the sample bound is reached', async () => {
    const r = await runTimedLoad({ ...target('/'), stream: false, connections: 2, warmupMs: 0, durationMs: 10_000, maxSamples: 20 });
    expect(r.completed).toBe(20);
    expect(r.windowMs).toBeLessThan(10_000);
  });
});

describe('runInterleavedLoad', () => {
  it('alternates the targets round by round and sums each target\'s windows', async () => {
    const events: string[] = [];
    const results = await runInterleavedLoad(
      { targets: [target('/'), target('/stream')], stream: true, connections: 1, warmupMs: 20, roundWarmupMs: 10, rounds: 3, durationMs: 450, maxSamples: 1_000_000 },
      { onOpen: (i) => events.push(`open ${i}`), onClose: (i) => events.push(`close ${i}`) },
    );
    expect(events).toEqual(['open 0', 'close 0', 'open 1', 'close 1', 'open 0', 'close 0', 'open 1', 'close 1', 'open 0', 'close 0', 'open 1', 'close 1']);
    expect(results[0].windowMs).toBeCloseTo(450, 6);
    expect(results[1].windowMs).toBeCloseTo(450, 6);
    // Target 1 streams two chunks 100 ms apart: every one of its responses takes >= 99 ms.
    expect(results[1].latency.p50).toBeGreaterThanOrEqual(99);
    expect(results[0].latency.p50).toBeLessThan(99);
    expect(results.map((r) => r.errors)).toEqual([0, 0]);
  });
});
