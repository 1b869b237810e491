/**
 * OpenAI Chat Completions (`POST /v1/chat/completions`): request validation with OpenAI's own
 * 400 messages, `chat.completion` / `chat.completion.chunk` rendering, and its error bodies
 * `{"error":{"message","type","param","code"}}` with its headers (x-request-id,
 * x-ratelimit-*, retry-after).
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { ErrorKind } from '../../core/error-kinds.ts';
import { PromptDigest, type Answer, type Turn } from '../answer.ts';
import { uniqueId, unixSeconds } from '../../core/ids.ts';
import { firstUnknownKey, isObject, isPositiveInt, jsonType, type Json } from './json.ts';
import type { SimPrefillMode } from '../types.ts';
import type { Dialect, ErrorDetail, FlatHeaders, ParseResult, Rendered, RequestContext, StreamPlan } from './types.ts';

const KNOWN_PARAMS = new Set([
  'model', 'messages', 'stream', 'stream_options', 'tools', 'tool_choice', 'parallel_tool_calls', 'temperature',
  'top_p', 'max_tokens', 'max_completion_tokens', 'stop', 'seed', 'n', 'presence_penalty', 'frequency_penalty',
  'response_format', 'user', 'logit_bias', 'logprobs', 'top_logprobs', 'functions', 'function_call', 'metadata',
  'store', 'service_tier', 'modalities', 'audio', 'prediction', 'reasoning_effort', 'web_search_options',
  'verbosity', 'prompt_cache_key', 'prompt_cache_retention', 'safety_identifier',
]);

/** What a model honouring vLLM's continue_final_message also accepts. */
const VLLM_PARAMS = new Set([...KNOWN_PARAMS, 'continue_final_message', 'add_generation_prompt']);

const NO_PREFILL: ReadonlySet<SimPrefillMode> = new Set();

const ROLES = new Set(['system', 'developer', 'user', 'assistant', 'tool', 'function']);

const FINGERPRINT = 'fp_sim0000001';

/** Rate-limit headers a healthy call carries (OpenAI sends them on every response). */
const RATE_HEADERS: FlatHeaders = [
  'x-ratelimit-limit-requests', '10000',
  'x-ratelimit-remaining-requests', '9999',
  'x-ratelimit-reset-requests', '6ms',
  'x-ratelimit-limit-tokens', '2000000',
  'x-ratelimit-remaining-tokens', '1999000',
  'x-ratelimit-reset-tokens', '30ms',
];

function baseHeaders(contentType: string): FlatHeaders {
  return [
    'content-type', contentType,
    'x-request-id', `req_${uniqueId()}`,
    'openai-version', '2020-10-01',
    'openai-organization', 'user-simulator',
    'openai-processing-ms', '1',
  ];
}

function errorBody(message: string, type: string | null, param: string | null, code: string | null): string {
  return JSON.stringify({ error: { message, type, param, code } });
}

function fail(status: number, message: string, param: string | null, code: string | null, model: string | null, stream: boolean, type = 'invalid_request_error'): ParseResult {
  return {
    ok: false,
    model,
    stream,
    error: { status, headers: baseHeaders('application/json'), body: errorBody(message, type, param, code) },
  };
}

const INVALID_JSON =
  "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your HTTP library correctly. " +
  'The OpenAI API expects a JSON payload, but what was sent was not valid JSON. If you have trouble figuring out how to fix this, ' +
  'please contact us through our help center at help.openai.com.)';

