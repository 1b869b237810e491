import { afterEach, describe, expect, it } from 'vitest';
import { until } from '../helpers/gateway.ts';
import { degradedHarness, fail, untilCalls, type DegradedHarness } from './harness.ts';

/**
 * Each trigger of the degraded-mode actor provoked by simulator faults and released by
 * recovery, read from the event stream (the actor's state changes) on a simulated clock:
 * one evaluation per clock second, over a three-second window.
 */

let h: DegradedHarness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

/** One chat request to gpt-4-turbo-preview alone (no failover), answered or not. */
async function post(x: DegradedHarness, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${x.gw.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-failover-enabled': 'false', ...headers },
    body: JSON.stringify({ model: 'gpt-4-turbo-preview', messages: [{ role: 'user', content: 'hi' }] }),
  });
}

describe('the degraded-mode actor', () => {
  it('starts normal, and an evaluation of quiet targets keeps it normal (no transition on the stream)', async () => {
    h = await degradedHarness();
    h.evaluate(3);
    expect(h.state()).toEqual({ value: 'normal', reasons: [] });
    expect(h.changes).toEqual([]);
  });

  it('rate_limiting: a 429 storm (4 of 4 calls in the window) enters degraded mode; the window passing without 429s leaves it', async () => {
    h = await degradedHarness();
    h.sim.setModel('gpt-4-turbo-preview', fail('rate_limit'));
    for (let i = 0; i < 3; i++) expect((await post(h)).status).toBe(429);
    h.evaluate();
    // 3 calls: under min_requests (4), nothing yet.
    expect(h.state().value).toBe('normal');
    expect((await post(h)).status).toBe(429);
    h.evaluate();
    expect(h.state()).toEqual({ value: 'degraded', reasons: ['rate_limiting'] });
    expect(h.gw.runtime.degradedState()!.context.details).toEqual({ rate_limiting: 'openai/gpt-4-turbo-preview: 4 of 4 calls rate limited (429)' });
    h.sim.setModel('gpt-4-turbo-preview', {});
    h.evaluate();
    // Three evaluations make the window: all four 429s are still in it.
    expect(h.state().value).toBe('degraded');
    h.evaluate();
    // The first three aged out; the fourth alone is under min_requests.
    expect(h.state().value).toBe('normal');
    expect(h.changes).toEqual([
      { from: 'normal', to: 'degraded' },
      { from: 'degraded', to: 'normal' },
    ]);
  });

  it('rate_limiting: successes that bring the share of 429s under the threshold release it', async () => {
    h = await degradedHarness();
    h.sim.setModel('gpt-4-turbo-preview', fail('rate_limit'));
    for (let i = 0; i < 4; i++) await post(h);
    h.evaluate();
    expect(h.state().value).toBe('degraded');
    h.sim.setModel('gpt-4-turbo-preview', {});
    for (let i = 0; i < 5; i++) expect((await post(h)).status).toBe(200);
    h.evaluate();
    // 4 of 9 calls in the window: under 0.5.
    expect(h.state().value).toBe('normal');
    expect(h.changes).toEqual([
      { from: 'normal', to: 'degraded' },
      { from: 'degraded', to: 'normal' },
    ]);
  });

  it('high_latency: a p95 time to first token of 3000 ms (threshold 2000) over 3 calls enters it; the window passing leaves it', async () => {
    h = await degradedHarness();
    // The upstream holds each answer until the test has moved the gateway's clock by 3 s.
    h.sim.setModel('gpt-4-turbo-preview', { latency: { type: 'fixed', ms: 150 } });
    for (let i = 1; i <= 3; i++) {
      const res = post(h);
      await untilCalls(h, i);
      h.clock.increment(3_000);
      expect((await res).status).toBe(200);
    }
    expect(h.state().value).toBe('normal');
    h.evaluate();
    expect(h.state()).toEqual({ value: 'degraded', reasons: ['high_latency'] });
    expect(h.gw.runtime.degradedState()!.context.details.high_latency).toBe('openai/gpt-4-turbo-preview: p95 time to first token 3000 ms > 2000 ms');
    h.evaluate(3);
    expect(h.state().value).toBe('normal');
    expect(h.changes).toEqual([
      { from: 'normal', to: 'degraded' },
      { from: 'degraded', to: 'normal' },
    ]);
  });

  it('partial_outage: one provider of the chain down (its breaker open) enters it; the recovery probe closing the gap leaves it', async () => {
    h = await degradedHarness({ resilience: { breaker: { error_threshold: 2 }, breaker_probe_interval_ms: 5_000 } });
    h.sim.setModel('gpt-4-turbo-preview', fail('server_error'));
    for (let i = 0; i < 2; i++) expect((await post(h)).status).toBe(502);
    await until(() => !h!.gw.runtime.targets.byKey('openai/gpt-4-turbo-preview').routable);
    h.evaluate();
    expect(h.state()).toEqual({ value: 'degraded', reasons: ['partial_outage'] });
    expect(h.gw.runtime.degradedState()!.context.details.partial_outage).toBe('gpt-4-turbo-preview: openai/gpt-4-turbo-preview down, 2 of 3 up');
    // Recovery: the background probe (every 5 s of the gateway's clock) half-opens the breaker.
    h.sim.setModel('gpt-4-turbo-preview', {});
    h.evaluate(4);
    h.clock.increment(1_000);
    await until(() => h!.gw.runtime.targets.byKey('openai/gpt-4-turbo-preview').routable);
    h.evaluate();
    expect(h.state().value).toBe('normal');
    expect(h.changes).toEqual([
      { from: 'normal', to: 'degraded' },
      { from: 'degraded', to: 'normal' },
    ]);
  });

  it('two triggers at once: the reasons change within degraded (a context update, no second entry)', async () => {
    h = await degradedHarness({ degraded_mode: { window_ms: 20_000 }, resilience: { breaker: { error_threshold: 100 } } });
    h.sim.setModel('gpt-4-turbo-preview', fail('rate_limit'));
    for (let i = 0; i < 4; i++) await post(h);
    h.evaluate();
    h.sim.setModel('gpt-4-turbo-preview', { latency: { type: 'fixed', ms: 150 } });
    for (let i = 5; i <= 7; i++) {
      const res = post(h);
      await untilCalls(h, i);
      h.clock.increment(2_500);
      await res;
    }
    h.evaluate();
    expect(h.state()).toEqual({ value: 'degraded', reasons: ['high_latency', 'rate_limiting'] });
    expect(h.changes).toEqual([{ from: 'normal', to: 'degraded' }]);
  });
});

