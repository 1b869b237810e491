import { GatewayError } from '../core/openai-error.ts';
import type { ChatRequest } from '../core/openai-types.ts';

const NUMERIC_FIELDS = ['temperature', 'top_p', 'max_tokens', 'max_completion_tokens', 'seed', 'n'] as const;
const ROLES = new Set(['system', 'developer', 'user', 'assistant', 'tool', 'function']);

function invalid(message: string, param: string): GatewayError {
  return new GatewayError(400, message, { param: param === '' ? null : param });
}

/**
 * The checks that must hold before anything goes upstream, with OpenAI-style messages and
 * `param`. Deeper checks are the provider's: its 400 comes back classified as bad_request.
 */
export function validateChatRequest(body: unknown): ChatRequest {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw invalid('The request body must be a JSON object.', '');
  }
  const b = body as Record<string, unknown>;
  if (typeof b.model !== 'string' || b.model === '') throw invalid("'model' is a required property and must be a non-empty string.", 'model');
  if (!Array.isArray(b.messages)) throw invalid("'messages' is a required property and must be an array.", 'messages');
  if (b.messages.length === 0) throw invalid("'messages' must contain at least one message.", 'messages');
  for (let i = 0; i < b.messages.length; i++) {
    const m = b.messages[i] as Record<string, unknown> | null;
    if (m === null || typeof m !== 'object' || Array.isArray(m)) throw invalid(`messages[${i}] must be an object.`, `messages[${i}]`);
    if (typeof m.role !== 'string' || !ROLES.has(m.role)) {
      throw invalid(`messages[${i}].role must be one of system, developer, user, assistant, tool.`, `messages[${i}].role`);
    }
  }
  if (b.stream !== undefined && b.stream !== null && typeof b.stream !== 'boolean') throw invalid("'stream' must be a boolean.", 'stream');
  for (const k of NUMERIC_FIELDS) {
    const v = b[k];
    if (v !== undefined && v !== null && (typeof v !== 'number' || !Number.isFinite(v))) throw invalid(`'${k}' must be a number.`, k);
  }
  if (b.tools !== undefined && !Array.isArray(b.tools)) throw invalid("'tools' must be an array.", 'tools');
  return body as ChatRequest;
}
