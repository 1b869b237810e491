import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningGateway } from '../../src/gateway.ts';
import { startGateway } from '../../src/gateway.ts';
import { configFromObject } from '../../src/config/load.ts';
import { ConfigError } from '../../src/config/load.ts';
import { sdkClient, startTestGateway, until } from '../helpers/gateway.ts';

async function json(res: Response): Promise<unknown> {
  return JSON.parse(await res.text());
}

describe('the HTTP API with keys configured', () => {
  let gw: RunningGateway;
  beforeAll(async () => {
    gw = await startTestGateway({ auth: { keys: ['gw-secret-1', 'gw-secret-2'] }, server: { host: '127.0.0.1', port: 0, body_limit_bytes: 2048 } });
  });
  afterAll(() => gw.close());

  const post = (body: string, headers: Record<string, string> = {}) =>
    fetch(`${gw.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Bearer gw-secret-2', ...headers }, body });

  it('401 in OpenAI shape without a key, with a wrong key, and with a malformed Authorization', async () => {
    for (const headers of [{ authorization: '' }, { authorization: 'Bearer nope' }, { authorization: 'Basic Z3ctc2VjcmV0LTE=' }]) {
      const res = await post('{}', headers);
      expect(res.status).toBe(401);
      expect(await json(res)).toEqual({
        error: { message: expect.stringContaining('Incorrect API key provided'), type: 'authentication_error', param: null, code: 'invalid_api_key' },
      });
    }
  });

  it('accepts either configured key, as Bearer or x-api-key', async () => {
    const ok = await sdkClient(gw, 'gw-secret-1').chat.completions.create({ model: 'gpt-3.5-turbo', messages: [{ role: 'user', content: 'hi' }] });
    expect(ok.object).toBe('chat.completion');
    const res = await post(JSON.stringify({ model: 'gemini-pro', messages: [{ role: 'user', content: 'hi' }] }), { authorization: '', 'x-api-key': 'gw-secret-1' });
    // An empty Authorization header is no key at all; x-api-key is then used.
    expect(res.status).toBe(401);
    const res2 = await fetch(`${gw.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': 'gw-secret-1' },
      body: JSON.stringify({ model: 'gemini-pro', messages: [{ role: 'user', content: 'hi' }] }),
    });
    expect(res2.status).toBe(200);
  });

  it('413 for a body over the limit, before any upstream call', async () => {
    const before = gw.simulator!.calls().length;
    const res = await post(JSON.stringify({ model: 'gpt-3.5-turbo', messages: [{ role: 'user', content: 'x'.repeat(4096) }] }));
    expect(res.status).toBe(413);
    expect(await json(res)).toEqual({ error: { message: 'Request body too large: the limit is 2048 bytes.', type: 'invalid_request_error', param: null, code: 'request_too_large' } });
    expect(gw.simulator!.calls().length).toBe(before);
  });

  it('400 for malformed JSON and for a body without messages', async () => {
    const bad = await post('{"model": "gpt-3.5-turbo", ');
    expect(bad.status).toBe(400);
    expect(((await json(bad)) as { error: { code: string } }).error.code).toBe('invalid_json');
    const noMessages = await post(JSON.stringify({ model: 'gpt-3.5-turbo' }));
    expect(noMessages.status).toBe(400);
    expect(await json(noMessages)).toEqual({
      error: { message: "Missing required parameter: 'messages'.", type: 'invalid_request_error', param: 'messages', code: 'missing_required_parameter' },
    });
    const badRole = await post(JSON.stringify({ model: 'gpt-3.5-turbo', messages: [{ role: 'wizard', content: 'x' }] }));
    expect(((await json(badRole)) as { error: { param: string } }).error.param).toBe('messages[0].role');
  });

  it('404 for an unknown model and an unknown route, in OpenAI shape', async () => {
    const err = (await sdkClient(gw, 'gw-secret-1').chat.completions.create({ model: 'gpt-9', messages: [{ role: 'user', content: 'x' }] }).catch((e: unknown) => e)) as InstanceType<typeof OpenAI.NotFoundError>;
    expect(err).toBeInstanceOf(OpenAI.NotFoundError);
    expect(err.code).toBe('model_not_found');
    const res = await fetch(`${gw.url}/v1/nothing-here`, { headers: { authorization: 'Bearer gw-secret-1' } });
    expect(res.status).toBe(404);
    expect(await json(res)).toEqual({ error: { message: 'Unknown request URL: GET /v1/nothing-here.', type: 'not_found_error', param: null, code: 'unknown_url' } });
  });

  it('a malformed URL is a 400 in OpenAI shape, not a 500', async () => {
    const res = await fetch(`${gw.url}/v1/models/%E0%A4%A`, { headers: { authorization: 'Bearer gw-secret-1' } });
    expect(res.status).toBe(400);
    expect(((await json(res)) as { error: { type: string } }).error.type).toBe('invalid_request_error');
  });

  it('GET /v1/models lists every model of every provider', async () => {
    const list = await sdkClient(gw, 'gw-secret-1').models.list();
    expect(list.data.map((m) => [m.id, m.owned_by])).toEqual([
      ['gpt-4-turbo-preview', 'openai'],
      ['gpt-3.5-turbo', 'openai'],
      ['claude-3-opus', 'anthropic'],
      ['gemini-pro', 'google'],
    ]);
  });

  it('routes provider/model to that provider', async () => {
    const { response } = await sdkClient(gw, 'gw-secret-1').chat.completions.create({ model: 'anthropic/claude-3-opus', messages: [{ role: 'user', content: 'x' }] }).withResponse();
    expect(response.headers.get('x-provider')).toBe('anthropic');
  });
});

