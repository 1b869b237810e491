/**
 * The OpenAI and OpenAI-compatible provider adapters (Chat Completions API). One logic, two
 * type tags: `openai` for api.openai.com and Azure OpenAI, `openai-compatible` for vLLM,
 * Ollama, Groq, Together and the like.
 *
 * @see ./openai/request.ts  URL, auth headers, body
 * @see ./openai/errors.ts   status/code/type → ErrorKind
 * @see ./openai/stream.ts   SSE events → chunks
 */
import type { HeaderMap, ProviderAdapter, ProviderType } from './types.ts';
import { buildChatRequest } from './openai/request.ts';
import { parseChatCompletion } from './openai/response.ts';
import { classifyOpenAIError } from './openai/errors.ts';
import { OpenAIStreamTranslator } from './openai/stream.ts';

export { classifyOpenAIError, retryDelayFromMessage } from './openai/errors.ts';

function createOpenAIAdapter(type: Extract<ProviderType, 'openai' | 'openai-compatible'>): ProviderAdapter {
  return Object.freeze({
    type,
    buildRequest: buildChatRequest,
    parseResponse: (body: unknown) => parseChatCompletion(body),
    classifyError: (status: number, headers: HeaderMap, body: string) => classifyOpenAIError(status, headers, body),
    createStreamTranslator: () => new OpenAIStreamTranslator(),
  });
}

/**
 * Adapter for api.openai.com (and Azure OpenAI, selected by `target.azureApiVersion`).
 *
 * @example
 * const req = openaiAdapter.buildRequest(clientRequest, {
 *   target: { name: 'openai', type: 'openai', baseUrl: 'https://api.openai.com/v1', apiKey },
 *   model: 'gpt-4o-mini',
 *   stream: true,
 * });
 * // req.url === 'https://api.openai.com/v1/chat/completions'
 */
export const openaiAdapter: ProviderAdapter = createOpenAIAdapter('openai');

/**
 * Adapter for any server that speaks the Chat Completions API under its own `/v1` base
 * (vLLM, Ollama, Groq, Together...). No key → no Authorization header (Ollama needs none).
 */
export const openaiCompatibleAdapter: ProviderAdapter = createOpenAIAdapter('openai-compatible');
