import type OpenAI from 'openai';
import { afterEach, describe, expect, it } from 'vitest';
import type { HedgeContext } from '../../machines/hedge.machine.ts';
import { until } from '../helpers/gateway.ts';
import { seedHarness, seedHeaders, type SeedHarness } from './harness.ts';

/**
 * The seed's "Request Hedging" example through the gateway (SimulatedClock) to the in-process
 * simulator, sent by the official openai SDK with its headers verbatim: which upstreams were
 * called (the simulator's call log), which were aborted (the simulator saw the connection
 * close before its answer) and when (the race's records on the gateway's clock), and the
 * exact headers.
 */

let h: SeedHarness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

// Request Hedging (verbatim; Python's True is JSON true).
const HEDGE_CONFIG = {
  strategy: 'latency', // or "first-success"
  providers: ['openai', 'anthropic'],
  delay_ms: 200, // Start second request after 200ms
  cancel_slower: true,
  max_additional_cost: 0.05, // Cost limit for hedging
};
const HEDGING = { 'X-Request-Hedging': 'true', 'X-Hedge-Config': JSON.stringify(HEDGE_CONFIG) };

function create(client: OpenAI, headers: Record<string, string>, content = 'Time-critical request') {
  return client.chat.completions.create({ model: 'gpt-4-turbo-preview', messages: [{ role: 'user', content }] }, { headers }).withResponse();
}

const calls = (x: SeedHarness, model: string) => x.sim.calls({ model }).filter((c) => !c.probe);

/** The hedge race's last context, from the request actors' transitions (null before any). */
function watchRace(x: SeedHarness): { last: () => { at: number; state: unknown; context: HedgeContext } | null } {
  let last: { at: number; state: unknown; context: HedgeContext } | null = null;
  const sub = x.gw.hub.transitions$.subscribe((ev) => {
    if (ev.machine === 'hedge') last = { at: x.clock.now(), state: ev.state, context: ev.context as HedgeContext };
  });
  const close = x.close.bind(x);
  x.close = async () => {
    sub.unsubscribe();
    await close();
  };
  return { last: () => last };
}

