import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChatCompletionChunk, ChatRequest } from '../../src/core/openai-types.ts';
import { openaiAdapter, openaiCompatibleAdapter } from '../../src/providers/openai.ts';
import { SseDecoder } from '../../src/providers/sse.ts';
import type { HeaderMap, ProviderAdapter, ProviderTarget, TranslateContext } from '../../src/providers/types.ts';
import { fixtureText, recordedError } from '../fixtures/openai/load.ts';

/** What the fake upstream saw. */
interface Seen {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: unknown;
}

// A fake upstream on 127.0.0.1:0: answers by path, records every request.
let server: Server;
let base: string;
const seen: Seen[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    let raw = '';
    req.setEncoding('utf8');
    req.on('data', (d: string) => (raw += d));
    req.on('end', () => {
      seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: JSON.parse(raw) });
      const body = JSON.parse(raw) as ChatRequest;
      if (req.url?.includes('/quota/')) {
        const rec = recordedError('error-429-insufficient-quota.json');
        res.writeHead(rec.status, rec.headers as Record<string, string>).end(rec.body);
      } else if (req.url?.includes('/ratelimited/')) {
        const rec = recordedError('error-429-rate-limit-requests.json');
        res.writeHead(rec.status, rec.headers as Record<string, string>).end(rec.body);
      } else if (body.stream) {
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        // Write the recorded stream in small, uneven pieces so events straddle network chunks.
        const sse = fixtureText('stream-tool-calls.sse');
        let i = 0;
        const step = (): void => {
          if (i >= sse.length) return void res.end();
          const n = 7 + (i % 13);
          res.write(sse.slice(i, i + n));
          i += n;
          setImmediate(step);
        };
        step();
      } else {
        res.writeHead(200, { 'content-type': 'application/json' }).end(fixtureText('chat-completion.json'));
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

const REQUEST: ChatRequest = { model: 'gpt-4-turbo-preview', messages: [{ role: 'user', content: 'What is the weather in Paris?' }] };

/** Send what the adapter built with fetch; stream through the decoder and translator. */
async function call(adapter: ProviderAdapter, ctx: TranslateContext) {
  const built = adapter.buildRequest(REQUEST, ctx);
  const res = await fetch(built.url, { method: built.method, headers: built.headers, body: built.body });
  if (!res.ok) {
    const headers: HeaderMap = Object.fromEntries(res.headers);
    return { error: adapter.classifyError(res.status, headers, await res.text()) };
  }
  if (!ctx.stream) return { completion: adapter.parseResponse(await res.json(), ctx) };
  const decoder = new SseDecoder();
  const translator = adapter.createStreamTranslator(ctx);
  const chunks: ChatCompletionChunk[] = [];
  let complete = false;
  for await (const bytes of res.body as unknown as AsyncIterable<Uint8Array>) {
    for (const event of decoder.push(bytes)) if (translator.push(event, chunks)) complete = true;
  }
  for (const event of decoder.end()) if (translator.push(event, chunks)) complete = true;
  return { chunks, complete };
}

describe('openai adapters against a live upstream on 127.0.0.1', () => {
  it('Ollama (no key): no Authorization header reaches the server, the stream completes', async () => {
    const target: ProviderTarget = { name: 'ollama', type: 'openai-compatible', baseUrl: `${base}/v1` };
    seen.length = 0;
    const result = await call(openaiCompatibleAdapter, { target, model: 'llama3.2', stream: true });
    expect(seen).toHaveLength(1);
    expect(seen[0].method).toBe('POST');
    expect(seen[0].url).toBe('/v1/chat/completions');
    expect(seen[0].headers.authorization).toBeUndefined();
    expect(seen[0].headers['content-type']).toBe('application/json');
    expect(seen[0].body).toEqual({ ...REQUEST, model: 'llama3.2', stream: true, stream_options: { include_usage: true } });
    expect(result.complete).toBe(true);
    expect(result.chunks).toHaveLength(9);
    expect(result.chunks?.at(-1)?.usage).toEqual({ prompt_tokens: 56, completion_tokens: 17, total_tokens: 73 });
  });

  it('Azure: the deployment path, api-version query and api-key header reach the server', async () => {
    const target: ProviderTarget = {
      name: 'azure',
      type: 'openai',
      baseUrl: base,
      apiKey: 'azure-key-1',
      azureApiVersion: '2024-10-21',
      azureDeployments: { 'gpt-4o': 'prod-gpt4o' },
    };
    seen.length = 0;
    const result = await call(openaiAdapter, { target, model: 'gpt-4o', stream: false });
    expect(seen[0].url).toBe('/openai/deployments/prod-gpt4o/chat/completions?api-version=2024-10-21');
    expect(seen[0].headers['api-key']).toBe('azure-key-1');
    expect(seen[0].headers.authorization).toBeUndefined();
    expect(seen[0].body).toEqual({ ...REQUEST, model: 'gpt-4o' });
    expect(result.completion?.id).toBe('chatcmpl-B9MHDbslfkBeAs8l4bebGdFOJ6PeG');
  });

  it('OpenAI: the Bearer key reaches the server; a 429 quota error comes back classified', async () => {
    const target: ProviderTarget = { name: 'openai', type: 'openai', baseUrl: `${base}/quota/v1`, apiKey: 'sk-live-1' };
    seen.length = 0;
    const result = await call(openaiAdapter, { target, model: 'gpt-4o', stream: true });
    expect(seen[0].headers.authorization).toBe('Bearer sk-live-1');
    expect({ kind: result.error?.kind, fatal: result.error?.fatal, status: result.error?.status }).toEqual({
      kind: 'quota_exceeded',
      fatal: true,
      status: 429,
    });
  });

  it('a 429 rate limit comes back with hints read from real response headers', async () => {
    const target: ProviderTarget = { name: 'openai', type: 'openai', baseUrl: `${base}/ratelimited/v1`, apiKey: 'sk-live-1' };
    const result = await call(openaiAdapter, { target, model: 'gpt-3.5-turbo', stream: false });
    expect({ kind: result.error?.kind, hints: result.error?.hints }).toEqual({
      kind: 'rate_limit',
      hints: {
        retryAfterMs: 20_000,
        rateLimit: { limitRequests: 3, remainingRequests: 0, resetRequestsMs: 20_000, limitTokens: 40000, remainingTokens: 39850, resetTokensMs: 225 },
      },
    });
  });
});
