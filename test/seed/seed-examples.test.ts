import OpenAI from 'openai';
import { afterEach, describe, expect, it } from 'vitest';
import type { ConfigFile } from '../../src/config/schema.ts';
import type { ErrorKind } from '../../src/core/error-kinds.ts';
import type { RunningGateway } from '../../src/gateway.ts';
import { sdkClient, startTestGateway, until } from '../helpers/gateway.ts';
import { degraded_config } from './degraded-config.ts';
import { gaps, seedHarness, seedHeaders, type SeedHarness } from './harness.ts';

/**
 * The seed's examples (uptime-optimization.txt: "Automatic Failover", "Circuit Breaker
 * Pattern", "Retry Strategies"; the headers of "Request Hedging" and "Degraded Mode
 * Operations", which are validated before those features exist), with their headers copied verbatim, sent by the official
 * openai SDK to the gateway on a SimulatedClock, against the in-process simulator with
 * faults. Every count is exact (upstream calls per model from the simulator's call log) and
 * every wait is measured on the gateway's clock, which the tests advance explicitly.
 */

type Completion = OpenAI.Chat.Completions.ChatCompletion;
type CreateParams = Partial<OpenAI.Chat.Completions.ChatCompletionCreateParamsNonStreaming>;

let h: SeedHarness | undefined;
let realGw: RunningGateway | undefined;
afterEach(async () => {
  await h?.close();
  await realGw?.close();
  h = undefined;
  realGw = undefined;
});

async function harness(resilience: ConfigFile['resilience'] = {}): Promise<SeedHarness> {
  h = await seedHarness(resilience);
  return h;
}

/** The example's call: model gpt-4-turbo-preview, one user message, the example's extra headers. */
function create(client: OpenAI, content: string, headers: Record<string, string>, extra: CreateParams = {}) {
  return client.chat.completions
    .create({ model: 'gpt-4-turbo-preview', messages: [{ role: 'user', content }], ...extra }, { headers })
    .withResponse();
}

/** An HTTP error response as the SDK surfaces it. */
type HttpError = InstanceType<typeof OpenAI.APIError> & { status: number; headers: Headers };

/** The HTTP error a call must end with (a resolved call, or one with no response, fails the test). */
async function rejected(p: Promise<unknown>): Promise<HttpError> {
  const r = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(r instanceof OpenAI.APIError) || r.headers === undefined || r.status === undefined) {
    throw new Error(`expected an HTTP error response, got ${String(r)}`);
  }
  return r as HttpError;
}

/** Client traffic only: the gateway's own recovery probes of an open breaker are marked and left out. */
const callsOf = (x: SeedHarness, model: string) => x.sim.calls({ model }).filter((c) => !c.probe).length;
const statusesOf = (x: SeedHarness, model: string) => x.sim.calls({ model }).filter((c) => !c.probe).map((c) => c.status);
const fail = (kind: ErrorKind, extra: { retry_after_s?: number; first_n?: number } = {}) => ({ faults: [{ type: 'error' as const, kind, ...extra }] });

// ---- Automatic Failover ------------------------------------------------------------------

// Simple failover configuration (verbatim).
const SIMPLE_FAILOVER = {
  'X-Failover-Enabled': 'true',
  'X-Failover-Providers': 'openai,anthropic,google',
  'X-Max-Retries': '3',
  'X-Retry-Delay-Ms': '100',
};

// Advanced failover with conditions (verbatim; Python's True is JSON true).
const failover_config = {
  primary: {
    provider: 'openai',
    model: 'gpt-4-turbo-preview',
  },
  fallbacks: [
    {
      trigger: ['timeout', 'rate_limit'],
      provider: 'anthropic',
      model: 'claude-3-opus',
      max_latency_increase: 500, // Accept 500ms more latency
    },
    {
      trigger: ['server_error', 'model_overloaded'],
      provider: 'google',
      model: 'gemini-pro',
      reduce_quality: true, // Accept lower quality for availability
    },
    {
      trigger: 'any_error',
      provider: 'openai',
      model: 'gpt-3.5-turbo',
      reduce_max_tokens: 0.5, // Reduce by 50%
    },
  ],
  health_check_interval: 30, // seconds
  failure_threshold: 3,
  success_threshold: 2,
};
const ADVANCED_FAILOVER = { 'X-Failover-Config': JSON.stringify(failover_config) };

