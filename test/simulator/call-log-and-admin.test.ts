import { request } from 'node:http';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { CallLog } from '../../src/simulator/call-log.ts';
import { startSimulator, type SimCall, type SimulatorHandle } from '../../src/simulator/index.ts';
import { ANTHROPIC_HEADERS, anthropicBody, GEMINI_STREAM_PATH, geminiBody, openaiBody, post, json } from './helpers.ts';

function call(model: string, provider: SimCall['provider'] = 'openai'): SimCall {
  return { at: 1, provider, model, stream: false, fault: null, status: 200 };
}

describe('CallLog ring', () => {
  it('keeps only the latest `limit` calls, oldest first', () => {
    const log = new CallLog(3);
    for (const m of ['a', 'b', 'c', 'd', 'e']) log.push(call(m));
    expect(log.list().map((c) => c.model)).toEqual(['c', 'd', 'e']);
    expect(log.size).toBe(3);
  });

  it('filters by model and provider and hands out copies', () => {
    const log = new CallLog(10);
    log.push(call('x', 'openai'));
    log.push(call('x', 'google'));
    log.push(call('y', 'google'));
    expect(log.list({ model: 'x' }).map((c) => c.provider)).toEqual(['openai', 'google']);
    expect(log.list({ provider: 'google', model: 'y' })).toHaveLength(1);
    log.list()[0].status = 999;
    expect(log.list()[0].status).toBe(200);
  });
});

describe('call log over HTTP', () => {
  let sim: SimulatorHandle;
  beforeAll(async () => {
    sim = await startSimulator({ callLogLimit: 50 });
  });
  afterAll(() => sim.close());
  beforeEach(() => sim.reset());

  it('records provider, model, stream, fault and status of every provider call', async () => {
    sim.setModel('claude-3-opus', { faults: [{ type: 'error', kind: 'model_overloaded', first_n: 1 }] });
    const before = Date.now();
    await post(sim.url, '/v1/chat/completions', openaiBody());
    await post(sim.url, '/v1/messages', anthropicBody(), ANTHROPIC_HEADERS);
    await (await post(sim.url, GEMINI_STREAM_PATH, geminiBody())).text();
    await post(sim.url, '/v1/chat/completions', { model: 'gpt-4o', messages: [] });
    expect(sim.calls()).toEqual([
      { at: expect.any(Number), provider: 'openai', model: 'gpt-4o', stream: false, fault: null, status: 200 },
      { at: expect.any(Number), provider: 'anthropic', model: 'claude-3-opus', stream: false, fault: 'error', status: 529 },
      { at: expect.any(Number), provider: 'google', model: 'gemini-pro', stream: true, fault: null, status: 200 },
      { at: expect.any(Number), provider: 'openai', model: 'gpt-4o', stream: false, fault: null, status: 400 },
    ]);
    expect(sim.calls()[0].at).toBeGreaterThanOrEqual(before);
    expect(sim.calls({ provider: 'google' })).toHaveLength(1);
    expect(sim.calls({ model: 'gpt-4o' })).toHaveLength(2);
  });

  it('GET /_sim/state call_count counts every call, past the ring size, until reset', async () => {
    const small = await startSimulator({ callLogLimit: 3 });
    try {
      for (let i = 0; i < 5; i++) await post(small.url, '/v1/chat/completions', openaiBody());
      expect(small.calls()).toHaveLength(3);
      expect((await json(await fetch(`${small.url}/_sim/state`))).call_count).toBe(5);
      small.reset();
      expect((await json(await fetch(`${small.url}/_sim/state`))).call_count).toBe(0);
    } finally {
      await small.close();
    }
  });

  it('CallLog.total keeps counting after the ring is full; clear() restarts it', () => {
    const log = new CallLog(2);
    for (const m of ['a', 'b', 'c']) log.push(call(m));
    expect(log.size).toBe(2);
    expect(log.total).toBe(3);
    log.clear();
    expect(log.total).toBe(0);
  });

  it('is bounded by callLogLimit', async () => {
    for (let i = 0; i < 55; i++) await post(sim.url, '/v1/chat/completions', openaiBody({ model: `m${i}` }));
    const calls = sim.calls();
    expect(calls).toHaveLength(50);
    expect(calls[0].model).toBe('m5');
    expect(calls[49].model).toBe('m54');
  });
});

