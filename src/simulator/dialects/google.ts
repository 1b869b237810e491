/**
 * Google Gemini (`POST /{v1beta|v1}/models/{model}:generateContent` and
 * `:streamGenerateContent?alt=sse`): validation with Google's INVALID_ARGUMENT messages
 * (unknown field names, camelCase or snake_case as proto JSON allows), GenerateContentResponse
 * rendering with usageMetadata, SSE chunks framed with CRLF as Google sends them (without
 * `alt=sse`, the same chunks as one JSON array body), and errors
 * `{"error":{"code","message","status","details"}}` with QuotaFailure / RetryInfo on 429.
 * Gemini never sends Retry-After: the delay lives in the body.
 */
import type { ErrorKind } from '../../core/error-kinds.ts';
import { PromptDigest, type Answer, type Turn } from '../answer.ts';
import { uniqueId } from '../../core/ids.ts';
import { firstUnknownKey, isObject, type Json } from './json.ts';
import type { Dialect, ErrorDetail, FlatHeaders, ParseResult, Rendered, RequestContext, StreamPlan } from './types.ts';

function snake(camel: string): string {
  return camel.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

/** Proto JSON accepts both spellings; precomputed so requests only do set lookups. */
function bothSpellings(names: string[]): Set<string> {
  return new Set(names.flatMap((n) => [n, snake(n)]));
}

const KNOWN_PARAMS = bothSpellings(['model', 'contents', 'tools', 'toolConfig', 'safetySettings', 'systemInstruction', 'generationConfig', 'cachedContent']);
const KNOWN_GENERATION = bothSpellings([
  'stopSequences', 'responseMimeType', 'responseSchema', 'responseJsonSchema', 'responseModalities', 'candidateCount',
  'maxOutputTokens', 'temperature', 'topP', 'topK', 'seed', 'presencePenalty', 'frequencyPenalty', 'responseLogprobs',
  'logprobs', 'enableEnhancedCivicAnswers', 'speechConfig', 'thinkingConfig', 'imageConfig', 'mediaResolution',
]);

/** Reads a proto field under either spelling. */
function field(obj: Json, camel: string, snakeName: string): unknown {
  return obj[camel] ?? obj[snakeName];
}

const JSON_HEADERS: FlatHeaders = ['content-type', 'application/json; charset=UTF-8', 'vary', 'Origin, X-Origin, Referer', 'server-timing', 'gfet4t7; dur=1'];
const SSE_HEADERS: FlatHeaders = ['content-type', 'text/event-stream', 'vary', 'Origin, X-Origin, Referer', 'server-timing', 'gfet4t7; dur=1', 'cache-control', 'no-cache'];

const STATUS_NAME: Record<number, string> = {
  400: 'INVALID_ARGUMENT',
  403: 'PERMISSION_DENIED',
  404: 'NOT_FOUND',
  429: 'RESOURCE_EXHAUSTED',
  500: 'INTERNAL',
  503: 'UNAVAILABLE',
  504: 'DEADLINE_EXCEEDED',
};

function errorJson(code: number, message: string, details?: unknown[]): string {
  const error: Json = { code, message, status: STATUS_NAME[code] ?? 'UNKNOWN' };
  if (details !== undefined) error.details = details;
  return JSON.stringify({ error });
}

function errorResponse(code: number, message: string, details?: unknown[]): Rendered {
  return { status: code, headers: JSON_HEADERS, body: errorJson(code, message, details) };
}

function fail(message: string, model: string, stream: boolean, details?: unknown[]): ParseResult {
  return { ok: false, model, stream, error: errorResponse(400, message, details) };
}

function unknownName(name: string, at: string | null): string {
  return `Invalid JSON payload received. Unknown name "${name}"${at === null ? '' : ` at '${at}'`}: Cannot find field.`;
}

function unknownField(name: string, at: string | null, model: string, stream: boolean): ParseResult {
  const description = unknownName(name, at);
  const violation: Json = at === null ? { description } : { field: at, description };
  return fail(description, model, stream, [{ '@type': 'type.googleapis.com/google.rpc.BadRequest', fieldViolations: [violation] }]);
}

function hasPart(content: Json, kind: 'functionCall' | 'functionResponse'): boolean {
  const parts = content.parts;
  if (!Array.isArray(parts)) return false;
  const alt = kind === 'functionCall' ? 'function_call' : 'function_response';
  return parts.some((p) => isObject(p) && (p[kind] !== undefined || p[alt] !== undefined));
}

function parse(body: unknown, ctx: RequestContext): ParseResult {
  const model = ctx.model ?? '';
  const stream = ctx.stream === true;
  const sse = stream && ctx.sse === true;
  if (!isObject(body)) return fail('Invalid JSON payload received. Unexpected token.', model, stream);
  const unknown = firstUnknownKey(body, KNOWN_PARAMS);
  if (unknown !== undefined) return unknownField(unknown, null, model, stream);

  const contents = body.contents;
  if (!Array.isArray(contents) || contents.length === 0) return fail('* GenerateContentRequest.contents: contents is not specified\n', model, stream);
  const digest = new PromptDigest();
  const system = field(body, 'systemInstruction', 'system_instruction');
  if (isObject(system)) digest.addContent(system.parts);
  for (let i = 0; i < contents.length; i++) {
    const c = contents[i];
    if (!isObject(c)) return fail(`Invalid value at 'contents[${i}]' (type.googleapis.com/google.ai.generativelanguage.v1beta.Content)`, model, stream);
    if (c.role !== undefined && c.role !== 'user' && c.role !== 'model' && c.role !== 'function') return fail('Please use a valid role: user, model.', model, stream);
    if (!Array.isArray(c.parts) || c.parts.length === 0) return fail(`* GenerateContentRequest.contents[${i}].parts: contents.parts must not be empty.\n`, model, stream);
    if (hasPart(c, 'functionCall')) {
      const next = contents[i + 1];
      if (isObject(next) && !hasPart(next, 'functionResponse')) {
        return fail('Please ensure that function response turn comes immediately after a function call turn.', model, stream);
      }
    }
    digest.addContent(c.parts);
  }

  const gen = field(body, 'generationConfig', 'generation_config');
  let maxTokens: number | undefined;
  let jsonSchema: unknown;
  if (gen !== undefined) {
    if (!isObject(gen)) return fail(`Invalid value at 'generation_config' (type.googleapis.com/google.ai.generativelanguage.v1beta.GenerationConfig), ${JSON.stringify(gen)}`, model, stream);
    const bad = firstUnknownKey(gen, KNOWN_GENERATION);
    if (bad !== undefined) return unknownField(bad, 'generation_config', model, stream);
    const max = field(gen, 'maxOutputTokens', 'max_output_tokens');
    if (max !== undefined) {
      if (typeof max !== 'number' || !Number.isInteger(max)) return fail(`Invalid value at 'generation_config.max_output_tokens' (TYPE_INT32), ${JSON.stringify(max)}`, model, stream);
      if (max >= 1) maxTokens = max;
    }
    if (field(gen, 'responseMimeType', 'response_mime_type') === 'application/json') {
      jsonSchema = field(gen, 'responseSchema', 'response_schema') ??
        field(gen, 'responseJsonSchema', 'response_json_schema') ?? { type: 'OBJECT', required: ['reply'], properties: { reply: { type: 'STRING' } } };
    }
  }

  const decls: Json[] = [];
  const tools = body.tools;
  if (tools !== undefined) {
    if (!Array.isArray(tools)) return fail(`Invalid value at 'tools' (type.googleapis.com/google.ai.generativelanguage.v1beta.Tool), ${JSON.stringify(tools)}`, model, stream);
    for (let i = 0; i < tools.length; i++) {
      const t = tools[i];
      if (!isObject(t)) continue;
      const fns = field(t, 'functionDeclarations', 'function_declarations');
      if (!Array.isArray(fns)) continue;
      for (let j = 0; j < fns.length; j++) {
        const f = fns[j];
        if (!isObject(f) || typeof f.name !== 'string' || f.name === '') {
          return fail(`* GenerateContentRequest.tools[${i}].function_declarations[${j}].name: Name cannot be empty.\n`, model, stream);
        }
        decls.push(f);
      }
    }
  }
  const toolConfig = field(body, 'toolConfig', 'tool_config');
  const fcc = isObject(toolConfig) ? field(toolConfig, 'functionCallingConfig', 'function_calling_config') : undefined;
  const mode = isObject(fcc) && typeof fcc.mode === 'string' ? fcc.mode : 'AUTO';
  const allowed = isObject(fcc) ? field(fcc, 'allowedFunctionNames', 'allowed_function_names') : undefined;
  const last = contents[contents.length - 1] as Json;
  let tool: Turn['tool'] = null;
  if (decls.length > 0 && mode !== 'NONE' && !hasPart(last, 'functionResponse')) {
    let pick = decls[0];
    if (Array.isArray(allowed) && allowed.length > 0) pick = decls.find((d) => d.name === allowed[0]) ?? pick;
    tool = { name: String(pick.name), schema: pick.parameters ?? field(pick, 'parametersJsonSchema', 'parameters_json_schema') };
  }

  return {
    ok: true,
    turn: { model, stream, sse, promptHash: digest.hash, promptTokens: digest.tokens, maxTokens, tool, jsonSchema, includeUsage: false },
  };
}

function finishReason(answer: Answer): string {
  return answer.finish === 'length' ? 'MAX_TOKENS' : 'STOP';
}

function usage(turn: Turn, candidates: number): Json {
  return {
    promptTokenCount: turn.promptTokens,
    candidatesTokenCount: candidates,
    totalTokenCount: turn.promptTokens + candidates,
    promptTokensDetails: [{ modality: 'TEXT', tokenCount: turn.promptTokens }],
  };
}

function parts(answer: Answer): Json[] {
  return answer.tool === null ? [{ text: answer.pieces.join('') }] : [{ functionCall: { name: answer.tool.name, args: answer.tool.input } }];
}

function sse(json: string): string {
  return `data: ${json}\r\n\r\n`;
}

/** Without `alt=sse`, streamGenerateContent answers every chunk at once, as one JSON array. */
function jsonArray(chunks: readonly string[]): Rendered {
  return { status: 200, headers: JSON_HEADERS, body: `[${chunks.join(',\r\n')}]` };
}

/** The stream's chunks as JSON documents: one per text token (a function call whole), then the final one. */
function streamChunks(turn: Turn, answer: Answer): { deltas: string[]; final: string } {
  const trailer = `,"modelVersion":${JSON.stringify(turn.model)},"responseId":"${uniqueId()}"}`;
  const partialUsage = `"usageMetadata":{"promptTokenCount":${turn.promptTokens},"totalTokenCount":${turn.promptTokens},"promptTokensDetails":[{"modality":"TEXT","tokenCount":${turn.promptTokens}}]}`;
  const chunk = (partsJson: string): string => `{"candidates":[{"content":{"parts":${partsJson},"role":"model"},"index":0}],${partialUsage}${trailer}`;
  // Gemini streams text in pieces but a function call whole, in one chunk.
  const deltas = answer.tool === null ? answer.pieces.map((p) => chunk(`[{"text":${JSON.stringify(p)}}]`)) : [chunk(JSON.stringify(parts(answer)))];
  const final =
    `{"candidates":[{"content":{"parts":[{"text":""}],"role":"model"},"finishReason":"${finishReason(answer)}","index":0}],` +
    `"usageMetadata":${JSON.stringify(usage(turn, answer.pieces.length))}${trailer}`;
  return { deltas, final };
}

/** A whole-body answer: generateContent, or streamGenerateContent without `alt=sse` (a JSON array of the stream's chunks). */
function respond(turn: Turn, answer: Answer): Rendered {
  if (turn.stream) {
    const { deltas, final } = streamChunks(turn, answer);
    return jsonArray([...deltas, final]);
  }
  const body = JSON.stringify({
    candidates: [{ content: { parts: parts(answer), role: 'model' }, finishReason: finishReason(answer), index: 0 }],
    usageMetadata: usage(turn, answer.pieces.length),
    modelVersion: turn.model,
    responseId: uniqueId(),
  });
  return { status: 200, headers: JSON_HEADERS, body };
}

function stream(turn: Turn, answer: Answer): StreamPlan {
  const { deltas, final } = streamChunks(turn, answer);
  return { headers: SSE_HEADERS, head: [], deltas: deltas.map(sse), tail: [sse(final)], tailNoDone: [] };
}

const RATE_LIMIT_MESSAGE =
  'You exceeded your current quota, please check your plan and billing details. For more information on this error, ' +
  'head to: https://ai.google.dev/gemini-api/docs/rate-limits.';

function quotaDetails(model: string, perDay: boolean, retryAfterS: number | undefined): unknown[] {
  const details: unknown[] = [
    {
      '@type': 'type.googleapis.com/google.rpc.QuotaFailure',
      violations: [
        {
          quotaMetric: 'generativelanguage.googleapis.com/generate_content_free_tier_requests',
          quotaId: perDay ? 'GenerateRequestsPerDayPerProjectPerModel-FreeTier' : 'GenerateRequestsPerMinutePerProjectPerModel-FreeTier',
          quotaDimensions: { location: 'global', model },
          quotaValue: perDay ? '250' : '10',
        },
      ],
    },
    { '@type': 'type.googleapis.com/google.rpc.Help', links: [{ description: 'Learn more about Gemini API quotas', url: 'https://ai.google.dev/gemini-api/docs/rate-limits' }] },
  ];
  if (retryAfterS !== undefined) details.push({ '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: `${retryAfterS}s` });
  return details;
}

const API_KEY_INVALID = 'API key not valid. Please pass a valid API key.';

function apiKeyInvalid(message = API_KEY_INVALID): Rendered {
  return errorResponse(400, message, [
    { '@type': 'type.googleapis.com/google.rpc.ErrorInfo', reason: 'API_KEY_INVALID', domain: 'googleapis.com', metadata: { service: 'generativelanguage.googleapis.com' } },
    { '@type': 'type.googleapis.com/google.rpc.LocalizedMessage', locale: 'en-US', message: API_KEY_INVALID },
  ]);
}

/** A prompt blocked by safety filters: Gemini answers 200 with promptFeedback and no candidates. */
function blocked(turn: Turn): string {
  return JSON.stringify({
    promptFeedback: {
      blockReason: 'SAFETY',
      safetyRatings: [
        { category: 'HARM_CATEGORY_SEXUALLY_EXPLICIT', probability: 'NEGLIGIBLE' },
        { category: 'HARM_CATEGORY_HATE_SPEECH', probability: 'NEGLIGIBLE' },
        { category: 'HARM_CATEGORY_HARASSMENT', probability: 'NEGLIGIBLE' },
        { category: 'HARM_CATEGORY_DANGEROUS_CONTENT', probability: 'HIGH' },
      ],
    },
    usageMetadata: { promptTokenCount: turn.promptTokens, totalTokenCount: turn.promptTokens },
    modelVersion: turn.model,
    responseId: uniqueId(),
  });
}

function errorFor(kind: Exclude<ErrorKind, 'content_filter' | 'auth_error'>, model: string, retryAfterS: number | undefined): { code: number; message: string; details?: unknown[] } {
  switch (kind) {
    case 'timeout':
      return { code: 504, message: 'Deadline expired before operation could complete.' };
    case 'rate_limit':
      return { code: 429, message: RATE_LIMIT_MESSAGE, details: quotaDetails(model, false, retryAfterS) };
    case 'quota_exceeded':
      return { code: 429, message: RATE_LIMIT_MESSAGE, details: quotaDetails(model, true, retryAfterS) };
    case 'model_overloaded':
      return { code: 503, message: 'The model is overloaded. Please try again later.' };
    case 'server_error':
    case 'connection_error':
      return { code: 500, message: 'An internal error has occurred. Please retry or report in https://developers.generativeai.google/guide/troubleshooting' };
    case 'context_length_exceeded':
      return { code: 400, message: 'The input token count (1200000) exceeds the maximum number of tokens allowed (1048576).' };
    case 'bad_request':
      return { code: 400, message: '* GenerateContentRequest.generation_config.temperature: must be in the range [0.0, 2.0]\n' };
  }
}

function error(kind: ErrorKind, turn: Turn, detail: ErrorDetail): Rendered {
  if (kind === 'content_filter') {
    if (!turn.stream) return { status: 200, headers: JSON_HEADERS, body: blocked(turn) };
    return turn.sse ? { status: 200, headers: SSE_HEADERS, body: sse(blocked(turn)) } : jsonArray([blocked(turn)]);
  }
  if (kind === 'auth_error') return apiKeyInvalid(detail.message);
  const e = errorFor(kind, turn.model, detail.retryAfterS);
  return errorResponse(e.code, detail.message ?? e.message, e.details);
}

function checkHeaders(ctx: RequestContext, keys: ReadonlySet<string> | null): Rendered | null {
  if (keys === null) return null;
  const header = ctx.headers['x-goog-api-key'];
  const key = (typeof header === 'string' ? header : ctx.queryKey ?? '').trim();
  if (key === '') {
    return errorResponse(
      403,
      "Method doesn't allow unregistered callers (callers without established identity). Please use API Key or other form of API consumer identity to call this API.",
    );
  }
  return keys.has(key) ? null : apiKeyInvalid();
}

/** Google Gemini's generateContent dialect. */
export const googleDialect: Dialect = {
  provider: 'google',
  checkHeaders,
  parse,
  respond,
  stream,
  error,
  inBandError(kind, turn, detail) {
    if (kind === 'content_filter') {
      return sse(`{"candidates":[{"content":{"parts":[],"role":"model"},"finishReason":"SAFETY","index":0}],"modelVersion":${JSON.stringify(turn.model)}}`);
    }
    const e = errorFor(kind === 'auth_error' ? 'server_error' : kind, turn.model, undefined);
    return sse(errorJson(e.code, detail.message ?? e.message));
  },
  malformed: () => 'data: {"candidates":[{"content":{"parts":[{"text":"\r\n\r\n',
  notFound: (method, path) => errorResponse(404, `Method not found: ${method} ${path}`),
};

/** Gemini's 404 for a model path with an unknown method. */
export function googleUnknownMethod(model: string, version: string, method: string): Rendered {
  return errorResponse(404, `models/${model} is not found for API version ${version}, or is not supported for ${method}. Call ListModels to see the list of available models and their supported methods.`);
}

/** `GET /{version}/models` in Gemini's list shape. */
export function googleModelList(models: readonly string[]): Rendered {
  return {
    status: 200,
    headers: JSON_HEADERS,
    body: JSON.stringify({
      models: models.map((m) => ({
        name: `models/${m}`,
        version: '001',
        displayName: m,
        inputTokenLimit: 1048576,
        outputTokenLimit: 65536,
        supportedGenerationMethods: ['generateContent', 'countTokens'],
      })),
    }),
  };
}
