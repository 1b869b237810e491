import { describe, expect, it } from 'vitest';
import { addedLatency, bytesPerInFlight, checkTargets, meanInFlight, renderMarkdown, renderTargets, type LoadCell } from './load-report.ts';
import type { OpenLoopResult } from './open-loop.ts';

const MB = 2 ** 20;

function result(sent: number, ok: number, p50: number | null, p99: number | null, p999: number | null, stream = false): OpenLoopResult {
  const lat = { p50, p99, p999 };
  return {
    rate: 0,
    stream,
    sent,
    ok,
    failed: sent - ok,
    failures: sent === ok ? {} : { timeout: sent - ok },
    firstFailure: sent === ok ? null : 'timeout: x',
    latency: lat,
    answered: { count: ok, mean: p50 ?? 0, p50: p50 ?? 0, p90: p99 ?? 0, p99: p99 ?? 0, p999: p999 ?? 0, max: p999 ?? 0 },
    ttfb: stream ? lat : null,
    sendLag: { count: sent, mean: 0, p50: 0, p90: 0, p99: 0.5, p999: 1, max: 1 },
    totalSent: sent,
    loopDelay: { p50: 10, p99: 11, max: 12 },
    cpuUsPerRequest: 40,
    cpuUsPerRequestWholeRun: 45,
    peakConnections: 100,
    elapsedMs: 1000,
  };
}

function cell(system: LoadCell['system'], r: OpenLoopResult | null, over: Partial<LoadCell> = {}): LoadCell {
  return {
    upstreamLatencyMs: 500,
    mode: r?.stream ? 'stream' : 'json',
    rate: 2000,
    system,
    status: r ? 'measured' : 'not installed: pip install failed',
    result: r,
    crashed: null,
    cpuUsPerRequest: r ? 100 : null,
    upstreamCpuUsPerRequest: null,
    idleRssBytes: r ? 80 * MB : null,
    peakRssBytes: r ? 180 * MB : null,
    processes: 1,
    eventLoopLag: null,
    ...over,
  };
}

describe('addedLatency', () => {
  it('is the system percentile minus direct, null where either falls on a failure', () => {
    const direct = cell('direct', result(1000, 1000, 500, 510, 520));
    expect(addedLatency(cell('parrot', result(1000, 1000, 503, 540, 600)), direct)).toEqual({ p50: 3, p99: 30, p999: 80 });
    expect(addedLatency(cell('litellm', result(1000, 995, 900, null, null)), direct)).toEqual({ p50: 400, p99: null, p999: null });
    expect(addedLatency(cell('portkey', null), direct)).toBeNull();
  });
});

describe('bytesPerInFlight', () => {
  it('divides the memory over idle by rate x mean answer time (Little), only for a cell without failures', () => {
    // 2,000 req/s x 0.5 s mean = 1,000 in flight; 100 MB over idle.
    expect(meanInFlight(cell('parrot', result(1000, 1000, 500, 600, 700)))).toBe(1000);
    expect(bytesPerInFlight(cell('parrot', result(1000, 1000, 500, 600, 700)))).toBe((100 * MB) / 1000);
    // A system that queues holds more: 2 s mean at the same rate is 4,000 in flight.
    expect(bytesPerInFlight(cell('parrot', result(1000, 1000, 2000, 3000, 3000)))).toBe((100 * MB) / 4000);
    expect(bytesPerInFlight(cell('parrot', result(1000, 999, 500, 600, 700)))).toBeNull();
  });
});

