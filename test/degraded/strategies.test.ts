import { afterEach, describe, expect, it } from 'vitest';
import { until } from '../helpers/gateway.ts';
import { degradedHarness, fail, untilCalls, type DegradedHarness } from './harness.ts';
import { degraded_config } from '../seed/degraded-config.ts';

/**
 * The seed's "Degraded Mode Operations" example (its config verbatim) through the gateway to
 * the simulator, under each trigger provoked by simulator faults: which model served, what the
 * upstream received (max_tokens, tools, image parts, messages), the queue's order and bound,
 * and the headers, body field and stream comment the client gets.
 */

const MESSAGE = "We're experiencing high demand. Responses may be simplified.";
const HEADER = { 'X-Degraded-Mode-Config': JSON.stringify(degraded_config) };

let h: DegradedHarness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

interface Sent {
  status: number;
  headers: Headers;
  text: string;
  json(): any;
}

async function chat(x: DegradedHarness, body: Record<string, unknown>, headers: Record<string, string> = {}): Promise<Sent> {
  const res = await fetch(`${x.gw.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ model: 'gpt-4-turbo-preview', messages: [{ role: 'user', content: 'Process request' }], ...body }),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, text, json: () => JSON.parse(text) };
}

/** The degraded-mode headers of a response (null when absent). */
function degradedHeaders(r: Sent): Record<string, string | null> {
  const names = ['x-degraded-mode', 'x-degradation-reason', 'x-quality-score', 'x-degradation-message', 'x-degradation-status'];
  return Object.fromEntries(names.map((n) => [n, r.headers.get(n)]));
}

/** The last client call upstream: its model and the body it received. */
const lastCall = (x: DegradedHarness): { model: string; body?: any } => x.calls().at(-1)!;

/** high_latency: three answers of gpt-4-turbo-preview taking 3 s of the gateway's clock each. */
async function provokeHighLatency(x: DegradedHarness): Promise<void> {
  x.sim.setModel('gpt-4-turbo-preview', { latency: { type: 'fixed', ms: 150 } });
  const before = x.calls().length;
  for (let i = 1; i <= 3; i++) {
    const res = chat(x, { messages: [{ role: 'user', content: `slow ${i}` }] }, { 'x-failover-enabled': 'false' });
    await untilCalls(x, before + i);
    x.clock.increment(3_000);
    expect((await res).status).toBe(200);
  }
  x.sim.setModel('gpt-4-turbo-preview', {});
  x.evaluate();
  expect(x.state()).toEqual({ value: 'degraded', reasons: ['high_latency'] });
}

/** rate_limiting: four 429s of gpt-4-turbo-preview, then it answers again. */
async function provokeRateLimiting(x: DegradedHarness): Promise<void> {
  x.sim.setModel('gpt-4-turbo-preview', fail('rate_limit'));
  for (let i = 0; i < 4; i++) expect((await chat(x, {}, { 'x-failover-enabled': 'false' })).status).toBe(429);
  x.sim.setModel('gpt-4-turbo-preview', {});
  x.evaluate();
  expect(x.state()).toEqual({ value: 'degraded', reasons: ['rate_limiting'] });
}

/** partial_outage: google/gemini-pro's breaker open (two 500s); openai and anthropic up. */
async function provokePartialOutage(x: DegradedHarness): Promise<void> {
  x.sim.setModel('gemini-pro', fail('server_error'));
  for (let i = 0; i < 2; i++) expect((await chat(x, { model: 'gemini-pro' }, { 'x-failover-enabled': 'false' })).status).toBe(502);
  await until(() => !x.gw.runtime.targets.byKey('google/gemini-pro').routable);
  x.evaluate();
  expect(x.state()).toEqual({ value: 'degraded', reasons: ['partial_outage'] });
}

describe('no trigger active: the seed\'s config changes nothing and the answer says nothing', () => {
  it('served by gpt-4-turbo-preview with the request\'s max_tokens; no degraded-mode header, no body field', async () => {
    h = await degradedHarness();
    const r = await chat(h, { max_tokens: 100 }, HEADER);
    expect(r.status).toBe(200);
    expect(degradedHeaders(r)).toEqual({ 'x-degraded-mode': null, 'x-degradation-reason': null, 'x-quality-score': null, 'x-degradation-message': null, 'x-degradation-status': null });
    expect(r.json().parrot_degraded).toBeUndefined();
    expect(lastCall(h)).toMatchObject({ model: 'gpt-4-turbo-preview', body: { max_tokens: 100 } });
  });
});

describe('high_latency -> reduce_quality', () => {
  it('served by gpt-3.5-turbo with max_tokens 70 of 100; headers, notification and body field as configured', async () => {
    h = await degradedHarness();
    await provokeHighLatency(h);
    const r = await chat(h, { max_tokens: 100 }, HEADER);
    expect(r.status).toBe(200);
    expect([r.headers.get('x-provider'), r.headers.get('x-model'), r.headers.get('x-cache')]).toEqual(['openai', 'gpt-3.5-turbo', 'MISS']);
    expect(lastCall(h)).toMatchObject({ model: 'gpt-3.5-turbo', body: { model: 'gpt-3.5-turbo', max_tokens: 70 } });
    expect(degradedHeaders(r)).toEqual({
      'x-degraded-mode': 'active',
      'x-degradation-reason': 'high_latency',
      'x-quality-score': '6',
      'x-degradation-message': MESSAGE,
      'x-degradation-status': 'degraded; reasons=high_latency',
    });
    expect(r.json().parrot_degraded).toEqual({ status: 'degraded', reasons: ['high_latency'], message: MESSAGE, quality_score: 6 });
  });

  it('cache_aggressively: the same request again is a cache HIT with no upstream call', async () => {
    h = await degradedHarness();
    await provokeHighLatency(h);
    const first = await chat(h, { max_tokens: 100 }, HEADER);
    const calls = h.calls().length;
    const second = await chat(h, { max_tokens: 100 }, HEADER);
    expect(h.calls().length).toBe(calls);
    expect([second.headers.get('x-cache'), second.headers.get('x-model'), second.headers.get('x-attempts'), second.headers.get('x-degraded-mode')]).toEqual(['HIT', 'gpt-3.5-turbo', '0', 'active']);
    expect(second.json().choices).toEqual(first.json().choices);
    // X-Cache-Bypass: true goes upstream again.
    const bypass = await chat(h, { max_tokens: 100 }, { ...HEADER, 'X-Cache-Bypass': 'true' });
    expect([bypass.headers.get('x-cache'), h.calls().length]).toEqual([null, calls + 1]);
  });

  it('X-User-Priority: high skips degradation: gpt-4-turbo-preview, max_tokens 100, no degraded-mode header', async () => {
    h = await degradedHarness();
    await provokeHighLatency(h);
    const r = await chat(h, { max_tokens: 100 }, { ...HEADER, 'X-User-Priority': 'high' });
    expect([r.status, r.headers.get('x-model'), r.headers.get('x-degraded-mode')]).toEqual([200, 'gpt-4-turbo-preview', null]);
    expect(lastCall(h)).toMatchObject({ model: 'gpt-4-turbo-preview', body: { max_tokens: 100 } });
  });

  it('a stream stays a stream (disable_streaming: false) and carries the notice as an SSE comment line first', async () => {
    h = await degradedHarness();
    await provokeHighLatency(h);
    const r = await chat(h, { stream: true, max_tokens: 10 }, HEADER);
    expect([r.status, r.headers.get('content-type'), r.headers.get('x-model')]).toEqual([200, 'text/event-stream; charset=utf-8', 'gpt-3.5-turbo']);
    const notice = { status: 'degraded', reasons: ['high_latency'], message: MESSAGE, quality_score: 6 };
    expect(r.text.startsWith(`: parrot_degraded ${JSON.stringify(notice)}\n\ndata: `)).toBe(true);
    expect(r.text.trimEnd().endsWith('data: [DONE]')).toBe(true);
    expect(lastCall(h)).toMatchObject({ model: 'gpt-3.5-turbo', body: { stream: true, max_tokens: 7 } });
  });

  it('disable_streaming: true asks upstream without streaming and replays the answer as a stream', async () => {
    h = await degradedHarness();
    await provokeHighLatency(h);
    const cfg = structuredClone(degraded_config);
    (cfg.strategies[0].config as { disable_streaming: boolean }).disable_streaming = true;
    const r = await chat(h, { stream: true }, { 'X-Degraded-Mode-Config': JSON.stringify(cfg) });
    expect([r.status, r.headers.get('content-type')]).toEqual([200, 'text/event-stream; charset=utf-8']);
    expect(r.text).toContain('"object":"chat.completion.chunk"');
    expect(r.text.trimEnd().endsWith('data: [DONE]')).toBe(true);
    expect(lastCall(h).body.stream).toBeUndefined();
  });
});

describe('partial_outage -> feature_flags', () => {
  it('image parts and tools are removed upstream, the history is cut to the budget, and the client is told', async () => {
    h = await degradedHarness({ degraded_mode: { simplify_prompts: { max_tokens: 40 } }, resilience: { breaker: { error_threshold: 2 } } });
    await provokePartialOutage(h);
    const long = 'x'.repeat(400);
    const r = await chat(
      h,
      {
        messages: [
          { role: 'system', content: 'Be brief.' },
          { role: 'user', content: long },
          { role: 'assistant', content: long },
          { role: 'user', content: [{ type: 'text', text: 'What is in this picture?' }, { type: 'image_url', image_url: { url: 'https://example.com/a.png' } }] },
        ],
        tools: [{ type: 'function', function: { name: 'run_code', parameters: { type: 'object' } } }],
        tool_choice: 'auto',
      },
      HEADER,
    );
    expect(r.status).toBe(200);
    expect(lastCall(h).model).toBe('gpt-4-turbo-preview');
    expect(lastCall(h).body).toMatchObject({
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: [{ type: 'text', text: 'What is in this picture?' }] },
      ],
    });
    expect(lastCall(h).body.tools).toBeUndefined();
    expect(lastCall(h).body.tool_choice).toBeUndefined();
    expect([r.headers.get('x-disabled-features'), r.headers.get('x-prompt-simplified'), r.headers.get('x-degradation-reason'), r.headers.get('x-quality-score')]).toEqual([
      'image_generation, code_execution',
      '2',
      'partial_outage',
      '10',
    ]);
    expect(r.json().parrot_degraded).toEqual({
      status: 'degraded',
      reasons: ['partial_outage'],
      message: MESSAGE,
      quality_score: 10,
      disabled_features: ['image_generation', 'code_execution'],
    });
  });

  it('use_cached_responses with cache_ttl_multiplier 10: an answer 20 minutes old (ttl 5 min) is still served', async () => {
    h = await degradedHarness({ resilience: { breaker: { error_threshold: 2 } } });
    const first = await chat(h, {}, HEADER);
    expect(first.status).toBe(200);
    const calls = h.calls().length;
    h.clock.increment(20 * 60_000);
    await provokePartialOutage(h);
    const r = await chat(h, {}, HEADER);
    expect([r.headers.get('x-cache'), r.headers.get('x-cache-age'), r.headers.get('x-degraded-mode')]).toEqual(['HIT', '1201', 'active']);
    // Only the two gemini-pro calls that opened its breaker went upstream.
    expect(h.calls().length).toBe(calls + 2);
  });
});

describe('rate_limiting -> queue_and_batch', () => {
  it('the request waits for the next release (1 s) and says so (notify_users); served by gpt-4-turbo-preview', async () => {
    h = await degradedHarness();
    await provokeRateLimiting(h);
    const calls = h.calls().length;
    const pending = chat(h, {}, HEADER);
    await until(() => h!.gw.degraded.queued === 1);
    expect(h.calls().length).toBe(calls);
    h.clock.increment(1_000);
    const r = await pending;
    expect([r.status, r.headers.get('x-model'), r.headers.get('x-queue-wait-ms'), r.headers.get('x-degradation-reason')]).toEqual([200, 'gpt-4-turbo-preview', '1000', 'rate_limiting']);
  });

  it('priority order: high first, then normal, then low, one batch (batch_size 1) per release', async () => {
    h = await degradedHarness({ degraded_mode: { window_ms: 20_000 } });
    await provokeRateLimiting(h);
    const cfg = structuredClone(degraded_config);
    (cfg.strategies[2].config as { batch_size: number }).batch_size = 1;
    const header = { 'X-Degraded-Mode-Config': JSON.stringify(cfg) };
    const base = h.calls().length;
    const send = (p: string) => chat(h!, { messages: [{ role: 'user', content: p }] }, { ...header, 'X-User-Priority': p });
    const low = send('low');
    await until(() => h!.gw.degraded.queued === 1);
    const normal = send('normal');
    await until(() => h!.gw.degraded.queued === 2);
    const high = send('high');
    await until(() => h!.gw.degraded.queued === 3);
    for (let i = 1; i <= 3; i++) {
      h.clock.increment(1_000);
      await untilCalls(h, base + i);
    }
    expect(h.calls().slice(base).map((c) => (c.body as { messages: Array<{ content: string }> }).messages[0].content)).toEqual(['high', 'normal', 'low']);
    expect((await Promise.all([high, normal, low])).map((r) => r.headers.get('x-queue-wait-ms'))).toEqual(['1000', '2000', '3000']);
  });

  it('the queue never grows past max_size: a full queue refuses with 429 and Retry-After, a higher priority sheds the newest lower one, a wait past max_queue_time_ms is a 429', async () => {
    h = await degradedHarness({ degraded_mode: { window_ms: 20_000, queue: { max_size: 2, release_interval_ms: 1_000 } } });
    await provokeRateLimiting(h);
    const cfg = structuredClone(degraded_config);
    Object.assign(cfg.strategies[2].config, { batch_size: 1, max_queue_time_ms: 1_500 });
    const header = { 'X-Degraded-Mode-Config': JSON.stringify(cfg) };
    const send = (content: string, priority = 'normal') => chat(h!, { messages: [{ role: 'user', content }] }, { ...header, 'X-User-Priority': priority });
    const a = send('a');
    const b = send('b');
    await until(() => h!.gw.degraded.queued === 2);
    const full = await send('c');
    expect([full.status, full.headers.get('retry-after'), full.headers.get('x-degraded-mode')]).toEqual([429, '1', 'active']);
    expect(full.json()).toEqual({
      error: { message: 'The degraded-mode queue is full (2 requests waiting). Retry after 1 s.', type: 'rate_limit_error', param: null, code: 'queue_full' },
    });
    const vip = send('vip', 'high');
    const shed = await b;
    expect([shed.status, shed.json().error.code]).toEqual([429, 'queue_shed']);
    expect(h.gw.degraded.queued).toBe(2);
    h.clock.increment(1_000);
    expect((await vip).status).toBe(200);
    h.clock.increment(500);
    const timedOut = await a;
    expect([timedOut.status, timedOut.json().error.code, timedOut.headers.get('retry-after')]).toEqual([429, 'queue_timeout', '1']);
    expect(h.gw.degraded.queued).toBe(0);
    expect(h.calls().slice(-1).map((c) => (c.body as { messages: Array<{ content: string }> }).messages[0].content)).toEqual(['vip']);
  });

  it('a client that goes away leaves the queue at once and never reaches the upstream', async () => {
    h = await degradedHarness();
    await provokeRateLimiting(h);
    const calls = h.calls().length;
    const gone = new AbortController();
    const pending = fetch(`${h.gw.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...HEADER },
      body: JSON.stringify({ model: 'gpt-4-turbo-preview', messages: [{ role: 'user', content: 'bye' }] }),
      signal: gone.signal,
    }).catch((e: unknown) => e);
    await until(() => h!.gw.degraded.queued === 1);
    gone.abort();
    await pending;
    await until(() => h!.gw.degraded.queued === 0);
    h.clock.increment(1_000);
    expect(h.calls().length).toBe(calls);
  });

  it('when rate limiting ends, every waiter is released at the next release', async () => {
    h = await degradedHarness();
    await provokeRateLimiting(h);
    const cfg = structuredClone(degraded_config);
    Object.assign(cfg.strategies[2].config, { batch_size: 1 });
    const header = { 'X-Degraded-Mode-Config': JSON.stringify(cfg) };
    const all = [1, 2, 3].map((i) => chat(h!, { messages: [{ role: 'user', content: `q${i}` }] }, header));
    await until(() => h!.gw.degraded.queued === 3);
    // Three evaluations age the 429s out of the window: one released per second while it lasted.
    h.evaluate(3);
    const statuses = (await Promise.all(all)).map((r) => r.status);
    expect(statuses).toEqual([200, 200, 200]);
    expect(h.state().value).toBe('normal');
  });
});

describe('X-User-Priority bound to keys', () => {
  it('a key may not claim more than its bound (403 naming the header); a key bound to high may', async () => {
    h = await degradedHarness({ auth: { keys: ['vip-key', 'basic-key'] }, degraded_mode: { priorities: { keys: [{ key: 'vip-key', max: 'high' }], default_max: 'normal' } } });
    const r = await chat(h, {}, { authorization: 'Bearer basic-key', 'X-User-Priority': 'high' });
    expect([r.status, r.json()]).toEqual([
      403,
      { error: { message: 'X-User-Priority: this API key may not claim priority "high" (its highest is "normal").', type: 'permission_error', param: 'X-User-Priority', code: 'priority_not_allowed' } },
    ]);
    expect(h.calls()).toEqual([]);
    const ok = await chat(h, {}, { authorization: 'Bearer vip-key', 'X-User-Priority': 'high' });
    expect(ok.status).toBe(200);
  });
});