describe('Automatic Failover: simple configuration (X-Failover-Enabled, X-Failover-Providers, X-Max-Retries, X-Retry-Delay-Ms)', () => {
  it('a healthy openai answers alone: one attempt, no failover, closed circuit, no cache', async () => {
    const x = await harness();
    const { data, response } = await create(x.client, 'Critical request', SIMPLE_FAILOVER);
    expect(data.choices[0].message.content).toMatch(/^Simulated reply from gpt-4-turbo-preview/);
    expect(seedHeaders(response.headers)).toEqual({
      'x-provider': 'openai',
      'x-model': 'gpt-4-turbo-preview',
      'x-attempts': '1',
      'x-failover-used': 'false',
      'x-circuit-status': 'closed',
      'x-retry-after': null,
      'x-cache': null,
    });
    expect([callsOf(x, 'gpt-4-turbo-preview'), callsOf(x, 'claude-3-opus'), callsOf(x, 'gemini-pro')]).toEqual([1, 0, 0]);
  });

  it.each(['server_error', 'rate_limit', 'connection_error'] as const)(
    'openai failing with %s: retried on openai X-Max-Retries (3) times with backoff from X-Retry-Delay-Ms (100), then anthropic answers',
    async (kind) => {
      const x = await harness();
      x.sim.setModel('gpt-4-turbo-preview', fail(kind));
      const pending = create(x.client, 'Critical request', SIMPLE_FAILOVER);
      for (let n = 2; n <= 4; n++) {
        await x.backoff();
        x.stepUntilAttempt(n, 100 * 2 ** (n - 2));
      }
      const { data, response } = await pending;
      expect(data.choices[0].message.content).toMatch(/^Simulated reply from claude-3-opus/);
      expect(seedHeaders(response.headers)).toEqual({
        'x-provider': 'anthropic',
        'x-model': 'claude-3-opus',
        'x-attempts': '5',
        'x-failover-used': 'true',
        'x-circuit-status': 'closed',
        'x-retry-after': null,
        'x-cache': null,
      });
      expect([callsOf(x, 'gpt-4-turbo-preview'), callsOf(x, 'claude-3-opus'), callsOf(x, 'gemini-pro')]).toEqual([4, 1, 0]);
      const g = gaps(x.starts);
      // Retry n (0-based) waits a full-jitter draw from [0, 100 * 2^n]; the failover waits nothing.
      g.slice(0, 3).forEach((gap, n) => {
        expect(gap).toBeGreaterThanOrEqual(0);
        expect(gap).toBeLessThanOrEqual(100 * 2 ** n);
      });
      expect(g[3]).toBe(0);
    },
  );

  it.each(['timeout', 'model_overloaded', 'quota_exceeded', 'auth_error'] as const)(
    'openai failing with %s: anthropic answers at once (what the same target cannot fix moves on, no retry, no wait)',
    async (kind) => {
      const x = await harness();
      x.sim.setModel('gpt-4-turbo-preview', fail(kind));
      const { data, response } = await create(x.client, 'Critical request', SIMPLE_FAILOVER);
      expect(data.choices[0].message.content).toMatch(/^Simulated reply from claude-3-opus/);
      expect(seedHeaders(response.headers)).toEqual({
        'x-provider': 'anthropic',
        'x-model': 'claude-3-opus',
        'x-attempts': '2',
        'x-failover-used': 'true',
        'x-circuit-status': 'closed',
        'x-retry-after': null,
        'x-cache': null,
      });
      expect([callsOf(x, 'gpt-4-turbo-preview'), callsOf(x, 'claude-3-opus'), callsOf(x, 'gemini-pro')]).toEqual([1, 1, 0]);
      expect(gaps(x.starts)).toEqual([0]);
    },
  );

  it('openai and anthropic failing with what a retry cannot fix: google answers third', async () => {
    const x = await harness();
    x.sim.setModel('gpt-4-turbo-preview', fail('quota_exceeded'));
    x.sim.setModel('claude-3-opus', fail('model_overloaded'));
    const { response } = await create(x.client, 'Critical request', SIMPLE_FAILOVER);
    expect(seedHeaders(response.headers)).toMatchObject({ 'x-provider': 'google', 'x-model': 'gemini-pro', 'x-attempts': '3', 'x-failover-used': 'true' });
    expect(x.starts.map((s) => s.model)).toEqual(['gpt-4-turbo-preview', 'claude-3-opus', 'gemini-pro']);
  });

  it('all three failing: each is retried X-Max-Retries (3) times with backoff from X-Retry-Delay-Ms (100) before the chain moves on, then the error', async () => {
    // The breaker is raised out of the way: 4 failures per target stay under its threshold of 5.
    const x = await harness();
    for (const m of ['gpt-4-turbo-preview', 'claude-3-opus', 'gemini-pro']) x.sim.setModel(m, fail('server_error'));
    const pending = rejected(create(x.client, 'Critical request', SIMPLE_FAILOVER));
    for (const first of [1, 5, 9]) {
      for (let n = first + 1; n <= first + 3; n++) {
        await x.backoff();
        x.stepUntilAttempt(n, 100 * 2 ** (n - first - 1));
      }
    }
    const err = await pending;
    expect(err.status).toBe(502);
    expect(err.error).toMatchObject({ type: 'api_error', code: 'upstream_server_error', param: null });
    expect(seedHeaders(err.headers)).toEqual({
      'x-provider': 'google',
      'x-model': 'gemini-pro',
      'x-attempts': '12',
      'x-failover-used': 'true',
      'x-circuit-status': 'closed',
      'x-retry-after': null,
      'x-cache': null,
    });
    expect([statusesOf(x, 'gpt-4-turbo-preview'), statusesOf(x, 'claude-3-opus'), statusesOf(x, 'gemini-pro')]).toEqual([
      [500, 500, 500, 500],
      [500, 500, 500, 500],
      [500, 500, 500, 500],
    ]);
    expect(x.starts.map((st) => st.provider)).toEqual([...Array(4).fill('openai'), ...Array(4).fill('anthropic'), ...Array(4).fill('google')]);
    const g = gaps(x.starts);
    // The moves to the next provider wait nothing; retry n (0-based) waits a full-jitter draw from [0, 100 * 2^n].
    expect([g[3], g[7]]).toEqual([0, 0]);
    for (const from of [0, 4, 8]) {
      g.slice(from, from + 3).forEach((gap, n) => {
        expect(gap).toBeGreaterThanOrEqual(0);
        expect(gap).toBeLessThanOrEqual(100 * 2 ** n);
      });
    }
    // ...and the retries do back off: not all draws are 0 (a 0-delay retry loop would be).
    expect([...g.slice(0, 3), ...g.slice(4, 7), ...g.slice(8, 11)].some((d) => d > 0)).toBe(true);
  });

  it('a bad_request is the client\'s own fault: no failover, no retry', async () => {
    const x = await harness();
    x.sim.setModel('gpt-4-turbo-preview', fail('bad_request'));
    const err = await rejected(create(x.client, 'Critical request', SIMPLE_FAILOVER));
    expect(err.status).toBe(400);
    expect(err.headers.get('x-attempts')).toBe('1');
    expect([callsOf(x, 'gpt-4-turbo-preview'), callsOf(x, 'claude-3-opus'), callsOf(x, 'gemini-pro')]).toEqual([1, 0, 0]);
  });
});

