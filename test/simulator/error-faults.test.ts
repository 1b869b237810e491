import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { ErrorKind } from '../../src/core/error-kinds.ts';
import { startSimulator, type SimulatorHandle } from '../../src/simulator/index.ts';
import { ANTHROPIC_HEADERS, anthropicBody, GEMINI_PATH, GEMINI_STREAM_PATH, geminiBody, openaiBody, parseSse, post, json } from './helpers.ts';

let sim: SimulatorHandle;
beforeAll(async () => {
  sim = await startSimulator();
});
afterAll(() => sim.close());
beforeEach(() => sim.reset());

function inject(model: string, kind: ErrorKind, retry_after_s?: number): void {
  sim.setModel(model, { faults: [{ type: 'error', kind, ...(retry_after_s === undefined ? {} : { retry_after_s }) }] });
}

describe('error faults, OpenAI', () => {
  const table: Array<[ErrorKind, number, { type: string | null; code: string | null; param?: string | null }]> = [
    ['timeout', 504, { type: 'server_error', code: 'timeout' }],
    ['rate_limit', 429, { type: 'requests', code: 'rate_limit_exceeded' }],
    ['quota_exceeded', 429, { type: 'insufficient_quota', code: 'insufficient_quota' }],
    ['model_overloaded', 503, { type: 'server_error', code: null }],
    ['server_error', 500, { type: 'server_error', code: null }],
    ['context_length_exceeded', 400, { type: 'invalid_request_error', code: 'context_length_exceeded', param: 'messages' }],
    ['content_filter', 400, { type: 'invalid_request_error', code: 'content_filter', param: 'prompt' }],
    ['auth_error', 401, { type: 'invalid_request_error', code: 'invalid_api_key' }],
    ['bad_request', 400, { type: 'invalid_request_error', code: 'invalid_value', param: 'temperature' }],
  ];
  it.each(table)('%s is a %i with the matching type and code', async (kind, status, fields) => {
    inject('gpt-4o', kind);
    const res = await post(sim.url, '/v1/chat/completions', openaiBody());
    expect(res.status).toBe(status);
    expect(res.headers.get('x-request-id')).toMatch(/^req_/);
    expect(res.headers.get('retry-after')).toBeNull();
    const body = await json(res);
    expect(Object.keys(body.error).sort()).toEqual(['code', 'message', 'param', 'type']);
    expect(body.error).toMatchObject({ param: null, ...fields, message: expect.any(String) });
    expect(sim.calls()).toEqual([{ at: expect.any(Number), provider: 'openai', model: 'gpt-4o', stream: false, fault: 'error', status }]);
  });

  it('rate_limit with retry_after_s sends Retry-After and exhausted x-ratelimit headers', async () => {
    inject('gpt-4o', 'rate_limit', 7);
    const res = await post(sim.url, '/v1/chat/completions', openaiBody());
    expect(res.headers.get('retry-after')).toBe('7');
    expect(res.headers.get('retry-after-ms')).toBeNull();
    expect(res.headers.get('x-ratelimit-remaining-requests')).toBe('0');
    expect(res.headers.get('x-ratelimit-reset-requests')).toBe('7s');
  });

  it('errors are sent as plain JSON even when the request streams', async () => {
    inject('gpt-4o', 'server_error');
    const res = await post(sim.url, '/v1/chat/completions', openaiBody({ stream: true }));
    expect(res.status).toBe(500);
    expect(res.headers.get('content-type')).toBe('application/json');
    expect((await json(res)).error.type).toBe('server_error');
  });
});