/** Lets real I/O happen without the gateway's clock moving (nothing may happen in that time). */
const realPause = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('Request Hedging: the seed example', () => {
  it('a slow openai: anthropic is sent at exactly 200 ms, wins, and openai is aborted in the same instant; X-Hedge-Winner: anthropic', async () => {
    const x = (h = await seedHarness());
    const race = watchRace(x);
    x.sim.setModel('gpt-4-turbo-preview', { faults: [{ type: 'hang' }] });
    const pending = create(x.client, HEDGING);
    await until(() => calls(x, 'gpt-4-turbo-preview').length === 1);
    x.clock.increment(199);
    await realPause(30);
    expect(calls(x, 'claude-3-opus')).toHaveLength(0);
    x.clock.increment(1);
    const { data, response } = await pending;
    expect(data.choices[0].message.content).toMatch(/^Simulated reply from claude-3-opus/);
    expect({ ...seedHeaders(response.headers), winner: response.headers.get('x-hedge-winner'), saved: response.headers.get('x-hedge-latency-saved') }).toEqual({
      'x-provider': 'anthropic',
      'x-model': 'claude-3-opus',
      'x-attempts': '2',
      'x-failover-used': 'false',
      'x-circuit-status': 'closed',
      'x-retry-after': null,
      'x-cache': null,
      winner: 'anthropic',
      // openai has no latency on record: no evidence it would have been slower.
      saved: '0',
    });
    // openai's connection closed before its answer: the cancelled hedge's upstream call was aborted.
    await until(() => calls(x, 'gpt-4-turbo-preview')[0].aborted === true);
    expect(calls(x, 'gpt-4-turbo-preview').map((c) => [c.provider, c.status, c.aborted])).toEqual([['openai', null, true]]);
    expect(calls(x, 'claude-3-opus').map((c) => [c.provider, c.status, c.aborted ?? false])).toEqual([['anthropic', 200, false]]);
    const end = race.last()!;
    expect([end.state, end.at]).toEqual(['succeeded', 200]);
    // Attempt 2 (anthropic, sent at 200) answered at once; attempt 1 (openai) was cancelled having run 200 ms.
    expect(end.context.attempts.map((a) => [a.attempt, a.provider, a.ok, a.cancelled ?? false, a.latencyMs])).toEqual([
      [2, 'anthropic', true, false, 0],
      [1, 'openai', false, true, 200],
    ]);
  });

  it('X-Hedge-Latency-Saved: openai\'s recent latencies say a call past 200 ms takes 2,000 ms, so the win at 200 ms saved 1,800 ms', async () => {
    const x = (h = await seedHarness());
    // History: 20 answers from openai, each taking 2,000 ms on the gateway's clock.
    x.sim.setModel('gpt-4-turbo-preview', { latency: { type: 'fixed', ms: 40 } });
    for (let i = 0; i < 20; i++) {
      const p = x.client.chat.completions.create({ model: 'gpt-4-turbo-preview', messages: [{ role: 'user', content: `warm ${i}` }] });
      await until(() => calls(x, 'gpt-4-turbo-preview').length === i + 1);
      x.clock.increment(2_000);
      await p;
    }
    expect(x.gw.runtime.targets.byKey('openai/gpt-4-turbo-preview').stats.latencyQuantile(0.5)).toBe(2_000);
    x.sim.setModel('gpt-4-turbo-preview', { faults: [{ type: 'hang' }] });
    const pending = create(x.client, HEDGING);
    await until(() => calls(x, 'gpt-4-turbo-preview').length === 21);
    x.clock.increment(200);
    const { response } = await pending;
    expect([response.headers.get('x-hedge-winner'), response.headers.get('x-hedge-latency-saved')]).toEqual(['anthropic', '1800']);
  });

  it('openai answers first: it wins, X-Hedge-Latency-Saved: 0, anthropic is never called', async () => {
    const x = (h = await seedHarness());
    const { response } = await create(x.client, HEDGING);
    expect([response.headers.get('x-provider'), response.headers.get('x-hedge-winner'), response.headers.get('x-hedge-latency-saved'), response.headers.get('x-attempts')]).toEqual([
      'openai',
      'openai',
      '0',
      '1',
    ]);
    x.clock.increment(1_000);
    await realPause(20);
    expect(calls(x, 'claude-3-opus')).toHaveLength(0);
  });

  it('max_additional_cost: a hedge over the cap is not sent (claude-3-opus at 256 expected output tokens costs about $0.0192 > $0.01)', async () => {
    const x = (h = await seedHarness());
    x.sim.setModel('gpt-4-turbo-preview', { faults: [{ type: 'hang' }] });
    const cfg = JSON.stringify({ ...HEDGE_CONFIG, max_additional_cost: 0.01 });
    const pending = create(x.client, { 'X-Request-Hedging': 'true', 'X-Hedge-Config': cfg, 'X-Request-Timeout-Ms': '5000' });
    await until(() => calls(x, 'gpt-4-turbo-preview').length === 1);
    x.clock.increment(200);
    await realPause(30);
    expect(calls(x, 'claude-3-opus')).toHaveLength(0);
    // The deadline ends it: the hang is cut, and the rest of the default chain (google) answers.
    x.clock.increment(4_800);
    const { response } = await pending;
    expect([response.headers.get('x-provider'), response.headers.get('x-hedge-winner')]).toEqual(['google', null]);
  });

  it('first-success: openai fails at once, anthropic is sent at once (not after 200 ms) and wins', async () => {
    const x = (h = await seedHarness());
    x.sim.setModel('gpt-4-turbo-preview', { faults: [{ type: 'error', kind: 'server_error' }] });
    const cfg = JSON.stringify({ ...HEDGE_CONFIG, strategy: 'first-success' });
    const { response } = await create(x.client, { 'X-Request-Hedging': 'true', 'X-Hedge-Config': cfg });
    expect([response.headers.get('x-provider'), response.headers.get('x-hedge-winner'), response.headers.get('x-attempts'), response.headers.get('x-hedge-latency-saved')]).toEqual([
      'anthropic',
      'anthropic',
      '2',
      '0',
    ]);
    expect(x.clock.now()).toBe(0);
  });

  it('latency: openai\'s error answer comes first and decides the race; the request goes on down its failover chain to google', async () => {
    const x = (h = await seedHarness());
    x.sim.setModel('gpt-4-turbo-preview', { faults: [{ type: 'error', kind: 'server_error' }] });
    const { response } = await create(x.client, HEDGING);
    expect([response.headers.get('x-provider'), response.headers.get('x-hedge-winner'), response.headers.get('x-attempts'), response.headers.get('x-failover-used')]).toEqual([
      'google',
      null,
      '2',
      'true',
    ]);
    expect([calls(x, 'gpt-4-turbo-preview').length, calls(x, 'claude-3-opus').length, calls(x, 'gemini-pro').length]).toEqual([1, 0, 1]);
  });

  it('a stream: the first upstream to produce a content delta wins and the client reads one clean stream', async () => {
    const x = (h = await seedHarness());
    x.sim.setModel('gpt-4-turbo-preview', { faults: [{ type: 'slow_first_token', delay_ms: 5_000 }] });
    const pending = x.client.chat.completions
      .create({ model: 'gpt-4-turbo-preview', messages: [{ role: 'user', content: 'Time-critical request' }], stream: true }, { headers: HEDGING })
      .withResponse();
    await until(() => calls(x, 'gpt-4-turbo-preview').length === 1);
    x.clock.increment(200);
    const { data, response } = await pending;
    let text = '';
    const ids = new Set<string>();
    for await (const chunk of data) {
      ids.add(chunk.id);
      text += chunk.choices[0]?.delta?.content ?? '';
    }
    expect(text).toMatch(/^Simulated reply from claude-3-opus/);
    expect(ids.size).toBe(1);
    expect([response.headers.get('x-hedge-winner'), response.headers.get('x-provider')]).toEqual(['anthropic', 'anthropic']);
    await until(() => calls(x, 'gpt-4-turbo-preview')[0].aborted === true);
  });

  it('X-Request-Hedging: false turns it off: one call, no hedge headers', async () => {
    const x = (h = await seedHarness());
    x.sim.setModel('gpt-4-turbo-preview', { latency: { type: 'fixed', ms: 20 } });
    const pending = create(x.client, { 'X-Request-Hedging': 'false', 'X-Hedge-Config': HEDGING['X-Hedge-Config'] });
    await until(() => calls(x, 'gpt-4-turbo-preview').length === 1);
    x.clock.increment(300);
    const { response } = await pending;
    expect([response.headers.get('x-provider'), response.headers.get('x-hedge-winner')]).toEqual(['openai', null]);
    expect(calls(x, 'claude-3-opus')).toHaveLength(0);
  });
});
