import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { openaiAdapter } from '../../src/providers/openai.ts';
import { Transport } from '../../src/providers/transport.ts';

const COMPLETION = JSON.stringify({
  id: 'chatcmpl-1',
  object: 'chat.completion',
  created: 1,
  model: 'gpt-4o',
  choices: [{ index: 0, message: { role: 'assistant', content: 'hi' }, finish_reason: 'stop', logprobs: null }],
  usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 },
});

/** An upstream that answers after `delayMs` and counts the TCP connections it was given. */
async function upstream(delayMs: number): Promise<{ url: string; connections: () => number; server: Server }> {
  let connections = 0;
  const server = createServer((req, res) => {
    req.resume();
    setTimeout(() => res.writeHead(200, { 'content-type': 'application/json' }).end(COMPLETION), delayMs);
  });
  server.on('connection', () => connections++);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, connections: () => connections, server };
}

const servers: Server[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await new Promise((r) => s.close(r));
});

describe('Transport pools', () => {
  it('sizes each origin by its own limit: 1 connection for one, the default for another', async () => {
    const small = await upstream(50);
    const large = await upstream(50);
    servers.push(small.server, large.server);
    const transport = new Transport({ connections: new Map([[small.url, 1]]) });
    const req = { model: 'gpt-4o', messages: [{ role: 'user' as const, content: 'hi' }] };
    const call = (baseUrl: string) =>
      transport.call(openaiAdapter, req, { target: { name: 'p', type: 'openai', baseUrl: `${baseUrl}/v1` }, model: 'gpt-4o', stream: false }, new AbortController().signal);
    const results = await Promise.all([...Array.from({ length: 4 }, () => call(small.url)), ...Array.from({ length: 4 }, () => call(large.url))]);
    expect(results.map((r) => r.type)).toEqual(Array(8).fill('completion'));
    expect(small.connections()).toBe(1);
    expect(large.connections()).toBe(4);
    await transport.close();
  });
});
