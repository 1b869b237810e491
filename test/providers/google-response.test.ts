import { describe, expect, it } from 'vitest';
import { UpstreamError } from '../../src/core/upstream-error.ts';
import { CREATED, ctx, fixtureJson, testAdapter } from '../fixtures/google/fixtures.ts';

function parseError(body: unknown): UpstreamError {
  try {
    testAdapter().parseResponse(body, ctx(false));
  } catch (err) {
    if (err instanceof UpstreamError) return err;
    throw err;
  }
  throw new Error('parseResponse did not throw');
}

function candidate(finishReason: string, parts: unknown[] = [{ text: 'x' }]) {
  return { candidates: [{ content: { role: 'model', parts }, finishReason, index: 0 }] };
}

describe('google response', () => {
  it('turns a generateContent answer into a chat.completion (id, model, usage with thinking tokens)', () => {
    expect(testAdapter().parseResponse(fixtureJson('generate-content.json'), ctx(false))).toEqual({
      id: 't2vJaOvJOsWWz7IPh7-D2QU',
      object: 'chat.completion',
      created: CREATED,
      model: 'gemini-2.5-flash',
      choices: [{
        index: 0,
        message: { role: 'assistant', content: 'AI learns patterns from data and uses them to make predictions.' },
        finish_reason: 'stop',
        logprobs: null,
      }],
      usage: { prompt_tokens: 8, completion_tokens: 1009, total_tokens: 1017, completion_tokens_details: { reasoning_tokens: 997 } },
    });
  });

  it('turns functionCall parts into tool_calls with ids minted for the response, finish_reason tool_calls', () => {
    expect(testAdapter().parseResponse(fixtureJson('function-call.json'), ctx(false, 'gemini-pro'))).toEqual({
      id: 'chatcmpl-test1',
      object: 'chat.completion',
      created: CREATED,
      model: 'gemini-pro',
      choices: [{
        index: 0,
        message: {
          role: 'assistant',
          content: null,
          tool_calls: [{
            id: 'call_chatcmpl-test1_0',
            type: 'function',
            function: { name: 'find_theaters', arguments: '{"movie":"Barbie","location":"Mountain View, CA"}' },
          }],
        },
        finish_reason: 'tool_calls',
        logprobs: null,
      }],
    });
  });

  it('keeps text beside tool calls, skips thought summaries, and carries thought signatures on tool calls', () => {
    const out = testAdapter().parseResponse({
      responseId: 'r/1+x',
      candidates: [{
        index: 0,
        finishReason: 'STOP',
        content: {
          role: 'model',
          parts: [
            { text: 'Planning the lookup', thought: true },
            { text: 'Let me check. ' },
            { functionCall: { name: 'a', args: { q: 1 } }, thoughtSignature: 'SIG1' },
            { functionCall: { name: 'b' } },
            { functionCall: { id: 'fc-9', name: 'c', args: {} } },
          ],
        },
      }],
    }, ctx(false));
    expect(out.choices[0].message).toEqual({
      role: 'assistant',
      content: 'Let me check. ',
      tool_calls: [
        { id: 'call_r1x_0', type: 'function', function: { name: 'a', arguments: '{"q":1}' }, extra_content: { google: { thought_signature: 'SIG1' } } },
        { id: 'call_r1x_1', type: 'function', function: { name: 'b', arguments: '{}' } },
        { id: 'fc-9', type: 'function', function: { name: 'c', arguments: '{}' } },
      ],
    });
  });

  it.each([
    ['STOP', 'stop'],
    ['MAX_TOKENS', 'length'],
    ['SAFETY', 'content_filter'],
    ['RECITATION', 'content_filter'],
    ['BLOCKLIST', 'content_filter'],
    ['PROHIBITED_CONTENT', 'content_filter'],
    ['SPII', 'content_filter'],
    ['OTHER', 'stop'],
  ])('maps finishReason %s to finish_reason %s', (reason, expected) => {
    expect(testAdapter().parseResponse(candidate(reason), ctx(false)).choices[0].finish_reason).toBe(expected);
  });

  it('answers an empty SAFETY-stopped candidate with empty content and content_filter', () => {
    const out = testAdapter().parseResponse({ candidates: [{ finishReason: 'SAFETY', index: 0 }] }, ctx(false));
    expect(out.choices).toEqual([{ index: 0, message: { role: 'assistant', content: '' }, finish_reason: 'content_filter', logprobs: null }]);
  });

  it('maps every candidate (n > 1) to a choice with its index', () => {
    const out = testAdapter().parseResponse({
      candidates: [
        { index: 0, finishReason: 'STOP', content: { role: 'model', parts: [{ text: 'one' }] } },
        { index: 1, finishReason: 'MAX_TOKENS', content: { role: 'model', parts: [{ text: 'two' }] } },
      ],
      usageMetadata: { promptTokenCount: 3, candidatesTokenCount: 4, totalTokenCount: 7, cachedContentTokenCount: 2 },
    }, ctx(false));
    expect(out.choices.map((c) => [c.index, c.message.content, c.finish_reason])).toEqual([[0, 'one', 'stop'], [1, 'two', 'length']]);
    expect(out.usage).toEqual({ prompt_tokens: 3, completion_tokens: 4, total_tokens: 7, prompt_tokens_details: { cached_tokens: 2 } });
  });

  it('throws content_filter when the prompt was blocked (promptFeedback.blockReason, no candidates)', () => {
    const err = parseError(fixtureJson('prompt-blocked.json'));
    expect({ kind: err.kind, providerCode: err.providerCode, inBand: err.inBand, message: err.message }).toEqual({
      kind: 'content_filter',
      providerCode: 'SAFETY',
      inBand: false,
      message: 'Gemini blocked the prompt (SAFETY)',
    });
  });

  it('throws server_error for a body that is not a response', () => {
    expect(parseError('oops').kind).toBe('server_error');
    expect(parseError([{ candidates: [] }]).kind).toBe('server_error');
    expect(parseError({ usageMetadata: { promptTokenCount: 1 } }).message).toBe('Gemini response has no candidates');
  });

  it('classifies an error object that came with a 200', () => {
    const err = parseError({ error: { code: 503, message: 'The model is overloaded. Please try again later.', status: 'UNAVAILABLE' } });
    expect({ kind: err.kind, status: err.status, inBand: err.inBand }).toEqual({ kind: 'model_overloaded', status: 503, inBand: false });
  });

  it('round-trips a Gemini tool call through the client: the signature goes back on the functionCall part', () => {
    const adapter = testAdapter();
    const first = adapter.parseResponse({
      responseId: 'resp1',
      candidates: [{ index: 0, finishReason: 'STOP', content: { role: 'model', parts: [{ functionCall: { name: 'lookup', args: { id: 7 } }, thoughtSignature: 'SIG' }] } }],
    }, ctx(false));
    const message = first.choices[0].message;
    const next = adapter.buildRequest({
      model: 'gemini-3-flash-preview',
      messages: [
        { role: 'user', content: 'Find 7' },
        { role: 'assistant', content: message.content, tool_calls: message.tool_calls },
        { role: 'tool', tool_call_id: message.tool_calls![0].id, content: '{"found":true}' },
      ],
    }, ctx(false));
    expect(JSON.parse(next.body).contents).toEqual([
      { role: 'user', parts: [{ text: 'Find 7' }] },
      { role: 'model', parts: [{ functionCall: { name: 'lookup', args: { id: 7 } }, thoughtSignature: 'SIG' }] },
      { role: 'user', parts: [{ functionResponse: { name: 'lookup', response: { found: true } } }] },
    ]);
  });
});
