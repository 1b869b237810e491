import { describe, expect, it } from 'vitest';
import type { ChatCompletionChunk } from '../../src/core/openai-types.ts';
import { UpstreamError } from '../../src/core/upstream-error.ts';
import { openaiAdapter, openaiCompatibleAdapter } from '../../src/providers/openai.ts';
import { SseDecoder, type SseEvent } from '../../src/providers/sse.ts';
import type { ProviderTarget, TranslateContext } from '../../src/providers/types.ts';
import { fixtureText } from '../fixtures/openai/load.ts';

const TARGET: ProviderTarget = { name: 'openai', type: 'openai', baseUrl: 'https://api.openai.com/v1', apiKey: 'sk-test' };
const CTX: TranslateContext = { target: TARGET, model: 'gpt-4o-mini', stream: true };

interface Run {
  chunks: ChatCompletionChunk[];
  /** Index of the event that completed the stream, or -1. */
  completedAt: number;
  events: number;
  error?: UpstreamError;
}

/** Decode a recorded SSE body and push every event through a fresh translator. */
function run(sse: string, adapter = openaiAdapter): Run {
  const decoder = new SseDecoder();
  const events = [...decoder.push(sse), ...decoder.end()];
  return runEvents(events, adapter);
}

function runEvents(events: SseEvent[], adapter = openaiAdapter): Run {
  const translator = adapter.createStreamTranslator(CTX);
  const chunks: ChatCompletionChunk[] = [];
  let completedAt = -1;
  for (let i = 0; i < events.length; i++) {
    try {
      if (translator.push(events[i], chunks)) {
        completedAt = i;
        break;
      }
    } catch (err) {
      if (!(err instanceof UpstreamError)) throw err;
      return { chunks, completedAt, events: events.length, error: err };
    }
  }
  return { chunks, completedAt, events: events.length };
}

/** The recorded chunks themselves, as JSON values, in order. */
function recordedChunks(sse: string): unknown[] {
  return sse
    .split(/\r?\n/)
    .filter((l) => l.startsWith('data: ') && l !== 'data: [DONE]')
    .map((l) => JSON.parse(l.slice(6)));
}

