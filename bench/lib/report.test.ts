import { describe, expect, it } from 'vitest';
import type { ThroughputRow } from '../throughput.ts';
import { checkTargets, derive, renderTargets } from './report.ts';
import type { LatencySummary } from './stats.ts';

const lat = (p50: number, p99: number): LatencySummary => ({ count: 100, mean: p50, p50, p90: p99, p99, p999: p99, max: p99 });

function row(target: ThroughputRow['target'], mode: ThroughputRow['mode'], connections: number, rps: number, p50: number, p99: number, cpu: number): ThroughputRow {
  return {
    target,
    mode,
    connections,
    stream: mode === 'stream',
    completed: 100,
    errors: 0,
    firstError: null,
    windowMs: 1000,
    rps,
    latency: lat(p50, p99),
    ttfb: mode === 'stream' ? lat(p50 / 2, p99 / 2) : null,
    loadCpuUsPerRequest: 10,
    serverCpuUsPerRequest: cpu,
    upstreamCpuUsPerRequest: target === 'direct' ? null : 30,
  };
}

const rows: ThroughputRow[] = [
  row('direct', 'json', 1, 5000, 0.2, 0.5, 40),
  row('passthrough', 'json', 1, 2000, 0.4, 1.0, 100),
  row('gateway', 'json', 1, 1500, 0.6, 1.5, 200),
  row('direct', 'json', 50, 20000, 2, 5, 30),
  row('passthrough', 'json', 50, 8000, 5, 10, 100),
  row('gateway', 'json', 50, 6000, 7, 14, 125),
  row('direct', 'stream', 1, 5000, 0.4, 1.0, 40),
  row('gateway', 'stream', 1, 1000, 1.0, 3.0, 300),
];

describe('derive', () => {
  it('subtracts direct p50/p99 at one connection, using TTFB for streams', () => {
    const d = derive({ rows, profiles: [] });
    expect(d.addedLatencyMs.json?.gateway?.p50).toBeCloseTo(0.4, 10);
    expect(d.addedLatencyMs.json?.gateway?.p99).toBeCloseTo(1.0, 10);
    expect(d.addedLatencyMs.json?.passthrough?.p50).toBeCloseTo(0.2, 10);
    // Stream rows compare TTFB (half the full-response numbers in these fixtures).
    expect(d.addedLatencyMs.stream?.gateway?.p50).toBeCloseTo(0.3, 10);
    expect(d.addedLatencyMs.stream?.passthrough).toBeUndefined();
  });

  it('divides gateway by pass-through at the largest connection count, by req/s and by CPU per request', () => {
    const d = derive({ rows, profiles: [] });
    expect(d.throughputRatio).toEqual({ json: 0.75 });
    expect(d.cpuRatio).toEqual({ json: 0.8 });
  });
});

describe('checkTargets', () => {
  it('holds no closed-loop throughput or 1-connection latency target (retired): those are figures', () => {
    expect(checkTargets(derive({ rows, profiles: [] }), null, 50)).toEqual([]);
  });

  it('with a baseline checkout in the same run, checks the CPU per request against it, per mode', () => {
    const withBase = [...rows, row('baseline', 'json', 50, 6600, 6, 12, 120), row('gateway', 'stream', 50, 3000, 8, 16, 330), row('baseline', 'stream', 50, 3300, 8, 16, 300)];
    const d = derive({ rows: withBase, profiles: [] });
    expect(d.baseline?.json?.cpu).toBeCloseTo(125 / 120, 10);
    expect(d.baseline?.stream?.rps).toBeCloseTo(3000 / 3300, 10);
    const checks = checkTargets(d, null, 50);
    expect(checks.map((c) => [c.name, c.pass])).toEqual([
      ["gateway CPU per request / the baseline's at 50 connections (non-streaming)", false],
      ["gateway CPU per request / the baseline's at 50 connections (streaming)", false],
    ]);
    expect(renderTargets(checks)[1]).toBe("[FAIL] gateway CPU per request / the baseline's at 50 connections (streaming): 110.00 % (target <= 100 %)");
    const cheaper = withBase.map((r) => (r.target === 'baseline' ? { ...r, serverCpuUsPerRequest: 400 } : r));
    expect(checkTargets(derive({ rows: cheaper, profiles: [] }), null, 50).every((c) => c.pass)).toBe(true);
  });

  it('reports the memory check as measured by the memory run', () => {
    const memory = { growthBytes: 6 * 1024 * 1024, pass: false } as Parameters<typeof checkTargets>[1];
    expect(checkTargets(null, memory, 50)).toEqual([
      { name: 'gateway heapUsed growth 10k -> 100k requests', limit: '< 5 MB', value: 6, unit: 'MB', pass: false },
    ]);
  });
});
