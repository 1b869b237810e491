import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mockHandler } from './upstream-mock.ts';

/** The mock with a 500 ms latency whose timer runs at once, recording the delays it was asked for. */
let server: Server;
let url: string;
const delays: number[] = [];

beforeAll(async () => {
  server = createServer(
    mockHandler({
      latencyMs: 500,
      setTimer: (answer, ms, ...args) => {
        delays.push(ms);
        answer(...args);
      },
    }),
  );
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

const client = (): OpenAI => new OpenAI({ baseURL: `${url}/v1`, apiKey: 'bench', maxRetries: 0 });

describe('upstream mock', () => {
  it('answers a chat completion the official SDK parses, echoing the model, after the configured latency', async () => {
    delays.length = 0;
    const c = await client().chat.completions.create({ model: 'gpt-4-turbo-preview', messages: [{ role: 'user', content: 'hi' }] });
    expect(c.object).toBe('chat.completion');
    expect(c.model).toBe('gpt-4-turbo-preview');
    expect(c.choices).toHaveLength(1);
    expect(c.choices[0].message).toMatchObject({ role: 'assistant', content: 'Hello from the upstream mock.' });
    expect(c.choices[0].finish_reason).toBe('stop');
    expect(c.usage).toEqual({ prompt_tokens: 11, completion_tokens: 16, total_tokens: 27 });
    expect(delays).toEqual([500]);
  });

  it('streams five chunks (role, three deltas, finish) and [DONE]; a usage chunk only when asked', async () => {
    delays.length = 0;
    const stream = await client().chat.completions.create({ model: 'm1', messages: [{ role: 'user', content: 'hi' }], stream: true });
    const chunks = [];
    for await (const chunk of stream) chunks.push(chunk);
    expect(chunks.map((c) => c.choices[0]?.delta)).toEqual([{ role: 'assistant', content: '' }, { content: 'Hello' }, { content: ' from the' }, { content: ' upstream mock.' }, {}]);
    expect(chunks.map((c) => c.choices[0]?.finish_reason)).toEqual([null, null, null, null, 'stop']);
    expect(chunks.every((c) => c.object === 'chat.completion.chunk' && c.model === 'm1')).toBe(true);

    const withUsage = await client().chat.completions.create({ model: 'm1', messages: [{ role: 'user', content: 'hi' }], stream: true, stream_options: { include_usage: true } });
    const last = [];
    for await (const chunk of withUsage) last.push(chunk);
    expect(last).toHaveLength(6);
    expect(last[5].choices).toEqual([]);
    expect(last[5].usage).toEqual({ prompt_tokens: 11, completion_tokens: 16, total_tokens: 27 });
    expect(delays).toEqual([500, 500]);
  });

  it('sends six SSE events, the last data: [DONE]', async () => {
    const res = await fetch(`${url}/v1/chat/completions`, { method: 'POST', body: JSON.stringify({ model: 'm', messages: [], stream: true }) });
    expect(res.headers.get('content-type')).toBe('text/event-stream');
    const text = await res.text();
    expect(text.match(/^data: /gm)).toHaveLength(6);
    expect(text.endsWith('data: [DONE]\n\n')).toBe(true);
  });

  it('answers 400 in OpenAI error shape for a body that is not JSON or names no model, 404 elsewhere', async () => {
    const post = (path: string, body: string) => fetch(`${url}${path}`, { method: 'POST', body });
    const bad = await post('/v1/chat/completions', '{not json');
    expect(bad.status).toBe(400);
    expect(await bad.json()).toEqual({ error: { message: 'request body is not JSON', type: 'invalid_request_error', param: null, code: null } });
    expect((await post('/v1/chat/completions', '{"messages":[]}')).status).toBe(400);
    expect((await post('/v1/embeddings', '{"model":"m"}')).status).toBe(404);
    const models = await fetch(`${url}/v1/models`);
    expect(models.status).toBe(200);
    expect(((await models.json()) as { object: string }).object).toBe('list');
  });
});

describe('upstream mock, paced streams', () => {
  /** Timers held until the test fires them, so what the client has at each point is exact. */
  const due: Array<{ ms: number; fire: () => void }> = [];
  let paced: Server;
  let pacedUrl: string;
  beforeAll(async () => {
    paced = createServer(mockHandler({ latencyMs: 800, paced: true, setTimer: (fn, ms, ...args) => due.push({ ms, fire: () => fn(...args) }) }));
    await new Promise<void>((r) => paced.listen(0, '127.0.0.1', r));
    pacedUrl = `http://127.0.0.1:${(paced.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    paced.closeAllConnections();
    await new Promise((r) => paced.close(r));
  });

  const read = async (reader: ReadableStreamDefaultReader<Uint8Array>, events: number): Promise<string> => {
    let text = '';
    while ((text.match(/^data: /gm) ?? []).length < events) {
      const { value, done } = await reader.read();
      if (done) break;
      text += new TextDecoder().decode(value);
    }
    return text;
  };
  const until = async (cond: () => boolean): Promise<void> => {
    while (!cond()) await new Promise((r) => setImmediate(r));
  };

  it('sends the role chunk at once, the first delta at half the latency, the rest and [DONE] at the latency', async () => {
    due.length = 0;
    const res = await fetch(`${pacedUrl}/v1/chat/completions`, { method: 'POST', body: JSON.stringify({ model: 'm', messages: [], stream: true }) });
    expect(res.status).toBe(200);
    const reader = res.body!.getReader();
    const first = await read(reader, 1);
    expect(first.match(/^data: /gm)).toHaveLength(1);
    expect(JSON.parse(first.slice(6)).choices[0].delta).toEqual({ role: 'assistant', content: '' });
    await until(() => due.length === 2);
    expect(due.map((d) => d.ms)).toEqual([400, 800]);
    due[0].fire();
    const second = await read(reader, 1);
    expect(JSON.parse(second.slice(6)).choices[0].delta).toEqual({ content: 'Hello' });
    due[1].fire();
    const rest = await read(reader, 4);
    expect(rest.match(/^data: .*$/gm)!.map((l) => (l === 'data: [DONE]' ? l : JSON.parse(l.slice(6)).choices[0].delta))).toEqual([{ content: ' from the' }, { content: ' upstream mock.' }, {}, 'data: [DONE]']);
  });

  it('answers a non-streaming request once, at the latency', async () => {
    due.length = 0;
    const res = fetch(`${pacedUrl}/v1/chat/completions`, { method: 'POST', body: JSON.stringify({ model: 'm', messages: [] }) });
    await until(() => due.length === 1);
    expect(due[0].ms).toBe(800);
    due[0].fire();
    expect(((await (await res).json()) as { object: string }).object).toBe('chat.completion');
  });
});
