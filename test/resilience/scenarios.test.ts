import OpenAI from 'openai';
import { afterEach, describe, expect, it } from 'vitest';
import { SimulatedClock } from 'xstate';
import type { RunningGateway } from '../../src/gateway.ts';
import type { ConfigFile } from '../../src/config/schema.ts';
import { sdkClient, startTestGateway, until } from '../helpers/gateway.ts';

/**
 * The "done when" scenarios, end to end: the official SDK -> the gateway (on a
 * simulated clock) -> the provider simulator with faults. Upstream I/O is real; every wait
 * the gateway makes is a statechart delay that the test advances explicitly.
 */

let gw: RunningGateway | undefined;
afterEach(async () => {
  await gw?.close();
  gw = undefined;
});

async function setup(resilience: ConfigFile['resilience'] = {}) {
  const clock = new SimulatedClock();
  gw = await startTestGateway({ resilience }, { clock });
  return { gw, clock, sim: gw.simulator!, client: sdkClient(gw) };
}

// No same-target retries (X-Max-Retries: 0): these scenarios are about failover and the breaker; the seed tests cover retries first.
const FAILOVER = { 'X-Failover-Enabled': 'true', 'X-Failover-Providers': 'openai,anthropic', 'X-Max-Retries': '0' };
const ask = (client: OpenAI, headers: Record<string, string> = {}, extra: Partial<OpenAI.Chat.Completions.ChatCompletionCreateParamsNonStreaming> = {}) =>
  client.chat.completions
    .create({ model: 'gpt-4-turbo-preview', messages: [{ role: 'user', content: 'Critical request' }], ...extra }, { headers })
    .withResponse();

