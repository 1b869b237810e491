/**
 * Anthropic failures → ErrorKind. Anthropic's error body is
 * `{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"},"request_id":"req_..."}`,
 * both as a non-2xx body and as an in-band SSE `error` event after a 200.
 */
import type { ErrorKind } from '../../core/error-kinds.ts';
import { UpstreamError } from '../../core/upstream-error.ts';
import { hintsFromHeaders } from '../retry-hints.ts';
import type { HeaderMap } from '../types.ts';
import type { ErrorEnvelope } from './wire.ts';

/** Anthropic's documented `error.type` values and the kind each one is. */
const TYPE_TO_KIND: Record<string, ErrorKind> = {
  invalid_request_error: 'bad_request',
  authentication_error: 'auth_error',
  permission_error: 'auth_error',
  not_found_error: 'bad_request',
  request_too_large: 'context_length_exceeded',
  rate_limit_error: 'rate_limit',
  api_error: 'server_error',
  overloaded_error: 'model_overloaded',
  billing_error: 'quota_exceeded',
  timeout_error: 'timeout',
  // 409: a transient conflict Anthropic documents as safe to retry; not the client's fault.
  conflict_error: 'server_error',
};

// "prompt is too long: 208310 tokens > 200000 maximum";
// "input length and `max_tokens` exceed context limit: 198000 + 8192 > 200000, ...".
const CONTEXT_RE = /prompt is too long|exceeds? (?:the )?context (?:limit|window)|max_tokens.*context/i;
// "Output blocked by content filtering policy": Anthropic's output filter, a 400 (or in-band).
const CONTENT_FILTER_RE = /content filtering policy|blocked by content filter/i;
// "Your credit balance is too low to access the Anthropic API..."; workspace/monthly spend limits.
const BILLING_RE = /credit balance is too low|spend limit|billing/i;

/** Where a failure was seen: the status it came with and whether it was inside a 200 stream. */
interface Origin { status: number; inBand: boolean; hintsHeaders?: HeaderMap }

/**
 * Classify a non-2xx Anthropic response. `body` is raw text; a body that is not Anthropic's
 * JSON (a Cloudflare 413 page, a proxy's 502) still classifies by status.
 *
 * @example
 * classifyAnthropicError(529, {}, '{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}').kind
 * // 'model_overloaded'
 */
export function classifyAnthropicError(status: number, headers: HeaderMap, body: string): UpstreamError {
  return fromEnvelope(parseEnvelope(body), { status, inBand: false, hintsHeaders: headers }, body);
}

/** An in-band `error` event (already JSON-parsed) after a 200: same classification, `inBand: true`. */
export function inBandAnthropicError(data: unknown): UpstreamError {
  return fromEnvelope(envelopeOf(data), { status: 200, inBand: true }, '');
}

function fromEnvelope(env: ErrorEnvelope['error'] | undefined, origin: Origin, raw: string): UpstreamError {
  const type = env?.type;
  const message = env?.message ?? fallbackMessage(origin.status, raw);
  const billing =
    type === 'billing_error' ||
    origin.status === 402 ||
    env?.details?.error_code === 'enforced_spend_limit_reached' ||
    ((type === 'invalid_request_error' || type === 'rate_limit_error' || type === 'permission_error') && BILLING_RE.test(message));
  const kind: ErrorKind = billing ? 'quota_exceeded' : kindOf(type, origin.status, message);
  return new UpstreamError({
    kind,
    message,
    status: origin.status,
    providerCode: type,
    hints: origin.hintsHeaders === undefined ? {} : hintsFromHeaders(origin.hintsHeaders),
    inBand: origin.inBand,
    // Credits and spend limits come back when someone pays, not in seconds: never worth a retry.
    fatal: billing,
  });
}

function kindOf(type: string | undefined, status: number, message: string): ErrorKind {
  if ((type === 'invalid_request_error' || (type === undefined && status === 400)) && CONTEXT_RE.test(message)) {
    return 'context_length_exceeded';
  }
  if ((type === 'invalid_request_error' || type === undefined) && CONTENT_FILTER_RE.test(message)) return 'content_filter';
  const byType = type === undefined ? undefined : TYPE_TO_KIND[type];
  return byType ?? kindOfStatus(status);
}

function kindOfStatus(status: number): ErrorKind {
  if (status === 401 || status === 403) return 'auth_error';
  if (status === 402) return 'quota_exceeded';
  if (status === 408) return 'timeout';
  if (status === 413) return 'context_length_exceeded';
  if (status === 429) return 'rate_limit';
  if (status === 529) return 'model_overloaded';
  if (status >= 400 && status < 500) return 'bad_request';
  return 'server_error';
}

function parseEnvelope(body: string): ErrorEnvelope['error'] | undefined {
  if (body.trim() === '') return undefined;
  try {
    return envelopeOf(JSON.parse(body));
  } catch {
    return undefined;
  }
}

function envelopeOf(data: unknown): ErrorEnvelope['error'] | undefined {
  const err = (data as { error?: unknown } | null)?.error;
  if (err === null || typeof err !== 'object') return undefined;
  const { type, message, details } = err as Record<string, unknown>;
  if (typeof type !== 'string') return undefined;
  return {
    type,
    message: typeof message === 'string' ? message : type,
    details: details !== null && typeof details === 'object' ? (details as { error_code?: string }) : null,
  };
}

function fallbackMessage(status: number, raw: string): string {
  const text = raw.trim().slice(0, 200);
  return text === '' ? `Anthropic returned HTTP ${status}` : `Anthropic returned HTTP ${status}: ${text}`;
}