describe('open development mode', () => {
  it('refuses a non-loopback bind when no key is configured', async () => {
    const config = configFromObject({ server: { host: '0.0.0.0', port: 0 }, providers: [{ name: 'x', type: 'openai-compatible', base_url: 'http://127.0.0.1:1/v1', models: ['m'] }] }, { env: {} });
    await expect(startGateway(config)).rejects.toThrow(ConfigError);
    await expect(startGateway(config)).rejects.toThrow(/open development mode binds to loopback only/);
  });
});

describe('client disconnect', () => {
  let upstream: Server;
  let gw: RunningGateway;
  const closed: Array<{ url: string }> = [];
  let arrived: (req: IncomingMessage) => void = () => {};

  beforeAll(async () => {
    // An upstream that never answers and records when the gateway hangs up.
    upstream = createServer((req) => {
      arrived(req);
      req.socket.on('close', () => closed.push({ url: req.url! }));
    });
    await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
    const port = (upstream.address() as AddressInfo).port;
    gw = await startTestGateway({
      simulator: { enabled: false },
      models: {},
      // Timeouts far past the test's own: the gateway's timers never close the upstream call
      // here (the default 15 s TTFT timeout would, eventually), only the client's disconnect does.
      resilience: { attempt_timeout_ms: 600_000, ttft_timeout_ms: 600_000 },
      providers: [{ name: 'silent', type: 'openai-compatible', base_url: `http://127.0.0.1:${port}/v1`, models: ['m'] }],
    });
  });
  afterAll(async () => {
    await gw.close();
    upstream.closeAllConnections();
    await new Promise((r) => upstream.close(r));
  });

  it.each([false, true])('aborts the upstream call at once when the client goes away (stream: %s)', async (stream) => {
    closed.length = 0;
    const reached = new Promise<IncomingMessage>((r) => (arrived = r));
    const controller = new AbortController();
    const pending = fetch(`${gw.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 'x' }], stream }),
      signal: controller.signal,
    }).catch((e: unknown) => e);
    await reached;
    controller.abort();
    await pending;
    // "At once": the upstream connection must close within 2 s of real time (not at some timeout).
    await until(() => closed.length > 0, 2_000);
    expect(closed).toEqual([{ url: '/v1/chat/completions' }]);
  });
});

describe('simulator control through the gateway', () => {
  it('switches a model into an outage at run time, open mode', async () => {
    const gw = await startTestGateway({ resilience: { retry: { max_retries: 0 }, failover: { enabled: false } } });
    try {
      const put = await fetch(`${gw.url}/admin/simulator/models/gpt-3.5-turbo`, {
        method: 'PUT',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ faults: [{ type: 'error', kind: 'model_overloaded' }] }),
      });
      expect(put.status).toBe(200);
      const err = (await sdkClient(gw).chat.completions.create({ model: 'gpt-3.5-turbo', messages: [{ role: 'user', content: 'x' }] }).catch((e: unknown) => e)) as { status: number };
      expect(err.status).toBe(503);
      const bad = await fetch(`${gw.url}/admin/simulator/models/gpt-3.5-turbo`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: '{"faults":[{"type":"nope"}]}' });
      expect(bad.status).toBe(400);
      const { calls } = (await (await fetch(`${gw.url}/admin/simulator/calls?model=gpt-3.5-turbo`)).json()) as { calls: Array<{ status: number }> };
      expect(calls.map((c) => c.status)).toEqual([503]);
    } finally {
      await gw.close();
    }
  });

  it('POST /admin/simulator/reset works with no body (as curl -X POST sends it), and clears faults and the call log', async () => {
    const gw = await startTestGateway({ resilience: { retry: { max_retries: 0 }, failover: { enabled: false } } });
    try {
      gw.simulator!.setModel('gpt-3.5-turbo', { faults: [{ type: 'error', kind: 'server_error' }] });
      const failed = (await sdkClient(gw).chat.completions.create({ model: 'gpt-3.5-turbo', messages: [{ role: 'user', content: 'x' }] }).catch((e: unknown) => e)) as { status: number };
      expect(failed.status).toBe(502);
      const reset = await fetch(`${gw.url}/admin/simulator/reset`, { method: 'POST' });
      expect([reset.status, await reset.json()]).toEqual([200, { ok: true }]);
      expect(gw.simulator!.calls()).toEqual([]);
      await sdkClient(gw).chat.completions.create({ model: 'gpt-3.5-turbo', messages: [{ role: 'user', content: 'x' }] });
      expect(gw.simulator!.calls().map((c) => c.status)).toEqual([200]);
      // A PUT needs a model config: an empty one is the gateway's 400 in OpenAI's shape.
      const empty = await fetch(`${gw.url}/admin/simulator/models/gpt-3.5-turbo`, { method: 'PUT' });
      expect([empty.status, await empty.json()]).toEqual([
        400,
        { error: { message: 'We could not parse the JSON body of your request: the body is empty.', type: 'invalid_request_error', param: null, code: 'invalid_json' } },
      ]);
    } finally {
      await gw.close();
    }
  });

  it('needs an admin key once keys are configured', async () => {
    const gw = await startTestGateway({ auth: { keys: ['k'], admin_keys: ['adm'] } });
    try {
      expect((await fetch(`${gw.url}/admin/simulator/state`, { headers: { authorization: 'Bearer k' } })).status).toBe(403);
      expect((await fetch(`${gw.url}/admin/simulator/state`, { headers: { authorization: 'Bearer adm' } })).status).toBe(200);
    } finally {
      await gw.close();
    }
  });
});

describe('start-up errors', () => {
  it('a bad simulator block in the config stops start-up naming the field', async () => {
    const config = configFromObject(
      { server: { port: 0 }, simulator: { enabled: true, models: { m: { latency: { type: 'fixed', ms: -1 } } } }, providers: [{ name: 'x', type: 'openai', base_url: 'simulator', models: ['m'] }] },
      { env: {} },
    );
    await expect(startGateway(config)).rejects.toThrow(/^config inline: simulator: models\.m\.latency/);
  });
});

describe('graceful shutdown', () => {
  it('lets a request in flight finish, refuses new connections, and closes', async () => {
    const gw = await startTestGateway({ resilience: { failover: { enabled: false } } });
    gw.simulator!.setModel('gpt-3.5-turbo', { latency: { type: 'fixed', ms: 150 } });
    const inFlight = fetch(`${gw.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'gpt-3.5-turbo', messages: [{ role: 'user', content: 'x' }] }),
    });
    const { until } = await import('../helpers/gateway.ts');
    await until(() => gw.simulator!.calls({ model: 'gpt-3.5-turbo' }).length === 1);
    // A grace far beyond the test's timeout: close must finish once the request is done, not wait it out.
    const closing = gw.close({ graceMs: 600_000 });
    const res = await inFlight;
    expect(res.status).toBe(200);
    expect(((await res.json()) as { object: string }).object).toBe('chat.completion');
    await closing;
    await expect(fetch(`${gw.url}/v1/models`)).rejects.toThrow();
  });
});
