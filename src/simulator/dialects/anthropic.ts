/**
 * Anthropic Messages (`POST /v1/messages`): validation with Anthropic's 400 messages (required
 * anthropic-version header, extra fields, tool_use/tool_result pairing), `message` rendering,
 * the SSE sequence message_start / content_block_start / ping / content_block_delta /
 * content_block_stop / message_delta / message_stop, and errors
 * `{"type":"error","error":{"type","message"},"request_id"}` with the `request-id` header.
 */
import type { ErrorKind } from '../../core/error-kinds.ts';
import { PromptDigest, type Answer, type Turn } from '../answer.ts';
import { uniqueId } from '../../core/ids.ts';
import { firstUnknownKey, isObject, isPositiveInt, type Json } from './json.ts';
import type { Dialect, ErrorDetail, FlatHeaders, ParseResult, Rendered, RequestContext, StreamPlan } from './types.ts';

const KNOWN_PARAMS = new Set([
  'model', 'messages', 'max_tokens', 'system', 'metadata', 'stop_sequences', 'stream', 'temperature', 'top_k', 'top_p',
  'tools', 'tool_choice', 'thinking', 'service_tier', 'container', 'mcp_servers', 'context_management', 'output_format',
]);

const TOOL_CHOICES = new Set(['auto', 'any', 'tool', 'none']);

const ORG_ID = 'a1b2c3d4-0000-4000-8000-51d0c0ffee00';

function headers(contentType: string, requestId: string): FlatHeaders {
  return ['content-type', contentType, 'request-id', requestId, 'anthropic-organization-id', ORG_ID];
}

function errorResponse(status: number, type: string, message: string, extra: FlatHeaders = []): Rendered {
  const requestId = `req_${uniqueId()}`;
  return {
    status,
    headers: [...headers('application/json', requestId), ...extra],
    body: JSON.stringify({ type: 'error', error: { type, message }, request_id: requestId }),
  };
}

function fail(message: string, model: string | null, stream: boolean): ParseResult {
  return { ok: false, model, stream, error: errorResponse(400, 'invalid_request_error', message) };
}

/** ids of the blocks of `type` in a message's content. */
function blockIds(content: unknown, type: 'tool_use' | 'tool_result'): string[] {
  if (!Array.isArray(content)) return [];
  const key = type === 'tool_use' ? 'id' : 'tool_use_id';
  const out: string[] = [];
  for (const b of content) if (isObject(b) && b.type === type && typeof b[key] === 'string') out.push(b[key] as string);
  return out;
}

