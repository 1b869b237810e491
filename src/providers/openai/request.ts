/**
 * Builds the upstream Chat Completions call for OpenAI and OpenAI-compatible servers
 * (vLLM, Ollama, Groq, Together, Azure OpenAI). The client already speaks this format, so
 * the body is the client's request with the model swapped: one shallow copy, one stringify.
 *
 * @internal
 */
import type { ChatRequest } from '../../core/openai-types.ts';
import type { PrefillMode, ProviderTarget, TranslateContext, UpstreamRequest } from '../types.ts';

/**
 * `{baseUrl}/chat/completions`; for Azure OpenAI (when `azureApiVersion` is set)
 * `{baseUrl}/openai/deployments/{deployment}/chat/completions?api-version=...`, the deployment
 * being `azureDeployments[model]` or the model name itself.
 *
 * @example
 * chatCompletionsUrl({ baseUrl: 'http://127.0.0.1:11434/v1', ... }, 'llama3.2')
 * // => 'http://127.0.0.1:11434/v1/chat/completions'
 */
function chatCompletionsUrl(target: ProviderTarget, model: string): string {
  const base = withoutTrailingSlash(target.baseUrl);
  if (target.azureApiVersion === undefined) return `${base}/chat/completions`;
  const deployment = target.azureDeployments?.[model] ?? model;
  return `${base}/openai/deployments/${encodeURIComponent(deployment)}/chat/completions?api-version=${encodeURIComponent(target.azureApiVersion)}`;
}

/**
 * Request headers: the defaults, then the configured `target.headers` (lower-case names, which
 * may replace a default), then `Authorization: Bearer` (OpenAI and compatibles) or `api-key`
 * (Azure), which a configured header never overrides. No key (Ollama, a local vLLM, Azure
 * with an Entra ID token configured as a header): no auth header of ours.
 */
function upstreamHeaders(target: ProviderTarget, stream: boolean): Record<string, string> {
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    accept: stream ? 'text/event-stream' : 'application/json',
    ...target.headers,
  };
  if (target.apiKey) {
    if (target.azureApiVersion === undefined) headers.authorization = `Bearer ${target.apiKey}`;
    else headers['api-key'] = target.apiKey;
  }
  return headers;
}

/**
 * The JSON body: the client's request untouched but for `model`, and for streaming
 * `stream: true` with `stream_options.include_usage` forced on (the gateway always wants
 * usage; it drops the usage chunk when the client did not ask). A non-streaming call drops
 * `stream` and `stream_options`: OpenAI rejects `stream_options` without `stream`, and the
 * gateway may call without streaming what the client asked to stream.
 */
function chatRequestBody(req: ChatRequest, model: string, stream: boolean, prefill: PrefillMode | undefined): string {
  // Properties set to undefined are left out by JSON.stringify; spread keeps the key order.
  const body = stream
    ? { ...req, model, stream: true, stream_options: { ...req.stream_options, include_usage: true } }
    : { ...req, model, stream: undefined, stream_options: undefined };
  return JSON.stringify(prefill === undefined ? body : withPrefill(body, prefill));
}

/**
 * A continuation's body in the server's prefill mode (the last message is the partial answer):
 * vLLM's `continue_final_message: true` with `add_generation_prompt: false` (it rejects the
 * two both true), or `"prefix": true` on the last assistant message (DeepSeek, Mistral).
 */
function withPrefill<B extends { messages: ChatRequest['messages'] }>(body: B, mode: PrefillMode): B {
  if (mode === 'continue_final_message') return { ...body, continue_final_message: true, add_generation_prompt: false };
  const last = body.messages.length - 1;
  if (last < 0 || body.messages[last].role !== 'assistant') return body;
  const messages = body.messages.slice();
  messages[last] = { ...messages[last], prefix: true } as (typeof messages)[number];
  return { ...body, messages };
}

/** The whole upstream call for one attempt. */
export function buildChatRequest(req: ChatRequest, ctx: TranslateContext): UpstreamRequest {
  return {
    method: 'POST',
    url: chatCompletionsUrl(ctx.target, ctx.model),
    headers: upstreamHeaders(ctx.target, ctx.stream),
    body: chatRequestBody(req, ctx.model, ctx.stream, ctx.prefill),
  };
}

function withoutTrailingSlash(url: string): string {
  let end = url.length;
  while (end > 0 && url.charCodeAt(end - 1) === 47 /* '/' */) end--;
  return end === url.length ? url : url.slice(0, end);
}