describe('Automatic Failover: advanced X-Failover-Config with conditions', () => {
  const ask = (x: SeedHarness, extra: CreateParams = {}) => create(x.client, 'Process this request', ADVANCED_FAILOVER, extra);

  it('healthy primary: openai/gpt-4-turbo-preview answers, max_tokens untouched', async () => {
    const x = await harness();
    const { data, response } = await ask(x, { max_tokens: 10 });
    expect(seedHeaders(response.headers)).toMatchObject({ 'x-provider': 'openai', 'x-model': 'gpt-4-turbo-preview', 'x-attempts': '1', 'x-failover-used': 'false' });
    expect(data.usage!.completion_tokens).toBe(10);
  });

  it.each([
    ['timeout', 'anthropic', 'claude-3-opus'],
    ['model_overloaded', 'google', 'gemini-pro'],
    ['quota_exceeded', 'openai', 'gpt-3.5-turbo'],
    ['auth_error', 'openai', 'gpt-3.5-turbo'],
    ['context_length_exceeded', 'openai', 'gpt-3.5-turbo'],
  ] as const)('a %s on the primary (a retry cannot fix it) goes at once to the first fallback whose trigger matches: %s/%s', async (kind, provider, model) => {
    const x = await harness();
    x.sim.setModel('gpt-4-turbo-preview', fail(kind));
    const { data, response } = await ask(x);
    expect(data.choices[0].message.content).toMatch(new RegExp(`^Simulated reply from ${model}`));
    expect(seedHeaders(response.headers)).toMatchObject({ 'x-provider': provider, 'x-model': model, 'x-attempts': '2', 'x-failover-used': 'true' });
    expect(x.starts.map((s) => s.model)).toEqual(['gpt-4-turbo-preview', model]);
    expect(gaps(x.starts)).toEqual([0]);
    expect(x.sim.calls().map((c) => c.model)).toEqual(['gpt-4-turbo-preview', model]);
  });

  it.each([
    ['rate_limit', 'anthropic', 'claude-3-opus'],
    ['server_error', 'google', 'gemini-pro'],
  ] as const)('a %s on the primary is retried there first (the config default: 2 retries), then goes to the first fallback whose trigger matches: %s/%s', async (kind, provider, model) => {
    const x = await harness();
    x.sim.setModel('gpt-4-turbo-preview', fail(kind));
    const pending = ask(x);
    for (let n = 2; n <= 3; n++) {
      await x.backoff();
      x.stepUntilAttempt(n, 100 * 2 ** (n - 2));
    }
    const { data, response } = await pending;
    expect(data.choices[0].message.content).toMatch(new RegExp(`^Simulated reply from ${model}`));
    expect(seedHeaders(response.headers)).toMatchObject({ 'x-provider': provider, 'x-model': model, 'x-attempts': '4', 'x-failover-used': 'true' });
    expect(x.starts.map((s) => s.model)).toEqual(['gpt-4-turbo-preview', 'gpt-4-turbo-preview', 'gpt-4-turbo-preview', model]);
    expect(gaps(x.starts).at(-1)).toBe(0);
    expect(x.sim.calls().map((c) => c.model)).toEqual(['gpt-4-turbo-preview', 'gpt-4-turbo-preview', 'gpt-4-turbo-preview', model]);
  });

  it('a bad_request on the primary: no failover, even to the any_error fallback', async () => {
    const x = await harness();
    x.sim.setModel('gpt-4-turbo-preview', fail('bad_request'));
    const err = await rejected(ask(x));
    expect(err.status).toBe(400);
    expect(err.param).toBe('temperature');
    expect(seedHeaders(err.headers)).toMatchObject({ 'x-provider': 'openai', 'x-model': 'gpt-4-turbo-preview', 'x-attempts': '1', 'x-failover-used': 'false' });
    expect(x.sim.calls().map((c) => c.model)).toEqual(['gpt-4-turbo-preview']);
  });

  it('the chain continues from the fallback that failed: timeout -> anthropic, whose server_error is retried there, then -> google', async () => {
    const x = await harness();
    x.sim.setModel('gpt-4-turbo-preview', fail('timeout'));
    x.sim.setModel('claude-3-opus', fail('server_error'));
    const pending = ask(x);
    for (let n = 3; n <= 4; n++) {
      await x.backoff();
      x.stepUntilAttempt(n, 100 * 2 ** (n - 3));
    }
    const { response } = await pending;
    expect(seedHeaders(response.headers)).toMatchObject({ 'x-provider': 'google', 'x-model': 'gemini-pro', 'x-attempts': '5' });
    expect(x.sim.calls().map((c) => c.model)).toEqual(['gpt-4-turbo-preview', 'claude-3-opus', 'claude-3-opus', 'claude-3-opus', 'gemini-pro']);
  });

  it('reduce_max_tokens 0.5: the gpt-3.5-turbo fallback is asked for half of max_tokens (10 -> 5)', async () => {
    const x = await harness();
    // The same request straight to gpt-3.5-turbo answers all 10 tokens.
    const direct = await x.client.chat.completions.create({ model: 'gpt-3.5-turbo', messages: [{ role: 'user', content: 'Process this request' }], max_tokens: 10 });
    expect([direct.usage!.completion_tokens, direct.choices[0].finish_reason]).toEqual([10, 'length']);
    x.sim.setModel('gpt-4-turbo-preview', fail('quota_exceeded'));
    const { data, response } = await ask(x, { max_tokens: 10 });
    expect(response.headers.get('x-model')).toBe('gpt-3.5-turbo');
    expect([data.usage!.completion_tokens, data.choices[0].finish_reason]).toEqual([5, 'length']);
    expect(data.choices[0].message.content!.split(' ')).toHaveLength(direct.choices[0].message.content!.split(' ').length - 5);
  });

  it.each([
    [500, 'anthropic', 'claude-3-opus'],
    [501, 'openai', 'gpt-3.5-turbo'],
  ] as const)(
    'max_latency_increase 500: anthropic observed %i ms slower than the primary -> a timeout goes to %s/%s',
    async (slower, provider, model) => {
      const x = await harness();
      // Observed latencies on the gateway's clock: the primary answers in 0 ms; anthropic's
      // reply is held 150 ms of real time by the simulator while the test moves the gateway's
      // clock by `slower` ms, so that is the latency the gateway records for it.
      await create(x.client, 'warm up', {});
      x.sim.setModel('claude-3-opus', { latency: { type: 'fixed', ms: 150 } });
      const warm = x.client.chat.completions.create({ model: 'claude-3-opus', messages: [{ role: 'user', content: 'warm up' }] });
      await until(() => callsOf(x, 'claude-3-opus') === 1);
      x.clock.increment(slower);
      await warm;
      x.sim.setModel('claude-3-opus', {});
      x.sim.setModel('gpt-4-turbo-preview', fail('timeout'));

      const { response } = await ask(x);
      expect(seedHeaders(response.headers)).toMatchObject({ 'x-provider': provider, 'x-model': model, 'x-attempts': '2', 'x-failover-used': 'true' });
      expect(callsOf(x, 'claude-3-opus')).toBe(provider === 'anthropic' ? 2 : 1);
    },
  );
});

// ---- Circuit Breaker Pattern -------------------------------------------------------------

// Circuit breaker configuration (verbatim).
const circuit_config = {
  error_threshold: 5, // Failures to trigger open state
  error_threshold_window: 60, // Window in seconds
  timeout: 30, // Seconds before half-open
  half_open_requests: 3, // Test requests in half-open
  success_threshold: 2, // Successes to close circuit
  excluded_errors: ['rate_limit', 'quota_exceeded'],
  monitor_latency: true,
  latency_threshold_ms: 5000, // Open if latency too high
};
const breakerHeaders = (fallback: 'cache' | 'degraded' | 'error', config: object = circuit_config) => ({
  'X-Circuit-Breaker': JSON.stringify(config),
  'X-Circuit-Breaker-Fallback': fallback, // or "degraded", "error"
});
const CACHE = breakerHeaders('cache');

