import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { RunningGateway } from '../../src/gateway.ts';
import { sdkClient, startTestGateway } from '../helpers/gateway.ts';

/**
 * A stream cut mid-answer is continued on a prefill-capable fallback (Anthropic), so the
 * client gets the whole answer; a fallback that does not continue a prefill is never sent one.
 * The "Anthropic" here is a small real server that records what it was sent and streams a
 * canned continuation in Anthropic's SSE format.
 */

let anthropic: Server;
const received: Array<{ messages: Array<{ role: string; content: unknown }> }> = [];
const CONTINUATION = [' and', ' that', ' is', ' the', ' end.'];

function sse(event: string, data: unknown): string {
  return `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}

beforeAll(async () => {
  anthropic = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      received.push(JSON.parse(body));
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(sse('message_start', { type: 'message_start', message: { id: 'msg_cont', type: 'message', role: 'assistant', model: 'claude-3-opus-20240229', content: [], stop_reason: null, usage: { input_tokens: 12, output_tokens: 1 } } }));
      res.write(sse('content_block_start', { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } }));
      for (const t of CONTINUATION) res.write(sse('content_block_delta', { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: t } }));
      res.write(sse('content_block_stop', { type: 'content_block_stop', index: 0 }));
      res.write(sse('message_delta', { type: 'message_delta', delta: { stop_reason: 'end_turn', stop_sequence: null }, usage: { output_tokens: 5 } }));
      res.end(sse('message_stop', { type: 'message_stop' }));
    });
  });
  await new Promise<void>((r) => anthropic.listen(0, '127.0.0.1', r));
});
afterAll(() => new Promise((r) => anthropic.close(r)));

let gw: RunningGateway;
beforeAll(async () => {
  const port = (anthropic.address() as AddressInfo).port;
  gw = await startTestGateway({
    providers: [
      { name: 'openai', type: 'openai', base_url: 'simulator', models: ['gpt-4-turbo-preview'] },
      { name: 'anthropic', type: 'anthropic', base_url: `http://127.0.0.1:${port}`, models: ['claude-3-opus'] },
      { name: 'google', type: 'google', base_url: 'simulator', models: ['gemini-pro'] },
    ],
    models: { 'gpt-4-turbo-preview': { anthropic: 'claude-3-opus', google: 'gemini-pro' } },
    resilience: { retry: { max_retries: 0 } },
  });
});
afterAll(() => gw.close());
beforeEach(() => {
  received.length = 0;
  gw.simulator!.reset();
});

async function read(stream: AsyncIterable<OpenAI.Chat.Completions.ChatCompletionChunk>) {
  let text = '';
  let finish: string | null = null;
  const ids = new Set<string>();
  let roles = 0;
  for await (const c of stream) {
    ids.add(c.id);
    const ch = c.choices[0];
    if (!ch) continue;
    if (ch.delta.role) roles++;
    text += ch.delta.content ?? '';
    finish = ch.finish_reason ?? finish;
  }
  return { text, finish, ids, roles };
}

describe('continuing a cut stream', () => {
  it('continues on the Anthropic fallback from the partial answer: the client gets one whole stream', async () => {
    gw.simulator!.setModel('gpt-4-turbo-preview', { completion_tokens: 30, faults: [{ type: 'cut', after_tokens: 6 }] });
    const stream = await sdkClient(gw).chat.completions.create(
      { model: 'gpt-4-turbo-preview', messages: [{ role: 'user', content: 'tell me' }], stream: true },
      { headers: { 'X-Failover-Providers': 'openai,anthropic' } },
    );
    const got = await read(stream);
    expect(got.finish).toBe('stop');
    expect(got.roles).toBe(1);
    expect(got.ids.size).toBe(1);
    expect(got.text.endsWith(CONTINUATION.join(''))).toBe(true);
    const partial = got.text.slice(0, got.text.length - CONTINUATION.join('').length);
    expect(partial).toMatch(/^Simulated reply from gpt-4-turbo-preview:/);
    // Anthropic was sent the conversation with the partial answer as a final assistant prefill.
    expect(received).toHaveLength(1);
    expect(received[0].messages.at(-1)).toEqual({ role: 'assistant', content: [{ type: 'text', text: partial.trimEnd() }] });
  });

  it('never sends a prefill to a fallback that does not continue one: the stream ends with an error', async () => {
    gw.simulator!.setModel('gpt-4-turbo-preview', { completion_tokens: 30, faults: [{ type: 'cut', after_tokens: 6 }] });
    const stream = await sdkClient(gw).chat.completions.create(
      { model: 'gpt-4-turbo-preview', messages: [{ role: 'user', content: 'tell me' }], stream: true },
      { headers: { 'X-Failover-Providers': 'openai,google' } },
    );
    const err = await read(stream).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.APIError);
    expect(received).toHaveLength(0);
    expect(gw.simulator!.calls({ model: 'gemini-pro' })).toHaveLength(0);
  });
});

