import { describe, expect, it } from 'vitest';
import { geminiRetryDelayMs } from '../../src/providers/google/errors.ts';
import { hintsFromHeaders, parseDuration, parseRetryAfter } from '../../src/providers/retry-hints.ts';

const NOW = Date.parse('2024-05-01T12:00:00.000Z');

describe('parseRetryAfter', () => {
  it('reads delta-seconds', () => {
    expect(parseRetryAfter('7', NOW)).toBe(7000);
    expect(parseRetryAfter(' 20 ', NOW)).toBe(20_000);
    expect(parseRetryAfter('0', NOW)).toBe(0);
    expect(parseRetryAfter('1.5', NOW)).toBe(1500);
  });

  it('reads an HTTP-date as the time left until it', () => {
    expect(parseRetryAfter('Wed, 01 May 2024 12:00:30 GMT', NOW)).toBe(30_000);
  });

  it('clamps an HTTP-date in the past to 0', () => {
    expect(parseRetryAfter('Wed, 01 May 2024 11:59:00 GMT', NOW)).toBe(0);
  });

  it('returns undefined for a missing, empty or unreadable value', () => {
    expect(parseRetryAfter(undefined, NOW)).toBeUndefined();
    expect(parseRetryAfter('', NOW)).toBeUndefined();
    expect(parseRetryAfter('soon', NOW)).toBeUndefined();
  });
});

describe('parseDuration', () => {
  it('reads the Go durations OpenAI sends in x-ratelimit-reset-*', () => {
    expect(parseDuration('6m0s')).toBe(360_000);
    expect(parseDuration('20ms')).toBe(20);
    expect(parseDuration('1s')).toBe(1000);
    expect(parseDuration('37.24s')).toBe(37_240);
    expect(parseDuration('1h2m3.5s')).toBe(3_723_500);
    expect(parseDuration('8.64s')).toBe(8640);
  });

  it('reads sub-millisecond units', () => {
    expect(parseDuration('1500us')).toBe(2);
    expect(parseDuration('2000000ns')).toBe(2);
  });

  it('reads protobuf Duration JSON as Gemini sends it', () => {
    expect(parseDuration('38s')).toBe(38_000);
    expect(parseDuration('0.5s')).toBe(500);
  });

  it('rejects anything that is not wholly a duration', () => {
    expect(parseDuration(undefined)).toBeUndefined();
    expect(parseDuration('')).toBeUndefined();
    expect(parseDuration('10')).toBeUndefined();
    expect(parseDuration('5s later')).toBeUndefined();
    expect(parseDuration('s')).toBeUndefined();
  });
});