function parse(body: unknown, ctx: RequestContext): ParseResult {
  if (!isObject(body)) return fail(400, INVALID_JSON, null, null, null, false);
  const model = typeof body.model === 'string' ? body.model : null;
  const stream = body.stream === true;
  // OpenAI rejects the prefix fields; a model configured to honour a mode takes them (vLLM, DeepSeek, Mistral).
  const modes = model === null || ctx.prefillModes === undefined ? NO_PREFILL : ctx.prefillModes(model);
  const unknown = firstUnknownKey(body, modes.has('continue_final_message') ? VLLM_PARAMS : KNOWN_PARAMS);
  if (unknown !== undefined) return fail(400, `Unrecognized request argument supplied: ${unknown}`, null, null, model, stream);
  if (model === null || model === '') return fail(400, 'you must provide a model parameter', null, null, null, stream);

  const messages = body.messages;
  if (messages === undefined) return fail(400, "Missing required parameter: 'messages'.", 'messages', 'missing_required_parameter', model, stream);
  if (!Array.isArray(messages)) {
    return fail(400, `Invalid type for 'messages': expected an array of objects, but got ${jsonType(messages)} instead.`, 'messages', 'invalid_type', model, stream);
  }
  if (messages.length === 0) {
    return fail(400, "Invalid 'messages': empty array. Expected an array with minimum length 1, but got an empty array instead.", 'messages', 'empty_array', model, stream);
  }
  if (body.continue_final_message === true && body.add_generation_prompt === true) {
    return fail(400, 'Cannot set both `continue_final_message` and `add_generation_prompt` to True.', null, null, model, stream);
  }
  const final = messages[messages.length - 1];
  const prefillMode: SimPrefillMode | undefined =
    !isObject(final) || final.role !== 'assistant' ? undefined
    : body.continue_final_message === true ? 'continue_final_message'
    : final.prefix === true && modes.has('prefix') ? 'prefix'
    : undefined;
  let prefill: Turn['prefill'];
  const digest = new PromptDigest();
  for (let i = 0; i < messages.length; i++) {
    const m = messages[i];
    const at = `messages[${i}]`;
    if (isObject(m) && m.prefix !== undefined && !modes.has('prefix')) {
      return fail(400, `Additional properties are not allowed ('prefix' was unexpected) - 'messages.${i}'`, null, null, model, stream);
    }
    if (!isObject(m)) return fail(400, `Invalid type for '${at}': expected an object, but got ${jsonType(m)} instead.`, at, 'invalid_type', model, stream);
    if (m.role === undefined) return fail(400, `Missing required parameter: '${at}.role'.`, `${at}.role`, 'missing_required_parameter', model, stream);
    if (typeof m.role !== 'string' || !ROLES.has(m.role)) {
      return fail(400, `Invalid value: '${String(m.role)}'. Supported values are: 'system', 'assistant', 'user', 'function', 'tool', and 'developer'.`, `${at}.role`, 'invalid_value', model, stream);
    }
    if (m.role !== 'assistant' && m.content === undefined) {
      return fail(400, `Missing required parameter: '${at}.content'.`, `${at}.content`, 'missing_required_parameter', model, stream);
    }
    if (m.content !== undefined && m.content !== null && typeof m.content !== 'string' && !Array.isArray(m.content)) {
      return fail(400, `Invalid type for '${at}.content': expected one of a string or array of objects, but got ${jsonType(m.content)} instead.`, `${at}.content`, 'invalid_type', model, stream);
    }
    if (m.role === 'tool' && typeof m.tool_call_id !== 'string') {
      return fail(400, `Missing required parameter: '${at}.tool_call_id'.`, `${at}.tool_call_id`, 'missing_required_parameter', model, stream);
    }
    if (prefillMode !== undefined && i === messages.length - 1) {
      // The message to continue is the answer's start, not part of the prompt.
      const words = new PromptDigest();
      words.addContent(m.content);
      prefill = { mode: prefillMode, assistant: typeof m.content === 'string' ? m.content : JSON.stringify(m.content), words: words.words };
      continue;
    }
    digest.addContent(m.content);
  }

  if (body.stream !== undefined && body.stream !== null && typeof body.stream !== 'boolean') {
    return fail(400, `Invalid type for 'stream': expected a boolean, but got ${jsonType(body.stream)} instead.`, 'stream', 'invalid_type', model, false);
  }
  if (body.stream_options !== undefined && body.stream_options !== null && !stream) {
    return fail(400, "The 'stream_options' parameter is only allowed when 'stream' is enabled.", 'stream_options', null, model, stream);
  }
  let maxTokens: number | undefined;
  for (const key of ['max_completion_tokens', 'max_tokens'] as const) {
    const v = body[key];
    if (v === undefined || v === null) continue;
    if (typeof v !== 'number' || !Number.isInteger(v)) {
      return fail(400, `Invalid type for '${key}': expected an integer, but got ${jsonType(v)} instead.`, key, 'invalid_type', model, stream);
    }
    if (!isPositiveInt(v)) {
      return fail(400, `Invalid '${key}': integer below minimum value. Expected a value >= 1, but got ${v} instead.`, key, 'integer_below_min_value', model, stream);
    }
    maxTokens ??= v;
  }

  const tools = body.tools;
  let chosen: { name: string; schema: unknown } | null = null;
  if (tools !== undefined && tools !== null) {
    if (!Array.isArray(tools)) return fail(400, `Invalid type for 'tools': expected an array of objects, but got ${jsonType(tools)} instead.`, 'tools', 'invalid_type', model, stream);
    for (let i = 0; i < tools.length; i++) {
      const t = tools[i];
      if (!isObject(t) || !isObject(t.function)) return fail(400, `Missing required parameter: 'tools[${i}].function'.`, `tools[${i}].function`, 'missing_required_parameter', model, stream);
      if (typeof t.function.name !== 'string') return fail(400, `Missing required parameter: 'tools[${i}].function.name'.`, `tools[${i}].function.name`, 'missing_required_parameter', model, stream);
    }
  }
  const choice = body.tool_choice;
  const toolList = Array.isArray(tools) ? (tools as Array<{ function: Json }>) : [];
  if (choice !== undefined && choice !== null && toolList.length === 0) {
    return fail(400, "Invalid value for 'tool_choice': 'tool_choice' is only allowed when 'tools' are specified.", 'tool_choice', null, model, stream);
  }
  const last = messages[messages.length - 1] as Json;
  if (toolList.length > 0 && choice !== 'none' && last.role !== 'tool') {
    let pick = toolList[0];
    if (isObject(choice)) {
      const name = isObject(choice.function) ? choice.function.name : undefined;
      const found = toolList.find((t) => t.function.name === name);
      if (found === undefined) return fail(400, `Invalid value for 'tool_choice': no function named '${String(name)}' was specified in the 'tools' parameter.`, 'tool_choice', null, model, stream);
      pick = found;
    } else if (choice !== undefined && choice !== null && choice !== 'auto' && choice !== 'required') {
      return fail(400, `Invalid value: '${String(choice)}'. Supported values are: 'none', 'auto', and 'required'.`, 'tool_choice', 'invalid_value', model, stream);
    }
    chosen = { name: String(pick.function.name), schema: pick.function.parameters };
  }

  let jsonSchema: unknown;
  const rf = body.response_format;
  if (isObject(rf)) {
    if (rf.type === 'json_schema' && isObject(rf.json_schema)) jsonSchema = rf.json_schema.schema ?? {};
    else if (rf.type === 'json_object') jsonSchema = { type: 'object', required: ['reply'], properties: { reply: { type: 'string' } } };
  }
  const so = body.stream_options;
  return {
    ok: true,
    turn: {
      model,
      stream,
      promptHash: digest.hash,
      promptTokens: digest.tokens,
      sse: stream,
      maxTokens,
      tool: chosen,
      jsonSchema,
      includeUsage: stream && isObject(so) && so.include_usage === true,
      ...(prefill !== undefined ? { prefill } : {}),
    },
  };
}

