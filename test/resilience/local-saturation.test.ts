import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Agent, request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { SimulatedClock } from 'xstate';
import type { ConfigFile } from '../../src/config/schema.ts';
import { stateChanges, type StateChange } from '../../src/events/state-changes.ts';
import type { RunningGateway } from '../../src/gateway.ts';
import { startTestGateway, until } from '../helpers/gateway.ts';
import { closeServer } from '../helpers/servers.ts';

/**
 * The gateway's own saturation: waiting for a pooled connection is the gateway's limit, never
 * the provider's timeout. On a simulated clock against an upstream the test answers by hand:
 * the TTFT limit counts from when the upstream got the request, a wait past the queue timeout
 * (or past max_in_flight) is a 503 gateway_overloaded that no breaker, model or provider hears
 * of. Then end to end on the real clock: far more concurrent streams than connections to a
 * healthy slow simulator model.
 */

let gw: RunningGateway | undefined;
let client: Agent | undefined;
let upstream: Server | undefined;
afterEach(async () => {
  await client?.close();
  await gw?.close();
  await closeServer(upstream);
  gw = client = upstream = undefined;
});

/** An OpenAI-compatible upstream that holds every request until the test answers it. */
async function heldUpstream(): Promise<{ url: string; held: ServerResponse[] }> {
  const held: ServerResponse[] = [];
  upstream = createServer((req, res) => {
    req.resume();
    held.push(res);
  });
  await new Promise<void>((r) => upstream!.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(upstream.address() as AddressInfo).port}/v1`, held };
}

/** A complete OpenAI stream. */
function answer(res: ServerResponse): void {
  const chunk = (delta: object, finish: string | null = null): string =>
    `data: ${JSON.stringify({ id: 'chatcmpl-1', object: 'chat.completion.chunk', created: 1, model: 'm', choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`;
  res.writeHead(200, { 'content-type': 'text/event-stream' });
  res.end(chunk({ role: 'assistant', content: '' }) + chunk({ content: 'hi' }) + chunk({}, 'stop') + 'data: [DONE]\n\n');
}

/** A streamed chat request to the gateway, read to its end. */
async function ask(url: string): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  const res = await request(`${url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: 'Bearer dev' },
    body: JSON.stringify({ model: 'm', stream: true, messages: [{ role: 'user', content: 'hi' }] }),
  });
  return { status: res.statusCode, headers: res.headers, body: await res.body.text() };
}

/** Resolves after a few real milliseconds: lets real I/O settle between clock steps. */
const settle = (): Promise<void> => new Promise((r) => setTimeout(r, 30));

/** One upstream connection, a 1 s TTFT limit, no failover and no retry: every timeout reaches the client. */
async function setup(provider: Record<string, unknown>, resilience: ConfigFile['resilience'] = {}) {
  const up = await heldUpstream();
  const clock = new SimulatedClock();
  const lines: string[] = [];
  gw = await startTestGateway(
    {
      simulator: { enabled: false },
      providers: [{ name: 'local', type: 'openai-compatible', base_url: up.url, models: ['m'], connections: 1, ...provider }],
      models: {},
      resilience: { failover: { enabled: false }, retry: { max_retries: 0 }, ttft_timeout_ms: 1_000, ...resilience },
    },
    { clock, log: (line) => lines.push(line) },
  );
  const changes: StateChange[] = [];
  stateChanges(gw.hub.transitions$).subscribe((c) => changes.push(c));
  return { gw, clock, held: up.held, lines, changes, target: gw.runtime.targets.byKey('local/m') };
}

const STREAMS = 1_500;
const CONNECTIONS = 64;

/** One streamed request, read to its end: the status, the Retry-After and error code of a refusal, and whether [DONE] came. */
async function stream(url: string, dispatcher: Agent): Promise<{ status: number; code?: string; retryAfter?: string; done: boolean }> {
  const res = await request(`${url}/v1/chat/completions`, {
    method: 'POST',
    dispatcher,
    headers: { 'content-type': 'application/json', authorization: 'Bearer dev' },
    body: JSON.stringify({ model: 'slow', stream: true, messages: [{ role: 'user', content: 'Stream please' }] }),
  });
  const text = await res.body.text();
  if (res.statusCode !== 200) {
    const code = (JSON.parse(text) as { error: { code: string } }).error.code;
    return { status: res.statusCode, code, retryAfter: res.headers['retry-after'] as string | undefined, done: false };
  }
  return { status: 200, done: text.trimEnd().endsWith('data: [DONE]') };
}

describe('waiting for a local connection (simulated clock)', () => {
  it('the TTFT limit counts from when the upstream got the request; a provider timeout after that still counts', async () => {
    const { gw, clock, held, target } = await setup({ queue_timeout_ms: 5_000 });
    const a = ask(gw.url);
    await until(() => held.length === 1);
    let bAnswered = false;
    const b = ask(gw.url).finally(() => (bAnswered = true));
    await until(() => target.local.waiting === 1);
    clock.increment(900);
    answer(held[0]); // A commits at 900 and frees the connection: B gets it at 900
    expect((await a).status).toBe(200);
    await until(() => held.length === 2);
    clock.increment(100); // 1000: B's TTFT would have run out here had its wait counted
    clock.increment(899);
    await settle();
    expect({ bAnswered, failures: target.stats.failures }).toEqual({ bAnswered: false, failures: 0 });
    clock.increment(1); // 1900: B's upstream has had it for 1000 ms
    const res = await b;
    expect([res.status, JSON.parse(res.body).error.code]).toEqual([504, 'upstream_timeout']);
    expect({ requests: target.stats.requests, failures: target.stats.failures }).toEqual({ requests: 2, failures: 1 });
  });

  it('a wait past queue_timeout_ms is a 503 gateway_overloaded with Retry-After, and no breaker, model or provider hears of it', async () => {
    // One counted failure would open this breaker.
    const { gw, clock, held, lines, changes, target } = await setup({ queue_timeout_ms: 5_000 }, { ttft_timeout_ms: 60_000, breaker: { error_threshold: 1 } });
    const a = ask(gw.url);
    await until(() => held.length === 1);
    const b = ask(gw.url);
    await until(() => target.local.waiting === 1);
    clock.increment(4_999);
    await settle();
    expect(target.local.waiting).toBe(1);
    clock.increment(1);
    const res = await b;
    expect({ status: res.status, body: JSON.parse(res.body), retryAfter: res.headers['retry-after'], attempts: res.headers['x-attempts'], circuit: res.headers['x-circuit-status'] }).toEqual({
      status: 503,
      body: {
        error: {
          message: 'The gateway is overloaded: no connection to local/m came free within 5000 ms (queue_timeout_ms). Retry after 1 s.',
          type: 'api_error',
          param: null,
          code: 'gateway_overloaded',
        },
      },
      retryAfter: '1',
      attempts: '0',
      circuit: 'closed',
    });
    answer(held[0]);
    expect((await a).status).toBe(200);
    await settle();
    expect(held).toHaveLength(1); // B never reached the upstream
    expect(changes).toEqual([]);
    expect({ requests: target.stats.requests, failures: target.stats.failures }).toEqual({ requests: 1, failures: 0 });
    expect({ refusedWait: target.local.refusedWait, inFlight: target.local.inFlight, waiting: target.local.waiting }).toEqual({ refusedWait: 1, inFlight: 0, waiting: 0 });
    expect(lines.map((l) => JSON.parse(l) as Record<string, unknown>).map(({ at: _at, ...rest }) => rest)).toEqual([
      { event: 'local_limit', target: 'local/m', in_flight_limit: 0, wait_limit: 1, local_resources: 0, in_flight: 2, waiting: 1, max_in_flight: 10_000 },
    ]);
  });

  it('a call over max_in_flight is refused at once with the same 503, and reaches no upstream', async () => {
    const { gw, held, changes, target } = await setup({ max_in_flight: 1 }, { breaker: { error_threshold: 1 } });
    const a = ask(gw.url);
    await until(() => held.length === 1);
    const res = await ask(gw.url);
    expect([res.status, JSON.parse(res.body).error.code, res.headers['retry-after']]).toEqual([503, 'gateway_overloaded', '1']);
    expect(JSON.parse(res.body).error.message).toBe('The gateway is overloaded: local/m is at its max_in_flight of 1 calls. Retry after 1 s.');
    answer(held[0]);
    expect((await a).status).toBe(200);
    expect(held).toHaveLength(1);
    expect(changes).toEqual([]);
    expect({ refusedInFlight: target.local.refusedInFlight, failures: target.stats.failures }).toEqual({ refusedInFlight: 1, failures: 0 });
  });
});

describe('health probes under local saturation', () => {
  it('a probe does not wait behind the pool: it reaches the provider while requests hold every connection', async () => {
    const { gw, clock, held, target } = await setup({ models: ['m', 'm2'], queue_timeout_ms: 60_000 }, { ttft_timeout_ms: 60_000, attempt_timeout_ms: 60_000 });
    const failover = JSON.stringify({
      primary: { provider: 'local', model: 'm' },
      fallbacks: [{ trigger: 'any_error', provider: 'local', model: 'm2' }],
      health_check_interval: 1,
      failure_threshold: 1,
      success_threshold: 1,
    });
    // This request starts the target's prober and holds the one pooled connection.
    const a = request(`${gw.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer dev', 'x-failover-config': failover },
      body: JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 'hi' }] }),
    });
    await until(() => held.length === 1);
    clock.increment(1_000); // the first probes, of local/m and local/m2
    await until(() => held.length === 3);
    for (const res of held.slice(1)) {
      res.writeHead(200, { 'content-type': 'application/json' }).end(
        JSON.stringify({ id: 'p', object: 'chat.completion', created: 1, model: 'm', choices: [{ index: 0, message: { role: 'assistant', content: 'pong' }, finish_reason: 'stop' }] }),
      );
    }
    await settle();
    clock.increment(1_000); // a probe still waiting here would count as failed
    await settle();
    expect([target.unhealthy, gw.runtime.targets.byKey('local/m2').unhealthy]).toEqual([false, false]);
    expect(target.local.inFlight).toBe(1); // the probe is no call of the pool
    held[0].writeHead(200, { 'content-type': 'application/json' }).end(
      JSON.stringify({ id: 'a', object: 'chat.completion', created: 1, model: 'm', choices: [{ index: 0, message: { role: 'assistant', content: 'hi' }, finish_reason: 'stop' }] }),
    );
    expect((await a).statusCode).toBe(200);
  });
});

describe('a local limit beside a half-open breaker', () => {
  it('is answered as the gateway\'s limit, not as the breaker\'s circuit_open', async () => {
    const { gw, clock, held, target } = await setup(
      { max_in_flight: 2, connections: 2 },
      { ttft_timeout_ms: 60_000, breaker: { error_threshold: 1, timeout: 1, half_open_requests: 2 } },
    );
    const a = ask(gw.url);
    await until(() => held.length === 1);
    const failing = ask(gw.url);
    await until(() => held.length === 2);
    held[1].writeHead(500, { 'content-type': 'application/json' }).end('{"error":{"message":"boom","type":"server_error","param":null,"code":null}}');
    expect((await failing).status).toBe(502);
    expect(target.breakers.default.getSnapshot().value).toBe('open');
    clock.increment(1_000);
    expect(target.breakers.default.getSnapshot().value).toBe('half_open');
    const trial = ask(gw.url); // a trial, in flight beside A: the target is at its max_in_flight
    await until(() => held.length === 3);
    const res = await ask(gw.url);
    expect([res.status, JSON.parse(res.body).error.code, res.headers['x-circuit-status']]).toEqual([503, 'gateway_overloaded', 'half_open']);
    answer(held[0]);
    answer(held[2]);
    expect([(await a).status, (await trial).status]).toEqual([200, 200]);
  });
});

describe('local saturation (real clock)', () => {
  it(`${STREAMS} concurrent streams over ${CONNECTIONS} connections to a healthy slow model: no breaker moves, each stream is served or refused with gateway_overloaded`, async () => {
    // ~1 s per stream (50 ms to the first token, then 20 tokens at 20/s): the pool serves
    // about 64 streams a second, so most requests wait for a connection longer than the 3 s
    // time-to-first-token limit, and the ones still waiting after 5 s are refused.
    const config: Partial<ConfigFile> = {
      simulator: { enabled: true, models: { slow: { latency: { type: 'fixed', ms: 50 }, tokens_per_second: 20, completion_tokens: 20 } } },
      providers: [{ name: 'openai', type: 'openai', base_url: 'simulator', models: ['slow'], connections: CONNECTIONS, queue_timeout_ms: 5_000 }],
      models: {},
      resilience: { failover: { enabled: false }, ttft_timeout_ms: 3_000 },
    };
    gw = await startTestGateway(config);
    const changes: StateChange[] = [];
    const sub = stateChanges(gw.hub.transitions$).subscribe((c) => changes.push(c));
    client = new Agent({ connections: STREAMS });

    const t0 = Date.now();
    const results = await Promise.all(Array.from({ length: STREAMS }, () => stream(gw!.url, client!)));
    sub.unsubscribe();

    const tally = new Map<string, number>();
    for (const r of results) {
      const key = r.status === 200 ? `200 ${r.done ? 'complete' : 'cut'}` : `${r.status} ${r.code} retry-after=${r.retryAfter}`;
      tally.set(key, (tally.get(key) ?? 0) + 1);
    }
    const served = tally.get('200 complete') ?? 0;
    const refused = tally.get('503 gateway_overloaded retry-after=1') ?? 0;
    expect({ changes, other: [...tally].filter(([k]) => k !== '200 complete' && k !== '503 gateway_overloaded retry-after=1') }).toEqual({ changes: [], other: [] });
    expect(served + refused).toBe(STREAMS);
    // Both happened: streams that waited past the 3 s TTFT limit were served, the rest refused.
    expect(served).toBeGreaterThan(3 * CONNECTIONS);
    expect(refused).toBeGreaterThan(0);
    const target = gw.runtime.targets.byKey('openai/slow');
    expect(target.breakers.default.getSnapshot().value).toBe('closed');
    // The refusals are the gateway's own, counted for metrics; every call was accounted for.
    console.log(JSON.stringify({ tally: Object.fromEntries(tally), ms: Date.now() - t0 }));
    expect({ refusedWait: target.local.refusedWait, refusedInFlight: target.local.refusedInFlight, inFlight: target.local.inFlight, waiting: target.local.waiting }).toEqual({
      refusedWait: refused,
      refusedInFlight: 0,
      inFlight: 0,
      waiting: 0,
    });
    expect(target.stats.failures).toBe(0);
  }, 60_000);
});
