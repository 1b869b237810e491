import { readFileSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { ChatCompletionChunk } from '../../src/core/openai-types.ts';
import { UpstreamError } from '../../src/core/upstream-error.ts';
import { anthropicAdapter } from '../../src/providers/anthropic.ts';
import { SseDecoder, type SseEvent } from '../../src/providers/sse.ts';
import type { StreamTranslator, TranslateContext } from '../../src/providers/types.ts';

const ctx: TranslateContext = {
  target: { name: 'anthropic', type: 'anthropic', baseUrl: 'https://api.anthropic.com' },
  model: 'claude-3-5-sonnet-20241022',
  stream: true,
};
const NOW = Date.UTC(2025, 0, 2, 3, 4, 5);
const CREATED = NOW / 1000;
const sse = (name: string): string => readFileSync(new URL(`../fixtures/anthropic/${name}`, import.meta.url), 'utf8');

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['Date'] });
  vi.setSystemTime(NOW);
});
afterEach(() => {
  vi.useRealTimers();
});

/** Feed raw SSE text (in pieces of `step` chars) through decoder + translator. */
function run(text: string, step = text.length): { chunks: ChatCompletionChunk[]; done: boolean; eventsAfterDone: number } {
  const decoder = new SseDecoder();
  const t = anthropicAdapter.createStreamTranslator(ctx);
  const chunks: ChatCompletionChunk[] = [];
  let done = false;
  let eventsAfterDone = 0;
  const feed = (events: SseEvent[]) => {
    for (const ev of events) {
      if (done) eventsAfterDone++;
      else done = t.push(ev, chunks);
    }
  };
  for (let i = 0; i < text.length; i += step) feed(decoder.push(text.slice(i, i + step)));
  feed(decoder.end());
  return { chunks, done, eventsAfterDone };
}

function chunk(id: string, model: string, delta: object, finish: string | null = null) {
  return { id, object: 'chat.completion.chunk', created: CREATED, model, choices: [{ index: 0, delta, finish_reason: finish }] };
}

function thrown(fn: () => unknown): UpstreamError {
  try {
    fn();
  } catch (err) {
    if (err instanceof UpstreamError) return err;
    throw err;
  }
  throw new Error('expected an UpstreamError');
}

const ev = (data: object | string, event?: string): SseEvent => ({
  event: event ?? (typeof data === 'string' ? undefined : String((data as { type: string }).type)),
  data: typeof data === 'string' ? data : JSON.stringify(data),
});
const messageStart = ev({
  type: 'message_start',
  message: { id: 'msg_01', type: 'message', role: 'assistant', content: [], model: 'claude-3-opus-20240229', stop_reason: null, stop_sequence: null, usage: { input_tokens: 10, output_tokens: 1 } },
});