describe('degraded_mode in the config', () => {
  it('a bad degraded_mode.policy stops start-up naming the field, exactly as the header would', async () => {
    const { startTestGateway } = await import('../helpers/gateway.ts');
    await expect(
      startTestGateway({ degraded_mode: { policy: { triggers: ['high_latency'], strategies: [{ condition: 'high_latency', action: 'reduce_quality', config: { use_model: 'gpt-9' } }] } } }),
    ).rejects.toThrow('degraded_mode.policy: field "strategies[0].config.use_model": model "gpt-9" is not configured');
  });

  it('the config\'s policy applies to a request without the header: under rate limiting it is queued', async () => {
    h = await degradedHarness({
      degraded_mode: { policy: { triggers: ['rate_limiting'], strategies: [{ condition: 'rate_limiting', action: 'queue_and_batch', config: { notify_users: true } }] } },
    });
    h.sim.setModel('gpt-4-turbo-preview', fail('rate_limit'));
    for (let i = 0; i < 4; i++) await post(h);
    h.sim.setModel('gpt-4-turbo-preview', {});
    h.evaluate();
    const pending = post(h);
    await until(() => h!.gw.degraded.queued === 1);
    h.clock.increment(1_000);
    const r = await pending;
    expect([r.status, r.headers.get('x-degraded-mode'), r.headers.get('x-degradation-reason'), r.headers.get('x-queue-wait-ms')]).toEqual([200, 'active', 'rate_limiting', '1000']);
  });
});
