import { afterEach, describe, expect, it } from 'vitest';
import { SimulatedClock } from 'xstate';
import { retryDelay, type RetrySchedule } from '../../src/notify/backoff.ts';
import { MemoryDeliveryLog } from '../../src/notify/memory-delivery-log.ts';
import { Notifier } from '../../src/notify/notifier.ts';
import { verifyWebhook } from '../../src/notify/signature.ts';
import { eventOf, startReceiver, subscriptionOf, testConfig, type Receiver } from './helpers.ts';

const T0 = 1_741_064_768_000;

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanup.length > 0) await cleanup.pop()!();
});

/** A receiver answering 503 to its first `failures` requests, then 200; it records the simulated time of each. */
async function flaky(clock: SimulatedClock, failures: number): Promise<Receiver> {
  const r = await startReceiver(
    (_req, res, n) => {
      res.statusCode = n <= failures ? 503 : 200;
      res.end();
    },
    { now: () => clock.now() },
  );
  cleanup.push(() => r.close());
  return r;
}

/** Moves the clock by `ms` and waits for any try that starts to finish. */
async function advance(clock: SimulatedClock, n: Notifier, ms: number): Promise<void> {
  clock.increment(ms);
  await n.idle();
}

describe('retry schedule', () => {
  it('retries a failing receiver at exactly the scheduled times, then stops at the first success', async () => {
    const clock = new SimulatedClock();
    clock.set(T0);
    const hook = await flaky(clock, 3);
    const log = new MemoryDeliveryLog();
    const n = new Notifier({
      config: testConfig({ retry: { max_attempts: 6, initial_delay_ms: 1000, multiplier: 2, max_delay_ms: 3000, jitter: 0.2 } }),
      log,
      clock,
      random: () => 0.5, // the middle of the jitter band: the nominal waits
    });
    cleanup.push(() => n.close());
    const sub = subscriptionOf({ channels: ['webhook'], webhook_url: `${hook.url}/hook` });

    n.notify(eventOf(), [sub]);
    await n.idle();
    expect(hook.requests.map((r) => r.at)).toEqual([T0]);

    // Waits: 1000, 2000, then 4000 capped at 3000. One millisecond early, nothing happens.
    for (const [wait, count] of [
      [1000, 2],
      [2000, 3],
      [3000, 4],
    ] as const) {
      await advance(clock, n, wait - 1);
      expect(hook.requests).toHaveLength(count - 1);
      await advance(clock, n, 1);
      expect(hook.requests).toHaveLength(count);
    }
    await advance(clock, n, 60_000);

    expect(hook.requests.map((r) => r.at - T0)).toEqual([0, 1000, 3000, 6000]);
    // One message id; each try signed anew with its own timestamp.
    expect(new Set(hook.requests.map((r) => r.headers['webhook-id']))).toEqual(new Set(['msg_2mQ8dLq0aT']));
    expect(hook.requests.map((r) => r.headers['webhook-timestamp'])).toEqual([T0, T0 + 1000, T0 + 3000, T0 + 6000].map((t) => String(t / 1000)));
    for (const r of hook.requests) expect(verifyWebhook(sub.webhook_secret!, r.headers, r.body, { now: () => r.at }).ok).toBe(true);

    expect(log.entries().map((e) => [e.attempt, e.status, e.http_status, e.error, e.started_at - T0, e.next_attempt_at && e.next_attempt_at - T0])).toEqual([
      [1, 'failed', 503, 'receiver answered 503', 0, 1000],
      [2, 'failed', 503, 'receiver answered 503', 1000, 3000],
      [3, 'failed', 503, 'receiver answered 503', 3000, 6000],
      [4, 'delivered', 200, null, 6000, null],
    ]);
    expect(new Set(log.entries().map((e) => e.delivery_id)).size).toBe(1);
    expect(n.pending).toBe(0);
  });

  it('gives up after max_attempts', async () => {
    const clock = new SimulatedClock();
    clock.set(T0);
    const hook = await flaky(clock, Infinity);
    const log = new MemoryDeliveryLog();
    const n = new Notifier({ config: testConfig({ retry: { max_attempts: 3, initial_delay_ms: 500, multiplier: 3, jitter: 0 } }), log, clock });
    cleanup.push(() => n.close());
    n.notify(eventOf(), [subscriptionOf({ channels: ['webhook'], webhook_url: hook.url })]);
    await n.idle();
    await advance(clock, n, 500);
    await advance(clock, n, 1500);
    await advance(clock, n, 3_600_000);

    expect(hook.requests.map((r) => r.at - T0)).toEqual([0, 500, 2000]);
    expect(log.entries().map((e) => [e.attempt, e.status, e.next_attempt_at && e.next_attempt_at - T0])).toEqual([
      [1, 'failed', 500],
      [2, 'failed', 2000],
      [3, 'failed', null],
    ]);
    expect(n.pending).toBe(0);
  });

  it('retries a receiver that does not answer once the try times out on the clock', async () => {
    const clock = new SimulatedClock();
    clock.set(T0);
    const hook = await startReceiver((_r, res, n) => {
      if (n > 1) res.end('ok'); // the first request is left hanging
    });
    cleanup.push(() => hook.close());
    const log = new MemoryDeliveryLog();
    const n = new Notifier({ config: testConfig({ webhook: { timeout_ms: 5000 }, retry: { initial_delay_ms: 1000, jitter: 0 } }), log, clock });
    cleanup.push(() => n.close());

    n.notify(eventOf(), [subscriptionOf({ channels: ['webhook'], webhook_url: hook.url })]);
    await hook.nth(1);
    expect(n.pending).toBe(1);
    expect(log.entries()).toEqual([]);
    await advance(clock, n, 5000);
    await advance(clock, n, 1000);

    expect(hook.requests).toHaveLength(2);
    expect(log.entries().map((e) => [e.attempt, e.status, e.error, e.started_at - T0, e.duration_ms, e.next_attempt_at && e.next_attempt_at - T0])).toEqual([
      [1, 'failed', 'timed out after 5000 ms', 0, 5000, 6000],
      [2, 'delivered', null, 6000, 0, null],
    ]);
  });
});

describe('retryDelay', () => {
  const schedule: RetrySchedule = { max_attempts: 8, initial_delay_ms: 5000, multiplier: 4, max_delay_ms: 3_600_000, jitter: 0.2 };

  it('grows by the multiplier up to the cap, and ends at max_attempts', () => {
    expect([1, 2, 3, 4, 5, 6, 7, 8].map((a) => retryDelay(a, schedule, () => 0.5))).toEqual([
      5000, 20_000, 80_000, 320_000, 1_280_000, 3_600_000, 3_600_000, undefined,
    ]);
  });

  it('stays within ±jitter of the nominal wait', () => {
    expect(retryDelay(2, schedule, () => 0)).toBe(16_000);
    expect(retryDelay(2, schedule, () => 0.999_999)).toBe(24_000);
    expect(retryDelay(6, schedule, () => 0)).toBe(2_880_000);
    expect(retryDelay(1, { ...schedule, jitter: 0 }, () => 0.9)).toBe(5000);
  });
});