describe('anthropic stream → chat.completion.chunk', () => {
  it('translates the API reference text stream', () => {
    const id = 'msg_1nZdL29xx5MUA1yADyHTEsnR8uuvGzszyY';
    const model = 'claude-3-5-sonnet-20241022';
    expect(run(sse('stream-text.sse'))).toEqual({
      done: true,
      eventsAfterDone: 0,
      chunks: [
        chunk(id, model, { role: 'assistant', content: '' }),
        chunk(id, model, { content: 'Hello' }),
        chunk(id, model, { content: '!' }),
        chunk(id, model, {}, 'stop'),
        {
          id, object: 'chat.completion.chunk', created: CREATED, model, choices: [],
          usage: { prompt_tokens: 25, completion_tokens: 15, total_tokens: 40, prompt_tokens_details: { cached_tokens: 0 } },
        },
      ],
    });
  });

  it('reassembles the API reference tool-use stream into text, a tool call and its argument deltas', () => {
    const id = 'msg_014p7gG3wDgGV9EUtLvnow3U';
    const model = 'claude-3-5-sonnet-20241022';
    const args = (s: string) => chunk(id, model, { tool_calls: [{ index: 0, function: { arguments: s } }] });
    const { chunks, done } = run(sse('stream-tool-use.sse'));
    expect(done).toBe(true);
    expect(chunks).toEqual([
      chunk(id, model, { role: 'assistant', content: '' }),
      chunk(id, model, { content: 'Okay' }),
      chunk(id, model, { content: ',' }),
      chunk(id, model, { content: " let's check the weather for San Francisco, CA:" }),
      chunk(id, model, {
        tool_calls: [{ index: 0, id: 'toolu_01T1x1fJ34qAmk2tNTrN7Up6', type: 'function', function: { name: 'get_weather', arguments: '' } }],
      }),
      args('{"location":'),
      args(' "San'),
      args(' Francisc'),
      args('o,'),
      args(' CA"'),
      args(', '),
      args('"unit": "fah'),
      args('renheit"}'),
      chunk(id, model, {}, 'tool_calls'),
      {
        id, object: 'chat.completion.chunk', created: CREATED, model, choices: [],
        usage: { prompt_tokens: 472, completion_tokens: 89, total_tokens: 561, prompt_tokens_details: { cached_tokens: 0 } },
      },
    ]);
    const joined = chunks.flatMap((c) => c.choices.flatMap((ch) => ch.delta.tool_calls ?? [])).map((tc) => tc.function?.arguments).join('');
    expect(JSON.parse(joined)).toEqual({ location: 'San Francisco, CA', unit: 'fahrenheit' });
  });

  it('gives the same chunks however the bytes are split', () => {
    const whole = run(sse('stream-tool-use.sse'));
    for (const step of [1, 7, 64]) expect(run(sse('stream-tool-use.sse'), step)).toEqual(whole);
  });

  it('numbers parallel tool calls by their order among tool blocks, not by block index', () => {
    const t = anthropicAdapter.createStreamTranslator(ctx);
    const out: ChatCompletionChunk[] = [];
    t.push(messageStart, out);
    t.push(ev({ type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } }), out);
    t.push(ev({ type: 'content_block_stop', index: 0 }), out);
    t.push(ev({ type: 'content_block_start', index: 1, content_block: { type: 'tool_use', id: 'toolu_a', name: 'f', input: {} } }), out);
    t.push(ev({ type: 'content_block_start', index: 2, content_block: { type: 'tool_use', id: 'toolu_b', name: 'g', input: {} } }), out);
    t.push(ev({ type: 'content_block_delta', index: 2, delta: { type: 'input_json_delta', partial_json: '{}' } }), out);
    t.push(ev({ type: 'content_block_delta', index: 1, delta: { type: 'input_json_delta', partial_json: '{"x":1}' } }), out);
    expect(out.slice(1).map((c) => c.choices[0].delta.tool_calls)).toEqual([
      [{ index: 0, id: 'toolu_a', type: 'function', function: { name: 'f', arguments: '' } }],
      [{ index: 1, id: 'toolu_b', type: 'function', function: { name: 'g', arguments: '' } }],
      [{ index: 1, function: { arguments: '{}' } }],
      [{ index: 0, function: { arguments: '{"x":1}' } }],
    ]);
  });

  it('maps message_delta stop reasons and takes the latest usage, cache tokens included', () => {
    const t = anthropicAdapter.createStreamTranslator(ctx);
    const out: ChatCompletionChunk[] = [];
    t.push(messageStart, out);
    t.push(ev({ type: 'message_delta', delta: { stop_reason: 'max_tokens', stop_sequence: null }, usage: { input_tokens: 12, cache_read_input_tokens: 100, output_tokens: 4096 } }), out);
    expect(t.push(ev({ type: 'message_stop' }), out)).toBe(true);
    expect(out[1].choices[0].finish_reason).toBe('length');
    expect(out[2].usage).toEqual({ prompt_tokens: 112, completion_tokens: 4096, total_tokens: 4208, prompt_tokens_details: { cached_tokens: 100 } });
  });

  it('reports refusal as content_filter', () => {
    const t = anthropicAdapter.createStreamTranslator(ctx);
    const out: ChatCompletionChunk[] = [];
    t.push(messageStart, out);
    t.push(ev({ type: 'message_delta', delta: { stop_reason: 'refusal' }, usage: { output_tokens: 3 } }), out);
    expect(out[1].choices[0].finish_reason).toBe('content_filter');
  });

  it('ignores ping, thinking blocks and unknown event types', () => {
    const t = anthropicAdapter.createStreamTranslator(ctx);
    const out: ChatCompletionChunk[] = [];
    t.push(messageStart, out);
    const quiet = [
      ev({ type: 'ping' }),
      ev({ type: 'content_block_start', index: 0, content_block: { type: 'thinking', thinking: '' } }),
      ev({ type: 'content_block_delta', index: 0, delta: { type: 'thinking_delta', thinking: 'Let me think' } }),
      ev({ type: 'content_block_delta', index: 0, delta: { type: 'signature_delta', signature: 'EqQB' } }),
      ev({ type: 'content_block_stop', index: 0 }),
      ev({ type: 'some_future_event', foo: 1 }),
    ];
    for (const e of quiet) expect(t.push(e, out)).toBe(false);
    expect(out).toHaveLength(1);
  });

  it('throws an in-band model_overloaded UpstreamError for an overloaded error after message_start', () => {
    const text =
      sse('stream-text.sse').split('event: content_block_start')[0] +
      'event: error\ndata: {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}\n\n';
    const decoder = new SseDecoder();
    const t: StreamTranslator = anthropicAdapter.createStreamTranslator(ctx);
    const out: ChatCompletionChunk[] = [];
    const err = thrown(() => {
      for (const e of decoder.push(text)) t.push(e, out);
    });
    expect(out).toHaveLength(1);
    expect({ kind: err.kind, inBand: err.inBand, status: err.status, providerCode: err.providerCode, message: err.message }).toEqual({
      kind: 'model_overloaded',
      inBand: true,
      status: 200,
      providerCode: 'overloaded_error',
      message: 'Overloaded',
    });
  });

  it('classifies other in-band errors the same way as HTTP ones', () => {
    const t = anthropicAdapter.createStreamTranslator(ctx);
    const err = thrown(() => t.push(ev({ type: 'error', error: { type: 'api_error', message: 'Internal server error' } }), []));
    expect([err.kind, err.inBand]).toEqual(['server_error', true]);
  });

  it('throws a server_error UpstreamError for data that is not JSON or has no type', () => {
    const t = anthropicAdapter.createStreamTranslator(ctx);
    const out: ChatCompletionChunk[] = [];
    t.push(messageStart, out);
    const notJson = thrown(() => t.push({ event: 'content_block_delta', data: '{"type": "content_block_delta", "index": 0, "delta": {"ty' }, out));
    expect([notJson.kind, notJson.status, notJson.inBand]).toEqual(['server_error', 200, true]);
    expect(thrown(() => t.push({ event: 'message_delta', data: '[1,2]' }, out)).kind).toBe('server_error');
  });

  it('throws server_error for events out of order or of the wrong shape', () => {
    const fresh = () => anthropicAdapter.createStreamTranslator(ctx);
    expect(thrown(() => fresh().push(ev({ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'x' } }), [])).kind).toBe('server_error');
    expect(thrown(() => fresh().push(ev({ type: 'message_start' }), [])).kind).toBe('server_error');
    const t = fresh();
    t.push(messageStart, []);
    expect(thrown(() => t.push(ev({ type: 'content_block_delta', index: 5, delta: { type: 'input_json_delta', partial_json: '{' } }), [])).kind).toBe('server_error');
  });
});