function parse(body: unknown): ParseResult {
  if (!isObject(body)) return fail('The request body is not valid JSON.', null, false);
  const model = typeof body.model === 'string' ? body.model : null;
  const stream = body.stream === true;
  const unknown = firstUnknownKey(body, KNOWN_PARAMS);
  if (unknown !== undefined) return fail(`${unknown}: Extra inputs are not permitted`, model, stream);
  if (body.model === undefined) return fail('model: Field required', null, stream);
  if (model === null) return fail('model: Input should be a valid string', null, stream);
  if (body.messages === undefined) return fail('messages: Field required', model, stream);
  if (body.max_tokens === undefined) return fail('max_tokens: Field required', model, stream);
  if (typeof body.max_tokens !== 'number' || !Number.isInteger(body.max_tokens)) return fail('max_tokens: Input should be a valid integer', model, stream);
  if (!isPositiveInt(body.max_tokens)) return fail('max_tokens: Input should be greater than or equal to 1', model, stream);
  if (body.stream !== undefined && typeof body.stream !== 'boolean') return fail('stream: Input should be a valid boolean', model, false);
  const messages = body.messages;
  if (!Array.isArray(messages)) return fail('messages: Input should be a valid list', model, stream);
  if (messages.length === 0) return fail('messages: at least one message is required', model, stream);

  const digest = new PromptDigest();
  if (typeof body.system === 'string' || Array.isArray(body.system)) digest.addContent(body.system);
  else if (body.system !== undefined) return fail('system: Input should be a valid string', model, stream);

  for (let i = 0; i < messages.length; i++) {
    const m = messages[i];
    if (!isObject(m)) return fail(`messages.${i}: Input should be a valid dictionary or object to extract fields from`, model, stream);
    if (m.role !== 'user' && m.role !== 'assistant') return fail(`messages.${i}.role: Input should be 'user' or 'assistant'`, model, stream);
    if (m.content === undefined) return fail(`messages.${i}.content: Field required`, model, stream);
    if (typeof m.content !== 'string' && !Array.isArray(m.content)) return fail(`messages.${i}.content: Input should be a valid list`, model, stream);
    if (m.content.length === 0 && !(m.role === 'assistant' && i === messages.length - 1)) {
      return fail(`messages.${i}: all messages must have non-empty content except for the optional final assistant message`, model, stream);
    }
    if (Array.isArray(m.content)) {
      for (let j = 0; j < m.content.length; j++) {
        const b = m.content[j];
        if (!isObject(b) || typeof b.type !== 'string') return fail(`messages.${i}.content.${j}.type: Field required`, model, stream);
        if (b.type === 'text' && typeof b.text !== 'string') return fail(`messages.${i}.content.${j}.text.text: Field required`, model, stream);
      }
    }
    digest.addContent(m.content);
    // Every tool_use must be answered by a tool_result in the very next message, and vice versa.
    const uses = m.role === 'assistant' ? blockIds(m.content, 'tool_use') : [];
    const next = messages[i + 1] as Json | undefined;
    if (uses.length > 0 && next !== undefined) {
      const results = new Set(blockIds(next.content, 'tool_result'));
      const missing = uses.filter((id) => !results.has(id));
      if (missing.length > 0) {
        return fail(
          `messages.${i + 1}: \`tool_use\` ids were found without \`tool_result\` blocks immediately after: ${missing.join(', ')}. ` +
            'Each `tool_use` block must have a corresponding `tool_result` block in the next message.',
          model,
          stream,
        );
      }
    }
    if (m.role === 'user') {
      const results = blockIds(m.content, 'tool_result');
      if (results.length > 0) {
        const prev = messages[i - 1] as Json | undefined;
        const known = new Set(prev !== undefined && prev.role === 'assistant' ? blockIds(prev.content, 'tool_use') : []);
        const stray = results.find((id) => !known.has(id));
        if (stray !== undefined) {
          return fail(
            `messages.${i}.content.0: unexpected \`tool_use_id\` found in \`tool_result\` blocks: ${stray}. ` +
              'Each `tool_result` block must have a corresponding `tool_use` block in the previous message.',
            model,
            stream,
          );
        }
      }
    }
  }

  const tools = body.tools;
  const custom: Json[] = [];
  if (tools !== undefined) {
    if (!Array.isArray(tools)) return fail('tools: Input should be a valid list', model, stream);
    for (let i = 0; i < tools.length; i++) {
      const t = tools[i];
      if (!isObject(t)) return fail(`tools.${i}: Input should be a valid dictionary or object to extract fields from`, model, stream);
      if (typeof t.name !== 'string') return fail(`tools.${i}.name: Field required`, model, stream);
      // Server tools (web_search_20250305...) carry a versioned `type` and no schema.
      if (t.type === undefined || t.type === 'custom') {
        if (!isObject(t.input_schema)) return fail(`tools.${i}.custom.input_schema: Field required`, model, stream);
        custom.push(t);
      }
    }
  }
  const choice = body.tool_choice;
  if (choice !== undefined) {
    if (!isObject(choice) || typeof choice.type !== 'string' || !TOOL_CHOICES.has(choice.type)) {
      return fail("tool_choice: Input tag does not match any of the expected tags: 'auto', 'any', 'tool', 'none'", model, stream);
    }
    if (choice.type === 'tool' && typeof choice.name !== 'string') return fail('tool_choice.tool.name: Field required', model, stream);
  }
  let tool: Turn['tool'] = null;
  const last = messages[messages.length - 1] as Json;
  const afterToolResult = last.role === 'user' && blockIds(last.content, 'tool_result').length > 0;
  if (custom.length > 0 && !(isObject(choice) && choice.type === 'none') && !afterToolResult) {
    let pick = custom[0];
    if (isObject(choice) && choice.type === 'tool') {
      const found = custom.find((t) => t.name === choice.name);
      if (found === undefined) return fail(`tool_choice.name: Tool '${String(choice.name)}' not found in tools`, model, stream);
      pick = found;
    }
    tool = { name: String(pick.name), schema: pick.input_schema };
  }

  return {
    ok: true,
    turn: {
      model,
      stream,
      promptHash: digest.hash,
      promptTokens: digest.tokens,
      sse: stream,
      maxTokens: body.max_tokens,
      tool,
      jsonSchema: undefined,
      includeUsage: false,
    },
  };
}