function usage(turn: Turn, answer: Answer): Json {
  const completion = answer.pieces.length;
  return {
    prompt_tokens: turn.promptTokens,
    completion_tokens: completion,
    total_tokens: turn.promptTokens + completion,
    prompt_tokens_details: { cached_tokens: 0, audio_tokens: 0 },
    completion_tokens_details: { reasoning_tokens: 0, audio_tokens: 0, accepted_prediction_tokens: 0, rejected_prediction_tokens: 0 },
  };
}

function finishReason(answer: Answer): string {
  return answer.finish === 'tool' ? 'tool_calls' : answer.finish;
}

function respond(turn: Turn, answer: Answer): Rendered {
  const message: Json =
    answer.tool === null
      ? { role: 'assistant', content: answer.pieces.join(''), refusal: null, annotations: [] }
      : {
          role: 'assistant',
          content: null,
          tool_calls: [{ id: `call_${uniqueId()}`, type: 'function', function: { name: answer.tool.name, arguments: answer.tool.args } }],
          refusal: null,
          annotations: [],
        };
  const body = JSON.stringify({
    id: `chatcmpl-${uniqueId()}`,
    object: 'chat.completion',
    created: unixSeconds(),
    model: turn.model,
    choices: [{ index: 0, message, logprobs: null, finish_reason: finishReason(answer) }],
    usage: usage(turn, answer),
    service_tier: 'default',
    system_fingerprint: FINGERPRINT,
  });
  return { status: 200, headers: [...baseHeaders('application/json'), ...RATE_HEADERS], body };
}