// One target, one upstream call per request: each failing request is exactly one breaker
// failure, and an open circuit leaves only the X-Circuit-Breaker-Fallback (the seed's example
// sends no failover or retry header; the default chain and retries are the gateway's config).
const NO_RETRY: ConfigFile['resilience'] = { failover: { enabled: false }, retry: { max_retries: 0 } };

/** Sends `n` requests that fail upstream with `kind`; returns each response's circuit headers. */
async function failures(x: SeedHarness, n: number, kind: ErrorKind, headers: Record<string, string> = CACHE, content = 'Request') {
  x.sim.setModel('gpt-4-turbo-preview', fail(kind));
  const seen: Array<[number, string | null, string | null]> = [];
  for (let i = 0; i < n; i++) {
    const err = await rejected(create(x.client, content, headers));
    seen.push([err.status, err.headers.get('x-circuit-status'), err.headers.get('x-retry-after')]);
  }
  return seen;
}

describe('Circuit Breaker Pattern: the seed example (X-Circuit-Breaker, X-Circuit-Breaker-Fallback: cache)', () => {
  it('five failures within error_threshold_window open it: the fifth response already says open, X-Retry-After: 30', async () => {
    const x = await harness(NO_RETRY);
    expect(await failures(x, 5, 'server_error')).toEqual([
      ...Array(4).fill([502, 'closed', null]),
      [502, 'open', '30'],
    ]);
    expect(callsOf(x, 'gpt-4-turbo-preview')).toBe(5);
  });

  it('while open, the last good answer to the same request is served with X-Cache: STALE and the provider is not called', async () => {
    const x = await harness(NO_RETRY);
    const good = await create(x.client, 'Request', CACHE);
    expect(good.response.headers.get('x-cache')).toBeNull();
    await failures(x, 5, 'server_error');

    const stale = await create(x.client, 'Request', CACHE);
    expect(stale.data).toEqual(good.data);
    expect(seedHeaders(stale.response.headers)).toMatchObject({ 'x-circuit-status': 'open', 'x-retry-after': '30', 'x-cache': 'STALE', 'x-attempts': '0' });
    x.clock.increment(10_000);
    const later = await create(x.client, 'Request', CACHE);
    expect(seedHeaders(later.response.headers)).toMatchObject({ 'x-circuit-status': 'open', 'x-retry-after': '20', 'x-cache': 'STALE' });
    expect(callsOf(x, 'gpt-4-turbo-preview')).toBe(6);
  });

  it('while open, a request with no cached answer gets a 503 in OpenAI\'s shape', async () => {
    const x = await harness(NO_RETRY);
    await failures(x, 5, 'server_error');
    const err = await rejected(create(x.client, 'A request never answered before', CACHE));
    expect(err.status).toBe(503);
    expect(err.error).toMatchObject({ type: 'api_error', code: 'circuit_open', param: null });
    expect(seedHeaders(err.headers)).toMatchObject({ 'x-circuit-status': 'open', 'x-retry-after': '30', 'x-cache': null });
    expect(err.headers.get('retry-after')).toBe('30');
    expect(callsOf(x, 'gpt-4-turbo-preview')).toBe(5);
  });

  it('five failures spanning a full window (60 s) do not open it; five within 59.999 s do', async () => {
    const x = await harness(NO_RETRY);
    await failures(x, 4, 'server_error');
    x.clock.increment(60_000);
    // Failures at 0, 0, 0, 0 and 60 000: five, but a full window apart.
    expect(await failures(x, 1, 'server_error')).toEqual([[502, 'closed', null]]);
    x.clock.increment(59_999);
    // The failure at 60 000 and four at 119 999 fit in one window: the fourth opens it.
    expect(await failures(x, 4, 'server_error')).toEqual([
      [502, 'closed', null],
      [502, 'closed', null],
      [502, 'closed', null],
      [502, 'open', '30'],
    ]);
  });

  it('excluded_errors (rate_limit, quota_exceeded) never count; other kinds do', async () => {
    const x = await harness(NO_RETRY);
    expect(await failures(x, 6, 'rate_limit')).toEqual(Array(6).fill([429, 'closed', null]));
    expect(await failures(x, 6, 'quota_exceeded')).toEqual(Array(6).fill([429, 'closed', null]));
    expect(await failures(x, 5, 'timeout')).toEqual([...Array(4).fill([504, 'closed', null]), [504, 'open', '30']]);
  });

  it('after timeout (30 s) it is half-open; success_threshold (2) good trials close it', async () => {
    const x = await harness(NO_RETRY);
    await create(x.client, 'Request', CACHE);
    await failures(x, 5, 'server_error');
    // Still down while open: the background probes fail, so `timeout` is what half-opens it.
    x.clock.increment(29_999);
    x.sim.setModel('gpt-4-turbo-preview', {});
    const still = await create(x.client, 'Request', CACHE);
    expect(seedHeaders(still.response.headers)).toMatchObject({ 'x-circuit-status': 'open', 'x-retry-after': '1', 'x-cache': 'STALE' });
    x.clock.increment(1);
    const first = await create(x.client, 'Request', CACHE);
    expect(seedHeaders(first.response.headers)).toMatchObject({ 'x-provider': 'openai', 'x-circuit-status': 'half_open', 'x-retry-after': null, 'x-cache': null });
    const second = await create(x.client, 'Request', CACHE);
    expect(seedHeaders(second.response.headers)).toMatchObject({ 'x-provider': 'openai', 'x-circuit-status': 'closed', 'x-cache': null });
    expect(statusesOf(x, 'gpt-4-turbo-preview')).toEqual([200, 500, 500, 500, 500, 500, 200, 200]);
  });

  it('an open breaker learns of recovery from its background probe: half-open within one probe interval (5 s), not after 30 s', async () => {
    const x = await harness(NO_RETRY);
    await create(x.client, 'Request', CACHE);
    await failures(x, 5, 'server_error');
    x.sim.setModel('gpt-4-turbo-preview', {});
    const breaker = x.gw.runtime.targets.get('openai', 'gpt-4-turbo-preview').breakerFor(undefined);
    expect(breaker.getSnapshot().value).toBe('open');
    x.clock.increment(4_999);
    expect(x.sim.calls({ model: 'gpt-4-turbo-preview' }).filter((c) => c.probe)).toHaveLength(0);
    x.clock.increment(1);
    await until(() => breaker.getSnapshot().value === 'half_open');
    const probes = x.sim.calls({ model: 'gpt-4-turbo-preview' }).filter((c) => c.probe);
    expect(probes.map((c) => c.status)).toEqual([200]);
    // Client traffic is back at once, as half-open trials.
    const first = await create(x.client, 'Request', CACHE);
    expect(seedHeaders(first.response.headers)).toMatchObject({ 'x-provider': 'openai', 'x-circuit-status': 'half_open', 'x-cache': null });
  });

  it('a failed half-open trial opens it again for another 30 s', async () => {
    const x = await harness(NO_RETRY);
    await failures(x, 5, 'server_error');
    x.clock.increment(30_000);
    expect(await failures(x, 1, 'server_error')).toEqual([[502, 'open', '30']]);
    expect(callsOf(x, 'gpt-4-turbo-preview')).toBe(6);
  });

  it('half-open admits half_open_requests (3) trials at once; a fourth concurrent request takes the fallback', async () => {
    const x = await harness(NO_RETRY);
    await create(x.client, 'Request', CACHE);
    await failures(x, 5, 'server_error');
    x.clock.increment(30_000);
    // Slow (real time) answers keep the trials in flight while the fourth request arrives.
    x.sim.setModel('gpt-4-turbo-preview', { latency: { type: 'fixed', ms: 300 } });
    const trials = [1, 2, 3].map(() => create(x.client, 'Request', CACHE));
    await until(() => callsOf(x, 'gpt-4-turbo-preview') === 9);
    const fourth = await create(x.client, 'Request', CACHE);
    expect(seedHeaders(fourth.response.headers)).toMatchObject({ 'x-circuit-status': 'half_open', 'x-cache': 'STALE', 'x-attempts': '0' });
    const done = await Promise.all(trials);
    expect(done.map((d) => d.response.headers.get('x-provider'))).toEqual(['openai', 'openai', 'openai']);
    expect(callsOf(x, 'gpt-4-turbo-preview')).toBe(9);
  });

  it('monitor_latency: successes slower than latency_threshold_ms count as failures (latency on the gateway\'s clock)', async () => {
    const x = await harness(NO_RETRY);
    const cfg = { ...circuit_config, latency_threshold_ms: 50 };
    const headers = breakerHeaders('cache', cfg);
    // Each reply is held 100 ms of real time by the simulator; meanwhile the test moves the
    // gateway's clock by `ms`, the latency the gateway measures.
    x.sim.setModel('gpt-4-turbo-preview', { latency: { type: 'fixed', ms: 100 } });
    const timed = async (ms: number) => {
      const before = callsOf(x, 'gpt-4-turbo-preview');
      const p = create(x.client, 'Request', headers);
      await until(() => callsOf(x, 'gpt-4-turbo-preview') === before + 1);
      x.clock.increment(ms);
      const { response } = await p;
      return response.headers.get('x-circuit-status');
    };
    // At the threshold is not slow; 51 ms is.
    expect(await timed(50)).toBe('closed');
    expect(await timed(50)).toBe('closed');
    const slow = [];
    for (let i = 0; i < 5; i++) slow.push(await timed(51));
    expect(slow).toEqual(['closed', 'closed', 'closed', 'closed', 'open']);
    const stale = await create(x.client, 'Request', headers);
    expect(seedHeaders(stale.response.headers)).toMatchObject({ 'x-circuit-status': 'open', 'x-cache': 'STALE' });
    expect(callsOf(x, 'gpt-4-turbo-preview')).toBe(7);
  });

  it('with the default failover chain, an open circuit sends the request straight to anthropic (still X-Circuit-Status: open)', async () => {
    const x = await harness({ retry: { max_retries: 0 } });
    await create(x.client, 'Request', CACHE);
    x.sim.setModel('gpt-4-turbo-preview', fail('server_error'));
    const seen = [];
    for (let i = 0; i < 6; i++) {
      const { response } = await create(x.client, 'Request', CACHE);
      seen.push([response.headers.get('x-provider'), response.headers.get('x-attempts'), response.headers.get('x-circuit-status'), response.headers.get('x-cache')]);
    }
    expect(seen).toEqual([
      ...Array(4).fill(['anthropic', '2', 'closed', null]),
      ['anthropic', '2', 'open', null],
      ['anthropic', '1', 'open', null],
    ]);
    expect([callsOf(x, 'gpt-4-turbo-preview'), callsOf(x, 'claude-3-opus')]).toEqual([6, 6]);
  });

  it('monitor_latency on the real clock: a 30 ms upstream over a 10 ms threshold opens it after five calls; unmonitored it stays closed', async () => {
    realGw = await startTestGateway({ resilience: NO_RETRY });
    const sim = realGw.simulator!;
    const client = sdkClient(realGw);
    sim.setModel('gpt-4-turbo-preview', { latency: { type: 'fixed', ms: 30 } });
    const statuses = async (cfg: object) => {
      const out = [];
      for (let i = 0; i < 5; i++) {
        const { response } = await create(client, 'Request', breakerHeaders('error', cfg));
        out.push(response.headers.get('x-circuit-status'));
      }
      return out;
    };
    expect(await statuses({ ...circuit_config, monitor_latency: false, latency_threshold_ms: 10 })).toEqual(Array(5).fill('closed'));
    expect(await statuses({ ...circuit_config, latency_threshold_ms: 10 })).toEqual(['closed', 'closed', 'closed', 'closed', 'open']);
  });
});

