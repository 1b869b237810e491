import { afterEach, expect, it } from 'vitest';
import { SimulatedClock } from 'xstate';
import { MemoryDeliveryLog } from '../../src/notify/memory-delivery-log.ts';
import { Notifier } from '../../src/notify/notifier.ts';
import { eventOf, startReceiver, subscriptionOf, testConfig } from './helpers.ts';
import { startSmtp } from './smtp.ts';
import { startTwilioStandIn } from './twilio-stand-in.ts';

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanup.length > 0) await cleanup.pop()!();
});

it('no delivery log entry or error report carries the SMTP password, the SMS token, a webhook secret or a URL token', async () => {
  const SMTP_PASSWORD = 'Smtp-Secret-9f2c';
  const SMS_TOKEN = 'Sms-Token-41ab';
  const URL_TOKEN = 'Url-Token-77de';
  const smtp = await startSmtp({ user: 'parrot', pass: 'the-right-one' });
  const api = await startTwilioStandIn('AC0123456789abcdef0123456789abcdef', 'the-right-token');
  const hook = await startReceiver((_r, res) => {
    res.statusCode = 500;
    res.end(`echo ${URL_TOKEN}`);
  });
  cleanup.push(() => smtp.close(), () => api.close(), () => hook.close());
  const errors: string[] = [];
  const log = new MemoryDeliveryLog();
  const n = new Notifier({
    config: testConfig({
      email: { host: '127.0.0.1', port: smtp.port, starttls: 'never', username: 'parrot', password: SMTP_PASSWORD, from: 'alerts@parrot.test' },
      sms: { base_url: api.baseUrl, account_sid: 'AC0123456789abcdef0123456789abcdef', auth_token: SMS_TOKEN, from: '+15005550006' },
      retry: { max_attempts: 1 },
    }),
    log: {
      append(e) {
        log.append(e);
        return Promise.reject(new Error(`store down while writing ${e.delivery_id}`));
      },
    },
    clock: new SimulatedClock(),
    onError: (m) => errors.push(m),
  });
  cleanup.push(() => n.close());
  const sub = subscriptionOf({
    channels: ['email', 'sms', 'webhook'],
    emails: ['oncall@example.com'],
    phone_numbers: ['+14155550123'],
    webhook_url: `${hook.url}/hook?token=${URL_TOKEN}`,
  });
  n.notify(eventOf(), [sub]);
  await n.idle();
  await new Promise<void>((r) => setImmediate(r));

  expect(log.entries().map((e) => `${e.channel} ${e.status}`).sort()).toEqual(['email failed', 'sms failed', 'webhook failed']);
  expect(errors).toHaveLength(3);
  const everything = JSON.stringify([log.entries(), errors]);
  const secret = sub.webhook_secret!;
  for (const s of [SMTP_PASSWORD, SMS_TOKEN, URL_TOKEN, secret, secret.slice(6), Buffer.from(`AC0123456789abcdef0123456789abcdef:${SMS_TOKEN}`).toString('base64')]) {
    expect(everything).not.toContain(s);
  }
});
