import { afterEach, describe, expect, it } from 'vitest';
import { SimulatedClock } from 'xstate';
import { MemoryDeliveryLog } from '../../src/notify/memory-delivery-log.ts';
import { Notifier } from '../../src/notify/notifier.ts';
import type { DeliveryAttempt, NotifyClock } from '../../src/notify/types.ts';
import { eventOf, startReceiver, subscriptionOf, testConfig, type Receiver } from './helpers.ts';
import { startSmtp } from './smtp.ts';
import { startTwilioStandIn } from './twilio-stand-in.ts';

const SID = 'AC0123456789abcdef0123456789abcdef';
const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanup.length > 0) await cleanup.pop()!();
});

/** A SimulatedClock that knows which of its timers are still set. */
class CountingClock implements NotifyClock {
  readonly inner = new SimulatedClock();
  readonly active = new Set<unknown>();
  setTimeout(fn: () => void, ms: number): unknown {
    const id: number = this.inner.setTimeout(() => {
      this.active.delete(id);
      fn();
    }, ms);
    this.active.add(id);
    return id;
  }
  clearTimeout(id: unknown): void {
    this.active.delete(id);
    this.inner.clearTimeout(id as number);
  }
  now(): number {
    return this.inner.now();
  }
}

async function receiver(status: number | 'hang'): Promise<Receiver> {
  const r = await startReceiver((_req, res) => {
    if (status === 'hang') return;
    res.statusCode = status;
    res.end();
  });
  cleanup.push(() => r.close());
  return r;
}

const webhook = (r: Receiver) => subscriptionOf({ channels: ['webhook'], webhook_url: `${r.url}/hook` });
const summary = (e: DeliveryAttempt) => [e.channel, e.target, e.attempt, e.status, e.error];

describe('deliveries are independent', () => {
  it('a receiver that hangs and one that fails hold up neither the caller nor the other deliveries', async () => {
    const hung = await receiver('hang');
    const failing = await receiver(500);
    const ok = await receiver(204);
    const api = await startTwilioStandIn(SID, 'token');
    cleanup.push(() => api.close());
    const smtp = await startSmtp({ user: 'u', pass: 'p' });
    cleanup.push(() => smtp.close());
    const clock = new SimulatedClock();
    const log = new MemoryDeliveryLog();
    const n = new Notifier({
      config: testConfig({
        webhook: { timeout_ms: 10_000 },
        retry: { initial_delay_ms: 60_000, jitter: 0 },
        sms: { base_url: api.baseUrl, account_sid: SID, auth_token: 'token', from: '+15005550006' },
        email: { host: '127.0.0.1', port: smtp.port, starttls: 'never', username: 'u', password: 'p', from: 'alerts@parrot.test' },
      }),
      log,
      clock,
    });
    cleanup.push(() => n.close());

    const receipt = n.notify(eventOf(), [
      webhook(hung),
      webhook(failing),
      webhook(ok),
      subscriptionOf({ channels: ['sms', 'email'], phone_numbers: ['+14155550123'], emails: ['oncall@example.com'] }),
    ]);
    // notify() only queued: nothing has been sent or logged yet.
    expect(receipt).toEqual({ queued: 5, dropped: 0 });
    expect(log.entries()).toEqual([]);

    await log.untilAppended(4);
    await hung.nth(1);
    expect(log.entries().map(summary).sort()).toEqual(
      [
        ['email', 'oncall@example.com', 1, 'delivered', null],
        ['sms', '+14155550123', 1, 'delivered', null],
        ['webhook', `${failing.url}/hook`, 1, 'failed', 'receiver answered 500'],
        ['webhook', `${ok.url}/hook`, 1, 'delivered', null],
      ].sort(),
    );
    expect(n.pending).toBe(2); // the hung try, and the failed one waiting to retry

    clock.increment(10_000);
    await n.idle();
    expect(log.entries().slice(4).map(summary)).toEqual([['webhook', `${hung.url}/hook`, 1, 'failed', 'timed out after 10000 ms']]);
  });

  it('a channel whose slots are all taken delays only its own deliveries', async () => {
    const hung = await receiver('hang');
    const ok = await receiver(200);
    const api = await startTwilioStandIn(SID, 'token');
    cleanup.push(() => api.close());
    const clock = new SimulatedClock();
    const log = new MemoryDeliveryLog();
    const n = new Notifier({
      config: testConfig({
        max_in_flight: 1,
        webhook: { timeout_ms: 5000 },
        sms: { base_url: api.baseUrl, account_sid: SID, auth_token: 'token', from: '+15005550006' },
      }),
      log,
      clock,
    });
    cleanup.push(() => n.close());

    n.notify(eventOf(), [webhook(hung), webhook(ok), subscriptionOf({ channels: ['sms'], phone_numbers: ['+14155550123'] })]);
    await hung.nth(1);
    await log.untilAppended(1);
    expect(log.entries().map(summary)).toEqual([['sms', '+14155550123', 1, 'delivered', null]]);
    expect(ok.requests).toEqual([]); // queued behind the hung try in the one webhook slot

    clock.increment(5000);
    await n.idle();
    expect(ok.requests).toHaveLength(1);
    expect(log.entries().slice(1).map(summary)).toEqual([
      ['webhook', `${hung.url}/hook`, 1, 'failed', 'timed out after 5000 ms'],
      ['webhook', `${ok.url}/hook`, 1, 'delivered', null],
    ]);
  });
});

