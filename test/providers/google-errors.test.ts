import { describe, expect, it } from 'vitest';
import { googleAdapter } from '../../src/providers/google.ts';
import { fixtureText } from '../fixtures/google/fixtures.ts';

function classify(status: number, body: string, headers: Record<string, string> = {}) {
  const err = googleAdapter.classifyError(status, headers, body);
  return { kind: err.kind, status: err.status, providerCode: err.providerCode, fatal: err.fatal, inBand: err.inBand, hints: err.hints };
}

describe('google error classification', () => {
  it.each([
    ['error-429-per-minute.json', 429, { kind: 'rate_limit', providerCode: 'RESOURCE_EXHAUSTED', fatal: false, hints: { retryAfterMs: 37_000 } }],
    ['error-429-per-day.json', 429, { kind: 'quota_exceeded', providerCode: 'RESOURCE_EXHAUSTED', fatal: true, hints: { retryAfterMs: 38_000 } }],
    ['error-400-api-key.json', 400, { kind: 'auth_error', providerCode: 'INVALID_ARGUMENT', fatal: false, hints: {} }],
    ['error-400-token-limit.json', 400, { kind: 'context_length_exceeded', providerCode: 'INVALID_ARGUMENT', fatal: false, hints: {} }],
    ['error-400-invalid-argument.json', 400, { kind: 'bad_request', providerCode: 'INVALID_ARGUMENT', fatal: false, hints: {} }],
    ['error-400-location.json', 400, { kind: 'auth_error', providerCode: 'FAILED_PRECONDITION', fatal: false, hints: {} }],
    ['error-403.json', 403, { kind: 'auth_error', providerCode: 'PERMISSION_DENIED', fatal: false, hints: {} }],
    ['error-404.json', 404, { kind: 'bad_request', providerCode: 'NOT_FOUND', fatal: false, hints: {} }],
    ['error-500.json', 500, { kind: 'server_error', providerCode: 'INTERNAL', fatal: false, hints: {} }],
    ['error-503.json', 503, { kind: 'model_overloaded', providerCode: 'UNAVAILABLE', fatal: false, hints: {} }],
    ['error-504.json', 504, { kind: 'timeout', providerCode: 'DEADLINE_EXCEEDED', fatal: false, hints: {} }],
  ] as const)('classifies %s (HTTP %i)', (file, status, expected) => {
    expect(classify(status, fixtureText(file))).toEqual({ ...expected, status, inBand: false });
  });

  it("keeps Google's message", () => {
    expect(googleAdapter.classifyError(503, {}, fixtureText('error-503.json')).message).toBe('The model is overloaded. Please try again later.');
  });

  it('classifies 401 UNAUTHENTICATED as auth_error', () => {
    const body = '{"error":{"code":401,"message":"Request had invalid authentication credentials.","status":"UNAUTHENTICATED"}}';
    expect(classify(401, body).kind).toBe('auth_error');
  });

  it('classifies 400 FAILED_PRECONDITION that the request caused as bad_request', () => {
    const body = '{"error":{"code":400,"message":"Tool use with function calling is unsupported for this model.","status":"FAILED_PRECONDITION"}}';
    expect(classify(400, body).kind).toBe('bad_request');
  });

  it('treats a per-day quota named only by its metric as fatal quota_exceeded', () => {
    const body = JSON.stringify({
      error: {
        code: 429,
        message: 'You exceeded your current quota.',
        status: 'RESOURCE_EXHAUSTED',
        details: [{ '@type': 'type.googleapis.com/google.rpc.QuotaFailure', violations: [{ quotaMetric: 'generativelanguage.googleapis.com/generate_requests_per_model_per_day' }] }],
      },
    });
    expect(classify(429, body)).toMatchObject({ kind: 'quota_exceeded', fatal: true, hints: {} });
  });

  it('reads an error wrapped in an array (the non-SSE stream endpoint)', () => {
    expect(classify(503, `[${fixtureText('error-503.json')}]`).kind).toBe('model_overloaded');
  });

  it('falls back to the HTTP status for a body that is not Google JSON, keeping a snippet in the message', () => {
    const err = googleAdapter.classifyError(502, {}, '<html><title>502 Bad Gateway</title></html>');
    expect({ kind: err.kind, providerCode: err.providerCode, message: err.message }).toEqual({
      kind: 'server_error',
      providerCode: undefined,
      message: 'Gemini API returned HTTP 502: <html><title>502 Bad Gateway</title></html>',
    });
    expect(classify(429, '')).toEqual({ kind: 'rate_limit', status: 429, providerCode: undefined, fatal: false, inBand: false, hints: {} });
    expect(classify(408, '').kind).toBe('timeout');
    expect(classify(413, 'too big').kind).toBe('bad_request');
  });

  it('takes a proxy Retry-After header when the body has no RetryInfo, and the body when it has one', () => {
    expect(classify(429, '', { 'retry-after': '7' }).hints).toEqual({ retryAfterMs: 7000 });
    expect(classify(429, fixtureText('error-429-per-minute.json'), { 'retry-after': '7' }).hints).toEqual({ retryAfterMs: 37_000 });
  });
});
