import { describe, expect, it } from 'vitest';
import { UpstreamError } from '../../src/core/upstream-error.ts';
import { openaiAdapter, openaiCompatibleAdapter } from '../../src/providers/openai.ts';
import type { TranslateContext } from '../../src/providers/types.ts';
import { fixtureJson } from '../fixtures/openai/load.ts';

const CTX: TranslateContext = {
  target: { name: 'openai', type: 'openai', baseUrl: 'https://api.openai.com/v1', apiKey: 'sk-test' },
  model: 'gpt-4o',
  stream: false,
};

function thrown(fn: () => unknown): UpstreamError {
  try {
    fn();
  } catch (err) {
    if (err instanceof UpstreamError) return err;
    throw err;
  }
  throw new Error('expected an UpstreamError');
}

describe('openai adapter: non-streaming responses', () => {
  it("returns the chat.completion as sent, the provider's model kept", () => {
    const body = fixtureJson('chat-completion.json');
    const completion = openaiAdapter.parseResponse(body, CTX);
    expect(completion).toEqual(fixtureJson('chat-completion.json'));
    expect(completion.model).toBe('gpt-4o-2024-08-06');
    expect(completion.usage?.total_tokens).toBe(1163);
  });

  it('returns a tool-call completion as sent', () => {
    const completion = openaiAdapter.parseResponse(fixtureJson('chat-completion-tool-calls.json'), CTX);
    expect(completion.choices[0].finish_reason).toBe('tool_calls');
    expect(completion.choices[0].message.tool_calls).toEqual([
      { id: 'call_abc123', type: 'function', function: { name: 'get_current_weather', arguments: '{\n"location": "Boston, MA"\n}' } },
    ]);
  });

  it('throws server_error for a body without a choices array', () => {
    for (const body of [null, 'ok', 42, [], {}, { id: 'chatcmpl-1', choices: null }]) {
      const err = thrown(() => openaiAdapter.parseResponse(body, CTX));
      expect({ kind: err.kind, status: err.status, message: err.message }).toEqual({
        kind: 'server_error',
        status: 200,
        message: 'upstream sent a chat completion without a choices array',
      });
    }
  });

  it('throws a classified in-band error for a 200 that carries an error object', () => {
    const err = thrown(() =>
      openaiCompatibleAdapter.parseResponse({ error: { message: 'Rate limit exceeded: free-models-per-min.', type: null, param: null, code: 429 } }, CTX),
    );
    expect({ kind: err.kind, inBand: err.inBand, status: err.status, providerCode: err.providerCode }).toEqual({
      kind: 'rate_limit',
      inBand: true,
      status: 200,
      providerCode: '429',
    });
  });
});
