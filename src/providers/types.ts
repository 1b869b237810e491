import type { ChatCompletion, ChatCompletionChunk, ChatRequest } from '../core/openai-types.ts';
import type { UpstreamError } from '../core/upstream-error.ts';
import type { SseEvent } from './sse.ts';

export type ProviderType = 'openai' | 'openai-compatible' | 'anthropic' | 'google';

/**
 * How an OpenAI-compatible server is told to continue the trailing assistant message instead
 * of answering after it: `continue_final_message` (vLLM, SGLang: `continue_final_message: true`
 * and `add_generation_prompt: false` in the body) or `prefix` (DeepSeek's prefix completion,
 * Mistral: `"prefix": true` on that message).
 */
export const PREFILL_MODES = ['continue_final_message', 'prefix'] as const;
export type PrefillMode = (typeof PREFILL_MODES)[number];

/** What an adapter needs to know about the provider it speaks to (from config). */
export interface ProviderTarget {
  /** Configured provider name, e.g. "openai". */
  name: string;
  type: ProviderType;
  /** e.g. https://api.openai.com/v1, https://api.anthropic.com, https://generativelanguage.googleapis.com */
  baseUrl: string;
  apiKey?: string;
  /**
   * Extra headers sent on every upstream call (e.g. openai-organization, anthropic-beta).
   * Names are lower-case (src/config/load.ts normalises them once, at load), so they compare
   * exactly with the adapter's own. One precedence rule in every adapter: they may replace
   * the adapter's defaults (content-type, accept, anthropic-version) but never the auth
   * header built from `apiKey` (authorization / api-key / x-api-key / x-goog-api-key), which
   * is set last; without an `apiKey`, a configured auth header is sent as is (e.g. an Entra
   * ID bearer token for Azure).
   */
  headers?: Record<string, string>;
  /** Azure OpenAI: `api-version` query parameter; its presence selects the Azure URL and `api-key` header. */
  azureApiVersion?: string;
  /** Azure OpenAI: model name → deployment name (defaults to the model name). */
  azureDeployments?: Record<string, string>;
  /** Anthropic: value of the `anthropic-version` header (default 2023-06-01). */
  anthropicVersion?: string;
  /** Google: API version path segment (default v1beta). */
  googleApiVersion?: string;
}

/** One upstream HTTP call, fully built: the transport only sends it. */
export interface UpstreamRequest {
  method: 'POST';
  url: string;
  headers: Record<string, string>;
  body: string;
}

export interface TranslateContext {
  target: ProviderTarget;
  /** The provider's model name to call, e.g. "claude-3-opus-20240229". */
  model: string;
  stream: boolean;
  /**
   * Set on a continuation of a broken stream (the request ends with the partial answer as an
   * assistant message) whose target declared a prefill mode: the adapter adds that mode's fields.
   */
  prefill?: PrefillMode;
}

/** Response headers as the transport hands them over: lower-case names. */
export type HeaderMap = Record<string, string | string[] | undefined>;

/**
 * Turns upstream SSE events into OpenAI chunks, one provider's dialect each. Stateful: one
 * per upstream stream.
 */
export interface StreamTranslator {
  /**
   * One upstream event in, zero or more OpenAI chunks out (appended to `out`).
   * Returns true when this event is the upstream's own end of stream ([DONE], message_stop,
   * or Gemini's last chunk carrying finishReason): the stream is complete.
   * Throws UpstreamError (with `inBand: true`) for an in-band error event, and a
   * MalformedEvent (`server_error`, ./malformed-event.ts) for a chunk that is not valid JSON /
   * not the expected shape, before appending anything or changing its state: the transport
   * may skip that event.
   *
   * Usage always comes out as one final chunk with `choices: []` and `usage` set (the
   * gateway drops it when the client did not ask for `stream_options.include_usage`).
   */
  push(event: SseEvent, out: ChatCompletionChunk[]): boolean;
}

/**
 * A provider adapter: pure translation between the OpenAI format and one provider's wire
 * format, plus classification of every failure into an ErrorKind. No I/O here; the
 * transport (src/providers/transport.ts) sends what `buildRequest` returns.
 */
export interface ProviderAdapter {
  readonly type: ProviderType;
  /**
   * The upstream call for one attempt. Throws an UpstreamError of kind `bad_request` (status
   * 400, `param` naming the field; see ./invalid-request.ts) for client input it cannot
   * translate into the provider's format. The transport takes anything else it throws for
   * untranslatable input too (`untranslatable`: a 400 without `param`), never for a provider
   * failure: nothing built from the client's request may fail over or count against a breaker.
   */
  buildRequest(req: ChatRequest, ctx: TranslateContext): UpstreamRequest;
  /** A 2xx non-streaming body (already JSON-parsed) → an OpenAI chat.completion. */
  parseResponse(body: unknown, ctx: TranslateContext): ChatCompletion;
  /**
   * A non-2xx response → a classified UpstreamError, with retry hints parsed from headers
   * and body. `body` is the raw text (may be empty or not JSON).
   */
  classifyError(status: number, headers: HeaderMap, body: string): UpstreamError;
  createStreamTranslator(ctx: TranslateContext): StreamTranslator;
}