describe('hintsFromHeaders', () => {
  it('reads Retry-After seconds', () => {
    expect(hintsFromHeaders({ 'retry-after': '7' }, NOW)).toEqual({ retryAfterMs: 7000 });
  });

  it('reads a Retry-After HTTP-date', () => {
    expect(hintsFromHeaders({ 'retry-after': 'Wed, 01 May 2024 12:01:00 GMT' }, NOW)).toEqual({ retryAfterMs: 60_000 });
  });

  it('prefers retry-after-ms over retry-after', () => {
    expect(hintsFromHeaders({ 'retry-after-ms': '6500', 'retry-after': '7' }, NOW)).toEqual({ retryAfterMs: 6500 });
  });

  it('falls back to retry-after when retry-after-ms is unreadable', () => {
    expect(hintsFromHeaders({ 'retry-after-ms': 'abc', 'retry-after': '3' }, NOW)).toEqual({ retryAfterMs: 3000 });
  });

  it('reads the first value of a repeated header', () => {
    expect(hintsFromHeaders({ 'retry-after': ['2', '9'] }, NOW)).toEqual({ retryAfterMs: 2000 });
  });

  it("reads OpenAI's x-ratelimit-* headers of a 429", () => {
    expect(
      hintsFromHeaders(
        {
          'x-ratelimit-limit-requests': '10000',
          'x-ratelimit-limit-tokens': '30000',
          'x-ratelimit-remaining-requests': '9999',
          'x-ratelimit-remaining-tokens': '0',
          'x-ratelimit-reset-requests': '6ms',
          'x-ratelimit-reset-tokens': '6m0s',
        },
        NOW,
      ),
    ).toEqual({
      rateLimit: {
        limitRequests: 10000,
        remainingRequests: 9999,
        resetRequestsMs: 6,
        limitTokens: 30000,
        remainingTokens: 0,
        resetTokensMs: 360_000,
      },
    });
  });

  it('reads token limits when a server sends no request limits', () => {
    expect(
      hintsFromHeaders({ 'x-ratelimit-remaining-tokens': '120', 'x-ratelimit-reset-tokens': '20ms' }, NOW),
    ).toEqual({ rateLimit: { remainingTokens: 120, resetTokensMs: 20 } });
  });

  it("reads Anthropic's anthropic-ratelimit-* headers with RFC 3339 resets", () => {
    expect(
      hintsFromHeaders(
        {
          'retry-after': '12',
          'anthropic-ratelimit-requests-limit': '50',
          'anthropic-ratelimit-requests-remaining': '0',
          'anthropic-ratelimit-requests-reset': '2024-05-01T12:00:12Z',
          'anthropic-ratelimit-tokens-limit': '40000',
          'anthropic-ratelimit-tokens-remaining': '39000',
          'anthropic-ratelimit-tokens-reset': '2024-05-01T12:00:01.500Z',
        },
        NOW,
      ),
    ).toEqual({
      retryAfterMs: 12_000,
      rateLimit: {
        limitRequests: 50,
        remainingRequests: 0,
        resetRequestsMs: 12_000,
        limitTokens: 40000,
        remainingTokens: 39000,
        resetTokensMs: 1500,
      },
    });
  });

  it('returns no hints when the provider sent none', () => {
    expect(hintsFromHeaders({ 'content-type': 'application/json', 'x-request-id': 'req_1' }, NOW)).toEqual({});
  });

  it('leaves out rate-limit fields it cannot read', () => {
    expect(hintsFromHeaders({ 'x-ratelimit-remaining-requests': '3', 'x-ratelimit-reset-requests': 'later' }, NOW)).toEqual({
      rateLimit: { remainingRequests: 3 },
    });
  });
});

describe('geminiRetryDelayMs', () => {
  it("reads RetryInfo.retryDelay from a Gemini 429 body", () => {
    const body = {
      error: {
        code: 429,
        message: 'You exceeded your current quota, please check your plan and billing details.',
        status: 'RESOURCE_EXHAUSTED',
        details: [
          {
            '@type': 'type.googleapis.com/google.rpc.QuotaFailure',
            violations: [{ quotaMetric: 'generativelanguage.googleapis.com/generate_content_free_tier_requests', quotaId: 'GenerateRequestsPerMinutePerProjectPerModel-FreeTier' }],
          },
          { '@type': 'type.googleapis.com/google.rpc.Help', links: [{ description: 'Learn more', url: 'https://ai.google.dev/gemini-api/docs/rate-limits' }] },
          { '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: '38s' },
        ],
      },
    };
    expect(geminiRetryDelayMs(body)).toBe(38_000);
  });

  it('returns undefined when the body has no RetryInfo', () => {
    expect(geminiRetryDelayMs({ error: { code: 503, message: 'The model is overloaded. Please try again later.', status: 'UNAVAILABLE' } })).toBeUndefined();
    expect(geminiRetryDelayMs(null)).toBeUndefined();
    expect(geminiRetryDelayMs('Bad Gateway')).toBeUndefined();
    expect(geminiRetryDelayMs({ error: { details: [{ '@type': 'type.googleapis.com/google.rpc.RetryInfo' }] } })).toBeUndefined();
  });
});
