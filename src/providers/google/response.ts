import type { ChatCompletion, FinishReason, ToolCall, Usage } from '../../core/openai-types.ts';
import { UpstreamError } from '../../core/upstream-error.ts';
import type { TranslateContext } from '../types.ts';
import { classifyGoogleErrorBody, isGeminiErrorBody } from './errors.ts';
import type { GeminiPart, GeminiUsageMetadata, GenerateContentResponse } from './wire.ts';

/** Clock and id source, injectable so translations are exact in tests. */
export interface GoogleClock {
  /** ms since the epoch */
  now(): number;
  /** A completion id for a response that carried no responseId. */
  newId(): string;
}

/** A tool call as the gateway hands it out: OpenAI's shape plus Google's thought signature. */
type GoogleToolCall = ToolCall & { extra_content?: { google: { thought_signature: string } } };

const FILTERED = new Set(['SAFETY', 'RECITATION', 'BLOCKLIST', 'PROHIBITED_CONTENT', 'SPII', 'IMAGE_SAFETY', 'IMAGE_PROHIBITED_CONTENT', 'IMAGE_RECITATION']);

/** Gemini finishReason → OpenAI finish_reason; null while the candidate is still going. */
export function finishReasonOf(reason: string | undefined, hasToolCalls: boolean): FinishReason | null {
  if (reason === undefined || reason === '') return null;
  if (reason === 'MAX_TOKENS') return 'length';
  if (FILTERED.has(reason)) return 'content_filter';
  // STOP and everything else (OTHER, LANGUAGE, MALFORMED_FUNCTION_CALL, ...) ends the turn.
  return hasToolCalls ? 'tool_calls' : 'stop';
}

/** usageMetadata → OpenAI usage. Thinking tokens are output tokens, as OpenAI counts reasoning. */
export function usageOf(u: GeminiUsageMetadata): Usage {
  const prompt = u.promptTokenCount ?? 0;
  const thoughts = u.thoughtsTokenCount ?? 0;
  const completion = (u.candidatesTokenCount ?? 0) + thoughts;
  const usage: Usage = { prompt_tokens: prompt, completion_tokens: completion, total_tokens: u.totalTokenCount ?? prompt + completion };
  if (u.cachedContentTokenCount !== undefined && u.cachedContentTokenCount > 0) {
    usage.prompt_tokens_details = { cached_tokens: u.cachedContentTokenCount };
  }
  if (thoughts > 0) usage.completion_tokens_details = { reasoning_tokens: thoughts };
  return usage;
}

/** The prompt itself was blocked (promptFeedback.blockReason, no candidates). */
export function promptBlocked(feedback: { blockReason?: string; blockReasonMessage?: string }, inBand: boolean): UpstreamError {
  const reason = feedback.blockReason ?? 'BLOCK_REASON_UNSPECIFIED';
  return new UpstreamError({
    kind: 'content_filter',
    status: 200,
    providerCode: reason,
    message: feedback.blockReasonMessage ?? `Gemini blocked the prompt (${reason})`,
    inBand,
  });
}

/** A 200 body or chunk that is not a GenerateContentResponse at all. */
export function malformed(message: string, inBand: boolean, cause?: unknown): UpstreamError {
  return new UpstreamError({ kind: 'server_error', status: 200, providerCode: 'malformed_response', message, inBand, cause });
}

/**
 * Mints tool call ids for one response: `call_<responseId>_<n>`. Deterministic for a response,
 * yet distinct across the turns of a conversation (Anthropic rejects repeated tool_use ids, and
 * a conversation may fail over there).
 */
export class ToolCallIds {
  #base: string;
  #n = 0;
  constructor(responseId: string) {
    this.#base = responseId.replace(/[^A-Za-z0-9_-]/g, '');
  }
  next(): string {
    return `call_${this.#base}_${this.#n++}`;
  }
}

/** A candidate's parts split into answer text and tool calls; thought summaries are not answer. */
export function readParts(parts: GeminiPart[] | undefined, ids: ToolCallIds): { text: string; toolCalls: GoogleToolCall[] } {
  let text = '';
  const toolCalls: GoogleToolCall[] = [];
  if (parts === undefined) return { text, toolCalls };
  for (const part of parts) {
    if (part.thought === true) continue;
    if (typeof part.text === 'string') text += part.text;
    const call = part.functionCall;
    if (call !== undefined && typeof call.name === 'string') {
      const tc: GoogleToolCall = {
        id: typeof call.id === 'string' && call.id !== '' ? call.id : ids.next(),
        type: 'function',
        function: { name: call.name, arguments: JSON.stringify(call.args ?? {}) },
      };
      if (typeof part.thoughtSignature === 'string') tc.extra_content = { google: { thought_signature: part.thoughtSignature } };
      toolCalls.push(tc);
    }
  }
  return { text, toolCalls };
}

/**
 * A whole GenerateContentResponse → an OpenAI chat.completion. Throws UpstreamError
 * `content_filter` when the prompt was blocked, `server_error` when the body is not a response.
 */
export function toChatCompletion(body: unknown, ctx: TranslateContext, clock: GoogleClock): ChatCompletion {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw malformed('Gemini response is not a JSON object', false);
  if (isGeminiErrorBody(body)) throw classifyGoogleErrorBody(body, false);
  const r = body as GenerateContentResponse;
  const candidates = Array.isArray(r.candidates) ? r.candidates : [];
  if (candidates.length === 0) {
    if (r.promptFeedback?.blockReason !== undefined) throw promptBlocked(r.promptFeedback, false);
    throw malformed('Gemini response has no candidates', false);
  }

  const id = typeof r.responseId === 'string' && r.responseId !== '' ? r.responseId : clock.newId();
  const ids = new ToolCallIds(id);
  const completion: ChatCompletion = {
    id,
    object: 'chat.completion',
    created: Math.floor(clock.now() / 1000),
    model: typeof r.modelVersion === 'string' && r.modelVersion !== '' ? r.modelVersion : ctx.model,
    choices: candidates.map((c, i) => {
      const { text, toolCalls } = readParts(c.content?.parts, ids);
      const message: ChatCompletion['choices'][number]['message'] = {
        role: 'assistant',
        content: toolCalls.length > 0 && text === '' ? null : text,
      };
      if (toolCalls.length > 0) message.tool_calls = toolCalls;
      return {
        index: typeof c.index === 'number' ? c.index : i,
        message,
        finish_reason: finishReasonOf(c.finishReason, toolCalls.length > 0) ?? (toolCalls.length > 0 ? 'tool_calls' : 'stop'),
        logprobs: null,
      };
    }),
  };
  if (r.usageMetadata !== undefined) completion.usage = usageOf(r.usageMetadata);
  return completion;
}