describe('error faults, Anthropic', () => {
  const table: Array<[ErrorKind, number, string, string]> = [
    ['timeout', 504, 'timeout_error', 'Request timed out'],
    ['rate_limit', 429, 'rate_limit_error', expect.stringContaining('would exceed the rate limit') as unknown as string],
    ['quota_exceeded', 400, 'invalid_request_error', 'Your credit balance is too low to access the Anthropic API. Please go to Plans & Billing to upgrade or purchase credits.'],
    ['model_overloaded', 529, 'overloaded_error', 'Overloaded'],
    ['server_error', 500, 'api_error', 'Internal server error'],
    ['context_length_exceeded', 400, 'invalid_request_error', 'prompt is too long: 215389 tokens > 200000 maximum'],
    ['content_filter', 400, 'invalid_request_error', 'Output blocked by content filtering policy'],
    ['auth_error', 401, 'authentication_error', 'invalid x-api-key'],
    ['bad_request', 400, 'invalid_request_error', 'temperature: Input should be less than or equal to 1'],
  ];
  it.each(table)('%s is a %i %s', async (kind, status, type, message) => {
    inject('claude-3-opus', kind);
    const res = await post(sim.url, '/v1/messages', anthropicBody(), ANTHROPIC_HEADERS);
    expect(res.status).toBe(status);
    const requestId = res.headers.get('request-id');
    expect(requestId).toMatch(/^req_/);
    expect(await json(res)).toEqual({ type: 'error', error: { type, message }, request_id: requestId });
  });

  it('rate_limit with retry_after_s sends retry-after and anthropic-ratelimit-* headers', async () => {
    inject('claude-3-opus', 'rate_limit', 12);
    const before = Date.now();
    const res = await post(sim.url, '/v1/messages', anthropicBody(), ANTHROPIC_HEADERS);
    expect(res.headers.get('retry-after')).toBe('12');
    expect(res.headers.get('anthropic-ratelimit-requests-remaining')).toBe('0');
    const reset = Date.parse(res.headers.get('anthropic-ratelimit-requests-reset')!);
    expect(reset).toBeGreaterThanOrEqual(Math.floor(before / 1000) * 1000 + 11_000);
    expect(reset).toBeLessThanOrEqual(Date.now() + 12_000);
  });

  it('529 overloaded without retry_after_s carries no retry-after', async () => {
    inject('claude-3-opus', 'model_overloaded');
    const res = await post(sim.url, '/v1/messages', anthropicBody(), ANTHROPIC_HEADERS);
    expect(res.status).toBe(529);
    expect(res.headers.get('retry-after')).toBeNull();
  });
});

