import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { cacheKey, ResponseCache, type CachedAnswer } from '../../src/cache/response-cache.ts';
import type { ChatCompletion } from '../../src/core/openai-types.ts';
import { degradedHarness, fail, type DegradedHarness } from './harness.ts';

/**
 * The response cache as degraded mode uses it: the last line of defence when every provider of
 * the chain is down (marked STALE), per tenant, bypassable, never holding errors or truncated
 * streams, bounded by entries and bytes, and kept across a restart in its file.
 */

/** A request whose degraded-mode policy reads the cache (use_cached_responses). */
const CACHED = {
  'X-Degraded-Mode-Config': JSON.stringify({
    triggers: ['partial_outage'],
    strategies: [{ condition: 'partial_outage', action: 'feature_flags', config: { use_cached_responses: true } }],
  }),
};
const CHAIN = ['gpt-4-turbo-preview', 'claude-3-opus', 'gemini-pro'];

let h: DegradedHarness | undefined;
let h2: DegradedHarness | undefined;
let dir: string | undefined;
afterEach(async () => {
  await h?.close();
  await h2?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
  h = h2 = dir = undefined;
});

async function chat(x: DegradedHarness, body: Record<string, unknown> = {}, headers: Record<string, string> = CACHED) {
  const res = await fetch(`${x.gw.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ model: 'gpt-4-turbo-preview', messages: [{ role: 'user', content: 'What is up?' }], ...body }),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, text };
}

const allDown = (x: DegradedHarness): void => {
  for (const m of CHAIN) x.sim.setModel(m, fail('server_error'));
};
const cacheHeaders = (r: { headers: Headers }) => ['x-cache', 'x-cache-reason', 'x-provider', 'x-model', 'x-attempts'].map((n) => r.headers.get(n));

describe('the last line of defence', () => {
  it('every provider of the chain down: the cached answer is served 200, marked STALE / all_providers_down, by who wrote it', async () => {
    h = await degradedHarness();
    const first = await chat(h);
    expect(first.status).toBe(200);
    allDown(h);
    h.clock.increment(90_000);
    const r = await chat(h);
    expect(r.status).toBe(200);
    expect(cacheHeaders(r)).toEqual(['STALE', 'all_providers_down', 'openai', 'gpt-4-turbo-preview', '3']);
    expect(r.headers.get('x-cache-age')).toBe('90');
    expect(JSON.parse(r.text).choices).toEqual(JSON.parse(first.text).choices);
    // The three providers were each tried once before the cache answered.
    expect(h.calls().slice(1).map((c) => `${c.model} ${c.status}`)).toEqual(['gpt-4-turbo-preview 500', 'claude-3-opus 500', 'gemini-pro 500']);
  });

  it('a streaming request gets the cached answer replayed as a stream', async () => {
    h = await degradedHarness();
    const first = await chat(h);
    allDown(h);
    const r = await chat(h, { stream: true });
    expect([r.status, r.headers.get('content-type'), r.headers.get('x-cache')]).toEqual([200, 'text/event-stream; charset=utf-8', 'STALE']);
    const content = JSON.parse(first.text).choices[0].message.content as string;
    expect(r.text).toContain(JSON.stringify(content));
    expect(r.text.trimEnd().endsWith('data: [DONE]')).toBe(true);
  });

  it('never across tenants: another key gets the error, the writer\'s key the cached answer', async () => {
    h = await degradedHarness({ auth: { keys: ['tenant-a', 'tenant-b'] } });
    expect((await chat(h, {}, { ...CACHED, authorization: 'Bearer tenant-a' })).status).toBe(200);
    allDown(h);
    const other = await chat(h, {}, { ...CACHED, authorization: 'Bearer tenant-b' });
    expect([other.status, other.headers.get('x-cache')]).toEqual([502, null]);
    const own = await chat(h, {}, { ...CACHED, authorization: 'Bearer tenant-a' });
    expect([own.status, own.headers.get('x-cache')]).toEqual([200, 'STALE']);
  });

  it('X-Cache-Bypass: true skips it: the error as it is', async () => {
    h = await degradedHarness();
    await chat(h);
    allDown(h);
    const r = await chat(h, {}, { ...CACHED, 'X-Cache-Bypass': 'true' });
    expect([r.status, r.headers.get('x-cache')]).toEqual([502, null]);
  });

  it('a request whose policy uses no cache gets no cached answer', async () => {
    h = await degradedHarness();
    await chat(h, {}, {});
    allDown(h);
    expect((await chat(h, {}, {})).status).toBe(502);
  });

  it('never holds an error or a truncated stream', async () => {
    h = await degradedHarness();
    allDown(h);
    expect((await chat(h)).status).toBe(502);
    h.sim.setModel('gpt-4-turbo-preview', { faults: [{ type: 'cut', after_tokens: 2 }] });
    const cut = await chat(h, { stream: true }, { ...CACHED, 'x-failover-enabled': 'false' });
    expect(cut.status).toBe(200);
    expect(cut.text).not.toContain('[DONE]');
    allDown(h);
    expect((await chat(h)).status).toBe(502);
  });

  it('a whole stream is stored, and answers the non-streaming request later', async () => {
    h = await degradedHarness();
    const s = await chat(h, { stream: true });
    expect(s.text.trimEnd().endsWith('data: [DONE]')).toBe(true);
    allDown(h);
    const r = await chat(h);
    expect([r.status, r.headers.get('x-cache')]).toEqual([200, 'STALE']);
    expect(JSON.parse(r.text).choices[0].finish_reason).toBe('stop');
  });

  it('survives a restart: the cache is saved to response_cache.file at shutdown and loaded at start-up', async () => {
    dir = mkdtempSync(join(tmpdir(), 'parrot-cache-'));
    const file = join(dir, 'cache.json');
    h = await degradedHarness({ response_cache: { file } });
    const first = await chat(h);
    await h.close();
    h = undefined;
    h2 = await degradedHarness({ response_cache: { file } });
    allDown(h2);
    const r = await chat(h2);
    expect([r.status, r.headers.get('x-cache')]).toEqual([200, 'STALE']);
    expect(JSON.parse(r.text).choices).toEqual(JSON.parse(first.text).choices);
  });
});

describe('ResponseCache', () => {
  const answer = (content: string, at = 0): CachedAnswer => ({
    completion: { id: 'c', object: 'chat.completion', created: 0, model: 'm', choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: 'stop' }] } as ChatCompletion,
    provider: 'openai',
    model: 'm',
    qualityReduced: false,
    at,
  });
  const size = JSON.stringify(answer('x'.repeat(100)).completion).length;

  it('is bounded by bytes: the least recently used answers go first', () => {
    const c = new ResponseCache({ maxEntries: 100, maxBytes: size * 2 });
    c.set('a', answer('x'.repeat(100)));
    c.set('b', answer('y'.repeat(100)));
    c.get('a');
    c.set('c', answer('z'.repeat(100)));
    expect([c.get('a') !== undefined, c.get('b') !== undefined, c.get('c') !== undefined, c.bytes]).toEqual([true, false, true, size * 2]);
  });

  it('is bounded by entries', () => {
    const c = new ResponseCache({ maxEntries: 2 });
    for (const k of ['a', 'b', 'c']) c.set(k, answer(k));
    expect([c.size, c.get('a')]).toEqual([2, undefined]);
  });

  it('keys differ by tenant and ignore stream and field order', () => {
    const req = { model: 'm', messages: [{ role: 'user' as const, content: 'hi' }], temperature: 0 };
    const same = { temperature: 0, stream: true, messages: [{ content: 'hi', role: 'user' as const }], model: 'm' };
    expect(cacheKey(req, 'k1')).toBe(cacheKey(same, 'k1'));
    expect(cacheKey(req, 'k1')).not.toBe(cacheKey(req, 'k2'));
  });
});
