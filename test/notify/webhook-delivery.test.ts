import { afterEach, describe, expect, it } from 'vitest';
import { SimulatedClock } from 'xstate';
import { MemoryDeliveryLog } from '../../src/notify/memory-delivery-log.ts';
import { Notifier } from '../../src/notify/notifier.ts';
import { verifyWebhook } from '../../src/notify/signature.ts';
import { WEBHOOK_USER_AGENT } from '../../src/notify/webhook.ts';
import { pinnedLookup, type Resolver } from '../../src/notify/webhook-target.ts';
import { eventOf, startReceiver, subscriptionOf, testConfig, type Receiver } from './helpers.ts';

const T0 = Date.UTC(2025, 2, 4, 5, 6, 8);

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanup.length > 0) await cleanup.pop()!();
});

async function receiver(...args: Parameters<typeof startReceiver>): Promise<Receiver> {
  const r = await startReceiver(...args);
  cleanup.push(() => r.close());
  return r;
}

function notifier(opts: ConstructorParameters<typeof Notifier>[0]): Notifier {
  const n = new Notifier(opts);
  cleanup.push(() => n.close());
  return n;
}

function clockAt(t: number): SimulatedClock {
  const clock = new SimulatedClock();
  clock.set(t);
  return clock;
}

describe('a webhook delivery', () => {
  it('POSTs the event as JSON with Standard Webhooks headers that the receiver verifies', async () => {
    const clock = clockAt(T0);
    const hook = await receiver(undefined, { now: () => clock.now() });
    const log = new MemoryDeliveryLog();
    const n = notifier({ config: testConfig(), log, clock });
    const sub = subscriptionOf({ channels: ['webhook'], webhook_url: `${hook.url}/incidents?token=s3cr3t-query` });
    const event = eventOf();

    expect(n.notify(event, [sub])).toEqual({ queued: 1, dropped: 0 });
    await n.idle();

    expect(hook.requests).toHaveLength(1);
    const req = hook.requests[0]!;
    expect(req.method).toBe('POST');
    expect(req.url).toBe('/incidents?token=s3cr3t-query');
    expect(req.headers['content-type']).toBe('application/json');
    expect(req.headers['user-agent']).toBe(WEBHOOK_USER_AGENT);
    expect(req.headers['webhook-id']).toBe(event.id);
    expect(req.headers['webhook-timestamp']).toBe(String(T0 / 1000));
    expect(req.headers['webhook-signature']).toMatch(/^v1,[A-Za-z0-9+/]{43}=$/);
    expect(JSON.parse(req.body)).toEqual({ type: 'incident.opened', timestamp: event.timestamp, data: event.data });
    expect(verifyWebhook(sub.webhook_secret!, req.headers, req.body, { now: () => clock.now() })).toEqual({ ok: true, id: event.id, timestamp: T0 / 1000 });

    expect(log.entries()).toEqual([
      {
        delivery_id: expect.stringMatching(/^dlv_/),
        event_id: event.id,
        event_type: 'incident.opened',
        incident_id: 'inc_7f3a',
        subscription_id: sub.id,
        channel: 'webhook',
        // no query string: it may carry a token
        target: `${hook.url}/incidents`,
        attempt: 1,
        status: 'delivered',
        http_status: 200,
        error: null,
        detail: null,
        started_at: T0,
        duration_ms: 0,
        next_attempt_at: null,
      },
    ]);
  });

  it('is refused, without a connection, in every spelling of a loopback address when loopback is not allowed', async () => {
    const hook = await receiver();
    const log = new MemoryDeliveryLog();
    const resolverCalls: string[] = [];
    const resolve: Resolver = async (host) => {
      resolverCalls.push(host);
      if (host === 'mapped.example') return [{ address: '::ffff:7f00:1', family: 6 }];
      if (host === 'nat64.example') return [{ address: '64:ff9b::7f00:1', family: 6 }];
      return [{ address: '127.0.0.1', family: 4 }];
    };
    const n = notifier({ config: testConfig({ webhook: { allow_cidrs: [] } }), log, clock: clockAt(T0), resolve });
    const p = hook.port;
    const urls = [
      `http://127.0.0.1:${p}/`,
      `http://2130706433:${p}/`,
      `http://0x7f.1:${p}/`,
      `http://0177.0.0.1:${p}/`,
      `http://127.1:${p}/`,
      `http://[::ffff:127.0.0.1]:${p}/`,
      `http://[::ffff:7f00:1]:${p}/`,
      `http://[::1]:${p}/`,
      `http://localhost:${p}/`,
      `http://hooks.example:${p}/`,
      `http://mapped.example:${p}/`,
      `http://nat64.example:${p}/`,
    ];
    n.notify(eventOf(), urls.map((u) => subscriptionOf({ channels: ['webhook'], webhook_url: u })));
    await n.idle();

    expect(hook.requests).toEqual([]);
    expect(resolverCalls).toEqual(['hooks.example', 'mapped.example', 'nat64.example']);
    expect(log.entries().map((e) => [e.status, e.attempt, e.next_attempt_at, e.error])).toEqual([
      ['failed', 1, null, 'refused: 127.0.0.1 is loopback'],
      ['failed', 1, null, 'refused: 127.0.0.1 is loopback'],
      ['failed', 1, null, 'refused: 127.0.0.1 is loopback'],
      ['failed', 1, null, 'refused: 127.0.0.1 is loopback'],
      ['failed', 1, null, 'refused: 127.0.0.1 is loopback'],
      ['failed', 1, null, 'refused: ::ffff:7f00:1 is loopback (IPv4-mapped 127.0.0.1)'],
      ['failed', 1, null, 'refused: ::ffff:7f00:1 is loopback (IPv4-mapped 127.0.0.1)'],
      ['failed', 1, null, 'refused: ::1 is loopback'],
      ['failed', 1, null, 'refused: localhost is loopback'],
      ['failed', 1, null, 'refused: hooks.example resolves to 127.0.0.1, which is loopback'],
      ['failed', 1, null, 'refused: mapped.example resolves to ::ffff:7f00:1, which is loopback (IPv4-mapped 127.0.0.1)'],
      ['failed', 1, null, 'refused: nat64.example resolves to 64:ff9b::7f00:1, which is loopback (NAT64 127.0.0.1)'],
    ]);
    expect(n.pending).toBe(0);
  });

  it('does not follow a redirect: the 3xx is a failed try and the Location is never contacted', async () => {
    const clock = clockAt(T0);
    const inner = await receiver(undefined, { host: '127.0.0.2' });
    const outer = await receiver((_r, res) => {
      res.writeHead(302, { location: `${inner.url}/stolen` });
      res.end();
    });
    const log = new MemoryDeliveryLog();
    const n = notifier({ config: testConfig({ retry: { max_attempts: 2, initial_delay_ms: 1000, jitter: 0 } }), log, clock });
    n.notify(eventOf(), [subscriptionOf({ channels: ['webhook'], webhook_url: `${outer.url}/hook` })]);
    await n.idle();
    clock.increment(1000);
    await n.idle();

    expect(outer.requests).toHaveLength(2);
    expect(inner.requests).toEqual([]);
    expect(log.entries().map((e) => [e.attempt, e.status, e.http_status, e.error, e.next_attempt_at])).toEqual([
      [1, 'failed', 302, 'redirect not followed 302', T0 + 1000],
      [2, 'failed', 302, 'redirect not followed 302', null],
    ]);
  });
});

