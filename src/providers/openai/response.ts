/**
 * Checks a 2xx non-streaming body and hands it on as a chat.completion, the provider's own
 * `model` kept (clients and the X-Model header want what actually served them).
 *
 * @internal
 */
import type { ChatCompletion } from '../../core/openai-types.ts';
import { UpstreamError } from '../../core/upstream-error.ts';
import { openAIInBandError } from './errors.ts';

/**
 * The minimal shape check: an object with a `choices` array. A 200 that carries an error
 * object instead (some compatible servers do this) throws it classified, `inBand: true`;
 * anything else throws UpstreamError `server_error`.
 */
export function parseChatCompletion(body: unknown): ChatCompletion {
  if (body !== null && typeof body === 'object') {
    const b = body as Record<string, unknown>;
    if (Array.isArray(b.choices)) return b as unknown as ChatCompletion;
    if ((b.error !== undefined && b.error !== null) || b.object === 'error') throw openAIInBandError(b);
  }
  throw new UpstreamError({
    kind: 'server_error',
    status: 200,
    message: 'upstream sent a chat completion without a choices array',
  });
}
