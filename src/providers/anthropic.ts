/**
 * The Anthropic Messages API adapter (POST {baseUrl}/v1/messages). Pure translation; the
 * transport does the I/O. One module per direction under ./anthropic/.
 */
import type { ProviderAdapter } from './types.ts';
import { classifyAnthropicError } from './anthropic/errors.ts';
import { buildAnthropicRequest } from './anthropic/request.ts';
import { parseAnthropicResponse } from './anthropic/response.ts';
import { AnthropicStreamTranslator } from './anthropic/stream.ts';

/**
 * Speaks Anthropic for the gateway: OpenAI request → Messages request, Message → chat.completion,
 * Messages SSE → chat.completion.chunk, and every failure → an ErrorKind.
 *
 * @example
 * const call = anthropicAdapter.buildRequest(req, { target, model: 'claude-3-opus-20240229', stream: true });
 * const t = anthropicAdapter.createStreamTranslator({ target, model, stream: true });
 */
export const anthropicAdapter: ProviderAdapter = {
  type: 'anthropic',
  buildRequest: buildAnthropicRequest,
  parseResponse: (body) => parseAnthropicResponse(body),
  classifyError: classifyAnthropicError,
  createStreamTranslator: () => new AnthropicStreamTranslator(),
};

export { toMessagesRequest } from './anthropic/request.ts';