describe('error faults, Gemini', () => {
  const table: Array<[ErrorKind, number, string]> = [
    ['timeout', 504, 'DEADLINE_EXCEEDED'],
    ['rate_limit', 429, 'RESOURCE_EXHAUSTED'],
    ['quota_exceeded', 429, 'RESOURCE_EXHAUSTED'],
    ['model_overloaded', 503, 'UNAVAILABLE'],
    ['server_error', 500, 'INTERNAL'],
    ['context_length_exceeded', 400, 'INVALID_ARGUMENT'],
    ['auth_error', 400, 'INVALID_ARGUMENT'],
    ['bad_request', 400, 'INVALID_ARGUMENT'],
  ];
  it.each(table)('%s is a %i %s', async (kind, status, name) => {
    inject('gemini-pro', kind);
    const res = await post(sim.url, GEMINI_PATH, geminiBody());
    expect(res.status).toBe(status);
    expect(res.headers.get('retry-after')).toBeNull();
    const body = await json(res);
    expect(body.error).toMatchObject({ code: status, status: name, message: expect.any(String) });
  });

  it('rate_limit: a per-minute QuotaFailure, and RetryInfo only when retry_after_s is given', async () => {
    inject('gemini-pro', 'rate_limit');
    const plain = (await json(await post(sim.url, GEMINI_PATH, geminiBody()))).error;
    expect(plain.details.map((d: { '@type': string }) => d['@type'])).toEqual(['type.googleapis.com/google.rpc.QuotaFailure', 'type.googleapis.com/google.rpc.Help']);
    expect(plain.details[0].violations[0].quotaId).toBe('GenerateRequestsPerMinutePerProjectPerModel-FreeTier');
    expect(plain.details[0].violations[0].quotaDimensions).toEqual({ location: 'global', model: 'gemini-pro' });

    inject('gemini-pro', 'rate_limit', 38);
    const res = await post(sim.url, GEMINI_PATH, geminiBody());
    expect(res.headers.get('retry-after')).toBeNull();
    const hinted = (await json(res)).error;
    expect(hinted.details.at(-1)).toEqual({ '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: '38s' });
  });

  it('quota_exceeded: a per-day QuotaFailure', async () => {
    inject('gemini-pro', 'quota_exceeded');
    const body = await json(await post(sim.url, GEMINI_PATH, geminiBody()));
    expect(body.error.details[0].violations[0].quotaId).toBe('GenerateRequestsPerDayPerProjectPerModel-FreeTier');
  });

  it('content_filter on streamGenerateContent without alt=sse: a 200 application/json array holding the blocked response', async () => {
    inject('gemini-pro', 'content_filter');
    const res = await post(sim.url, '/v1beta/models/gemini-pro:streamGenerateContent', geminiBody());
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/json; charset=UTF-8');
    const body = await json(res);
    expect(Array.isArray(body)).toBe(true);
    expect(body).toHaveLength(1);
    expect(body[0].candidates).toBeUndefined();
    expect(body[0].promptFeedback.blockReason).toBe('SAFETY');
    expect(body[0].modelVersion).toBe('gemini-pro');
    expect(sim.calls()).toEqual([{ at: expect.any(Number), provider: 'google', model: 'gemini-pro', stream: true, fault: 'error', status: 200 }]);
  });

  it('other errors on streamGenerateContent without alt=sse keep their plain JSON error body', async () => {
    inject('gemini-pro', 'rate_limit');
    const res = await post(sim.url, '/v1beta/models/gemini-pro:streamGenerateContent', geminiBody());
    expect(res.status).toBe(429);
    expect((await json(res)).error.status).toBe('RESOURCE_EXHAUSTED');
  });

  it('content_filter: a 200 with promptFeedback.blockReason and no candidates, in SSE when streaming', async () => {
    inject('gemini-pro', 'content_filter');
    const res = await post(sim.url, GEMINI_PATH, geminiBody());
    expect(res.status).toBe(200);
    const body = await json(res);
    expect(body.candidates).toBeUndefined();
    expect(body.promptFeedback.blockReason).toBe('SAFETY');

    const streamed = await post(sim.url, GEMINI_STREAM_PATH, geminiBody());
    expect(streamed.headers.get('content-type')).toBe('text/event-stream');
    const events = parseSse(await streamed.text());
    expect(events).toHaveLength(1);
    expect(JSON.parse(events[0].data).promptFeedback.blockReason).toBe('SAFETY');
  });
});

describe('what an error says', () => {
  const KEY_MESSAGE = (masked: string) => `Incorrect API key provided: ${masked}. You can find your API key at https://platform.openai.com/account/api-keys.`;

  it('OpenAI auth_error quotes the key the call presented, masked as OpenAI does (first 3 and last 4 shown)', async () => {
    inject('gpt-4o', 'auth_error');
    const keyed = await json(await post(sim.url, '/v1/chat/completions', openaiBody(), { authorization: 'Bearer sk-abcdefghijklARY3' }));
    expect(keyed.error).toEqual({ message: KEY_MESSAGE('sk-************ARY3'), type: 'invalid_request_error', param: null, code: 'invalid_api_key' });
    const keyless = await json(await post(sim.url, '/v1/chat/completions', openaiBody()));
    expect(keyless.error.message).toBe(KEY_MESSAGE('sk-sim***********'));
  });

  it('OpenAI in-band auth_error quotes it too', async () => {
    sim.setModel('gpt-4o', { faults: [{ type: 'in_band_error', kind: 'auth_error' }] });
    const res = await post(sim.url, '/v1/chat/completions', openaiBody({ stream: true }), { authorization: 'Bearer sk-abcdefghijklARY3' });
    const last = parseSse(await res.text()).at(-1)!;
    expect(JSON.parse(last.data).error.message).toBe(KEY_MESSAGE('sk-************ARY3'));
  });

  const QUOTE = 'upstream proxy: bad credential Bearer zzz-quoted-key-zzz';

  it('an error fault with `message` sends that text in the provider\'s own error shape', async () => {
    sim.setModel('gpt-4o', { faults: [{ type: 'error', kind: 'server_error', message: QUOTE }] });
    expect((await json(await post(sim.url, '/v1/chat/completions', openaiBody()))).error).toEqual({ message: QUOTE, type: 'server_error', param: null, code: null });

    sim.setModel('claude-3-opus', { faults: [{ type: 'error', kind: 'auth_error', message: QUOTE }] });
    const anthropic = await post(sim.url, '/v1/messages', anthropicBody(), ANTHROPIC_HEADERS);
    expect([anthropic.status, (await json(anthropic)).error]).toEqual([401, { type: 'authentication_error', message: QUOTE }]);

    sim.setModel('gemini-pro', { faults: [{ type: 'error', kind: 'auth_error', message: QUOTE }] });
    const google = (await json(await post(sim.url, GEMINI_PATH, geminiBody()))).error;
    expect([google.code, google.status, google.message, google.details[0].reason]).toEqual([400, 'INVALID_ARGUMENT', QUOTE, 'API_KEY_INVALID']);
  });

  it('an in_band_error fault with `message` sends that text in the provider\'s in-band error event', async () => {
    sim.setModel('gemini-pro', { faults: [{ type: 'in_band_error', kind: 'server_error', message: QUOTE }] });
    const events = parseSse(await (await post(sim.url, GEMINI_STREAM_PATH, geminiBody())).text());
    expect(JSON.parse(events.at(-1)!.data).error).toEqual({ code: 500, message: QUOTE, status: 'INTERNAL' });

    sim.setModel('claude-3-opus', { faults: [{ type: 'in_band_error', kind: 'model_overloaded', message: QUOTE }] });
    const anthropic = parseSse(await (await post(sim.url, '/v1/messages', anthropicBody({ stream: true }), ANTHROPIC_HEADERS)).text());
    expect(JSON.parse(anthropic.at(-1)!.data)).toEqual({ type: 'error', error: { type: 'overloaded_error', message: QUOTE } });
  });

  it('`message` must be a non-empty string', () => {
    expect(() => sim.setModel('gpt-4o', { faults: [{ type: 'error', kind: 'server_error', message: '' }] })).toThrow(/faults\[0\]\.message/);
  });
});
