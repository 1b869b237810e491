import { describe, expect, it } from 'vitest';
import { UpstreamError } from '../../src/core/upstream-error.ts';
import { classifyOpenAIError, openaiAdapter, openaiCompatibleAdapter, retryDelayFromMessage } from '../../src/providers/openai.ts';
import { recordedError } from '../fixtures/openai/load.ts';

/** Classify a recorded response and keep the fields downstream reads. */
function classify(name: string) {
  const { status, headers, body } = recordedError(name);
  const err = openaiAdapter.classifyError(status, headers, body);
  expect(err).toBeInstanceOf(UpstreamError);
  return {
    kind: err.kind,
    status: err.status,
    fatal: err.fatal,
    inBand: err.inBand,
    providerCode: err.providerCode,
    param: err.param,
    hints: err.hints,
    message: err.message,
  };
}

describe('classifying OpenAI errors', () => {
  it('429 insufficient_quota is quota_exceeded and fatal', () => {
    expect(classify('error-429-insufficient-quota.json')).toEqual({
      kind: 'quota_exceeded',
      status: 429,
      fatal: true,
      inBand: false,
      providerCode: 'insufficient_quota',
      param: null,
      hints: {},
      message:
        'You exceeded your current quota, please check your plan and billing details. For more information on this error, read the docs: https://platform.openai.com/docs/guides/error-codes/api-errors.',
    });
  });

  it('429 insufficient_quota with code null (older shape) is quota_exceeded from its type', () => {
    expect(classify('error-429-insufficient-quota-legacy.json')).toMatchObject({ kind: 'quota_exceeded', fatal: true, providerCode: 'insufficient_quota' });
  });

  it('429 rate_limit_exceeded on tokens is rate_limit with the x-ratelimit state and the delay from the message', () => {
    expect(classify('error-429-rate-limit-tokens.json')).toMatchObject({
      kind: 'rate_limit',
      status: 429,
      fatal: false,
      providerCode: 'rate_limit_exceeded',
      hints: {
        retryAfterMs: 644,
        rateLimit: { limitRequests: 10000, remainingRequests: 9999, resetRequestsMs: 6, limitTokens: 30000, remainingTokens: 0, resetTokensMs: 37_240 },
      },
    });
  });

  it('429 rate_limit_exceeded on requests takes retry-after-ms over retry-after and the message', () => {
    expect(classify('error-429-rate-limit-requests.json')).toMatchObject({
      kind: 'rate_limit',
      fatal: false,
      providerCode: 'rate_limit_exceeded',
      hints: {
        retryAfterMs: 20_000,
        rateLimit: { limitRequests: 3, remainingRequests: 0, resetRequestsMs: 20_000, limitTokens: 40000, remainingTokens: 39850, resetTokensMs: 225 },
      },
    });
  });

  it('400 context_length_exceeded keeps its param', () => {
    expect(classify('error-400-context-length.json')).toMatchObject({
      kind: 'context_length_exceeded',
      status: 400,
      providerCode: 'context_length_exceeded',
      param: 'messages',
    });
  });

  it('400 content_policy_violation is content_filter', () => {
    expect(classify('error-400-content-policy.json')).toMatchObject({ kind: 'content_filter', providerCode: 'content_policy_violation' });
  });

  it('other 400s are bad_request', () => {
    expect(classify('error-400-invalid-param.json')).toMatchObject({ kind: 'bad_request', providerCode: 'invalid_value', param: 'temperature' });
  });

  it('401 is auth_error', () => {
    expect(classify('error-401-invalid-key.json')).toMatchObject({ kind: 'auth_error', status: 401, providerCode: 'invalid_api_key' });
  });

  it('404 model_not_found is bad_request', () => {
    expect(classify('error-404-model-not-found.json')).toMatchObject({ kind: 'bad_request', status: 404, providerCode: 'model_not_found' });
  });

  it('500 is server_error, providerCode falling back to the type', () => {
    expect(classify('error-500-server.json')).toMatchObject({ kind: 'server_error', status: 500, providerCode: 'server_error' });
  });

  it('503 "model is currently overloaded" is model_overloaded', () => {
    expect(classify('error-503-overloaded.json')).toMatchObject({ kind: 'model_overloaded', status: 503 });
  });

  it('503 "engine is currently overloaded" is model_overloaded', () => {
    expect(classify('error-503-engine-overloaded.json')).toMatchObject({ kind: 'model_overloaded', status: 503 });
  });

  it('503 without an overload message is server_error', () => {
    expect(classify('error-503-unavailable.json')).toMatchObject({ kind: 'server_error', status: 503, providerCode: 'service_unavailable' });
  });

  it('an HTML 502 from a proxy classifies by status, its title as the message', () => {
    expect(classify('error-502-proxy-html.json')).toEqual({
      kind: 'server_error',
      status: 502,
      fatal: false,
      inBand: false,
      providerCode: undefined,
      param: null,
      hints: {},
      message: 'upstream answered HTTP 502: 502 Bad Gateway',
    });
  });

  it('an HTML 504 is timeout', () => {
    expect(classify('error-504-gateway-timeout.json')).toMatchObject({ kind: 'timeout', status: 504, message: 'upstream answered HTTP 504: 504 Gateway Time-out' });
  });
});