describe('DNS rebinding', () => {
  it('connects only to the address that was vetted, even when the name answers differently at connect time', async () => {
    // Two servers on one port: 127.0.0.1 (allowed) and 127.0.0.2 (not in the allow-list).
    const good = await receiver();
    const bad = await receiver(undefined, { host: '127.0.0.2', port: good.port });
    const answers = ['127.0.0.1', '127.0.0.2', '127.0.0.2', '127.0.0.2'];
    const calls: string[] = [];
    const resolve: Resolver = async (host) => {
      calls.push(host);
      return [{ address: answers[calls.length - 1]!, family: 4 }];
    };
    const log = new MemoryDeliveryLog();
    const n = notifier({ config: testConfig({ webhook: { allow_cidrs: ['127.0.0.1/32'] } }), log, clock: clockAt(T0), resolve });
    const sub = subscriptionOf({ channels: ['webhook'], webhook_url: `http://rebind.test:${good.port}/hook` });

    n.notify(eventOf(), [sub]);
    await n.idle();
    // The vetted answer was used; the name was resolved once, by the check, and never again
    // (the system resolver does not know rebind.test, so any other lookup would have failed).
    expect(calls).toEqual(['rebind.test']);
    expect(good.requests).toHaveLength(1);
    expect(good.requests[0]!.remoteAddress).toBe('127.0.0.1');
    expect(bad.requests).toEqual([]);

    // The next check sees the rebound answer and refuses it.
    n.notify(eventOf({ id: 'msg_second' }), [sub]);
    await n.idle();
    expect(calls).toEqual(['rebind.test', 'rebind.test']);
    expect(bad.requests).toEqual([]);
    expect(log.entries().map((e) => [e.event_id, e.status, e.error])).toEqual([
      ['msg_2mQ8dLq0aT', 'delivered', null],
      ['msg_second', 'failed', 'refused: rebind.test resolves to 127.0.0.2, which is loopback'],
    ]);
  });

  it('the pinned lookup answers with the vetted addresses whatever it is asked', () => {
    const lookup = pinnedLookup([
      { address: '93.184.216.34', family: 4 },
      { address: '2606:2800:220:1::248', family: 6 },
    ]);
    const single: unknown[] = [];
    lookup('evil.example', {}, (...args: unknown[]) => single.push(args));
    const all: unknown[] = [];
    lookup('other.example', { all: true }, (...args: unknown[]) => all.push(args));
    expect(single).toEqual([[null, '93.184.216.34', 4]]);
    expect(all).toEqual([
      [
        null,
        [
          { address: '93.184.216.34', family: 4 },
          { address: '2606:2800:220:1::248', family: 6 },
        ],
      ],
    ]);
  });
});
