/**
 * Classifies OpenAI-style failures into ErrorKinds: HTTP errors (`{"error": {message, type,
 * param, code}}` with OpenAI's real statuses), the same object arriving inside a 200 stream,
 * and the dialects of compatible servers (Azure's string codes and `innererror`, vLLM's
 * numeric codes and top-level `{"object": "error"}`, Ollama's `{"error": "text"}`), plus
 * bodies that are not JSON at all (an HTML 502 from a proxy).
 *
 * @internal
 */
import type { ErrorKind } from '../../core/error-kinds.ts';
import { UpstreamError, type RetryHints } from '../../core/upstream-error.ts';
import { hintsFromHeaders, parseDuration } from '../retry-hints.ts';
import type { HeaderMap } from '../types.ts';

/** The fields of an OpenAI-style error object, however the server spelled them. */
interface OpenAIErrorFields {
  message: string | undefined;
  type: string | undefined;
  /** Stringified: vLLM sends numbers (400), Azure numeric strings ("429"). */
  code: string | undefined;
  param: string | null;
  /** Azure's `innererror.code`, e.g. `ResponsibleAIPolicyViolation`. */
  innerCode: string | undefined;
}

/**
 * Reads an error object out of a parsed body or stream event; undefined when there is none.
 *
 * @example
 * readOpenAIError({ error: { message: 'Rate limit reached', type: 'tokens', param: null, code: 'rate_limit_exceeded' } })
 * // => { message: 'Rate limit reached', type: 'tokens', code: 'rate_limit_exceeded', param: null, innerCode: undefined }
 */
function readOpenAIError(payload: unknown): OpenAIErrorFields | undefined {
  if (payload === null || typeof payload !== 'object') return undefined;
  const top = payload as Record<string, unknown>;
  if (typeof top.error === 'string') {
    return { message: top.error, type: text(top.type), code: text(top.code), param: null, innerCode: undefined };
  }
  let obj: Record<string, unknown>;
  if (top.error !== null && typeof top.error === 'object') obj = top.error as Record<string, unknown>;
  else if (top.object === 'error' || typeof top.message === 'string' || typeof top.detail === 'string') obj = top;
  else return undefined;
  const inner = obj.innererror;
  return {
    message: text(obj.message) ?? text(obj.detail),
    type: text(obj.type),
    code: text(obj.code),
    param: typeof obj.param === 'string' ? obj.param : null,
    innerCode: inner !== null && typeof inner === 'object' ? text((inner as Record<string, unknown>).code) : undefined,
  };
}

/**
 * A non-2xx response → a classified UpstreamError. Retry hints come from the headers
 * (retry-after-ms, retry-after, x-ratelimit-*), else from the message ("Please try again in
 * 9.816s", Azure's "Please retry after 7 seconds").
 */
export function classifyOpenAIError(status: number, headers: HeaderMap, body: string, now: number = Date.now()): UpstreamError {
  const fields = readOpenAIError(parseJson(body));
  const hints = hintsFromHeaders(headers, now);
  addMessageHint(hints, fields);
  const { kind, fatal } = kindOf(status, fields, false);
  return new UpstreamError({
    kind,
    fatal,
    status,
    message: fields?.message ?? describeBody(status, body),
    providerCode: fields?.code ?? fields?.type,
    param: fields?.param ?? null,
    hints,
  });
}

/**
 * An error that arrived inside a 200 (a `data: {"error": {...}}` stream event, or a 200 body
 * with no choices) → a classified UpstreamError with `inBand: true` and status 200. Without
 * an HTTP status, the kind comes from the code (vLLM's 400, Azure's "429") or the type.
 */
export function openAIInBandError(payload: unknown): UpstreamError {
  const fields = readOpenAIError(payload);
  const hints: RetryHints = {};
  addMessageHint(hints, fields);
  const { kind, fatal } = kindOf(200, fields, true);
  return new UpstreamError({
    kind,
    fatal,
    status: 200,
    inBand: true,
    message: fields?.message ?? 'upstream sent an error event without a message',
    providerCode: fields?.code ?? fields?.type,
    param: fields?.param ?? null,
    hints,
  });
}

const OVERLOADED = /overloaded/i;
const CONTEXT_LENGTH = /maximum context length/i;

