/**
 * Anthropic Messages response → OpenAI chat.completion, plus the stop-reason and usage
 * mappings the stream translator shares.
 */
import type { ChatCompletion, FinishReason, ToolCall, Usage } from '../../core/openai-types.ts';
import { unixSeconds } from '../../core/ids.ts';
import { UpstreamError } from '../../core/upstream-error.ts';
import type { MessagesResponse, MessagesUsage } from './wire.ts';

/**
 * Anthropic `stop_reason` → OpenAI `finish_reason`. `pause_turn` (a server-tool loop hit its
 * limit) ends the turn normally; `model_context_window_exceeded` truncates like max_tokens.
 * Unknown future values read as `stop` rather than failing a good answer.
 */
export function finishReason(stopReason: string | null | undefined): FinishReason | null {
  switch (stopReason) {
    case null:
    case undefined:
      return null;
    case 'max_tokens':
    case 'model_context_window_exceeded':
      return 'length';
    case 'tool_use':
      return 'tool_calls';
    case 'refusal':
      return 'content_filter';
    default:
      return 'stop';
  }
}

/**
 * Anthropic reports cache writes and reads apart from `input_tokens`; OpenAI's prompt_tokens
 * counts every input token, with cache reads also in `prompt_tokens_details.cached_tokens`.
 */
export function toUsage(u: MessagesUsage): Usage {
  const cacheRead = u.cache_read_input_tokens ?? 0;
  const prompt = (u.input_tokens ?? 0) + (u.cache_creation_input_tokens ?? 0) + cacheRead;
  const completion = u.output_tokens ?? 0;
  return {
    prompt_tokens: prompt,
    completion_tokens: completion,
    total_tokens: prompt + completion,
    prompt_tokens_details: { cached_tokens: cacheRead },
  };
}


/**
 * Translate a 2xx Messages body. Throws UpstreamError `server_error` when the body is not a
 * Message (a 200 that is not an answer must fail over like any other server fault).
 */
export function parseAnthropicResponse(body: unknown): ChatCompletion {
  const msg = body as MessagesResponse | null;
  if (msg === null || typeof msg !== 'object' || !Array.isArray(msg.content) || typeof msg.id !== 'string') {
    throw new UpstreamError({ kind: 'server_error', status: 200, message: 'Anthropic returned a 200 body that is not a Message' });
  }
  let text: string | null = null;
  const toolCalls: ToolCall[] = [];
  for (const block of msg.content) {
    if (block.type === 'text') text = (text ?? '') + (block as { text: string }).text;
    else if (block.type === 'tool_use') {
      const b = block as { id: string; name: string; input: unknown };
      toolCalls.push({ id: b.id, type: 'function', function: { name: b.name, arguments: JSON.stringify(b.input ?? {}) } });
    }
    // thinking, redacted_thinking and server-tool blocks have no Chat Completions equivalent.
  }
  const message: ChatCompletion['choices'][number]['message'] = {
    role: 'assistant',
    // OpenAI sends null content on a pure tool-call turn, and "" for an empty answer.
    content: text ?? (toolCalls.length > 0 ? null : ''),
    refusal: null,
  };
  if (toolCalls.length > 0) message.tool_calls = toolCalls;
  const out: ChatCompletion = {
    id: msg.id,
    object: 'chat.completion',
    created: unixSeconds(),
    model: msg.model,
    choices: [{ index: 0, message, finish_reason: finishReason(msg.stop_reason), logprobs: null }],
  };
  if (msg.usage !== undefined) out.usage = toUsage(msg.usage);
  return out;
}