function stream(turn: Turn, answer: Answer): StreamPlan {
  // Every chunk shares this envelope; only the delta and finish_reason change.
  const id = `chatcmpl-${uniqueId()}`;
  const envelope = `{"id":"${id}","object":"chat.completion.chunk","created":${unixSeconds()},"model":${JSON.stringify(turn.model)},"service_tier":"default","system_fingerprint":"${FINGERPRINT}","choices":`;
  const usageNull = turn.includeUsage ? ',"usage":null' : '';
  const chunk = (delta: string, finish: string | null): string =>
    `data: ${envelope}[{"index":0,"delta":${delta},"logprobs":null,"finish_reason":${finish === null ? 'null' : `"${finish}"`}}]${usageNull}}\n\n`;

  const head: string[] = [];
  const deltas: string[] = [];
  if (answer.tool === null) {
    head.push(chunk('{"role":"assistant","content":"","refusal":null}', null));
    for (const p of answer.pieces) deltas.push(chunk(`{"content":${JSON.stringify(p)}}`, null));
  } else {
    const call = { index: 0, id: `call_${uniqueId()}`, type: 'function', function: { name: answer.tool.name, arguments: '' } };
    head.push(chunk(`{"role":"assistant","content":null,"tool_calls":[${JSON.stringify(call)}],"refusal":null}`, null));
    for (const p of answer.pieces) deltas.push(chunk(`{"tool_calls":[{"index":0,"function":{"arguments":${JSON.stringify(p)}}}]}`, null));
  }
  const tail = [chunk('{}', finishReason(answer))];
  if (turn.includeUsage) tail.push(`data: ${envelope}[],"usage":${JSON.stringify(usage(turn, answer))}}\n\n`);
  tail.push('data: [DONE]\n\n');
  return {
    headers: [...baseHeaders('text/event-stream; charset=utf-8'), ...RATE_HEADERS, 'cache-control', 'no-cache'],
    head,
    deltas,
    tail,
    tailNoDone: [],
  };
}

interface ErrorSpec {
  status: number;
  message: (model: string) => string;
  type: string;
  param: string | null;
  code: string | null;
}

const ERRORS: Record<Exclude<ErrorKind, 'connection_error'>, ErrorSpec> = {
  // OpenAI documents no timeout body; its edge answers 504 on upstream timeouts.
  timeout: { status: 504, message: () => 'Request timed out.', type: 'server_error', param: null, code: 'timeout' },
  rate_limit: {
    status: 429,
    message: (m) =>
      `Rate limit reached for ${m} in organization org-simulator on requests per min (RPM): Limit 10000, Used 10000, Requested 1. ` +
      'Please try again in 6ms. Visit https://platform.openai.com/account/rate-limits to learn more.',
    type: 'requests',
    param: null,
    code: 'rate_limit_exceeded',
  },
  quota_exceeded: {
    status: 429,
    message: () =>
      'You exceeded your current quota, please check your plan and billing details. For more information on this error, ' +
      'read the docs: https://platform.openai.com/docs/guides/error-codes/api-errors.',
    type: 'insufficient_quota',
    param: null,
    code: 'insufficient_quota',
  },
  model_overloaded: { status: 503, message: () => 'The engine is currently overloaded, please try again later', type: 'server_error', param: null, code: null },
  server_error: {
    status: 500,
    message: () =>
      'The server had an error while processing your request. Sorry about that! You can retry your request, or contact us ' +
      'through our help center at help.openai.com if the error persists.',
    type: 'server_error',
    param: null,
    code: null,
  },
  context_length_exceeded: {
    status: 400,
    message: () =>
      "This model's maximum context length is 128000 tokens. However, your messages resulted in 130412 tokens. Please reduce the length of the messages.",
    type: 'invalid_request_error',
    param: 'messages',
    code: 'context_length_exceeded',
  },
  // Azure OpenAI's prompt-filter shape (OpenAI itself ends the answer with finish_reason "content_filter").
  content_filter: {
    status: 400,
    message: () =>
      "The response was filtered due to the prompt triggering Azure OpenAI's content management policy. Please modify your prompt and retry.",
    type: 'invalid_request_error',
    param: 'prompt',
    code: 'content_filter',
  },
  auth_error: {
    status: 401,
    // error() quotes the key the call presented instead (as OpenAI does); this is for a call with none.
    message: () => incorrectKey('sk-sim***********'),
    type: 'invalid_request_error',
    param: null,
    code: 'invalid_api_key',
  },
  bad_request: {
    status: 400,
    message: () => "Invalid value for 'temperature': expected a number between 0 and 2.",
    type: 'invalid_request_error',
    param: 'temperature',
    code: 'invalid_value',
  },
};