describe('an in-band error after the first bytes', () => {
  // An OpenAI-style upstream that streams two chunks, then, once the test says the client has
  // them (so the stream is committed), an in-band error whose code is the user message
  // (OpenAI and Azure send `data: {"error": {...}}` mid-stream).
  let openai: Server;
  let gw2: RunningGateway;
  let release: () => void = () => {};
  beforeAll(async () => {
    openai = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        const { messages } = JSON.parse(body) as { messages: Array<{ content: string }> };
        const code = messages.at(-1)!.content;
        const chunk = (content: string) =>
          `data: ${JSON.stringify({ id: 'chatcmpl-cf', object: 'chat.completion.chunk', created: 1, model: 'gpt-4-turbo-preview', choices: [{ index: 0, delta: { content }, finish_reason: null }] })}\n\n`;
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        res.write(chunk('Once upon a'));
        res.write(chunk(' time'));
        release = () => res.end(`data: ${JSON.stringify({ error: { message: `stopped: ${code}`, type: 'server_error', param: null, code } })}\n\n`);
      });
    });
    await new Promise<void>((r) => openai.listen(0, '127.0.0.1', r));
    gw2 = await startTestGateway({
      providers: [
        { name: 'openai', type: 'openai', base_url: `http://127.0.0.1:${(openai.address() as AddressInfo).port}/v1`, models: ['gpt-4-turbo-preview'] },
        { name: 'anthropic', type: 'anthropic', base_url: `http://127.0.0.1:${(anthropic.address() as AddressInfo).port}`, models: ['claude-3-opus'] },
      ],
      models: { 'gpt-4-turbo-preview': { anthropic: 'claude-3-opus' } },
      simulator: { enabled: false },
      resilience: { retry: { max_retries: 0 } },
    });
  });
  afterAll(async () => {
    await gw2.close();
    await new Promise((r) => openai.close(r));
  });

  /** Streams `code`'s request, releasing the upstream's error once the first content arrived; the text, or the error. */
  async function streamed(code: string): Promise<{ text: string; err: unknown }> {
    const stream = await sdkClient(gw2).chat.completions.create(
      { model: 'gpt-4-turbo-preview', messages: [{ role: 'user', content: code }], stream: true },
      { headers: { 'X-Failover-Providers': 'openai,anthropic' } },
    );
    let text = '';
    const err = await (async () => {
      for await (const c of stream) {
        const piece = c.choices[0]?.delta?.content ?? '';
        if (text === '' && piece !== '') release();
        text += piece;
      }
    })().catch((e: unknown) => e);
    return { text, err };
  }

  it('a content_filter refusal mid-stream is not finished by the prefill-capable fallback: the stream ends with the error', async () => {
    const { text, err } = await streamed('content_filter');
    expect(err).toBeInstanceOf(OpenAI.APIError);
    expect((err as InstanceType<typeof OpenAI.APIError>).code).toBe('content_filter');
    expect(text).toBe('Once upon a time');
    expect(received).toHaveLength(0);
  });

  it('a server error mid-stream is still continued there (the same chain, another kind)', async () => {
    const { text, err } = await streamed('server_error');
    expect(err).toBeUndefined();
    expect(text).toBe(`Once upon a time${CONTINUATION.join('')}`);
    expect(received).toHaveLength(1);
  });
});