function stopReason(answer: Answer): string {
  return answer.finish === 'tool' ? 'tool_use' : answer.finish === 'length' ? 'max_tokens' : 'end_turn';
}

function usage(turn: Turn, outputTokens: number): Json {
  return { input_tokens: turn.promptTokens, cache_creation_input_tokens: 0, cache_read_input_tokens: 0, output_tokens: outputTokens, service_tier: 'standard' };
}

function respond(turn: Turn, answer: Answer): Rendered {
  const content =
    answer.tool === null
      ? [{ type: 'text', text: answer.pieces.join('') }]
      : [{ type: 'tool_use', id: `toolu_${uniqueId()}`, name: answer.tool.name, input: answer.tool.input }];
  const body = JSON.stringify({
    id: `msg_${uniqueId()}`,
    type: 'message',
    role: 'assistant',
    model: turn.model,
    content,
    stop_reason: stopReason(answer),
    stop_sequence: null,
    usage: usage(turn, answer.pieces.length),
  });
  return { status: 200, headers: headers('application/json', `req_${uniqueId()}`), body };
}

function event(name: string, data: string): string {
  return `event: ${name}\ndata: ${data}\n\n`;
}

function stream(turn: Turn, answer: Answer): StreamPlan {
  const message = {
    id: `msg_${uniqueId()}`,
    type: 'message',
    role: 'assistant',
    model: turn.model,
    content: [],
    stop_reason: null,
    stop_sequence: null,
    usage: usage(turn, 1),
  };
  const block = answer.tool === null ? { type: 'text', text: '' } : { type: 'tool_use', id: `toolu_${uniqueId()}`, name: answer.tool.name, input: {} };
  const head = [
    event('message_start', JSON.stringify({ type: 'message_start', message })),
    event('content_block_start', JSON.stringify({ type: 'content_block_start', index: 0, content_block: block })),
    event('ping', '{"type": "ping"}'),
  ];
  const deltaPrefix = '{"type":"content_block_delta","index":0,"delta":';
  const deltas = answer.pieces.map((p) =>
    event(
      'content_block_delta',
      answer.tool === null
        ? `${deltaPrefix}{"type":"text_delta","text":${JSON.stringify(p)}}}`
        : `${deltaPrefix}{"type":"input_json_delta","partial_json":${JSON.stringify(p)}}}`,
    ),
  );
  const blockStop = event('content_block_stop', '{"type":"content_block_stop","index":0}');
  const messageDelta = event(
    'message_delta',
    JSON.stringify({ type: 'message_delta', delta: { stop_reason: stopReason(answer), stop_sequence: null }, usage: { output_tokens: answer.pieces.length } }),
  );
  return {
    headers: [...headers('text/event-stream; charset=utf-8', `req_${uniqueId()}`), 'cache-control', 'no-cache'],
    head,
    deltas,
    tail: [blockStop, messageDelta, event('message_stop', '{"type":"message_stop"}')],
    tailNoDone: [blockStop, messageDelta],
  };
}

