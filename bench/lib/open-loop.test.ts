import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { allRequestsPercentile, failureKind, runOpenLoop, type OpenLoopSpec } from './open-loop.ts';

/**
 * A server that answers by path: `/ok` a chat completion, `/stream` an SSE stream ending in
 * [DONE], `/nodone` a stream without it, `/nochoices` a 200 JSON without choices, `/fail` a 500,
 * `/hang` never; `/gather/N` holds every request until N are waiting, then answers them all.
 */
let server: Server;
let origin: string;
let received = 0;
let inFlight = 0;
let maxInFlight = 0;
let gathered: Array<() => void> = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    received++;
    inFlight++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    res.on('close', () => void inFlight--);
    req.resume();
    req.on('end', () => {
      const json = (status: number, body: string): void => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(body);
      };
      const gather = /^\/gather\/(\d+)$/.exec(req.url ?? '');
      if (gather) {
        gathered.push(() => json(200, '{"choices":[]}'));
        if (gathered.length === Number(gather[1])) for (const answer of gathered.splice(0)) answer();
        return;
      }
      switch (req.url) {
        case '/ok':
          return json(200, '{"id":"x","choices":[{"index":0}]}');
        case '/nochoices':
          return json(200, '{"id":"x"}');
        case '/fail':
          return json(500, '{"error":{"message":"boom"}}');
        case '/hang':
          return;
        case '/stream':
        case '/nodone':
          res.writeHead(200, { 'content-type': 'text/event-stream' });
          res.write('data: {"choices":[]}\n\n');
          return void res.end(req.url === '/stream' ? 'data: [DONE]\n\n' : '');
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});
beforeEach(() => {
  received = 0;
  maxInFlight = 0;
  gathered = [];
});

const spec = (path: string, over: Partial<OpenLoopSpec> = {}): OpenLoopSpec => ({
  origin,
  path,
  body: '{"model":"m"}',
  headers: { 'content-type': 'application/json' },
  stream: false,
  rate: 200,
  warmupMs: 0,
  durationMs: 100,
  timeoutMs: 5000,
  maxConnections: 100,
  ...over,
});

describe('allRequestsPercentile', () => {
  it('ranks failures above every answer', () => {
    const answered = Float64Array.of(10, 20, 30);
    expect(allRequestsPercentile(answered, 4, 50)).toBe(20);
    expect(allRequestsPercentile(answered, 4, 75)).toBe(30);
    expect(allRequestsPercentile(answered, 4, 99)).toBeNull();
    expect(allRequestsPercentile(answered, 3, 99.9)).toBe(30);
    expect(allRequestsPercentile(new Float64Array(0), 0, 50)).toBeNull();
  });
});

describe('failureKind', () => {
  it('counts undici timeouts and a destroyed pool as timeouts, else the error code', () => {
    const err = (code: string): Error & { code: string } => Object.assign(new Error('x'), { code });
    expect(failureKind(err('UND_ERR_HEADERS_TIMEOUT'))).toBe('timeout');
    expect(failureKind(err('UND_ERR_BODY_TIMEOUT'))).toBe('timeout');
    expect(failureKind(err('UND_ERR_DESTROYED'))).toBe('timeout');
    expect(failureKind(err('ECONNRESET'))).toBe('ECONNRESET');
    expect(failureKind(new TypeError('x'))).toBe('TypeError');
  });
});

describe('runOpenLoop', () => {
  it('sends rate x (warm-up + window) requests and reports only the window', async () => {
    const r = await runOpenLoop(spec('/ok', { warmupMs: 50, durationMs: 100 }));
    expect(received).toBe(30);
    expect(r.totalSent).toBe(30);
    expect(r.sent).toBe(20);
    expect(r.ok).toBe(20);
    expect(r.failed).toBe(0);
    expect(r.answered.count).toBe(20);
    expect(r.latency.p99).not.toBeNull();
    expect(r.sendLag.count).toBe(20);
    expect(r.ttfb).toBeNull();
  });

  it('keeps sending while nothing is answered (open loop): all 20 requests are in flight at once', async () => {
    // A closed loop would wait for answers that come only once all 20 have arrived.
    const r = await runOpenLoop(spec('/gather/20'));
    expect(r.ok).toBe(20);
    expect(maxInFlight).toBe(20);
    expect(r.peakConnections).toBeLessThanOrEqual(20);
  });

  it('counts a 500 as http_500, a 200 without choices or without [DONE] as incomplete', async () => {
    const fail = await runOpenLoop(spec('/fail', { durationMs: 50 }));
    expect(fail.ok).toBe(0);
    expect(fail.failures).toEqual({ http_500: 10 });
    expect(fail.firstFailure).toBe('HTTP 500: {"error":{"message":"boom"}}');
    expect(fail.latency).toEqual({ p50: null, p99: null, p999: null });

    const noChoices = await runOpenLoop(spec('/nochoices', { durationMs: 50 }));
    expect(noChoices.failures).toEqual({ incomplete_body: 10 });

    const noDone = await runOpenLoop(spec('/nodone', { durationMs: 50, stream: true }));
    expect(noDone.failures).toEqual({ incomplete_body: 10 });
  });

  it('reads a stream to [DONE] and records its first byte', async () => {
    const r = await runOpenLoop(spec('/stream', { durationMs: 50, stream: true }));
    expect(r.ok).toBe(10);
    expect(r.ttfb?.p50).not.toBeNull();
    expect(r.ttfb!.p50!).toBeLessThanOrEqual(r.latency.p50!);
  });

  it('fails a request not answered within the client timeout', async () => {
    const r = await runOpenLoop(spec('/hang', { durationMs: 50, timeoutMs: 200 }));
    expect(r.sent).toBe(10);
    expect(r.failures).toEqual({ timeout: 10 });
    expect(r.ok).toBe(0);
  });
});