describe('Circuit Breaker Pattern: X-Circuit-Breaker-Fallback "error" and "degraded"', () => {
  it('"error": an open circuit answers 503 in OpenAI\'s error shape with Retry-After, without calling the provider', async () => {
    const x = await harness(NO_RETRY);
    const ERROR = breakerHeaders('error');
    await failures(x, 5, 'server_error', ERROR);
    x.clock.increment(12_400);
    const err = await rejected(create(x.client, 'Request', ERROR));
    expect(err.status).toBe(503);
    expect(err.error).toEqual({
      message: 'The circuit breaker for openai/gpt-4-turbo-preview is open and no fallback could serve the request. Retry after 18 s.',
      type: 'api_error',
      param: null,
      code: 'circuit_open',
    });
    expect(err.headers.get('retry-after')).toBe('18');
    expect(seedHeaders(err.headers)).toMatchObject({ 'x-circuit-status': 'open', 'x-retry-after': '18', 'x-attempts': '0' });
    expect(callsOf(x, 'gpt-4-turbo-preview')).toBe(5);
  });

  it('"degraded": an open circuit is served by the configured degraded model (gpt-3.5-turbo)', async () => {
    const x = await harness({ ...NO_RETRY, degraded: { 'gpt-4-turbo-preview': 'gpt-3.5-turbo' } });
    const DEGRADED = breakerHeaders('degraded');
    await failures(x, 5, 'server_error', DEGRADED);
    const { data, response } = await create(x.client, 'Request', DEGRADED);
    expect(data.choices[0].message.content).toMatch(/^Simulated reply from gpt-3.5-turbo/);
    expect(seedHeaders(response.headers)).toEqual({
      'x-provider': 'openai',
      'x-model': 'gpt-3.5-turbo',
      'x-attempts': '1',
      'x-failover-used': 'false',
      'x-circuit-status': 'open',
      'x-retry-after': '30',
      'x-cache': null,
    });
    expect(response.headers.get('x-degraded-model')).toBe('gpt-3.5-turbo');
    expect([callsOf(x, 'gpt-4-turbo-preview'), callsOf(x, 'gpt-3.5-turbo')]).toEqual([5, 1]);
  });
});