describe('bounds', () => {
  it('drops and logs deliveries past max_pending, and takes them again once there is room', async () => {
    const ok = await receiver(200);
    const log = new MemoryDeliveryLog();
    const n = new Notifier({ config: testConfig({ max_pending: 2 }), log, clock: new SimulatedClock() });
    cleanup.push(() => n.close());
    const subs = [webhook(ok), webhook(ok), webhook(ok)];
    expect(n.notify(eventOf(), subs)).toEqual({ queued: 2, dropped: 1 });
    expect(log.entries().map((e) => [e.subscription_id, e.attempt, e.status, e.error])).toEqual([[subs[2]!.id, 0, 'dropped', 'queue full (2 deliveries pending)']]);
    await n.idle();
    expect(ok.requests).toHaveLength(2);
    expect(n.notify(eventOf({ id: 'msg_next' }), [subs[2]!])).toEqual({ queued: 1, dropped: 0 });
    await n.idle();
    expect(ok.requests).toHaveLength(3);
  });

  it('drops deliveries on a channel that is not configured', () => {
    const log = new MemoryDeliveryLog();
    const n = new Notifier({ config: testConfig(), log, clock: new SimulatedClock() });
    cleanup.push(() => n.close());
    expect([...n.channels]).toEqual(['webhook']);
    expect(n.notify(eventOf(), [subscriptionOf({ channels: ['email'], emails: ['a@example.com'] })])).toEqual({ queued: 0, dropped: 1 });
    expect(log.entries().map((e) => [e.channel, e.status, e.error])).toEqual([['email', 'dropped', 'email notifications are not configured']]);
  });

  it('sends nothing for a subscription the incident does not match', async () => {
    const ok = await receiver(200);
    const log = new MemoryDeliveryLog();
    const n = new Notifier({ config: testConfig(), log, clock: new SimulatedClock() });
    cleanup.push(() => n.close());
    const critical = subscriptionOf({ channels: ['webhook'], webhook_url: ok.url, severity_threshold: 'critical' });
    const europe = subscriptionOf({ channels: ['webhook'], webhook_url: ok.url, regions: ['eu-west-1'] });
    const degraded = subscriptionOf({ channels: ['webhook'], webhook_url: ok.url, include_types: ['degraded_performance'] });
    expect(n.notify(eventOf(), [critical, europe, degraded])).toEqual({ queued: 0, dropped: 0 });
    await n.idle();
    expect(ok.requests).toEqual([]);
    expect(log.entries()).toEqual([]);
  });

  it('keeps delivering when the delivery log throws or rejects, and reports it', async () => {
    const ok = await receiver(200);
    const errors: string[] = [];
    let calls = 0;
    const n = new Notifier({
      config: testConfig(),
      log: {
        append() {
          calls++;
          if (calls === 1) throw new Error('disk full');
          return Promise.reject(new Error('connection lost'));
        },
      },
      clock: new SimulatedClock(),
      onError: (m) => errors.push(m),
    });
    cleanup.push(() => n.close());
    n.notify(eventOf(), [webhook(ok)]);
    await n.idle();
    n.notify(eventOf({ id: 'msg_two' }), [webhook(ok)]);
    await n.idle();
    await Promise.resolve();
    expect(ok.requests).toHaveLength(2);
    expect(errors).toEqual(['delivery log: disk full', 'delivery log: connection lost']);
  });
});

describe('close()', () => {
  it('cancels waiting retries, aborts running tries, and leaves no timer set', async () => {
    const hung = await receiver('hang');
    const failing = await receiver(503);
    const clock = new CountingClock();
    const log = new MemoryDeliveryLog();
    const n = new Notifier({ config: testConfig({ retry: { initial_delay_ms: 1000, jitter: 0 } }), log, clock });
    n.notify(eventOf(), [webhook(hung), webhook(failing)]);
    await hung.nth(1);
    await log.untilAppended(1);
    expect(clock.active.size).toBe(2); // the hung try's timeout, the failed one's retry

    await n.close();
    expect(clock.active.size).toBe(0);
    expect(n.pending).toBe(0);
    expect(log.entries().map(summary)).toEqual([
      ['webhook', `${failing.url}/hook`, 1, 'failed', 'receiver answered 503'],
      ['webhook', `${hung.url}/hook`, 1, 'failed', 'aborted: notifier closed'],
    ]);
    expect(log.entries()[1]!.next_attempt_at).toBeNull();

    // Had a retry survived, its timer would start a try here, and idle() would wait for it.
    clock.inner.increment(3_600_000);
    await n.idle();
    expect(failing.requests).toHaveLength(1);
    expect(n.notify(eventOf({ id: 'msg_late' }), [webhook(failing)])).toEqual({ queued: 0, dropped: 1 });
    expect(log.entries().at(-1)).toMatchObject({ status: 'dropped', error: 'notifier is closed' });
  });
});
