import { describe, expect, it } from 'vitest';
import { barChart, checkTargets, metricsOf, percentile, row, timelineChart } from './report.ts';
import type { RequestRecord, ScenarioRun } from './run-scenario.ts';
import { SCENARIOS } from './scenarios.ts';

const rec = (over: Partial<RequestRecord>): RequestRecord => ({ at: 0, ms: 10, ok: true, truncated: false, stream: false, model: 'openai', attempts: 1, failover: false, cached: false, ...over });
const scenario = (name: string) => SCENARIOS.find((s) => s.name === name)!;
const change = (at: number, actor: string, from: string, to: string) => ({ at, change: { at: '', machine: 'breaker', actor, from, to, event: 'x' } });

describe('chaos report arithmetic', () => {
  it('percentiles are nearest rank; success, truncation, failover latency and amplification come from the records', () => {
    expect([percentile([1, 2, 3, 4], 50), percentile([1, 2, 3, 4], 99), percentile([], 50)]).toEqual([2, 4, null]);
    const run: ScenarioRun = {
      scenario: scenario('hard-down'),
      records: [rec({ ms: 5 }), rec({ ms: 7, failover: true, attempts: 2 }), rec({ ms: 9, truncated: true }), rec({ ok: false, error: 'http_503 circuit_open', attempts: 0 })],
      changes: [change(100, 'breaker:openai/gpt-4-turbo-preview#default', 'closed', 'open'), change(400, 'breaker:openai/gpt-4-turbo-preview#default', 'open', 'half_open'), change(450, 'breaker:openai/gpt-4-turbo-preview#default', 'half_open', 'closed')],
      faultAt: 40,
      healAt: 300,
      durationMs: 1_000,
      // One call within the slack after the opening, one inside the open interval, one at its edge, one after it.
      upstreamCalls: [{ at: 110, provider: 'openai', model: 'm' }, { at: 130, provider: 'openai', model: 'm' }, { at: 400, provider: 'openai', model: 'm' }, { at: 420, provider: 'openai', model: 'm' }],
    };
    const m = metricsOf(run);
    expect({ successPct: m.successPct, truncated: m.truncated, p50: m.p50, p99: m.p99, failoverP50: m.failoverP50, attempts: m.attemptsPerRequest, sim: m.simCallsPerRequest, amplification: m.amplification }).toEqual({
      successPct: 75,
      truncated: 1,
      p50: 7,
      p99: 9,
      failoverP50: 7,
      attempts: 1,
      sim: 1,
      amplification: 1,
    });
    expect({ detect: m.detectMs, recover: m.recoverMs, open: m.openBreakerCalls, failures: m.failures }).toEqual({ detect: 60, recover: 150, open: 1, failures: { 'http_503 circuit_open': 1 } });
    expect(row(m)).toEqual(['hard-down', '4', '75.00 %', '1', '7 ms', '9 ms', '7 ms', '1.00x', '60 ms', '150 ms']);
    const checks = checkTargets([{ metrics: m, targets: ['success_99_95', 'no_truncated', 'amplification_1_2', 'open_breaker_0_attempts'] }]);
    expect(checks.map((c) => [c.value, c.pass])).toEqual([
      ['75.000 % of 4', false],
      ['1', false],
      ['1.000x', true],
      ['1', false],
    ]);
  });

  it('a breaker still open when the run ends reads "after end"; the refused primary is compared with the direct fallback at p50', () => {
    const m = metricsOf({
      scenario: scenario('refused-primary'),
      records: [rec({ model: 'refused', ms: 14, failover: true, attempts: 2 }), rec({ model: 'anthropic', ms: 10 }), rec({ model: 'refused', ms: 16 }), rec({ model: 'anthropic', ms: 12 })],
      changes: [change(5, 'breaker:refused/refused-gpt#default', 'closed', 'open')],
      faultAt: 0,
      healAt: 50,
      durationMs: 100,
      upstreamCalls: [],
    });
    expect({ added: m.refusedAddedMs, detect: m.detectMs, recover: m.recoverMs, last: row(m).at(-1) }).toEqual({ added: 4, detect: 5, recover: null, last: 'after end' });
  });

  it('charts are well-formed SVG with one bar per value and escaped labels', () => {
    const svg = barChart('A <b> & c', ['x', 'y'], [{ name: 's', color: '#000', values: [1, null] }], 'ms');
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg).toContain('A &lt;b&gt; &amp; c');
    expect(svg.match(/height="12"/g)?.length).toBe(1);
    expect(svg).toContain('n/a');
    expect(svg.trimEnd().endsWith('</svg>')).toBe(true);
    const m = metricsOf({ scenario: scenario('baseline'), records: [rec({ at: 100 }), rec({ at: 1_500, ok: false })], changes: [], faultAt: 0, durationMs: 2_000, upstreamCalls: [] });
    expect(m.timeline.okPct).toEqual([100, 0]);
    expect(timelineChart([m])).toContain('<polyline');
  });
});
