import { describe, expect, it } from 'vitest';
import type { ChatCompletionChunk } from '../../src/core/openai-types.ts';
import { OpenAIStreamTranslator } from '../../src/providers/openai/stream.ts';
import { chunkJson } from '../../src/providers/raw-chunk.ts';

/** One OpenAI stream event through the real translator, as the transport feeds it. */
function translate(data: string): ChatCompletionChunk {
  const out: ChatCompletionChunk[] = [];
  new OpenAIStreamTranslator().push({ event: undefined, data }, out);
  return out[0];
}

// As OpenAI sends them with stream_options.include_usage (which the gateway always asks for).
const CONTENT = '{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"gpt-4o","choices":[{"index":0,"delta":{"content":"caf\\u00e9"},"logprobs":null,"finish_reason":null}],"usage":null}';
const USAGE = '{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"gpt-4o","choices":[],"usage":{"prompt_tokens":3,"completion_tokens":1,"total_tokens":4}}';

describe('chunkJson: untranslated OpenAI chunks go out as the upstream sent them', () => {
  it('sends the upstream text byte for byte to a client that asked for usage', () => {
    expect(chunkJson(translate(CONTENT), true)).toBe(CONTENT);
    expect(chunkJson(translate(USAGE), true)).toBe(USAGE);
  });

  it('drops "usage":null for a client that did not ask, and the result is the same object', () => {
    const out = chunkJson(translate(CONTENT), false);
    expect(out).toBe(CONTENT.slice(0, -',"usage":null}'.length) + '}');
    const { usage: _u, ...expected } = JSON.parse(CONTENT);
    expect(JSON.parse(out)).toEqual(expected);
  });

  it('serialises when usage is not the null last field', () => {
    const data = '{"id":"c","object":"chat.completion.chunk","created":1,"model":"m","usage":null,"choices":[]}';
    expect(JSON.parse(chunkJson(translate(data), false))).toEqual({ id: 'c', object: 'chat.completion.chunk', created: 1, model: 'm', choices: [] });
  });

  it('serialises a chunk the gateway built (no upstream text) and multi-line data', () => {
    const built = { ...translate(CONTENT), id: 'chatcmpl-first' };
    expect(JSON.parse(chunkJson(built, true)).id).toBe('chatcmpl-first');
    const multiLine = CONTENT.replace('"choices"', '\n"choices"');
    expect(chunkJson(translate(multiLine), true)).toBe(JSON.stringify(JSON.parse(multiLine)));
  });
});