describe('openai stream translator', () => {
  it('passes a text stream through unchanged and completes on [DONE]', () => {
    const sse = fixtureText('stream-text.sse');
    const r = run(sse);
    expect(r.error).toBeUndefined();
    expect(r.completedAt).toBe(r.events - 1);
    expect(r.chunks).toEqual(recordedChunks(sse));
    expect(r.chunks.map((c) => c.choices[0]?.delta.content ?? null).join('')).toBe('Hello! How can I help you today?');
  });

  it('passes the usage chunk (choices: []) through as is', () => {
    const r = run(fixtureText('stream-text.sse'));
    expect(r.chunks.at(-1)).toEqual({
      id: 'chatcmpl-AqkVQ1GHVhS8uC6VzbOWFTlXoDBtX',
      object: 'chat.completion.chunk',
      created: 1737112148,
      model: 'gpt-4o-mini-2024-07-18',
      service_tier: 'default',
      system_fingerprint: 'fp_72ed7ab54c',
      choices: [],
      usage: {
        prompt_tokens: 19,
        completion_tokens: 10,
        total_tokens: 29,
        prompt_tokens_details: { cached_tokens: 0, audio_tokens: 0 },
        completion_tokens_details: { reasoning_tokens: 0, audio_tokens: 0, accepted_prediction_tokens: 0, rejected_prediction_tokens: 0 },
      },
    });
  });

  it("passes tool-call deltas through, the provider's model kept", () => {
    const sse = fixtureText('stream-tool-calls.sse');
    const r = run(sse);
    expect(r.error).toBeUndefined();
    expect(r.chunks).toEqual(recordedChunks(sse));
    expect(r.chunks[0].model).toBe('gpt-4o-2024-08-06');
    expect(r.chunks[0].choices[0].delta.tool_calls).toEqual([
      { index: 0, id: 'call_DdmO9pD3xa9XTPNJ32zg2hcA', type: 'function', function: { name: 'get_weather', arguments: '' } },
    ]);
    const args = r.chunks.flatMap((c) => c.choices.flatMap((ch) => ch.delta.tool_calls ?? [])).map((t) => t.function?.arguments ?? '').join('');
    expect(JSON.parse(args)).toEqual({ location: 'Paris,  France' });
    expect(r.chunks.at(-2)?.choices[0].finish_reason).toBe('tool_calls');
    expect(r.chunks.at(-1)?.usage).toEqual({ prompt_tokens: 56, completion_tokens: 17, total_tokens: 73 });
  });

  it("passes Azure's prompt_filter_results opener and CRLF stream through", () => {
    const sse = fixtureText('stream-azure.sse');
    const r = run(sse);
    expect(r.error).toBeUndefined();
    expect(r.completedAt).toBe(r.events - 1);
    expect(r.chunks).toEqual(recordedChunks(sse));
    expect(r.chunks).toHaveLength(5);
  });

  it('throws a classified in-band error for data: {"error": ...} after content', () => {
    const r = run(fixtureText('stream-error-midstream.sse'));
    expect(r.chunks.map((c) => c.choices[0].delta.content)).toEqual(['', 'Once upon']);
    expect(r.error).toBeDefined();
    expect({
      kind: r.error?.kind,
      inBand: r.error?.inBand,
      status: r.error?.status,
      fatal: r.error?.fatal,
      providerCode: r.error?.providerCode,
      message: r.error?.message,
    }).toEqual({
      kind: 'server_error',
      inBand: true,
      status: 200,
      fatal: false,
      providerCode: 'server_error',
      message: 'The server had an error while processing your request. Sorry about that!',
    });
  });

  it("classifies vLLM's in-band error by its numeric code and message", () => {
    const r = run(fixtureText('stream-vllm-error.sse'), openaiCompatibleAdapter);
    expect(r.chunks).toHaveLength(1);
    expect({ kind: r.error?.kind, inBand: r.error?.inBand, providerCode: r.error?.providerCode }).toEqual({
      kind: 'context_length_exceeded',
      inBand: true,
      providerCode: '400',
    });
  });

  const inBand: Array<[string, unknown, string, boolean]> = [
    ['insufficient_quota', { error: { message: 'You exceeded your current quota', type: 'insufficient_quota', param: null, code: 'insufficient_quota' } }, 'quota_exceeded', true],
    ['rate_limit_exceeded', { error: { message: 'Rate limit reached. Please try again in 2s.', type: 'requests', param: null, code: 'rate_limit_exceeded' } }, 'rate_limit', false],
    ['overloaded server_error', { error: { message: 'That model is currently overloaded with other requests.', type: 'server_error', param: null, code: null } }, 'model_overloaded', false],
    ['Azure content_filter', { error: { message: 'The response was filtered', type: null, param: 'prompt', code: 'content_filter', status: 400 } }, 'content_filter', false],
    ['Azure code "429"', { error: { code: '429', message: 'Requests ... Please retry after 3 seconds.' } }, 'rate_limit', false],
    ['vLLM InternalServerError', { error: { object: 'error', message: 'engine dead', type: 'InternalServerError', param: null, code: 500 } }, 'server_error', false],
    ['top-level object: error', { object: 'error', message: 'Bad input', type: 'BadRequestError', param: null, code: 400 }, 'bad_request', false],
    ['authentication_error', { error: { message: 'key revoked', type: 'authentication_error', param: null, code: null } }, 'auth_error', false],
    // OpenAI's own invalid-key error: the type says invalid_request_error, the code says 401.
    ['invalid_api_key', { error: { message: 'Incorrect API key provided: sk-****ARY3.', type: 'invalid_request_error', param: null, code: 'invalid_api_key' } }, 'auth_error', false],
    ['unknown type', { error: { message: 'something broke' } }, 'server_error', false],
  ];
  for (const [name, payload, kind, fatal] of inBand) {
    it(`classifies an in-band ${name} as ${kind}`, () => {
      const r = runEvents([{ event: undefined, data: JSON.stringify(payload) }]);
      expect({ kind: r.error?.kind, fatal: r.error?.fatal, inBand: r.error?.inBand }).toEqual({ kind, fatal, inBand: true });
    });
  }

  it('takes the retry delay of an in-band rate limit from its message', () => {
    const r = runEvents([{ event: undefined, data: '{"error":{"message":"Rate limit reached. Please try again in 2.5s.","type":"tokens","param":null,"code":"rate_limit_exceeded"}}' }]);
    expect(r.error?.hints).toEqual({ retryAfterMs: 2500 });
  });

  it('treats an event named error as an in-band error, JSON or not', () => {
    const json = runEvents([{ event: 'error', data: '{"message":"overloaded","type":"overloaded_error"}' }]);
    expect({ kind: json.error?.kind, inBand: json.error?.inBand }).toEqual({ kind: 'model_overloaded', inBand: true });
    const text = runEvents([{ event: 'error', data: 'upstream went away' }]);
    expect({ kind: text.error?.kind, inBand: text.error?.inBand, message: text.error?.message }).toEqual({
      kind: 'server_error',
      inBand: true,
      message: 'upstream went away',
    });
  });

  it('throws server_error for a chunk that is not JSON', () => {
    const r = runEvents([{ event: undefined, data: '{"id":"chatcmpl-1","choices":[{"index":0,"delta":{"content":"Hi"' }]);
    expect({ kind: r.error?.kind, inBand: r.error?.inBand, status: r.error?.status }).toEqual({ kind: 'server_error', inBand: true, status: 200 });
    expect(r.error?.message).toBe('upstream sent a stream event that is not JSON: {"id":"chatcmpl-1","choices":[{"index":0,"delta":{"content":"Hi"');
    expect(r.error?.cause).toBeInstanceOf(SyntaxError);
  });

  it('throws server_error for JSON that is not a chunk', () => {
    expect(runEvents([{ event: undefined, data: '42' }]).error?.kind).toBe('server_error');
    expect(runEvents([{ event: undefined, data: 'null' }]).error?.kind).toBe('server_error');
    const noChoices = runEvents([{ event: undefined, data: '{"id":"chatcmpl-1","object":"chat.completion.chunk"}' }]);
    expect({ kind: noChoices.error?.kind, message: noChoices.error?.message }).toEqual({
      kind: 'server_error',
      message: 'upstream sent a stream chunk without a choices array: {"id":"chatcmpl-1","object":"chat.completion.chunk"}',
    });
  });

  it('shortens a long malformed event in the message', () => {
    const r = runEvents([{ event: undefined, data: `x${'y'.repeat(500)}` }]);
    expect(r.error?.message).toBe(`upstream sent a stream event that is not JSON: x${'y'.repeat(199)}…`);
  });

  it('returns false for every chunk before [DONE] and appends nothing for [DONE]', () => {
    const t = openaiAdapter.createStreamTranslator(CTX);
    const out: ChatCompletionChunk[] = [];
    expect(t.push({ event: undefined, data: '{"id":"a","object":"chat.completion.chunk","created":1,"model":"m","choices":[]}' }, out)).toBe(false);
    expect(t.push({ event: undefined, data: '[DONE]' }, out)).toBe(true);
    expect(out).toEqual([{ id: 'a', object: 'chat.completion.chunk', created: 1, model: 'm', choices: [] }]);
  });
});