describe('classifying by status alone (empty or foreign bodies)', () => {
  const cases: Array<[number, string]> = [
    [400, 'bad_request'],
    [403, 'auth_error'],
    [404, 'bad_request'],
    [408, 'timeout'],
    [409, 'bad_request'],
    [413, 'bad_request'],
    [422, 'bad_request'],
    [429, 'rate_limit'],
    [500, 'server_error'],
    [502, 'server_error'],
    [503, 'server_error'],
    [504, 'timeout'],
    [520, 'server_error'],
    [529, 'model_overloaded'],
    [302, 'server_error'],
  ];
  for (const [status, kind] of cases) {
    it(`${status} → ${kind}`, () => {
      const err = classifyOpenAIError(status, {}, '');
      expect({ kind: err.kind, status: err.status, fatal: err.fatal, message: err.message }).toEqual({
        kind,
        status,
        fatal: false,
        message: `upstream answered HTTP ${status} with an empty body`,
      });
    });
  }

  it('uses the start of a plain-text body as the message', () => {
    expect(classifyOpenAIError(502, {}, 'upstream connect error or disconnect/reset before headers. reset reason: overflow').message).toBe(
      'upstream answered HTTP 502: upstream connect error or disconnect/reset before headers. reset reason: overflow',
    );
  });

  it('reads hints from the headers of a non-JSON 429', () => {
    expect(classifyOpenAIError(429, { 'retry-after': '3' }, 'Too Many Requests').hints).toEqual({ retryAfterMs: 3000 });
  });

  it('reads a Retry-After HTTP-date against the given clock', () => {
    const now = Date.parse('2024-05-01T12:00:00Z');
    expect(classifyOpenAIError(503, { 'retry-after': 'Wed, 01 May 2024 12:00:05 GMT' }, '', now).hints).toEqual({ retryAfterMs: 5000 });
  });
});

describe('classifying Azure OpenAI errors', () => {
  it('429 with code "429" and no type is rate_limit, retry-after from the header', () => {
    expect(classify('azure-429-rate-limit.json')).toMatchObject({
      kind: 'rate_limit',
      status: 429,
      fatal: false,
      providerCode: '429',
      hints: { retryAfterMs: 7000, rateLimit: { remainingRequests: 0, remainingTokens: 0 } },
    });
  });

  it('429 without headers takes the delay from "Please retry after 7 seconds"', () => {
    const { status, body } = recordedError('azure-429-rate-limit.json');
    const err = openaiAdapter.classifyError(status, {}, body);
    expect({ kind: err.kind, hints: err.hints }).toEqual({ kind: 'rate_limit', hints: { retryAfterMs: 7000 } });
  });

  it('400 content_filter with innererror ResponsibleAIPolicyViolation is content_filter', () => {
    expect(classify('azure-400-content-filter.json')).toMatchObject({ kind: 'content_filter', status: 400, providerCode: 'content_filter', param: 'prompt' });
  });

  it('401 access denied is auth_error', () => {
    expect(classify('azure-401-access-denied.json')).toMatchObject({ kind: 'auth_error', providerCode: '401' });
  });
});

describe('classifying OpenAI-compatible servers', () => {
  it("Ollama's 404 model not found is bad_request", () => {
    const { status, headers, body } = recordedError('ollama-404-model-not-found.json');
    const err = openaiCompatibleAdapter.classifyError(status, headers, body);
    expect({ kind: err.kind, message: err.message, providerCode: err.providerCode }).toEqual({
      kind: 'bad_request',
      message: 'model "llama3.2" not found, try pulling it first',
      providerCode: 'api_error',
    });
  });

  it("Ollama's native {\"error\": \"text\"} keeps the text as the message", () => {
    const err = openaiCompatibleAdapter.classifyError(500, {}, '{"error":"llama runner process has terminated: signal: killed"}');
    expect({ kind: err.kind, message: err.message, providerCode: err.providerCode }).toEqual({
      kind: 'server_error',
      message: 'llama runner process has terminated: signal: killed',
      providerCode: undefined,
    });
  });

  it("vLLM's top-level {\"object\": \"error\"} with numeric code is read", () => {
    const { status, headers, body } = recordedError('vllm-400-legacy.json');
    const err = openaiCompatibleAdapter.classifyError(status, headers, body);
    expect({ kind: err.kind, providerCode: err.providerCode }).toEqual({ kind: 'context_length_exceeded', providerCode: '400' });
  });

  it('a 5xx mentioning the context length stays a server error', () => {
    const err = classifyOpenAIError(500, {}, JSON.stringify({ error: { message: 'crashed computing maximum context length', type: 'server_error', param: null, code: null } }));
    expect(err.kind).toBe('server_error');
  });
});

describe('retryDelayFromMessage', () => {
  it("reads OpenAI's Go durations", () => {
    expect(retryDelayFromMessage('Please try again in 644ms. Visit https://platform.openai.com/account/rate-limits to learn more.')).toBe(644);
    expect(retryDelayFromMessage('Please try again in 9.816s. Visit')).toBe(9816);
    expect(retryDelayFromMessage('Please try again in 1m12s.')).toBe(72_000);
  });

  it("reads Azure's seconds", () => {
    expect(retryDelayFromMessage('Please retry after 86400 seconds. Please go here')).toBe(86_400_000);
    expect(retryDelayFromMessage('Rate limit is exceeded. Try again in 40 seconds.')).toBe(40_000);
    expect(retryDelayFromMessage('Please retry after 1 second.')).toBe(1000);
  });

  it('returns undefined when the message names no delay', () => {
    expect(retryDelayFromMessage('You exceeded your current quota, please check your plan and billing details.')).toBeUndefined();
    expect(retryDelayFromMessage('Please try again in a moment')).toBeUndefined();
  });
});
