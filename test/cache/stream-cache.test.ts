import OpenAI from 'openai';
import { afterEach, describe, expect, it } from 'vitest';
import { StreamAssembler } from '../../src/cache/assemble-stream.ts';
import type { RunningGateway } from '../../src/gateway.ts';
import { sdkClient, startTestGateway } from '../helpers/gateway.ts';

let gw: RunningGateway | undefined;
afterEach(async () => {
  await gw?.close();
  gw = undefined;
});

const BREAKER = { 'X-Circuit-Breaker': JSON.stringify({ error_threshold: 1, timeout: 30 }), 'X-Circuit-Breaker-Fallback': 'cache' };

async function text(stream: AsyncIterable<OpenAI.Chat.Completions.ChatCompletionChunk>): Promise<string> {
  let out = '';
  for await (const c of stream) out += c.choices[0]?.delta?.content ?? '';
  return out;
}

describe('the cache fallback with streams', () => {
  it('a streamed answer is cached, and replayed as a stream (X-Cache: STALE) once the circuit opens', async () => {
    gw = await startTestGateway({ resilience: { failover: { enabled: false }, retry: { max_retries: 0 } } });
    const client = sdkClient(gw);
    const body = { model: 'claude-3-opus', messages: [{ role: 'user' as const, content: 'cache me' }], stream: true as const };
    const fresh = await text(await client.chat.completions.create(body, { headers: BREAKER }));

    gw.simulator!.setModel('claude-3-opus', { faults: [{ type: 'error', kind: 'server_error' }] });
    await client.chat.completions.create(body, { headers: BREAKER }).catch(() => {});
    const { data, response } = await client.chat.completions.create(body, { headers: BREAKER }).withResponse();
    expect(response.headers.get('x-cache')).toBe('STALE');
    expect(response.headers.get('x-circuit-status')).toBe('open');
    expect(await text(data)).toBe(fresh);
    // The fresh call and the failing one reached the upstream; the stale answer did not.
    expect(gw.simulator!.calls({ model: 'claude-3-opus' }).map((c) => c.status)).toEqual([200, 500]);
  });
});

describe('StreamAssembler', () => {
  const base = { id: 'c1', object: 'chat.completion.chunk' as const, created: 1, model: 'm' };
  it('rebuilds content, tool calls, finish reason and usage', () => {
    const a = new StreamAssembler();
    a.push([
      { ...base, choices: [{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }] },
      { ...base, choices: [{ index: 0, delta: { tool_calls: [{ index: 0, id: 'call_1', type: 'function', function: { name: 'get', arguments: '{"a"' } }] }, finish_reason: null }] },
      { ...base, choices: [{ index: 0, delta: { tool_calls: [{ index: 0, function: { arguments: ':1}' } }] }, finish_reason: null }] },
    ]);
    expect(a.completion()).toBeUndefined();
    a.push([
      { ...base, choices: [{ index: 0, delta: {}, finish_reason: 'tool_calls' }] },
      { ...base, choices: [], usage: { prompt_tokens: 3, completion_tokens: 4, total_tokens: 7 } },
    ]);
    expect(a.completion()).toEqual({
      id: 'c1',
      object: 'chat.completion',
      created: 1,
      model: 'm',
      choices: [{ index: 0, message: { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'get', arguments: '{"a":1}' } }] }, finish_reason: 'tool_calls' }],
      usage: { prompt_tokens: 3, completion_tokens: 4, total_tokens: 7 },
    });
  });
});
