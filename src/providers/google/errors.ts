import type { ErrorKind } from '../../core/error-kinds.ts';
import { UpstreamError, type RetryHints } from '../../core/upstream-error.ts';
import { hintsFromHeaders, parseDuration } from '../retry-hints.ts';
import type { HeaderMap } from '../types.ts';
import type { GeminiErrorBody } from './wire.ts';

const NO_HEADERS: HeaderMap = {};

/**
 * Classifies a non-2xx Gemini response. `body` is the raw text: Google's
 * `{"error":{"code","message","status","details"}}`, the same wrapped in an array (what the
 * non-SSE stream endpoint sends), or anything else a proxy put in front of it.
 *
 * @example
 * classifyGoogleError(503, {}, '{"error":{"code":503,"message":"The model is overloaded.","status":"UNAVAILABLE"}}').kind
 * // => 'model_overloaded'
 */
export function classifyGoogleError(status: number, headers: HeaderMap, body: string): UpstreamError {
  const parsed = parseErrorBody(body);
  const fallback = body.trim() === '' ? `Gemini API returned HTTP ${status}` : `Gemini API returned HTTP ${status}: ${body.slice(0, 200)}`;
  return googleErrorFrom(status, parsed, { headers, fallbackMessage: fallback, inBand: false });
}

/**
 * Classifies an error object that arrived with a 200: inside an SSE stream
 * (`data: {"error":{...}}`, `inBand` true) or as a whole 200 body. The status is the one the
 * error names (its `code`), since the HTTP status said nothing.
 */
export function classifyGoogleErrorBody(body: GeminiErrorBody, inBand: boolean): UpstreamError {
  const code = typeof body.error.code === 'number' ? body.error.code : 500;
  return googleErrorFrom(code, body, { headers: NO_HEADERS, fallbackMessage: 'Gemini returned an error object', inBand });
}

/** True when `value` has Google's error envelope shape. */
export function isGeminiErrorBody(value: unknown): value is GeminiErrorBody {
  return typeof value === 'object' && value !== null && !Array.isArray(value) &&
    typeof (value as { error?: unknown }).error === 'object' && (value as { error?: unknown }).error !== null;
}

function parseErrorBody(body: string): GeminiErrorBody | undefined {
  if (body === '') return undefined;
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    return undefined;
  }
  if (Array.isArray(value)) value = value[0];
  return isGeminiErrorBody(value) ? value : undefined;
}

interface ErrorContext {
  headers: HeaderMap;
  fallbackMessage: string;
  inBand: boolean;
}

function googleErrorFrom(status: number, body: GeminiErrorBody | undefined, ctx: ErrorContext): UpstreamError {
  const rpc = typeof body?.error.status === 'string' ? body.error.status : undefined;
  const message = typeof body?.error.message === 'string' && body.error.message !== '' ? body.error.message : ctx.fallbackMessage;
  const details = Array.isArray(body?.error.details) ? body.error.details : [];
  const { kind, fatal } = kindOf(status, rpc, message, details);

  const hints: RetryHints = hintsFromHeaders(ctx.headers);
  // Gemini sends no Retry-After header: the wait is the RetryInfo detail in the body.
  const delay = body === undefined ? undefined : geminiRetryDelayMs(body);
  if (delay !== undefined) hints.retryAfterMs = delay;

  return new UpstreamError({ kind, message, status, providerCode: rpc, hints, inBand: ctx.inBand, fatal });
}

const TOKEN_LIMIT = /exceeds the maximum number of tokens|input token count|payload size exceeds the limit/i;
// A 400 FAILED_PRECONDITION that no request can fix: the account cannot use this provider at all,
// so it must count against the provider (and fail over), not against the client.
const ACCOUNT_PRECONDITION = /location is not supported|enable billing|not available in your country/i;

function kindOf(
  status: number,
  rpc: string | undefined,
  message: string,
  details: Array<Record<string, unknown>>,
): { kind: ErrorKind; fatal: boolean } {
  if (rpc === 'RESOURCE_EXHAUSTED' || status === 429) {
    return isPerDayQuota(details) ? { kind: 'quota_exceeded', fatal: true } : { kind: 'rate_limit', fatal: false };
  }
  if (rpc === 'UNAUTHENTICATED' || rpc === 'PERMISSION_DENIED' || status === 401 || status === 403) {
    return { kind: 'auth_error', fatal: false };
  }
  if (isApiKeyInvalid(details, message)) return { kind: 'auth_error', fatal: false };
  if (rpc === 'UNAVAILABLE' || status === 503) return { kind: 'model_overloaded', fatal: false };
  if (rpc === 'DEADLINE_EXCEEDED' || status === 504 || status === 408) return { kind: 'timeout', fatal: false };
  if (rpc === 'INTERNAL' || status >= 500) return { kind: 'server_error', fatal: false };
  if (TOKEN_LIMIT.test(message)) return { kind: 'context_length_exceeded', fatal: false };
  if (rpc === 'FAILED_PRECONDITION' && ACCOUNT_PRECONDITION.test(message)) return { kind: 'auth_error', fatal: false };
  return { kind: 'bad_request', fatal: false };
}

/** True when `detail` is an `error.details[]` entry whose `@type` names `type` (a proxy may send anything there). */
function hasType(detail: unknown, type: string): detail is Record<string, unknown> {
  if (detail === null || typeof detail !== 'object') return false;
  const t = (detail as Record<string, unknown>)['@type'];
  return typeof t === 'string' && t.endsWith(type);
}

/**
 * Gemini puts the delay in the body, not a header: `error.details[]` entry of type
 * `type.googleapis.com/google.rpc.RetryInfo` with `retryDelay` like "38s".
 */
export function geminiRetryDelayMs(errorBody: unknown): number | undefined {
  const details = (errorBody as { error?: { details?: unknown } } | null)?.error?.details;
  if (!Array.isArray(details)) return undefined;
  for (const d of details as unknown[]) {
    if (hasType(d, 'google.rpc.RetryInfo')) return parseDuration(String(d.retryDelay ?? ''));
  }
  return undefined;
}

/** A QuotaFailure naming a per-day quota (quotaId "...PerDay...", metric "..._per_day"): waiting minutes never heals it. */
function isPerDayQuota(details: Array<Record<string, unknown>>): boolean {
  for (const d of details) {
    if (!hasType(d, 'google.rpc.QuotaFailure') || !Array.isArray(d.violations)) continue;
    for (const v of d.violations as Array<Record<string, unknown>>) {
      if (/per_?day/i.test(String(v?.quotaId ?? '')) || /per_?day/i.test(String(v?.quotaMetric ?? ''))) return true;
    }
  }
  return false;
}

/** Google answers a bad key with 400 INVALID_ARGUMENT and an ErrorInfo reason API_KEY_INVALID. */
function isApiKeyInvalid(details: Array<Record<string, unknown>>, message: string): boolean {
  for (const d of details) if (hasType(d, 'google.rpc.ErrorInfo') && d.reason === 'API_KEY_INVALID') return true;
  return /api key not valid|api key expired/i.test(message);
}