// ---- Retry Strategies --------------------------------------------------------------------

// Configure retry strategy (verbatim).
const EXPONENTIAL = {
  'X-Retry-Strategy': 'exponential',
  'X-Retry-Config': JSON.stringify({
    initial_delay_ms: 100,
    max_delay_ms: 10000,
    multiplier: 2,
    max_retries: 5,
    jitter: true, // Add randomness to prevent thundering herd
    retry_on: ['timeout', 'server_error', 'rate_limit'],
  }),
};

// Custom retry logic (verbatim).
const retry_config = {
  strategy: 'custom',
  rules: [
    {
      error_type: 'rate_limit',
      wait_ms: 'parse_retry_after_header',
      max_wait_ms: 60000,
    },
    {
      error_type: 'timeout',
      attempts: [100, 200, 500, 1000, 2000], // ms delays
      switch_provider_after: 2,
    },
    {
      error_type: 'server_error',
      immediate_failover: true,
    },
  ],
};
const CUSTOM = { 'X-Retry-Config': JSON.stringify(retry_config) };

/** Drives a single-provider request through its retries: waits for each backoff, steps the clock to the next attempt. */
async function driveRetries(x: SeedHarness, upTo: number, capOf: (n: number) => number): Promise<void> {
  for (let n = x.starts.length + 1; n <= upTo; n++) {
    await x.backoff();
    x.stepUntilAttempt(n, capOf(n - 2));
  }
}

describe('Retry Strategies: exponential backoff (X-Retry-Strategy, X-Retry-Config), one provider (failover off in config)', () => {
  const cap = (n: number) => Math.min(10_000, 100 * 2 ** n);
  const ONE_PROVIDER: ConfigFile['resilience'] = { failover: { enabled: false } };

  it('a server_error is retried on the same provider; retry n waits a full-jitter draw from [0, min(10000, 100 * 2^n)]', async () => {
    const x = await harness(ONE_PROVIDER);
    x.sim.setModel('gpt-4-turbo-preview', fail('server_error', { first_n: 4 }));
    const pending = create(x.client, 'Important request', EXPONENTIAL);
    await driveRetries(x, 5, cap);
    const { response } = await pending;
    expect(seedHeaders(response.headers)).toMatchObject({ 'x-provider': 'openai', 'x-model': 'gpt-4-turbo-preview', 'x-attempts': '5', 'x-failover-used': 'false', 'x-circuit-status': 'closed' });
    expect(statusesOf(x, 'gpt-4-turbo-preview')).toEqual([500, 500, 500, 500, 200]);
    const g = gaps(x.starts);
    expect(g).toHaveLength(4);
    g.forEach((gap, n) => {
      expect(gap).toBeGreaterThanOrEqual(0);
      expect(gap).toBeLessThanOrEqual(cap(n));
    });
    // Jitter: four draws all landing on their caps has probability ~1e-10.
    expect(g).not.toEqual([100, 200, 400, 800]);
  });

  it('max_retries 5: a persistent failure is sent 6 times in all, then the error (breaker threshold raised out of the way)', async () => {
    const x = await harness({ ...ONE_PROVIDER, breaker: { error_threshold: 100 } });
    x.sim.setModel('gpt-4-turbo-preview', fail('timeout'));
    const pending = rejected(create(x.client, 'Important request', EXPONENTIAL));
    await driveRetries(x, 6, cap);
    const err = await pending;
    expect(err.status).toBe(504);
    expect(err.headers.get('x-attempts')).toBe('6');
    expect(callsOf(x, 'gpt-4-turbo-preview')).toBe(6);
    gaps(x.starts).forEach((gap, n) => expect(gap).toBeLessThanOrEqual(cap(n)));
  });

  it('with the default breaker (5 failures in 60 s) the fifth failure opens it: no sixth attempt, and no wait for one', async () => {
    const x = await harness(ONE_PROVIDER);
    x.sim.setModel('gpt-4-turbo-preview', fail('server_error'));
    const pending = rejected(create(x.client, 'Important request', EXPONENTIAL));
    await driveRetries(x, 5, cap);
    // The failure that opened the breaker ends the request at once: nothing is left to retry on.
    const err = await pending;
    expect(callsOf(x, 'gpt-4-turbo-preview')).toBe(5);
    expect(err.status).toBe(502);
    expect(err.headers.get('x-attempts')).toBe('5');
    expect(err.headers.get('x-circuit-status')).toBe('open');
    expect(err.headers.get('x-retry-after')).toBe('30');
  });

  it('rate_limit is in retry_on: retried; model_overloaded is not: the error at once', async () => {
    const x = await harness(ONE_PROVIDER);
    x.sim.setModel('gpt-4-turbo-preview', fail('rate_limit', { first_n: 1 }));
    const pending = create(x.client, 'Important request', EXPONENTIAL);
    await driveRetries(x, 2, cap);
    expect((await pending).response.headers.get('x-attempts')).toBe('2');
    expect(statusesOf(x, 'gpt-4-turbo-preview')).toEqual([429, 200]);

    x.sim.setModel('gpt-4-turbo-preview', fail('model_overloaded'));
    const err = await rejected(create(x.client, 'Important request', EXPONENTIAL));
    expect(err.status).toBe(503);
    expect(err.headers.get('x-attempts')).toBe('1');
    expect(callsOf(x, 'gpt-4-turbo-preview')).toBe(3);
  });
});

