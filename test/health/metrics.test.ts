import { afterEach, describe, expect, it } from 'vitest';
import { SimulatedClock } from 'xstate';
import type { RunningGateway } from '../../src/gateway.ts';
import { sdkClient, startTestGateway } from '../helpers/gateway.ts';

/** GET /metrics in Prometheus' text format, and the clock the transition stream stamps with. */

const KEY = 'your-api-key';
let gw: RunningGateway | undefined;
afterEach(async () => {
  await gw?.close();
  gw = undefined;
});

const FAILOVER = { headers: { 'X-Failover-Enabled': 'true', 'X-Failover-Providers': 'openai,anthropic', 'X-Max-Retries': '0' } };

describe('GET /metrics', () => {
  it('counts requests, attempts by result and kind, failovers, latency per target, breaker states; needs the API key', async () => {
    gw = await startTestGateway({ auth: { keys: [KEY] } });
    gw.simulator!.setModel('gpt-4-turbo-preview', { faults: [{ type: 'error', kind: 'server_error', first_n: 1 }] });
    const client = sdkClient(gw, KEY);
    for (let i = 0; i < 2; i++) await client.chat.completions.create({ model: 'gpt-4-turbo-preview', messages: [{ role: 'user', content: 'x' }] }, FAILOVER);
    expect((await fetch(`${gw.url}/metrics`)).status).toBe(401);
    const res = await fetch(`${gw.url}/metrics`, { headers: { authorization: `Bearer ${KEY}` } });
    expect(res.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
    const lines = (await res.text()).split('\n');
    const has = (l: string) => expect(lines).toContain(l);
    has('# TYPE parrot_requests_total counter');
    has('parrot_requests_total{model="gpt-4-turbo-preview",outcome="ok"} 2');
    has('parrot_attempts_total{provider="openai",model="gpt-4-turbo-preview",result="ok"} 1');
    has('parrot_attempts_total{provider="openai",model="gpt-4-turbo-preview",result="failed"} 1');
    has('parrot_attempts_total{provider="anthropic",model="claude-3-opus",result="ok"} 1');
    has('parrot_attempt_failures_total{provider="openai",model="gpt-4-turbo-preview",kind="server_error"} 1');
    has('parrot_failovers_total 1');
    has('parrot_retries_total 0');
    has('parrot_hedges_total{provider="openai",model="gpt-4-turbo-preview"} 0');
    has('parrot_upstream_latency_seconds_count{provider="openai",model="gpt-4-turbo-preview"} 2');
    has('parrot_upstream_latency_seconds_bucket{provider="anthropic",model="claude-3-opus",le="+Inf"} 1');
    expect(lines.filter((l) => l.startsWith('parrot_breaker_state{provider="openai",model="gpt-4-turbo-preview"') && l.endsWith(' 1'))).toEqual([
      expect.stringContaining('state="closed"'),
    ]);
    has('parrot_queue_depth{provider="openai",model="gpt-4-turbo-preview"} 0');
    has('parrot_incidents_open 0');
    has('parrot_cache_hits_total 0');
    // Every sample belongs to the family declared last before it.
    let family = '';
    let samples = 0;
    for (const l of lines) {
      if (l.startsWith('# TYPE ')) family = l.split(' ')[2]!;
      else if (l !== '' && !l.startsWith('#')) {
        expect(l.startsWith(family)).toBe(true);
        // A sample before any TYPE line started with the empty family name and passed the line above.
        expect([family, `${family}_bucket`, `${family}_sum`, `${family}_count`], l).toContain(l.split(/[{ ]/)[0]);
        samples++;
      }
    }
    expect(samples).toBeGreaterThan(20);
  });
});

describe('the transition stream', () => {
  it("stamps state changes with the gateway's clock, not the wall clock", async () => {
    const clock = new SimulatedClock();
    clock.set(Date.UTC(2025, 8, 14, 3, 0));
    const log: string[] = [];
    gw = await startTestGateway({ resilience: { breaker: { error_threshold: 1, timeout: 3600 } } }, { clock, log: (l) => log.push(l) });
    gw.simulator!.setModel('claude-3-opus', { faults: [{ type: 'error', kind: 'server_error' }] });
    await sdkClient(gw).chat.completions.create({ model: 'claude-3-opus', messages: [{ role: 'user', content: 'x' }] }, { headers: { 'X-Failover-Enabled': 'false', 'X-Max-Retries': '0' } }).catch(() => undefined);
    const opened = log.map((l) => JSON.parse(l)).find((c) => c.machine === 'breaker' && c.to === 'open');
    expect(opened.at).toBe('2025-09-14T03:00:00.000Z');
  });
});