function specFor(kind: ErrorKind): ErrorSpec {
  // A connection error has no body of its own; in-band it reads as a server error.
  return ERRORS[kind === 'connection_error' ? 'server_error' : kind];
}

/** OpenAI's 401 message: the rejected key, masked (the first three and the last four characters shown). */
function incorrectKey(masked: string): string {
  return `Incorrect API key provided: ${masked}. You can find your API key at https://platform.openai.com/account/api-keys.`;
}

function maskKey(key: string): string {
  return key.length > 8 ? `${key.slice(0, 3)}${'*'.repeat(key.length - 7)}${key.slice(-4)}` : '********';
}

/** The key a call presented (`Authorization: Bearer <key>`), or '' when none. */
function presentedKey(headers: IncomingHttpHeaders): string {
  const auth = headers.authorization;
  return typeof auth === 'string' && auth.startsWith('Bearer ') ? auth.slice(7).trim() : '';
}

/** An injected error's message: the fault's own, the presented key quoted masked for auth_error, else the canned one. */
function messageFor(kind: ErrorKind, spec: ErrorSpec, turn: Turn, detail: ErrorDetail): string {
  if (detail.message !== undefined) return detail.message;
  if (kind === 'auth_error') {
    const key = presentedKey(detail.headers);
    if (key !== '') return incorrectKey(maskKey(key));
  }
  return spec.message(turn.model);
}

function error(kind: ErrorKind, turn: Turn, detail: ErrorDetail): Rendered {
  const spec = specFor(kind);
  const retryAfterS = detail.retryAfterS;
  const headers = baseHeaders('application/json');
  if (kind === 'rate_limit') {
    headers.push(
      'x-ratelimit-limit-requests', '10000',
      'x-ratelimit-remaining-requests', '0',
      'x-ratelimit-reset-requests', retryAfterS === undefined ? '6ms' : `${retryAfterS}s`,
    );
  }
  if (retryAfterS !== undefined) headers.push('retry-after', String(Math.ceil(retryAfterS)));
  return { status: spec.status, headers, body: errorBody(messageFor(kind, spec, turn, detail), spec.type, spec.param, spec.code) };
}

function checkHeaders(ctx: RequestContext, keys: ReadonlySet<string> | null): Rendered | null {
  if (keys === null) return null;
  const key = presentedKey(ctx.headers);
  if (key === '') {
    return {
      status: 401,
      headers: baseHeaders('application/json'),
      body: errorBody(
        "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY). " +
          'You can obtain an API key from https://platform.openai.com/account/api-keys.',
        'invalid_request_error',
        null,
        null,
      ),
    };
  }
  if (keys.has(key)) return null;
  return {
    status: 401,
    headers: baseHeaders('application/json'),
    body: errorBody(incorrectKey(maskKey(key)), 'invalid_request_error', null, 'invalid_api_key'),
  };
}

/** OpenAI's Chat Completions dialect. */
export const openaiDialect: Dialect = {
  provider: 'openai',
  checkHeaders,
  parse: (body, ctx) => parse(body, ctx),
  respond,
  stream,
  error,
  inBandError(kind, turn, detail) {
    const spec = specFor(kind);
    return `data: ${errorBody(messageFor(kind, spec, turn, detail), spec.type, spec.param, spec.code)}\n\n`;
  },
  malformed: () => 'data: {"id":"chatcmpl-malformed","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"\n\n',
  notFound: (method, path) => ({
    status: 404,
    headers: baseHeaders('application/json'),
    body: errorBody(`Invalid URL (${method} ${path})`, 'invalid_request_error', null, null),
  }),
};

/** `GET /v1/models` in OpenAI's list shape. */
export function openaiModelList(models: readonly string[]): Rendered {
  const created = unixSeconds();
  return {
    status: 200,
    headers: baseHeaders('application/json'),
    body: JSON.stringify({ object: 'list', data: models.map((id) => ({ id, object: 'model', created, owned_by: 'simulator' })) }),
  };
}
