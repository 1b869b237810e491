import { describe, expect, it } from 'vitest';
import { latencySampler } from '../../src/simulator/behaviour.ts';
import { startSimulator } from '../../src/simulator/index.ts';
import { seededRng } from '../../src/simulator/rng.ts';
import { ANTHROPIC_HEADERS, anthropicBody, openaiBody, parseSse, post, readAll } from './helpers.ts';

function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

describe('latency samplers', () => {
  it('fixed returns its value; fixed 0 and no latency need no timer at all', () => {
    expect(latencySampler({ type: 'fixed', ms: 25 })!(seededRng(1))).toBe(25);
    expect(latencySampler({ type: 'fixed', ms: 0 })).toBeNull();
    expect(latencySampler(undefined)).toBeNull();
  });

  it('uniform stays within [min_ms, max_ms] and centres on the middle', () => {
    const sample = latencySampler({ type: 'uniform', min_ms: 10, max_ms: 30 })!;
    const rng = seededRng(3);
    const xs = Array.from({ length: 5000 }, () => sample(rng));
    expect(Math.min(...xs)).toBeGreaterThanOrEqual(10);
    expect(Math.max(...xs)).toBeLessThan(30);
    expect(xs.reduce((a, b) => a + b, 0) / xs.length).toBeCloseTo(20, 0);
  });

  it('heavy_tail is a lognormal whose p50 and p99 match the config', () => {
    const sample = latencySampler({ type: 'heavy_tail', p50_ms: 200, p99_ms: 2000 })!;
    const rng = seededRng(11);
    const xs = Array.from({ length: 40_000 }, () => sample(rng)).sort((a, b) => a - b);
    expect(quantile(xs, 0.5) / 200).toBeGreaterThan(0.95);
    expect(quantile(xs, 0.5) / 200).toBeLessThan(1.05);
    expect(quantile(xs, 0.99) / 2000).toBeGreaterThan(0.9);
    expect(quantile(xs, 0.99) / 2000).toBeLessThan(1.1);
  });

  it('heavy_tail max_ms caps every draw', () => {
    const sample = latencySampler({ type: 'heavy_tail', p50_ms: 200, p99_ms: 2000, max_ms: 500 })!;
    const rng = seededRng(11);
    const xs = Array.from({ length: 5000 }, () => sample(rng));
    expect(Math.max(...xs)).toBe(500);
  });
});

describe('latency and pacing over HTTP', () => {
  it('latency delays the response', async () => {
    const sim = await startSimulator({ models: { 'gpt-4o': { latency: { type: 'fixed', ms: 60 } } } });
    try {
      const t0 = performance.now();
      const res = await post(sim.url, '/v1/chat/completions', openaiBody());
      expect(res.status).toBe(200);
      expect(performance.now() - t0).toBeGreaterThanOrEqual(58);
    } finally {
      await sim.close();
    }
  });

  it('tokens_per_second paces the deltas: 11 tokens at 200/s take at least 50 ms', async () => {
    const sim = await startSimulator({ models: { 'claude-3-opus': { tokens_per_second: 200, completion_tokens: 11 } } });
    try {
      // Measured from the request: the server cannot send the last delta before its own start + 50 ms.
      const t0 = performance.now();
      const res = await post(sim.url, '/v1/messages', anthropicBody({ stream: true }), ANTHROPIC_HEADERS);
      const { text } = await readAll(res);
      const elapsed = performance.now() - t0;
      expect(parseSse(text).filter((e) => e.event === 'content_block_delta')).toHaveLength(11);
      expect(elapsed).toBeGreaterThanOrEqual(49);
      expect(elapsed).toBeLessThan(1000);
    } finally {
      await sim.close();
    }
  });
});