describe('Retry Strategies: custom retry logic (X-Retry-Config with rules), default failover chain openai, anthropic, google', () => {
  const CHAIN: ConfigFile['resilience'] = { failover: { providers: ['openai', 'anthropic', 'google'] } };

  it('rate_limit, wait_ms parse_retry_after_header: waits exactly the Retry-After (2 s), then the same provider again', async () => {
    const x = await harness(CHAIN);
    x.sim.setModel('gpt-4-turbo-preview', fail('rate_limit', { retry_after_s: 2, first_n: 1 }));
    const pending = create(x.client, 'Request', CUSTOM);
    await x.backoff();
    expect(x.stepUntilAttempt(2, 2_000)).toBe(2_000);
    const { response } = await pending;
    expect(seedHeaders(response.headers)).toMatchObject({ 'x-provider': 'openai', 'x-attempts': '2', 'x-failover-used': 'false' });
    expect(statusesOf(x, 'gpt-4-turbo-preview')).toEqual([429, 200]);
    expect(callsOf(x, 'claude-3-opus')).toBe(0);
  });

  it('rate_limit with a Retry-After over max_wait_ms (61 s): no wait, the next provider at once', async () => {
    const x = await harness(CHAIN);
    x.sim.setModel('gpt-4-turbo-preview', fail('rate_limit', { retry_after_s: 61 }));
    const { response } = await create(x.client, 'Request', CUSTOM);
    expect(seedHeaders(response.headers)).toMatchObject({ 'x-provider': 'anthropic', 'x-attempts': '2', 'x-failover-used': 'true' });
    expect(gaps(x.starts)).toEqual([0]);
  });

  it('timeout, attempts [100, 200, ...], switch_provider_after 2: two retries after 100 and 200 ms, then the next provider', async () => {
    const x = await harness(CHAIN);
    x.sim.setModel('gpt-4-turbo-preview', fail('timeout'));
    let settled = false;
    const pending = create(x.client, 'Request', CUSTOM).finally(() => {
      settled = true;
    });
    // Bounded drive: a gateway that fails over at once just finishes early (and fails the asserts).
    for (let n = 2; n <= 3; n++) {
      await Promise.race([x.backoff(), pending]);
      if (settled) break;
      x.stepUntilAttempt(n, 200);
    }
    const { response } = await pending;
    expect(x.starts.map((s) => s.model)).toEqual(['gpt-4-turbo-preview', 'gpt-4-turbo-preview', 'gpt-4-turbo-preview', 'claude-3-opus']);
    expect(gaps(x.starts)).toEqual([100, 200, 0]);
    expect(seedHeaders(response.headers)).toMatchObject({ 'x-provider': 'anthropic', 'x-attempts': '4', 'x-failover-used': 'true' });
  });

  it('timeout with no other provider: retried after exactly 100 then 200 ms, and switch_provider_after 2 ends it there', async () => {
    const x = await harness({ failover: { enabled: false } });
    x.sim.setModel('gpt-4-turbo-preview', fail('timeout'));
    const pending = rejected(create(x.client, 'Request', CUSTOM));
    await x.backoff();
    expect(x.stepUntilAttempt(2, 100)).toBe(100);
    await x.backoff();
    expect(x.stepUntilAttempt(3, 200)).toBe(200);
    const err = await pending;
    expect(err.status).toBe(504);
    expect(err.headers.get('x-attempts')).toBe('3');
    expect(statusesOf(x, 'gpt-4-turbo-preview')).toEqual([504, 504, 504]);
  });

  it('server_error, immediate_failover: the next provider at once, no retry', async () => {
    const x = await harness(CHAIN);
    x.sim.setModel('gpt-4-turbo-preview', fail('server_error'));
    const { response } = await create(x.client, 'Request', CUSTOM);
    expect(seedHeaders(response.headers)).toMatchObject({ 'x-provider': 'anthropic', 'x-model': 'claude-3-opus', 'x-attempts': '2', 'x-failover-used': 'true' });
    expect(gaps(x.starts)).toEqual([0]);
    expect([callsOf(x, 'gpt-4-turbo-preview'), callsOf(x, 'claude-3-opus')]).toEqual([1, 1]);
  });
});

// ---- Request Hedging and Degraded Mode Operations ----------------------------------------

// Request Hedging (verbatim; Python's True is JSON true).
const HEDGING = {
  'X-Request-Hedging': 'true',
  'X-Hedge-Config': JSON.stringify({
    strategy: 'latency', // or "first-success"
    providers: ['openai', 'anthropic'],
    delay_ms: 200, // Start second request after 200ms
    cancel_slower: true,
    max_additional_cost: 0.05, // Cost limit for hedging
  }),
};

const DEGRADED = {
  'X-Degraded-Mode-Config': JSON.stringify(degraded_config),
  'X-User-Priority': 'high', // Priority users skip degradation
};

// Request Hedging itself: test/seed/hedging.test.ts. Here: a primary that answers before
// delay_ms is the only call.
describe('Request Hedging and Degraded Mode Operations: the seed\'s headers are validated and accepted (degraded mode itself is not built yet)', () => {
  it.each([
    ['Request Hedging', 'Time-critical request', HEDGING],
    ['Degraded Mode Operations', 'Process request', DEGRADED],
  ])('%s: answered (200) by openai/gpt-4-turbo-preview with one upstream call', async (_name, content, headers) => {
    const x = await harness();
    const { data, response } = await create(x.client, content, headers);
    expect(data.choices[0].message.content).toMatch(/^Simulated reply from gpt-4-turbo-preview/);
    expect([response.status, response.headers.get('x-provider'), response.headers.get('x-attempts')]).toEqual([200, 'openai', '1']);
    expect(x.sim.calls().map((c) => c.model)).toEqual(['gpt-4-turbo-preview']);
  });
});

// ---- Malformed headers -------------------------------------------------------------------

