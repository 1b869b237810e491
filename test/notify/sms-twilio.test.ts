import { afterEach, describe, expect, it } from 'vitest';
import { SimulatedClock } from 'xstate';
import { MemoryDeliveryLog } from '../../src/notify/memory-delivery-log.ts';
import { Notifier } from '../../src/notify/notifier.ts';
import { MAX_SMS_CHARS } from '../../src/notify/render.ts';
import { eventOf, subscriptionOf, testConfig } from './helpers.ts';
import { startTwilioStandIn, type TwilioStandIn } from './twilio-stand-in.ts';

const SID = 'AC0123456789abcdef0123456789abcdef';
const TOKEN = 'sms-auth-t0ken-never-logged';
const FROM = '+15005550006';

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanup.length > 0) await cleanup.pop()!();
});

async function twilio(): Promise<TwilioStandIn> {
  const t = await startTwilioStandIn(SID, TOKEN);
  cleanup.push(() => t.close());
  return t;
}

function smsNotifier(baseUrl: string, over: { auth_token?: string; messaging_service_sid?: string } = {}) {
  const clock = new SimulatedClock();
  const log = new MemoryDeliveryLog();
  const sms = over.messaging_service_sid
    ? { base_url: baseUrl, account_sid: SID, auth_token: over.auth_token ?? TOKEN, messaging_service_sid: over.messaging_service_sid }
    : { base_url: `${baseUrl}/`, account_sid: SID, auth_token: over.auth_token ?? TOKEN, from: FROM };
  const n = new Notifier({ config: testConfig({ sms, retry: { initial_delay_ms: 2000, jitter: 0 } }), log, clock });
  cleanup.push(() => n.close());
  return { n, log, clock };
}

describe('SMS through a Twilio-shaped gateway', () => {
  it('texts each of the subscription’s numbers once, form-encoded with basic auth, and logs the message sid', async () => {
    const api = await twilio();
    const { n, log } = smsNotifier(api.baseUrl);
    const sub = subscriptionOf({ channels: ['sms'], phone_numbers: ['+14155550123', '+447700900123'] });
    expect(n.notify(eventOf(), [sub])).toEqual({ queued: 2, dropped: 0 });
    await n.idle();

    const text =
      'parrot: HIGH outage opened: openai/gpt-4 [us-east-1]. Every request to openai/gpt-4 failed with 503 for 4 minutes; traffic failed over to anthropic. (inc_7f3a)';
    expect(api.sent.map(({ sid: _, ...m }) => m)).toEqual([
      { to: '+14155550123', from: FROM, messaging_service_sid: null, body: text },
      { to: '+447700900123', from: FROM, messaging_service_sid: null, body: text },
    ]);
    expect(log.entries().map((e) => [e.target, e.status, e.http_status, e.detail])).toEqual([
      ['+14155550123', 'delivered', 201, api.sent[0]!.sid],
      ['+447700900123', 'delivered', 201, api.sent[1]!.sid],
    ]);
  });

  it('sends from a messaging service when one is configured', async () => {
    const api = await twilio();
    const service = 'MG0123456789abcdef0123456789abcdef';
    const { n } = smsNotifier(api.baseUrl, { messaging_service_sid: service });
    n.notify(eventOf(), [subscriptionOf({ channels: ['sms'], phone_numbers: ['+14155550123'] })]);
    await n.idle();
    expect(api.sent.map((m) => [m.from, m.messaging_service_sid])).toEqual([[null, service]]);
  });

  it('keeps a long impact within two segments', async () => {
    const api = await twilio();
    const { n } = smsNotifier(api.baseUrl);
    n.notify(eventOf({}, { impact: 'x'.repeat(2000) }), [subscriptionOf({ channels: ['sms'], phone_numbers: ['+14155550123'] })]);
    await n.idle();
    const body = api.sent[0]!.body;
    expect(body).toHaveLength(MAX_SMS_CHARS);
    expect(body.startsWith('parrot: HIGH outage opened: openai/gpt-4 [us-east-1]. xxx')).toBe(true);
    expect(body.endsWith('xxx... (inc_7f3a)')).toBe(true);
  });

  it('does not retry Twilio’s 401 or 400, and logs Twilio’s code and message, never the token', async () => {
    const api = await twilio();
    const { n, log } = smsNotifier(api.baseUrl, { auth_token: 'wrong-t0ken' });
    n.notify(eventOf(), [subscriptionOf({ channels: ['sms'], phone_numbers: ['+14155550123'] })]);
    await n.idle();
    const right = smsNotifier(api.baseUrl);
    right.n.notify(eventOf(), [subscriptionOf({ channels: ['sms'], phone_numbers: ['+15005550001'] })]);
    await right.n.idle();

    expect(api.sent).toEqual([]);
    expect(api.calls).toBe(2);
    expect([...log.entries(), ...right.log.entries()].map((e) => [e.status, e.http_status, e.error, e.next_attempt_at])).toEqual([
      ['failed', 401, 'SMS gateway answered 401: error 20003: Authenticate', null],
      ['failed', 400, "SMS gateway answered 400: error 21211: The 'To' number +15005550001 is not a valid phone number.", null],
    ]);
    expect(JSON.stringify([...log.entries(), ...right.log.entries()])).not.toMatch(/t0ken/);
  });

  it('retries 429 and 5xx on the schedule', async () => {
    const api = await twilio();
    const { n, log, clock } = smsNotifier(api.baseUrl);
    api.failNext(429, 503);
    n.notify(eventOf(), [subscriptionOf({ channels: ['sms'], phone_numbers: ['+14155550123'] })]);
    await n.idle();
    clock.increment(2000);
    await n.idle();
    clock.increment(8000);
    await n.idle();
    expect(api.sent).toHaveLength(1);
    expect(log.entries().map((e) => [e.attempt, e.status, e.http_status, e.error, e.next_attempt_at])).toEqual([
      [1, 'failed', 429, 'SMS gateway answered 429: error 20429: Too Many Requests', 2000],
      [2, 'failed', 503, 'SMS gateway answered 503: error 20500: An internal server error has occurred', 10_000],
      [3, 'delivered', 201, null, null],
    ]);
  });
});
