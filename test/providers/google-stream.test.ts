import { describe, expect, it } from 'vitest';
import type { ChatCompletionChunk } from '../../src/core/openai-types.ts';
import { UpstreamError } from '../../src/core/upstream-error.ts';
import type { SseEvent } from '../../src/providers/sse.ts';
import { CREATED, ctx, fixtureEvents, testAdapter } from '../fixtures/google/fixtures.ts';

/** Feeds events one by one; records the chunks and each push's completion flag. */
function run(events: SseEvent[], model = 'gemini-2.5-flash') {
  const translator = testAdapter().createStreamTranslator(ctx(true, model));
  const chunks: ChatCompletionChunk[] = [];
  const done = events.map((e) => translator.push(e, chunks));
  return { chunks, done };
}

function data(value: unknown): SseEvent {
  return { event: undefined, data: typeof value === 'string' ? value : JSON.stringify(value) };
}

function thrown(events: SseEvent[]): UpstreamError {
  try {
    run(events);
  } catch (err) {
    if (err instanceof UpstreamError) return err;
    throw err;
  }
  throw new Error('push did not throw');
}

const chunk = (id: string, model: string, delta: object, finish: string | null = null, index = 0) => ({
  id,
  object: 'chat.completion.chunk',
  created: CREATED,
  model,
  choices: [{ index, delta, finish_reason: finish, logprobs: null }],
});