describe('admin endpoints /_sim/*', () => {
  let sim: SimulatorHandle;
  beforeAll(async () => {
    sim = await startSimulator({ models: { 'gpt-4o': { completion_tokens: 4 } }, seed: 3 });
  });
  afterAll(() => sim.close());
  beforeEach(() => sim.reset());

  const admin = (method: string, path: string, body?: unknown): Promise<Response> =>
    fetch(sim.url + path, { method, body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body) });

  it('PUT /_sim/models/{model} replaces the behaviour at run time', async () => {
    const res = await admin('PUT', '/_sim/models/gpt-4o', { faults: [{ type: 'error', kind: 'rate_limit', first_n: 1, retry_after_s: 2 }] });
    expect(res.status).toBe(200);
    expect(await json(res)).toEqual({ model: 'gpt-4o', config: { faults: [{ type: 'error', kind: 'rate_limit', first_n: 1, retry_after_s: 2 }] } });
    const limited = await post(sim.url, '/v1/chat/completions', openaiBody());
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBe('2');
    expect((await post(sim.url, '/v1/chat/completions', openaiBody())).status).toBe(200);
  });

  it('PUT with an invalid config is a 400 naming the field', async () => {
    const res = await admin('PUT', '/_sim/models/gpt-4o', { faults: [{ type: 'error', kind: 'meltdown' }] });
    expect(res.status).toBe(400);
    const msg = (await json(res)).error.message as string;
    expect(msg).toMatch(/^invalid model config: faults\[0\]\.kind: Invalid option/);

    const unknownKey = await admin('PUT', '/_sim/models/gpt-4o', { latency: { type: 'fixed', ms: 5 }, latnecy_ms: 3 });
    expect((await json(unknownKey)).error.message).toBe('invalid model config: (root): Unrecognized key: "latnecy_ms"');

    const notJson = await admin('PUT', '/_sim/models/gpt-4o', '{nope');
    expect(notJson.status).toBe(400);
    expect((await json(notJson)).error.message).toBe('request body is not valid JSON');
  });

  it('GET /_sim/state shows defaults, effective model configs and their clocks', async () => {
    await post(sim.url, '/v1/chat/completions', openaiBody());
    await post(sim.url, '/v1/chat/completions', openaiBody({ model: 'unconfigured' }));
    const state = await json(await admin('GET', '/_sim/state'));
    expect(state).toEqual({
      seed: 3,
      call_count: 2,
      defaults: {},
      models: {
        'gpt-4o': { config: { completion_tokens: 4 }, calls: 1, set_at: expect.any(Number), configured: true },
        unconfigured: { config: {}, calls: 1, set_at: expect.any(Number), configured: false },
      },
    });
  });

  it('GET /_sim/calls filters by model and provider; POST /_sim/reset clears the log and restores the start config', async () => {
    await admin('PUT', '/_sim/models/gpt-4o', { faults: [{ type: 'hang', first_n: 0 }] });
    await post(sim.url, '/v1/chat/completions', openaiBody());
    await post(sim.url, '/v1/messages', anthropicBody(), ANTHROPIC_HEADERS);
    const calls = (await json(await admin('GET', '/_sim/calls?model=gpt-4o&provider=openai'))).calls;
    expect(calls).toEqual([{ at: expect.any(Number), provider: 'openai', model: 'gpt-4o', stream: false, fault: null, status: 200 }]);
    expect((await admin('GET', '/_sim/calls?provider=bogus')).status).toBe(400);

    expect(await json(await admin('POST', '/_sim/reset'))).toEqual({ ok: true });
    expect((await json(await admin('GET', '/_sim/calls'))).calls).toEqual([]);
    expect((await json(await admin('GET', '/_sim/state'))).models['gpt-4o'].config).toEqual({ completion_tokens: 4 });
  });

  it('PUT /_sim/defaults and DELETE /_sim/models/{model}', async () => {
    await admin('PUT', '/_sim/defaults', { faults: [{ type: 'error', kind: 'server_error' }] });
    expect((await post(sim.url, '/v1/chat/completions', openaiBody({ model: 'any' }))).status).toBe(500);
    expect(await json(await admin('DELETE', '/_sim/models/gpt-4o'))).toEqual({ model: 'gpt-4o', removed: true });
    expect((await post(sim.url, '/v1/chat/completions', openaiBody())).status).toBe(500);
  });

  it('PUT /_sim/defaults with an invalid config is a 400 naming the defaults field', async () => {
    const res = await admin('PUT', '/_sim/defaults', { latency: { type: 'fixed', ms: -1 } });
    expect(res.status).toBe(400);
    expect((await json(res)).error.message).toMatch(/^invalid model config: defaults\.latency\.ms: Too small/);
    const ok = await admin('PUT', '/_sim/defaults', { completion_tokens: 2 });
    expect(await json(ok)).toEqual({ defaults: { completion_tokens: 2 } });
  });

  it('a model path with a malformed percent-escape is a 400; a valid escape is decoded', async () => {
    const bad = await admin('PUT', '/_sim/models/%E0%A4%A', { completion_tokens: 2 });
    expect(bad.status).toBe(400);
    expect((await json(bad)).error.message).toBe('model name in the path is not valid percent-encoding');
    expect(await json(await admin('PUT', '/_sim/models/a%2Fb', { completion_tokens: 2 }))).toEqual({ model: 'a/b', config: { completion_tokens: 2 } });
  });

  it('a request body over the cap is a 413 with a JSON body', async () => {
    const { port } = new URL(sim.url);
    const res = await new Promise<{ status: number; type: string | undefined; body: string }>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, method: 'POST', path: '/v1/chat/completions', headers: { 'content-length': String(33 * 1024 * 1024) } }, (r) => {
        let body = '';
        r.setEncoding('utf8');
        r.on('data', (d: string) => (body += d));
        r.on('end', () => {
          resolve({ status: r.statusCode ?? 0, type: r.headers['content-type'], body });
          req.destroy();
        });
      });
      req.on('error', reject);
      req.flushHeaders();
    });
    expect(res.status).toBe(413);
    expect(res.type).toBe('application/json');
    expect(JSON.parse(res.body)).toEqual({ error: { message: 'Request body too large', type: 'request_too_large' } });
    expect((await post(sim.url, '/v1/chat/completions', openaiBody())).status).toBe(200);
  });

  it('an unknown admin path is a 404', async () => {
    const res = await admin('GET', '/_sim/nothing');
    expect(res.status).toBe(404);
    expect((await json(res)).error.message).toBe('no simulator admin endpoint GET /_sim/nothing');
  });
});
