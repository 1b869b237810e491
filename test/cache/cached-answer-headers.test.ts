import { afterEach, describe, expect, it } from 'vitest';
import { SimulatedClock } from 'xstate';
import type { RunningGateway } from '../../src/gateway.ts';
import { startTestGateway } from '../helpers/gateway.ts';

/**
 * A stale answer says who wrote it. The answer to a request that failed over to Anthropic is
 * cached; later the primary's (OpenAI's) breaker is open, nothing else is tried, and the
 * cached answer is served: X-Provider and X-Model must name Anthropic's claude-3-opus, as the
 * body does, not the route of the request reading it.
 */

let gw: RunningGateway | undefined;
afterEach(async () => {
  await gw?.close();
  gw = undefined;
});

const BREAKER = { 'x-circuit-breaker': JSON.stringify({ error_threshold: 2, error_threshold_window: 60, timeout: 30 }), 'x-circuit-breaker-fallback': 'cache' };
/** The same breaker and fallback, with failover off: an open primary leaves only the cache. */
const PRIMARY_ONLY = { ...BREAKER, 'x-failover-enabled': 'false' };

const NAMES = ['x-provider', 'x-model', 'x-attempts', 'x-circuit-status', 'x-cache', 'x-cache-age', 'x-quality-reduced'] as const;
const headersOf = (r: Response) => Object.fromEntries(NAMES.map((n) => [n, r.headers.get(n)]));

async function post(stream: boolean, headers: Record<string, string>): Promise<Response> {
  return fetch(`${gw!.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ model: 'gpt-4-turbo-preview', messages: [{ role: 'user', content: 'Critical request' }], stream }),
  });
}

/** The model named by a response body: a completion's, or every chunk's of an SSE stream. */
async function bodyModels(r: Response): Promise<string[]> {
  const text = await r.text();
  if (!r.headers.get('content-type')!.startsWith('text/event-stream')) return [(JSON.parse(text) as { model: string }).model];
  return text
    .split('\n\n')
    .filter((e) => e.startsWith('data: {'))
    .map((e) => (JSON.parse(e.slice(6)) as { model: string }).model);
}

async function start(): Promise<SimulatedClock> {
  const clock = new SimulatedClock();
  gw = await startTestGateway({ resilience: { failover: { providers: ['openai', 'anthropic'] }, retry: { max_retries: 0 } } }, { clock });
  return clock;
}

describe('a cached answer is served with the provider and model that produced it', () => {
  it.each([false, true])('stream: %s — failed over to anthropic, cached, then served stale while openai is open', async (stream) => {
    const clock = await start();
    const sim = gw!.simulator!;
    sim.setModel('gpt-4-turbo-preview', { faults: [{ type: 'error', kind: 'server_error' }] });

    const fresh = await post(stream, BREAKER);
    expect(fresh.status).toBe(200);
    expect(headersOf(fresh)).toMatchObject({ 'x-provider': 'anthropic', 'x-model': 'claude-3-opus', 'x-attempts': '2', 'x-cache': null });
    expect(new Set(await bodyModels(fresh))).toEqual(new Set(['claude-3-opus']));

    // One more failure of the primary alone opens its breaker (error_threshold 2).
    const second = await post(stream, PRIMARY_ONLY);
    expect([second.status, second.headers.get('x-circuit-status')]).toEqual([502, 'open']);
    await second.arrayBuffer();

    clock.increment(7_000);
    const stale = await post(stream, PRIMARY_ONLY);
    expect(stale.status).toBe(200);
    expect(headersOf(stale)).toEqual({
      'x-provider': 'anthropic',
      'x-model': 'claude-3-opus',
      'x-attempts': '0',
      'x-circuit-status': 'open',
      'x-cache': 'STALE',
      'x-cache-age': '7',
      'x-quality-reduced': null,
    });
    expect(new Set(await bodyModels(stale))).toEqual(new Set(['claude-3-opus']));
    // Served from the cache: neither provider was called for it.
    expect([sim.calls({ model: 'gpt-4-turbo-preview' }).length, sim.calls({ model: 'claude-3-opus' }).length]).toEqual([2, 1]);
  });

  it('an answer from a reduce_quality fallback is served stale with X-Quality-Reduced', async () => {
    await start();
    gw!.simulator!.setModel('gpt-4-turbo-preview', { faults: [{ type: 'error', kind: 'server_error' }] });
    const config = {
      primary: { provider: 'openai', model: 'gpt-4-turbo-preview' },
      fallbacks: [{ trigger: 'any_error', provider: 'google', model: 'gemini-pro', reduce_quality: true }],
    };
    const fresh = await post(false, { ...BREAKER, 'x-failover-config': JSON.stringify(config) });
    expect(headersOf(fresh)).toMatchObject({ 'x-provider': 'google', 'x-model': 'gemini-pro', 'x-quality-reduced': 'true' });
    const body = await fresh.json();

    await (await post(false, PRIMARY_ONLY)).arrayBuffer();
    const stale = await post(false, PRIMARY_ONLY);
    expect(headersOf(stale)).toMatchObject({ 'x-provider': 'google', 'x-model': 'gemini-pro', 'x-quality-reduced': 'true', 'x-cache': 'STALE', 'x-cache-age': '0' });
    expect(await stale.json()).toEqual(body);
  });
});