describe('google stream', () => {
  it('translates a real streamGenerateContent trace: role, text deltas, finish, usage; complete on the finishReason chunk', () => {
    const id = 'tTCwacuEBMvnitYP06qsgQY';
    const model = 'gemini-3.1-flash-lite-preview';
    const { chunks, done } = run(fixtureEvents('stream-text.sse'));
    expect(done).toEqual([false, false, false, true]);
    expect(chunks).toEqual([
      chunk(id, model, { role: 'assistant', content: '' }),
      chunk(id, model, { content: 'Hello!' }),
      chunk(id, model, { content: ' How can I help you today' }),
      chunk(id, model, { content: '?' }),
      chunk(id, model, {}, 'stop'),
      { id, object: 'chat.completion.chunk', created: CREATED, model, choices: [], usage: { prompt_tokens: 1, completion_tokens: 9, total_tokens: 10 } },
    ]);
  });

  it('emits complete tool calls as one tool_calls delta, then finish_reason tool_calls', () => {
    const id = 'aGK3aZ2gDZaXz7IP0dKd-Qs';
    const model = 'gemini-3-flash-preview';
    const { chunks, done } = run(fixtureEvents('stream-function-call.sse'));
    expect(done).toEqual([true]);
    expect(chunks).toEqual([
      chunk(id, model, { role: 'assistant', content: '' }),
      chunk(id, model, {
        tool_calls: [
          {
            index: 0,
            id: `call_${id}_0`,
            type: 'function',
            function: { name: 'find_theaters', arguments: '{"movie":"Barbie","location":"Mountain View, CA"}' },
            extra_content: { google: { thought_signature: 'CiQBjz1rX8ALnAw6bJ7PX1PvEJg/ryLzTcUVWBMgHqfspvQnPFw=' } },
          },
          {
            index: 1,
            id: `call_${id}_1`,
            type: 'function',
            function: { name: 'get_showtimes', arguments: '{"location":"Mountain View, CA","movie":"Barbie","theater":"AMC Mountain View 16","date":"2026-03-10"}' },
          },
        ],
      }),
      chunk(id, model, {}, 'tool_calls'),
      {
        id, object: 'chat.completion.chunk', created: CREATED, model, choices: [],
        usage: { prompt_tokens: 120, completion_tokens: 90, total_tokens: 210, completion_tokens_details: { reasoning_tokens: 42 } },
      },
    ]);
  });

  it('numbers tool calls across chunks and keeps one id and model for the whole stream', () => {
    const { chunks, done } = run([
      data({ candidates: [{ content: { role: 'model', parts: [{ functionCall: { name: 'a', args: {} } }] } }] }),
      data({ candidates: [{ content: { role: 'model', parts: [{ functionCall: { name: 'b', args: { x: 1 } } }] }, finishReason: 'STOP' }] }),
    ], 'gemini-2.0-flash');
    expect(done).toEqual([false, true]);
    expect(chunks).toEqual([
      chunk('chatcmpl-test1', 'gemini-2.0-flash', { role: 'assistant', content: '' }),
      chunk('chatcmpl-test1', 'gemini-2.0-flash', { tool_calls: [{ index: 0, id: 'call_chatcmpl-test1_0', type: 'function', function: { name: 'a', arguments: '{}' } }] }),
      chunk('chatcmpl-test1', 'gemini-2.0-flash', { tool_calls: [{ index: 1, id: 'call_chatcmpl-test1_1', type: 'function', function: { name: 'b', arguments: '{"x":1}' } }] }),
      chunk('chatcmpl-test1', 'gemini-2.0-flash', {}, 'tool_calls'),
    ]);
  });

  it('finishes with length on MAX_TOKENS, emitting the last text before the finish chunk', () => {
    const { chunks } = run([data({
      responseId: 'r',
      modelVersion: 'gemini-2.5-pro',
      candidates: [{ content: { role: 'model', parts: [{ text: 'cut off' }] }, finishReason: 'MAX_TOKENS', index: 0 }],
      usageMetadata: { promptTokenCount: 5, candidatesTokenCount: 2, totalTokenCount: 7 },
    })]);
    expect(chunks.map((c) => [c.choices[0]?.delta, c.choices[0]?.finish_reason ?? null, c.usage ?? null])).toEqual([
      [{ role: 'assistant', content: '' }, null, null],
      [{ content: 'cut off' }, null, null],
      [{}, 'length', null],
      [undefined, null, { prompt_tokens: 5, completion_tokens: 2, total_tokens: 7 }],
    ]);
  });

  it('finishes a SAFETY-stopped candidate with content_filter', () => {
    const { chunks, done } = run([
      data({ responseId: 'r', candidates: [{ content: { role: 'model', parts: [{ text: 'Once' }] } }] }),
      data({ responseId: 'r', candidates: [{ finishReason: 'SAFETY', index: 0 }] }),
    ]);
    expect(done).toEqual([false, true]);
    expect(chunks.at(-1)).toEqual(chunk('r', 'gemini-2.5-flash', {}, 'content_filter'));
  });

  it('completes only when every candidate (n > 1) has finished', () => {
    const { chunks, done } = run([
      data({ responseId: 'r', candidates: [{ index: 0, content: { parts: [{ text: 'a' }] } }, { index: 1, content: { parts: [{ text: 'b' }] }, finishReason: 'STOP' }] }),
      data({ responseId: 'r', candidates: [{ index: 0, content: { parts: [{ text: 'c' }] }, finishReason: 'STOP' }] }),
    ]);
    expect(done).toEqual([false, true]);
    expect(chunks.map((c) => [c.choices[0].index, c.choices[0].delta, c.choices[0].finish_reason])).toEqual([
      [0, { role: 'assistant', content: '' }, null],
      [0, { content: 'a' }, null],
      [1, { role: 'assistant', content: '' }, null],
      [1, { content: 'b' }, null],
      [1, {}, 'stop'],
      [0, { content: 'c' }, null],
      [0, {}, 'stop'],
    ]);
  });

  it('emits nothing for blank events or chunks without candidates', () => {
    expect(run([data(''), data({ usageMetadata: { promptTokenCount: 3 } })])).toEqual({ chunks: [], done: [false, false] });
  });

  it('throws content_filter, in band, for a chunk whose prompt was blocked', () => {
    const err = thrown([data({ promptFeedback: { blockReason: 'PROHIBITED_CONTENT' }, usageMetadata: { promptTokenCount: 9, totalTokenCount: 9 } })]);
    expect({ kind: err.kind, providerCode: err.providerCode, inBand: err.inBand }).toEqual({ kind: 'content_filter', providerCode: 'PROHIBITED_CONTENT', inBand: true });
  });

  it('throws the classified error, in band, for an error object mid-stream', () => {
    const err = thrown([
      data({ responseId: 'r', candidates: [{ content: { parts: [{ text: 'Hi' }] } }] }),
      data({ error: { code: 503, message: 'The model is overloaded. Please try again later.', status: 'UNAVAILABLE' } }),
    ]);
    expect({ kind: err.kind, status: err.status, providerCode: err.providerCode, inBand: err.inBand, message: err.message }).toEqual({
      kind: 'model_overloaded',
      status: 503,
      providerCode: 'UNAVAILABLE',
      inBand: true,
      message: 'The model is overloaded. Please try again later.',
    });
  });

  it('throws server_error, in band, for a chunk that is not JSON or not an object', () => {
    const bad = thrown([data('{"candidates": [')]);
    expect({ kind: bad.kind, inBand: bad.inBand }).toEqual({ kind: 'server_error', inBand: true });
    expect(thrown([data('[1,2]')]).kind).toBe('server_error');
  });

  it('ignores anything after the stream completed', () => {
    const events = [...fixtureEvents('stream-text.sse'), data({ candidates: [{ content: { parts: [{ text: 'late' }] } }] })];
    const { chunks, done } = run(events);
    expect(done).toEqual([false, false, false, true, true]);
    expect(chunks).toHaveLength(6);
  });
});