function kindOf(status: number, f: OpenAIErrorFields | undefined, inBand: boolean): { kind: ErrorKind; fatal: boolean } {
  const code = f?.code;
  const type = f?.type;
  const message = f?.message ?? '';
  // Billing: waiting never heals it, so it is fatal for this target (fail over, never retry).
  if (code === 'insufficient_quota' || type === 'insufficient_quota') return { kind: 'quota_exceeded', fatal: true };
  const s = inBand ? statusOfInBand(code, type) : status;
  // A code names the failure whatever the status; a message only when the client is at fault.
  if (code === 'context_length_exceeded' || (s < 500 && CONTEXT_LENGTH.test(message))) return transient('context_length_exceeded');
  if (code === 'content_filter' || code === 'content_policy_violation' || f?.innerCode === 'ResponsibleAIPolicyViolation') {
    return transient('content_filter');
  }
  if (s === 401 || s === 403) return transient('auth_error');
  if (s === 429) return transient('rate_limit');
  if (s === 408 || s === 504) return transient('timeout');
  if (s === 529) return transient('model_overloaded');
  if (s >= 500) return transient((s === 503 || inBand) && OVERLOADED.test(message) ? 'model_overloaded' : 'server_error');
  if (s >= 400) return transient('bad_request');
  // 1xx/3xx: not an answer the gateway can use (a redirect means a misconfigured base URL).
  return transient('server_error');
}

function transient(kind: ErrorKind): { kind: ErrorKind; fatal: boolean } {
  return { kind, fatal: false };
}

/** The HTTP status an in-band error stands for. */
function statusOfInBand(code: string | undefined, type: string | undefined): number {
  if (code !== undefined && /^[1-5]\d\d$/.test(code)) return Number(code);
  // OpenAI's rejected key: type invalid_request_error, but a 401, never the client's request.
  if (code === 'invalid_api_key') return 401;
  switch (type ?? code) {
    case 'invalid_request_error':
    case 'BadRequestError':
      return 400;
    case 'authentication_error':
    case 'invalid_api_key':
      return 401;
    case 'permission_error':
      return 403;
    case 'not_found_error':
    case 'NotFoundError':
      return 404;
    case 'rate_limit_error':
    case 'rate_limit_exceeded':
    case 'tokens':
    case 'requests':
      return 429;
    case 'timeout':
    case 'timeout_error':
      return 504;
    case 'overloaded_error':
      return 529;
    default:
      // server_error, api_error, or nothing we know: the upstream broke mid-answer.
      return 500;
  }
}

/** Fills `retryAfterMs` from the message when the headers gave none. */
function addMessageHint(hints: RetryHints, fields: OpenAIErrorFields | undefined): void {
  if (hints.retryAfterMs !== undefined || fields?.message === undefined) return;
  const ms = retryDelayFromMessage(fields.message);
  if (ms !== undefined) hints.retryAfterMs = ms;
}

const SECONDS_IN_MESSAGE = /(?:retry after|try again in) (\d+(?:\.\d+)?) seconds?\b/i;
const DURATION_IN_MESSAGE = /try again in ((?:\d+(?:\.\d+)?(?:ms|h|m|s))+)/;

/**
 * The delay a provider wrote into its message: OpenAI's "Please try again in 644ms" /
 * "in 1m12s", Azure's "Please retry after 7 seconds" / "Try again in 40 seconds".
 */
export function retryDelayFromMessage(message: string): number | undefined {
  const seconds = SECONDS_IN_MESSAGE.exec(message);
  if (seconds !== null) return Math.round(Number(seconds[1]) * 1000);
  const duration = DURATION_IN_MESSAGE.exec(message);
  return duration === null ? undefined : parseDuration(duration[1]);
}

function parseJson(body: string): unknown {
  if (body === '') return undefined;
  try {
    return JSON.parse(body);
  } catch {
    return undefined;
  }
}

/** A message for a body with no error object: the HTML title or the first 200 characters. */
function describeBody(status: number, body: string): string {
  const title = /<title>([^<]*)<\/title>/i.exec(body)?.[1];
  const shown = (title ?? body).replace(/\s+/g, ' ').trim().slice(0, 200);
  return shown === '' ? `upstream answered HTTP ${status} with an empty body` : `upstream answered HTTP ${status}: ${shown}`;
}

function text(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'number') return String(value);
  return undefined;
}