describe('checkTargets', () => {
  const cells = [
    cell('direct', result(1000, 1000, 500, 510, 520)),
    cell('parrot', result(1000, 1000, 503, 540, 600)),
    cell('passthrough', result(1000, 1000, 501, 515, 530)),
    cell('portkey', result(1000, 990, 505, null, null), { peakRssBytes: 150 * MB }),
    cell('litellm', null),
    cell('direct', result(1000, 1000, 500, 510, 520, true)),
    cell('parrot', result(1000, 1000, 502, 520, 540, true)),
  ];

  it('checks success, added p99 against the pass-through and each peer at the target cells; says what was not run', () => {
    // parrot's added p99 is 30 ms to the pass-through's 5; it uses more memory than portkey, which failed 1 %;
    // 100 MB over idle for 1,004 streams in flight (502 ms mean) extrapolates to 1,076 MB at 10,000.
    expect(renderTargets(checkTargets(cells))).toEqual([
      '[PASS] parrot 100 % success at 2000 req/s, 500 ms upstream, non-streaming: 100.00 %',
      '[PASS] parrot added p99 within 50 ms of the pass-through\'s at 2000 req/s, 500 ms upstream, non-streaming: parrot +30.0 ms, pass-through +5.0 ms',
      '[FAIL] parrot ahead of portkey at 2000 req/s, 500 ms upstream, non-streaming (success, added p99, peak RSS): success 100.00 vs 99.00 %, added p99 +30.0 vs failed ms, peak RSS 180 vs 150 MB',
      '[NOT RUN] parrot ahead of litellm at 2000 req/s, 500 ms upstream, non-streaming: not installed: pip install failed',
      '[PASS] parrot 100 % success at 2000 req/s, 500 ms upstream, streaming: 100.00 %',
      '[NOT RUN] parrot added p99 within 50 ms of the pass-through\'s at 2000 req/s, 500 ms upstream, streaming: pass-through or direct not measured',
      '[NOT RUN] parrot ahead of portkey at 2000 req/s, 500 ms upstream, streaming: not run',
      '[NOT RUN] parrot ahead of litellm at 2000 req/s, 500 ms upstream, streaming: not run',
      '[NOT RUN] parrot 100 % success at 4000 req/s, 2000 ms upstream, non-streaming: not run',
      '[NOT RUN] parrot 100 % success at 4000 req/s, 2000 ms upstream, streaming: not run',
      '[FAIL] 10,000 streams in flight in under 1 GB RSS (extrapolated): 102.0 KB per stream in flight at 1004 in flight (2000 req/s x 502 ms mean, 500 ms upstream); idle 80 MB + 10,000 x that = 1076 MB',
    ]);
  });

  it('compares parrot with a baseline checkout on success, added p99 and peak RSS (and shows CPU), never as a peer', () => {
    const withBaseline = [
      cell('direct', result(1000, 1000, 500, 510, 520)),
      cell('parrot', result(1000, 1000, 503, 540, 600)),
      cell('baseline', result(1000, 1000, 503, 560, 600), { cpuUsPerRequest: 90, peakRssBytes: 200 * MB }),
      cell('direct', result(1000, 1000, 500, 510, 520, true)),
      cell('parrot', result(1000, 1000, 502, 540, 560, true)),
      cell('baseline', result(1000, 1000, 502, 530, 560, true)),
    ];
    const lines = renderTargets(checkTargets(withBaseline)).filter((l) => l.includes('baseline'));
    expect(lines).toEqual([
      '[PASS] parrot no costlier than the baseline at 2000 req/s, 500 ms upstream, non-streaming (success, added p99, peak RSS): success 100.00 vs 100.00 %, added p99 +30.0 vs +50.0 ms, peak RSS 180 vs 200 MB, CPU 100 vs 90 µs/request',
      '[FAIL] parrot no costlier than the baseline at 2000 req/s, 500 ms upstream, streaming (success, added p99, peak RSS): success 100.00 vs 100.00 %, added p99 +30.0 vs +20.0 ms, peak RSS 180 vs 180 MB, CPU 100 vs 100 µs/request',
    ]);
  });
});

describe('renderMarkdown', () => {
  it('renders one table per upstream latency and mode, a system that could not run as its reason', () => {
    const md = renderMarkdown([cell('direct', result(1000, 1000, 500, 510, 520)), cell('parrot', result(1000, 1000, 503, 540, 600)), cell('litellm', null)]);
    expect(md).toEqual([
      'Upstream 500 ms, non-streaming (full response):',
      '',
      '| req/s | system | success | p50 ms | p99 ms | p99.9 ms | added p50 / p99 / p99.9 ms | peak RSS MB | CPU µs/req | loop lag p99 ms | failures |',
      '| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |',
      '| 2,000 | direct | 100.00 % | 500.0 | 510.0 | 520.0 | - | - | 100 | - |  |',
      '| 2,000 | parrot | 100.00 % | 503.0 | 540.0 | 600.0 | +3.0 / +30.0 / +80.0 | 180 | 100 | - |  |',
      '| 2,000 | litellm | not installed: pip install failed |  |  |  |  |  |  |  |  |',
      '',
    ]);
  });
});