describe('every seed header, malformed, is a 400 in OpenAI\'s shape naming the header (and no upstream call)', () => {
  const withFailover = (patch: (c: typeof failover_config) => unknown) => JSON.stringify(patch(structuredClone(failover_config)));
  const cases: Array<[string, string, string]> = [
    ['X-Failover-Enabled', 'yes', 'X-Failover-Enabled: expected "true" or "false"'],
    ['X-Failover-Providers', 'openai,azure', 'X-Failover-Providers: provider "azure" is not configured (configured: anthropic, google, openai)'],
    ['X-Failover-Providers', 'openai,,google', 'X-Failover-Providers: entry 2 is empty'],
    ['X-Max-Retries', 'three', 'X-Max-Retries: expected an integer between 0 and 10'],
    ['X-Max-Retries', '11', 'X-Max-Retries: expected an integer between 0 and 10'],
    ['X-Retry-Delay-Ms', '-100', 'X-Retry-Delay-Ms: expected an integer between 0 and 60000'],
    ['X-Failover-Config', '{"primary": ', 'X-Failover-Config: invalid JSON'],
    ['X-Failover-Config', withFailover((c) => ({ ...c, primary: { provider: 'openai' } })), 'X-Failover-Config: field "primary.model": required'],
    [
      'X-Failover-Config',
      withFailover((c) => ({ ...c, fallbacks: [{ ...c.fallbacks[0], trigger: ['timeout', 'sometimes'] }] })),
      'X-Failover-Config: field "fallbacks[0].trigger[1]": unknown error kind "sometimes" (expected one of: timeout, rate_limit, quota_exceeded, model_overloaded, server_error, connection_error, context_length_exceeded, content_filter, auth_error, bad_request, any_error)',
    ],
    ['X-Failover-Config', withFailover((c) => ({ ...c, fallbacks: [{ ...c.fallbacks[2], reduce_max_tokens: 1.5 }] })), 'X-Failover-Config: field "fallbacks[0].reduce_max_tokens": expected a number greater than 0 and at most 1'],
    ['X-Failover-Config', withFailover((c) => ({ ...c, health_check_interval: '30s' })), 'X-Failover-Config: field "health_check_interval": expected a number of seconds between 1 and 86400'],
    ['X-Circuit-Breaker', JSON.stringify({ ...circuit_config, error_threshold: 0 }), 'X-Circuit-Breaker: field "error_threshold": expected an integer between 1 and 1000'],
    ['X-Circuit-Breaker', JSON.stringify({ ...circuit_config, excluded_errors: ['rate_limit', 'slow'] }), 'X-Circuit-Breaker: field "excluded_errors[1]": unknown error kind "slow" (expected one of: timeout, rate_limit, quota_exceeded, model_overloaded, server_error, connection_error, context_length_exceeded, content_filter, auth_error, bad_request)'],
    ['X-Circuit-Breaker', JSON.stringify({ ...circuit_config, monitor_latency: 'yes' }), 'X-Circuit-Breaker: field "monitor_latency": expected true or false'],
    ['X-Circuit-Breaker', JSON.stringify({ ...circuit_config, error_treshold: 5 }), 'X-Circuit-Breaker: field "error_treshold": unknown field'],
    ['X-Circuit-Breaker-Fallback', 'stale', 'X-Circuit-Breaker-Fallback: expected one of: error, cache, degraded'],
    ['X-Retry-Strategy', 'random', 'X-Retry-Strategy: expected one of: exponential, linear, fixed, custom'],
    ['X-Retry-Config', '{"max_retries": 99}', 'X-Retry-Config: field "max_retries": expected an integer between 0 and 10'],
    [
      'X-Retry-Config',
      JSON.stringify({ ...retry_config, rules: [{ error_type: 'timeout', attempts: [100, 'soon'] }] }),
      'X-Retry-Config: field "rules[0].attempts[1]": expected an integer between 0 and 300000',
    ],
    [
      'X-Retry-Config',
      JSON.stringify({ ...retry_config, rules: [{ error_type: 'server_error', immediate_failover: true, switch_provider_after: 2 }] }),
      'X-Retry-Config: field "rules[0].switch_provider_after": cannot be combined with immediate_failover',
    ],
    ['X-Request-Hedging', 'sometimes', 'X-Request-Hedging: expected "true" or "false"'],
    ['X-Hedge-Config', '{"strategy": "latency",', 'X-Hedge-Config: invalid JSON'],
    ['X-Hedge-Config', HEDGING['X-Hedge-Config'].replace('"latency"', '"fastest"'), 'X-Hedge-Config: field "strategy": unknown strategy "fastest" (expected one of: latency, first-success)'],
    ['X-Hedge-Config', HEDGING['X-Hedge-Config'].replace('"anthropic"', '"mistral"'), 'X-Hedge-Config: field "providers[1]": provider "mistral" is not configured (configured: anthropic, google, openai)'],
    ['X-Hedge-Config', HEDGING['X-Hedge-Config'].replace('"delay_ms":200', '"delay_ms":"200ms"'), 'X-Hedge-Config: field "delay_ms": expected an integer between 0 and 600000'],
    ['X-Hedge-Config', HEDGING['X-Hedge-Config'].replace('"cancel_slower"', '"cancel_others"'), 'X-Hedge-Config: field "cancel_others": unknown field'],
    ['X-Degraded-Mode-Config', JSON.stringify({ ...degraded_config, triggers: ['high_latency', 'meltdown'] }), 'X-Degraded-Mode-Config: field "triggers[1]": unknown condition "meltdown" (expected one of: high_latency, partial_outage, rate_limiting)'],
    [
      'X-Degraded-Mode-Config',
      JSON.stringify({ ...degraded_config, strategies: [{ ...degraded_config.strategies[0], action: 'drop_requests' }] }),
      'X-Degraded-Mode-Config: field "strategies[0].action": unknown action "drop_requests" (expected one of: reduce_quality, feature_flags, queue_and_batch)',
    ],
    [
      'X-Degraded-Mode-Config',
      JSON.stringify({ ...degraded_config, strategies: [{ ...degraded_config.strategies[2], config: { ...degraded_config.strategies[2].config, batch_size: 'ten' } }] }),
      'X-Degraded-Mode-Config: field "strategies[0].config.batch_size": expected an integer between 1 and 1000',
    ],
    ['X-Degraded-Mode-Config', JSON.stringify({ ...degraded_config, user_notification: { ...degraded_config.user_notification, show_status: 'yes' } }), 'X-Degraded-Mode-Config: field "user_notification.show_status": expected true or false'],
    ['X-Degraded-Mode-Config', JSON.stringify({ ...degraded_config, mode: 'auto' }), 'X-Degraded-Mode-Config: field "mode": unknown field'],
    ['X-User-Priority', 'vip', 'X-User-Priority: expected one of: high, normal, low'],
  ];

  it.each(cases)('%s: %s', async (header, value, message) => {
    const x = await harness();
    const err = await rejected(create(x.client, 'Request', { [header]: value }));
    expect(err.status).toBe(400);
    expect(err.error).toEqual({ message, type: 'invalid_request_error', param: header, code: 'invalid_header' });
    expect(x.sim.calls()).toHaveLength(0);
  });
});
