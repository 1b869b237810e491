/**
 * The OpenAI stream dialect: every `data:` event is already a chat.completion.chunk, so the
 * translator only parses, checks the one field the gateway relies on (`choices`), and passes
 * the chunk through untouched, usage chunk (`choices: []`) included.
 *
 * @internal
 */
import type { ChatCompletionChunk } from '../../core/openai-types.ts';
import { MalformedEvent } from '../malformed-event.ts';
import type { SseEvent } from '../sse.ts';
import { keepRaw } from '../raw-chunk.ts';
import type { StreamTranslator } from '../types.ts';
import { openAIInBandError } from './errors.ts';

/**
 * Translator for OpenAI and OpenAI-compatible streams.
 *
 * - `data: [DONE]` → returns true (the stream is complete).
 * - `data: {"error": {...}}` (OpenAI, vLLM, Azure mid-stream), a top-level
 *   `{"object": "error"}`, or an `event: error` → throws a classified UpstreamError, `inBand: true`.
 * - Data that is not JSON, or a JSON value without a `choices` array → throws a MalformedEvent
 *   (`server_error`, `inBand: true`), which the transport may skip.
 *
 * @example
 * const t = new OpenAIStreamTranslator();
 * const out: ChatCompletionChunk[] = [];
 * t.push({ event: undefined, data: '{"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[]}' }, out); // false
 * t.push({ event: undefined, data: '[DONE]' }, out); // true
 */
export class OpenAIStreamTranslator implements StreamTranslator {
  push(event: SseEvent, out: ChatCompletionChunk[]): boolean {
    const data = event.data;
    if (data === '[DONE]') return true;
    let value: unknown;
    try {
      value = JSON.parse(data);
    } catch (err) {
      if (event.event === 'error') throw openAIInBandError({ error: { message: data } });
      throw malformed(`upstream sent a stream event that is not JSON: ${excerpt(data)}`, err);
    }
    if (value === null || typeof value !== 'object') throw malformed(`upstream sent a stream event that is not an object: ${excerpt(data)}`);
    const chunk = value as Record<string, unknown>;
    if (event.event === 'error' || (chunk.error !== undefined && chunk.error !== null) || chunk.object === 'error') {
      throw openAIInBandError(chunk);
    }
    if (!Array.isArray(chunk.choices)) throw malformed(`upstream sent a stream chunk without a choices array: ${excerpt(data)}`);
    out.push(chunk as unknown as ChatCompletionChunk);
    keepRaw(chunk as unknown as ChatCompletionChunk, data);
    return false;
  }
}

function malformed(message: string, cause?: unknown): MalformedEvent {
  return new MalformedEvent(message, cause);
}

function excerpt(data: string): string {
  return data.length > 200 ? `${data.slice(0, 200)}…` : data;
}
