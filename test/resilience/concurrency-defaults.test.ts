import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Agent, request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import type { ConfigFile } from '../../src/config/schema.ts';
import { stateChanges, type StateChange } from '../../src/events/state-changes.ts';
import type { RunningGateway } from '../../src/gateway.ts';
import { startTestGateway, until } from '../helpers/gateway.ts';
import { closeServer } from '../helpers/servers.ts';

/**
 * Concurrency by default: LLM answers are long, so a gateway at an ordinary rate holds
 * thousands of requests at once. With the default config every one of them must reach the
 * upstream at once (no pool queue, no local refusal), and only past the documented admission
 * limit (server.max_in_flight) is a request refused: 503 gateway_overloaded with Retry-After,
 * before any upstream call, held against no breaker.
 *
 * HELD requests are held open at once (half streaming). Each costs four sockets in this one
 * process (client, gateway in, gateway out, upstream in), so the default stays well inside a
 * 20,000-file limit; PARROT_TEST_IN_FLIGHT raises it where the limit allows. The 10,000 figure
 * is measured across processes by bench/inflight.ts.
 */
const HELD = Number(process.env.PARROT_TEST_IN_FLIGHT ?? 1_000);

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
async function heldUpstream(): Promise<{ url: string; held: { res: ServerResponse; stream: boolean }[] }> {
  const held: { res: ServerResponse; stream: boolean }[] = [];
  upstream = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (body += c));
    req.on('end', () => held.push({ res, stream: (JSON.parse(body) as { stream?: boolean }).stream === true }));
  });
  upstream.maxConnections = Infinity;
  await new Promise<void>((r) => upstream!.listen({ port: 0, host: '127.0.0.1', backlog: 4096 }, r));
  return { url: `http://127.0.0.1:${(upstream.address() as AddressInfo).port}/v1`, held };
}

function answer(h: { res: ServerResponse; stream: boolean }): void {
  if (!h.stream) {
    h.res.writeHead(200, { 'content-type': 'application/json' }).end(
      JSON.stringify({ id: 'c', object: 'chat.completion', created: 1, model: 'm', choices: [{ index: 0, message: { role: 'assistant', content: 'hi' }, finish_reason: 'stop' }] }),
    );
    return;
  }
  const chunk = (delta: object, finish: string | null = null): string =>
    `data: ${JSON.stringify({ id: 'c', object: 'chat.completion.chunk', created: 1, model: 'm', choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`;
  h.res.writeHead(200, { 'content-type': 'text/event-stream' });
  h.res.end(chunk({ role: 'assistant', content: '' }) + chunk({ content: 'hi' }) + chunk({}, 'stop') + 'data: [DONE]\n\n');
}

/** The default config with one provider on the held upstream (nothing else set: its pool and limits are the defaults). */
async function setup(server: ConfigFile['server'] = {}) {
  const up = await heldUpstream();
  gw = await startTestGateway({
    server: { host: '127.0.0.1', port: 0, ...server },
    simulator: { enabled: false },
    providers: [{ name: 'local', type: 'openai', base_url: up.url, models: ['m'] }],
    models: {},
    resilience: {},
  });
  // The client may open as many connections as it likes: the limits under test are the gateway's.
  client = new Agent({ connections: null, keepAliveTimeout: 60_000 });
  const changes: StateChange[] = [];
  stateChanges(gw.hub.transitions$).subscribe((c) => changes.push(c));
  return { gw, held: up.held, changes, target: gw.runtime.targets.byKey('local/m') };
}

async function ask(url: string, stream: boolean): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  const res = await request(`${url}/v1/chat/completions`, {
    method: 'POST',
    dispatcher: client,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'm', stream, messages: [{ role: 'user', content: 'hi' }] }),
  });
  return { status: res.statusCode, headers: res.headers, body: await res.body.text() };
}

describe('concurrency with the default config', () => {
  it(`holds ${HELD} requests in flight at once (half streaming), every one at the upstream together, none refused`, async () => {
    const { gw, held, changes, target } = await setup();
    const answers = Array.from({ length: HELD }, (_, i) => ask(gw.url, i % 2 === 0));
    // Every request reaches the upstream while none is answered: nothing waits in a local queue.
    await until(() => held.length === HELD, 100_000);
    expect({ held: held.length, inFlight: target.local.inFlight, waiting: target.local.waiting, admitted: gw.admission.inFlight }).toEqual({
      held: HELD,
      inFlight: HELD,
      waiting: 0,
      admitted: HELD,
    });
    for (const h of held) answer(h);
    const results = await Promise.all(answers);
    const byStatus = new Map<number, number>();
    for (const r of results) byStatus.set(r.status, (byStatus.get(r.status) ?? 0) + 1);
    expect(Object.fromEntries(byStatus)).toEqual({ 200: HELD });
    expect(results.filter((r, i) => i % 2 === 0 && !r.body.trimEnd().endsWith('data: [DONE]'))).toEqual([]);
    expect({ refusedInFlight: target.local.refusedInFlight, refusedWait: target.local.refusedWait, refused: gw.admission.refused, admitted: gw.admission.inFlight }).toEqual({
      refusedInFlight: 0,
      refusedWait: 0,
      refused: 0,
      admitted: 0,
    });
    expect(changes).toEqual([]);
  }, 150_000);

  it('past server.max_in_flight a request is refused at once: 503 gateway_overloaded, Retry-After, no upstream call, no breaker', async () => {
    const { gw, held, changes, target } = await setup({ max_in_flight: 3 });
    const first = [ask(gw.url, true), ask(gw.url, false), ask(gw.url, true)];
    await until(() => held.length === 3);
    const refused = await ask(gw.url, true);
    expect({ status: refused.status, retryAfter: refused.headers['retry-after'], body: JSON.parse(refused.body) }).toEqual({
      status: 503,
      retryAfter: '1',
      body: {
        error: {
          message: 'The gateway is overloaded: it holds 3 requests at once (server.max_in_flight). Retry after 1 s.',
          type: 'api_error',
          param: null,
          code: 'gateway_overloaded',
        },
      },
    });
    expect({ held: held.length, refused: gw.admission.refused, admitted: gw.admission.inFlight, requests: target.stats.requests }).toEqual({ held: 3, refused: 1, admitted: 3, requests: 0 });
    // A stream holds its place until it ends; once one answer is written, the next request is admitted.
    answer(held[0]);
    expect((await first[0]).status).toBe(200);
    await until(() => gw.admission.inFlight === 2);
    const next = ask(gw.url, false);
    await until(() => held.length === 4);
    for (const h of held.slice(1)) answer(h);
    expect((await Promise.all([...first.slice(1), next])).map((r) => r.status)).toEqual([200, 200, 200]);
    expect(changes).toEqual([]);
    expect({ failures: target.stats.failures, refusedInFlight: target.local.refusedInFlight }).toEqual({ failures: 0, refusedInFlight: 0 });
  });
});
