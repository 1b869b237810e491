import { afterEach, describe, expect, it } from 'vitest';
import type { RunningGateway } from '../../src/gateway.ts';
import { sdkClient, startTestGateway } from '../helpers/gateway.ts';

let gw: RunningGateway | undefined;
afterEach(async () => {
  await gw?.close();
  gw = undefined;
});

const MODEL = 'gpt-4-turbo-preview';
const addFault = async (body: unknown): Promise<{ id: string }> => {
  const r = await fetch(`${gw!.url}/admin/chaos`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  expect(r.status).toBe(201);
  return (await r.json()) as { id: string };
};
const chat = (headers: Record<string, string> = {}, stream = false) =>
  fetch(`${gw!.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ model: MODEL, stream, messages: [{ role: 'user', content: 'tell me a story about parrots' }] }),
  });

describe('faults injected at the transport boundary', () => {
  it("an error fault answers in the provider's own shape without calling it, is marked in the error and the log, and is counted", async () => {
    const lines: string[] = [];
    gw = await startTestGateway({ chaos: { enabled: true } }, { log: (l) => lines.push(l) });
    const f = await addFault({ target: `openai/${MODEL}`, fault: 'quota_exceeded', requests: 1 });
    const res = await chat({ 'x-failover-enabled': 'false' });
    expect(res.status).toBe(429);
    const body = (await res.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe('insufficient_quota');
    expect(body.error.message).toContain(`[injected by parrot chaos ${f.id}]`);
    expect(gw.simulator!.calls({ provider: 'openai' })).toHaveLength(0);
    // Spent after one request: the next one reaches the provider.
    expect((await chat({ 'x-failover-enabled': 'false' })).status).toBe(200);
    expect(gw.simulator!.calls({ provider: 'openai' })).toHaveLength(1);
    expect(lines.map((l) => JSON.parse(l)).filter((l) => l.chaos).map((l) => `${l.chaos}:${l.why ?? ''}:${l.injected}`)).toEqual(['added::0', 'injected::1', 'ended:spent:1']);
    expect(gw.chaos!.counts()).toEqual([{ target: `openai/${MODEL}`, fault: 'quota_exceeded', injected: 1 }]);
  });

  it('a request fails over around a faulted provider: one injected call, then the next provider serves it', async () => {
    gw = await startTestGateway({ chaos: { enabled: true } });
    await addFault({ target: 'openai', fault: 'model_overloaded', duration_s: 60 });
    const res = await chat();
    expect(res.status).toBe(200);
    expect(res.headers.get('x-provider')).toBe('anthropic');
    expect(gw.simulator!.calls({ provider: 'openai' })).toHaveLength(0);
    expect(gw.simulator!.calls({ provider: 'anthropic' })).toHaveLength(1);
    expect(gw.chaos!.list()[0].injected).toBeGreaterThanOrEqual(1);
  });

  it('stream_cut passes on N content tokens of the real answer, then breaks the committed stream', async () => {
    gw = await startTestGateway({ chaos: { enabled: true } });
    const whole: string[] = [];
    for await (const c of await sdkClient(gw).chat.completions.create({ model: MODEL, stream: true, messages: [{ role: 'user', content: 'tell me a story about parrots' }] }, { headers: { 'x-failover-enabled': 'false' } })) {
      if (c.choices[0]?.delta?.content) whole.push(c.choices[0].delta.content);
    }
    expect(whole.length).toBeGreaterThan(5);
    await addFault({ target: 'openai', fault: 'stream_cut', after_tokens: 3, requests: 1 });
    const got: string[] = [];
    let error: unknown;
    try {
      for await (const c of await sdkClient(gw).chat.completions.create({ model: MODEL, stream: true, messages: [{ role: 'user', content: 'tell me a story about parrots' }] }, { headers: { 'x-failover-enabled': 'false' } })) {
        if (c.choices[0]?.delta?.content) got.push(c.choices[0].delta.content);
      }
    } catch (err) {
      error = err;
    }
    expect(got).toEqual(whole.slice(0, 3));
    expect(String((error as Error).message)).toContain('injected by parrot chaos');
  });

  it("stream_stall passes on N tokens, then goes silent until the stream's idle watchdog ends it", async () => {
    gw = await startTestGateway({ chaos: { enabled: true }, resilience: { failover: { providers: ['openai', 'anthropic', 'google'] }, stream_idle_timeout_ms: 200 } });
    await addFault({ target: 'openai', fault: 'stream_stall', after_tokens: 2, requests: 1 });
    const got: string[] = [];
    let error: unknown;
    const t0 = performance.now();
    try {
      for await (const c of await sdkClient(gw).chat.completions.create({ model: MODEL, stream: true, messages: [{ role: 'user', content: 'tell me a story about parrots' }] }, { headers: { 'x-failover-enabled': 'false' } })) {
        if (c.choices[0]?.delta?.content) got.push(c.choices[0].delta.content);
      }
    } catch (err) {
      error = err;
    }
    expect(got).toHaveLength(2);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(195);
    expect(String((error as Error).message)).toBe("upstream stream failed after it started: no data for 200 ms");
  });

  it("a malformed chunk before the first token fails the attempt before the commit point: the client gets a marked error, not a broken stream", async () => {
    gw = await startTestGateway({ chaos: { enabled: true } });
    const f = await addFault({ target: 'openai', fault: 'malformed_chunk', after_tokens: 0, requests: 1 });
    const res = await chat({ 'x-failover-enabled': 'false', 'x-max-retries': '0' }, true);
    expect(res.status).toBeGreaterThanOrEqual(500);
    const body = (await res.json()) as { error: { message: string } };
    expect(body.error.message).toContain(`[injected by parrot chaos ${f.id}]`);
    expect(gw.chaos!.counts()).toEqual([{ target: 'openai', fault: 'malformed_chunk', injected: 1 }]);
  });

  it('latency delays the call by latency_ms and then lets it through', async () => {
    gw = await startTestGateway({ chaos: { enabled: true } });
    await addFault({ target: `openai/${MODEL}`, fault: 'latency', latency_ms: 300, requests: 1 });
    const t0 = performance.now();
    const res = await chat({ 'x-failover-enabled': 'false' });
    expect(res.status).toBe(200);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(295);
    expect(gw.simulator!.calls({ provider: 'openai' })).toHaveLength(1);
  });

  it("no_response leaves the call unanswered until the attempt's timer ends it, then the request fails over", async () => {
    gw = await startTestGateway({ chaos: { enabled: true }, resilience: { ...{ failover: { providers: ['openai', 'anthropic', 'google'] } }, attempt_timeout_ms: 200 } });
    await addFault({ target: 'openai', fault: 'no_response', requests: 1 });
    const res = await chat();
    expect(res.status).toBe(200);
    expect(res.headers.get('x-provider')).toBe('anthropic');
    expect(gw.simulator!.calls({ provider: 'openai' })).toHaveLength(0);
  });

  it('with no fault in force calls go straight through (a fault on another target does not touch them)', async () => {
    gw = await startTestGateway({ chaos: { enabled: true } });
    await addFault({ target: 'google', fault: 'server_error', duration_s: 60 });
    const res = await chat({ 'x-failover-enabled': 'false' });
    expect(res.status).toBe(200);
    expect(gw.chaos!.list()[0].injected).toBe(0);
  });
});