describe('resilience scenarios through the gateway', () => {
  it('a 429 with Retry-After: 2 waits 2 s (simulated) before the one retry, and never hammers', async () => {
    const { clock, sim, client } = await setup({ failover: { enabled: false } });
    sim.setModel('gpt-4-turbo-preview', { faults: [{ type: 'error', kind: 'rate_limit', retry_after_s: 2, first_n: 1 }] });
    const pending = ask(client);
    await until(() => sim.calls({ model: 'gpt-4-turbo-preview' }).length === 1);
    await new Promise((r) => setTimeout(r, 20));
    clock.increment(1_999);
    await new Promise((r) => setTimeout(r, 20));
    expect(sim.calls({ model: 'gpt-4-turbo-preview' })).toHaveLength(1);
    clock.increment(1);
    const { data, response } = await pending;
    expect(data.choices[0].message.content).toMatch(/\w/);
    expect(sim.calls({ model: 'gpt-4-turbo-preview' }).map((c) => c.status)).toEqual([429, 200]);
    expect(response.headers.get('x-attempts')).toBe('2');
    expect(response.headers.get('x-provider')).toBe('openai');
  });

  it('a persistent 503 fails over at once, and once the breaker opens the primary is not called at all', async () => {
    const { sim, client } = await setup();
    sim.setModel('gpt-4-turbo-preview', { faults: [{ type: 'error', kind: 'server_error' }] });
    const seen: Array<[string | null, string | null, string | null]> = [];
    for (let i = 0; i < 10; i++) {
      const { response } = await ask(client, FAILOVER);
      seen.push([response.headers.get('x-provider'), response.headers.get('x-attempts'), response.headers.get('x-circuit-status')]);
    }
    // Default breaker: 5 failures in 60 s open it.
    expect(seen).toEqual([
      ...Array.from({ length: 4 }, () => ['anthropic', '2', 'closed']),
      ['anthropic', '2', 'open'],
      ...Array.from({ length: 5 }, () => ['anthropic', '1', 'open']),
    ]);
    expect(sim.calls({ model: 'gpt-4-turbo-preview' })).toHaveLength(5);
    expect(sim.calls({ model: 'claude-3-opus' })).toHaveLength(10);
  });

  it('a connection reset before headers is answered by the fallback', async () => {
    const { sim, client } = await setup();
    sim.setModel('gpt-4-turbo-preview', { faults: [{ type: 'reset' }] });
    const { response } = await ask(client, FAILOVER);
    expect([response.headers.get('x-provider'), response.headers.get('x-attempts'), response.headers.get('x-failover-used')]).toEqual(['anthropic', '2', 'true']);
  });

  it('a provider that never answers is abandoned after its timeout, the fallback answers, the silent route is not retried', async () => {
    const { clock, sim, client } = await setup({ attempt_timeout_ms: 5_000 });
    sim.setModel('gpt-4-turbo-preview', { faults: [{ type: 'hang' }] });
    const pending = ask(client, FAILOVER);
    await until(() => sim.calls({ model: 'gpt-4-turbo-preview' }).length === 1);
    clock.increment(4_999);
    await new Promise((r) => setTimeout(r, 20));
    expect(sim.calls({ model: 'claude-3-opus' })).toHaveLength(0);
    clock.increment(1);
    const { response } = await pending;
    expect(response.headers.get('x-provider')).toBe('anthropic');
    expect(sim.calls({ model: 'gpt-4-turbo-preview' })).toHaveLength(1);
  });

  it('a first token that takes 20 s fails over under the 15 s TTFT limit (streaming)', async () => {
    const { clock, sim, client } = await setup({ ttft_timeout_ms: 15_000 });
    sim.setModel('gpt-4-turbo-preview', { faults: [{ type: 'slow_first_token', delay_ms: 20_000 }] });
    const pending = client.chat.completions.create(
      { model: 'gpt-4-turbo-preview', messages: [{ role: 'user', content: 'hi' }], stream: true },
      { headers: FAILOVER },
    ).withResponse();
    await until(() => sim.calls({ model: 'gpt-4-turbo-preview' }).length === 1);
    clock.increment(15_000);
    const { data: stream, response } = await pending;
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.delta?.content ?? '';
    expect(text).toMatch(/^Simulated reply from claude-3-opus/);
    expect(response.headers.get('x-provider')).toBe('anthropic');
    expect(sim.calls({ model: 'gpt-4-turbo-preview' })).toHaveLength(1);
  });

  it('an in-band error after the first SSE event still fails over (nothing was committed)', async () => {
    const { sim, client } = await setup();
    sim.setModel('gpt-4-turbo-preview', { faults: [{ type: 'in_band_error', kind: 'model_overloaded' }] });
    const { data: stream, response } = await client.chat.completions
      .create({ model: 'gpt-4-turbo-preview', messages: [{ role: 'user', content: 'hi' }], stream: true }, { headers: FAILOVER })
      .withResponse();
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.delta?.content ?? '';
    expect(response.headers.get('x-provider')).toBe('anthropic');
    expect(text).toMatch(/^Simulated reply from claude-3-opus/);
  });

  it('a stream cut after 40 tokens never reaches the client as a complete answer', async () => {
    const { sim, client } = await setup();
    sim.setModel('gpt-4-turbo-preview', { completion_tokens: 100, faults: [{ type: 'cut', after_tokens: 40 }] });
    // No prefill-capable fallback in the chain (a cut answer continued on Anthropic is
    // test/resilience/stream-continuation.test.ts): the truncated stream must end in error.
    const stream = await client.chat.completions.create(
      { model: 'gpt-4-turbo-preview', messages: [{ role: 'user', content: 'hi' }], stream: true },
      { headers: { 'X-Failover-Providers': 'openai,google' } },
    );
    let text = '';
    let finish: string | null = null;
    const err = await (async () => {
      for await (const chunk of stream) {
        text += chunk.choices[0]?.delta?.content ?? '';
        finish = chunk.choices[0]?.finish_reason ?? finish;
      }
    })().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.APIError);
    expect(finish).toBeNull();
    expect(text.split(' ').length).toBeLessThan(100);
  });

  it('a stalled stream is ended as a timeout after the idle limit, never as complete', async () => {
    const { clock, sim, client } = await setup({ stream_idle_timeout_ms: 10_000 });
    sim.setModel('gpt-4-turbo-preview', { completion_tokens: 50, faults: [{ type: 'stall', after_tokens: 10 }] });
    const stream = await client.chat.completions.create({ model: 'gpt-4-turbo-preview', messages: [{ role: 'user', content: 'hi' }], stream: true });
    const it = stream[Symbol.asyncIterator]();
    await it.next();
    await new Promise((r) => setTimeout(r, 50));
    clock.increment(10_000);
    const err = await (async () => {
      for (;;) if ((await it.next()).done) return 'done';
    })().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.APIError);
    expect(String((err as Error).message)).toContain('no data for 10000 ms');
  });

  it('a context-length 400 is not retried on the same model', async () => {
    const { sim, client } = await setup({ failover: { enabled: false } });
    sim.setModel('gpt-4-turbo-preview', { faults: [{ type: 'error', kind: 'context_length_exceeded' }] });
    const err = (await ask(client).catch((e: unknown) => e)) as InstanceType<typeof OpenAI.APIError>;
    expect(err.status).toBe(400);
    expect(err.code).toBe('context_length_exceeded');
    expect(sim.calls({ model: 'gpt-4-turbo-preview' })).toHaveLength(1);
  });

  it('a primary down for 60 s is served by the fallback, probed in the background while open, and used again within one probe interval (5 s) of recovery', async () => {
    const { gw, clock, sim, client } = await setup();
    sim.setModel('gpt-4-turbo-preview', { faults: [{ type: 'error', kind: 'server_error' }] });
    const recovery = () => gw.runtime.actor('recovery:openai/gpt-4-turbo-preview');
    const log: Array<{ t: number; provider: string | null; status: string | null }> = [];
    for (let t = 0; t <= 120_000; t += 4_000) {
      if (t === 60_000) sim.setModel('gpt-4-turbo-preview', {});
      const { response } = await ask(client, FAILOVER);
      log.push({ t, provider: response.headers.get('x-provider'), status: response.headers.get('x-circuit-status') });
      clock.increment(4_000);
      // A probe that went out during the step has its answer before the next request.
      await until(() => recovery()?.getSnapshot().value !== 'probing');
    }
    const calls = sim.calls({ model: 'gpt-4-turbo-preview' });
    const client_ = calls.filter((c) => !c.probe).map((c) => c.status);
    const probes = calls.filter((c) => c.probe).map((c) => [Math.round((c.at - calls[0].at) / 1000), c.status]);
    // While down (t < 60 s) every answer came from the fallback.
    expect(log.filter((e) => e.t < 60_000).every((e) => e.provider === 'anthropic')).toBe(true);
    // Client traffic: 5 failures open the breaker (t=0..16 s); `timeout` (30 s) half-opens it at
    // t=46 s and the trial at t=48 s fails; then the primary serves from t=64 s on.
    expect(client_).toEqual([...Array(6).fill(500), ...Array(15).fill(200)]);
    // The probes: at most one every 5 s while open (the breaker was open 16-46 s and 48-63 s);
    // all fail while the provider is down, and the first one after recovery half-opens it.
    const statuses = probes.map(([, status]) => status);
    expect(statuses.at(-1)).toBe(200);
    expect(statuses.slice(0, -1).every((st) => st === 500)).toBe(true);
    expect(statuses.length).toBeGreaterThanOrEqual(4);
    expect(statuses.length).toBeLessThanOrEqual(Math.floor(30 / 5) + Math.ceil(15 / 5));
    expect(log.find((e) => e.t === 64_000)).toEqual({ t: 64_000, provider: 'openai', status: 'half_open' });
    // Back on the primary within one probe interval of recovery (plus the request spacing), and it stays there.
    const back = log.find((e) => e.t >= 60_000 && e.provider === 'openai')!;
    expect(back.t - 60_000).toBeLessThanOrEqual(5_000);
    expect(log.filter((e) => e.t > back.t).every((e) => e.provider === 'openai')).toBe(true);
  });
});