const ERRORS: Record<Exclude<ErrorKind, 'connection_error'>, { status: number; type: string; message: string }> = {
  timeout: { status: 504, type: 'timeout_error', message: 'Request timed out' },
  rate_limit: {
    status: 429,
    type: 'rate_limit_error',
    message:
      `This request would exceed the rate limit for your organization (${ORG_ID}) of 50 requests per minute. ` +
      'For details, refer to: https://docs.claude.com/en/api/rate-limits. You can see the response headers for current usage. ' +
      'Please reduce the prompt length or the maximum tokens requested, or try again later.',
  },
  quota_exceeded: {
    status: 400,
    type: 'invalid_request_error',
    message: 'Your credit balance is too low to access the Anthropic API. Please go to Plans & Billing to upgrade or purchase credits.',
  },
  model_overloaded: { status: 529, type: 'overloaded_error', message: 'Overloaded' },
  server_error: { status: 500, type: 'api_error', message: 'Internal server error' },
  context_length_exceeded: { status: 400, type: 'invalid_request_error', message: 'prompt is too long: 215389 tokens > 200000 maximum' },
  content_filter: { status: 400, type: 'invalid_request_error', message: 'Output blocked by content filtering policy' },
  auth_error: { status: 401, type: 'authentication_error', message: 'invalid x-api-key' },
  bad_request: { status: 400, type: 'invalid_request_error', message: 'temperature: Input should be less than or equal to 1' },
};

function specFor(kind: ErrorKind): { status: number; type: string; message: string } {
  return ERRORS[kind === 'connection_error' ? 'server_error' : kind];
}

function error(kind: ErrorKind, _turn: Turn, detail: ErrorDetail): Rendered {
  const spec = specFor(kind);
  const retryAfterS = detail.retryAfterS;
  const extra: FlatHeaders = [];
  if (kind === 'rate_limit') {
    const reset = new Date(Date.now() + (retryAfterS ?? 1) * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
    extra.push(
      'anthropic-ratelimit-requests-limit', '50',
      'anthropic-ratelimit-requests-remaining', '0',
      'anthropic-ratelimit-requests-reset', reset,
    );
  }
  if (retryAfterS !== undefined) extra.push('retry-after', String(Math.ceil(retryAfterS)));
  if (spec.status >= 500 || spec.status === 429) extra.push('x-should-retry', 'true');
  return errorResponse(spec.status, spec.type, detail.message ?? spec.message, extra);
}

function checkHeaders(ctx: RequestContext, keys: ReadonlySet<string> | null): Rendered | null {
  if (keys !== null) {
    const auth = ctx.headers.authorization;
    const raw = ctx.headers['x-api-key'] ?? (typeof auth === 'string' && auth.startsWith('Bearer ') ? auth.slice(7) : undefined);
    const key = typeof raw === 'string' ? raw.trim() : '';
    if (key === '') return errorResponse(401, 'authentication_error', 'x-api-key header is required');
    if (!keys.has(key)) return errorResponse(401, 'authentication_error', 'invalid x-api-key');
  }
  if (ctx.headers['anthropic-version'] === undefined) return errorResponse(400, 'invalid_request_error', 'anthropic-version: header is required');
  return null;
}

/** Anthropic's Messages dialect. */
export const anthropicDialect: Dialect = {
  provider: 'anthropic',
  checkHeaders,
  parse: (body) => parse(body),
  respond,
  stream,
  error,
  inBandError(kind, _turn, detail) {
    const spec = specFor(kind);
    return event('error', JSON.stringify({ type: 'error', error: { type: spec.type, message: detail.message ?? spec.message } }));
  },
  malformed: () => 'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"\n\n',
  notFound: () => errorResponse(404, 'not_found_error', 'Not Found'),
};

/** `GET /v1/models` in Anthropic's list shape (chosen when the request carries anthropic-version). */
export function anthropicModelList(models: readonly string[]): Rendered {
  const data = models.map((id) => ({ type: 'model', id, display_name: id, created_at: '2025-01-01T00:00:00Z' }));
  return {
    status: 200,
    headers: headers('application/json', `req_${uniqueId()}`),
    body: JSON.stringify({ data, has_more: false, first_id: data[0]?.id ?? null, last_id: data.at(-1)?.id ?? null }),
  };
}
