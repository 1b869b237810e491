import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { UpstreamError } from '../../src/core/upstream-error.ts';
import { anthropicAdapter } from '../../src/providers/anthropic.ts';

const NOW = Date.parse('2025-01-02T03:04:05Z');
beforeEach(() => {
  vi.useFakeTimers({ toFake: ['Date'] });
  vi.setSystemTime(NOW);
});
afterEach(() => {
  vi.useRealTimers();
});

const body = (type: string, message: string, extra: object = {}) =>
  JSON.stringify({ type: 'error', error: { type, message, ...extra }, request_id: 'req_011CSHoEeqs5C35K2UUqR7Fy' });
const view = (e: UpstreamError) => ({ kind: e.kind, status: e.status, providerCode: e.providerCode, message: e.message, fatal: e.fatal, inBand: e.inBand });
const classify = (status: number, text: string, headers = {}) => anthropicAdapter.classifyError(status, headers, text);

describe('anthropic error classification', () => {
  it.each([
    [400, 'invalid_request_error', 'messages: roles must alternate between "user" and "assistant"', 'bad_request'],
    [401, 'authentication_error', 'invalid x-api-key', 'auth_error'],
    [403, 'permission_error', 'Your API key does not have permission to use the specified resource.', 'auth_error'],
    [404, 'not_found_error', 'model: claude-4-nonexistent', 'bad_request'],
    [413, 'request_too_large', 'Request exceeds the maximum allowed number of bytes.', 'context_length_exceeded'],
    [429, 'rate_limit_error', 'Number of request tokens has exceeded your per-minute rate limit', 'rate_limit'],
    [500, 'api_error', 'Internal server error', 'server_error'],
    [529, 'overloaded_error', 'Overloaded', 'model_overloaded'],
  ])('%i %s → %s', (status, type, message, kind) => {
    expect(view(classify(status, body(type, message)))).toEqual({ kind, status, providerCode: type, message, fatal: false, inBand: false });
  });

  it.each([
    'prompt is too long: 208310 tokens > 200000 maximum',
    'input length and `max_tokens` exceed context limit: 198000 + 8192 > 200000, decrease input length or `max_tokens` and try again',
  ])('400 "%s" → context_length_exceeded', (message) => {
    expect(classify(400, body('invalid_request_error', message)).kind).toBe('context_length_exceeded');
  });

  it('400 "credit balance is too low" → quota_exceeded, fatal', () => {
    const message = 'Your credit balance is too low to access the Anthropic API. Please go to Plans & Billing to upgrade or purchase credits.';
    expect(view(classify(400, body('invalid_request_error', message)))).toEqual({
      kind: 'quota_exceeded', status: 400, providerCode: 'invalid_request_error', message, fatal: true, inBand: false,
    });
  });

  it('429 with a spend-limit error_code and 402 billing_error → quota_exceeded, fatal', () => {
    const spend = classify(429, body('rate_limit_error', 'You have reached your monthly usage limit.', { details: { error_code: 'enforced_spend_limit_reached' } }));
    expect([spend.kind, spend.fatal]).toEqual(['quota_exceeded', true]);
    const billing = classify(402, body('billing_error', 'Payment required'));
    expect([billing.kind, billing.fatal]).toEqual(['quota_exceeded', true]);
  });

  it('429 carries retry-after and anthropic-ratelimit-* hints', () => {
    const err = classify(429, body('rate_limit_error', 'Number of requests has exceeded your per-minute rate limit'), {
      'retry-after': '17',
      'anthropic-ratelimit-requests-limit': '50',
      'anthropic-ratelimit-requests-remaining': '0',
      'anthropic-ratelimit-requests-reset': '2025-01-02T03:04:22Z',
      'anthropic-ratelimit-tokens-limit': '40000',
      'anthropic-ratelimit-tokens-remaining': '39000',
      'anthropic-ratelimit-tokens-reset': '2025-01-02T03:04:06Z',
    });
    expect(err.kind).toBe('rate_limit');
    expect(err.hints).toEqual({
      retryAfterMs: 17_000,
      rateLimit: { limitRequests: 50, remainingRequests: 0, resetRequestsMs: 17_000, limitTokens: 40000, remainingTokens: 39000, resetTokensMs: 1000 },
    });
  });

  it('529 overloaded keeps a retry-after hint when Anthropic sends one', () => {
    const err = classify(529, body('overloaded_error', 'Overloaded'), { 'retry-after': '2' });
    expect([err.kind, err.hints]).toEqual(['model_overloaded', { retryAfterMs: 2000 }]);
  });

  it.each([
    [529, 'model_overloaded'],
    [500, 'server_error'],
    [502, 'server_error'],
    [503, 'server_error'],
    [413, 'context_length_exceeded'],
    [429, 'rate_limit'],
    [401, 'auth_error'],
    [400, 'bad_request'],
  ])('non-JSON body with status %i → %s', (status, kind) => {
    const err = classify(status, '<html><body><h1>502 Bad Gateway</h1></body></html>');
    expect([err.kind, err.providerCode, err.message]).toEqual([
      kind,
      undefined,
      `Anthropic returned HTTP ${status}: <html><body><h1>502 Bad Gateway</h1></body></html>`,
    ]);
  });

  it('empty body classifies by status with a plain message', () => {
    expect(view(classify(529, ''))).toEqual({
      kind: 'model_overloaded', status: 529, providerCode: undefined, message: 'Anthropic returned HTTP 529', fatal: false, inBand: false,
    });
  });

  it('an unknown error type falls back to the status', () => {
    expect([classify(503, body('some_new_error', 'x')).kind, classify(418, body('teapot_error', 'x')).kind]).toEqual(['server_error', 'bad_request']);
  });

  it('409 conflict_error (documented as retryable) → server_error; 504 timeout_error → timeout', () => {
    expect([classify(409, body('conflict_error', 'Conflict')).kind, classify(504, body('timeout_error', 'Request timed out')).kind]).toEqual([
      'server_error',
      'timeout',
    ]);
  });
});

describe('Anthropic output filter', () => {
  it('classifies "Output blocked by content filtering policy" as content_filter, on a 400 and in-band', async () => {
    const { classifyAnthropicError, inBandAnthropicError } = await import('../../src/providers/anthropic/errors.ts');
    const body = { type: 'error', error: { type: 'invalid_request_error', message: 'Output blocked by content filtering policy' } };
    expect(classifyAnthropicError(400, {}, JSON.stringify(body)).kind).toBe('content_filter');
    expect(inBandAnthropicError(body).kind).toBe('content_filter');
  });
});
