import { describe, expect, it } from 'vitest';
import { GatewayError } from '../../src/core/openai-error.ts';
import { AllowList } from '../../src/notify/address-policy.ts';
import { Notifier } from '../../src/notify/notifier.ts';
import { MemoryDeliveryLog } from '../../src/notify/memory-delivery-log.ts';
import { testConfig } from './helpers.ts';
import { createSubscription, parseSubscription, publicSubscription, type SubscribeContext } from '../../src/notify/subscription.ts';
import type { Resolver } from '../../src/notify/webhook-target.ts';

const resolve: Resolver = async (host) => {
  if (host === 'hooks.internal') return [{ address: '10.0.0.5', family: 4 }];
  if (host === 'not-yet.example') throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND' });
  return [{ address: '93.184.216.34', family: 4 }];
};

const ctx: SubscribeContext = {
  available: new Set(['email', 'webhook', 'sms']),
  defaultRecipients: new Set(['email', 'sms']),
  allow: new AllowList(),
  resolve,
};

/** The seed's notification_config, as written there. */
const SEED = {
  channels: ['email', 'webhook', 'sms'],
  severity_threshold: 'medium',
  webhook_url: 'https://your-app.com/incidents',
  include_types: ['outage', 'degraded_performance', 'partial_outage'],
  regions: ['us-east-1', 'eu-west-1'],
};

async function rejection(body: unknown, context: SubscribeContext = ctx): Promise<unknown> {
  try {
    await parseSubscription(body, context);
  } catch (e) {
    if (e instanceof GatewayError) return { status: e.status, body: e.toJSON() };
    throw e;
  }
  throw new Error('accepted');
}

const error400 = (param: string | null, message: string) => ({ status: 400, body: { error: { message, type: 'invalid_request_error', param, code: null } } });

describe('the subscribe body', () => {
  it('takes the seed’s notification_config as written, and stores it with a signing secret shown once', async () => {
    const req = await parseSubscription(structuredClone(SEED), ctx);
    expect(req).toEqual(SEED);
    const sub = createSubscription(req, () => Date.UTC(2025, 0, 2, 3, 4, 5));
    expect(sub).toEqual({ ...SEED, id: expect.stringMatching(/^sub_[A-Za-z0-9_-]{16}$/), created_at: '2025-01-02T03:04:05.000Z', webhook_secret: expect.stringMatching(/^whsec_/) });
    expect(publicSubscription(sub)).toEqual({ ...SEED, id: sub.id, created_at: sub.created_at });
    expect(createSubscription(req).webhook_secret).not.toBe(sub.webhook_secret);
  });

  it('fills in the filters left out (every severity, type and region), and gives no secret without a webhook', async () => {
    const req = await parseSubscription({ channels: ['sms'], phone_numbers: ['+14155550123'] }, ctx);
    expect(req).toEqual({ channels: ['sms'], severity_threshold: 'low', phone_numbers: ['+14155550123'] });
    expect(createSubscription(req)).not.toHaveProperty('webhook_secret');
  });

  it('accepts a webhook host that does not resolve yet (deliveries resolve again)', async () => {
    await expect(parseSubscription({ channels: ['webhook'], webhook_url: 'https://not-yet.example/hook' }, ctx)).resolves.toMatchObject({ webhook_url: 'https://not-yet.example/hook' });
  });

  it.each([
    [[], null, 'The request body must be a JSON object.'],
    ['{"channels":["webhook"]}', null, 'The request body must be a JSON object.'],
    [{}, 'channels', "Missing required parameter: 'channels'."],
    [{ channels: [] }, 'channels', "Invalid value for 'channels': must name at least one channel"],
    [{ channels: 'webhook' }, 'channels', "Invalid value for 'channels': expected an array"],
    [{ channels: ['pager'] }, 'channels[0]', "Invalid value for 'channels[0]': expected one of email, webhook, sms"],
    [{ channels: ['sms', 'sms'] }, 'channels[1]', 'Invalid value for \'channels[1]\': "sms" is listed twice'],
    [{ ...SEED, severity_threshold: 'severe' }, 'severity_threshold', "Invalid value for 'severity_threshold': expected one of low, medium, high, critical"],
    [{ ...SEED, severity_threshold: 2 }, 'severity_threshold', "Invalid value for 'severity_threshold': expected one of low, medium, high, critical"],
    [{ ...SEED, include_types: ['outage', 'meltdown'] }, 'include_types[1]', "Invalid value for 'include_types[1]': expected one of outage, degraded_performance, partial_outage"],
    [{ ...SEED, include_types: [] }, 'include_types', "Invalid value for 'include_types': must not be empty; leave the field out instead"],
    [{ ...SEED, regions: ['us-east-1', 'US East'] }, 'regions[1]', 'Invalid value for \'regions[1]\': expected a region name such as "us-east-1"'],
    [{ ...SEED, regions: Array.from({ length: 51 }, (_, i) => `r-${i}`) }, 'regions', "Invalid value for 'regions': at most 50 entries"],
    [{ ...SEED, webhook_url: undefined }, 'webhook_url', "Missing required parameter: 'webhook_url' (required with the webhook channel)."],
    [{ ...SEED, webhook_url: 42 }, 'webhook_url', "Invalid value for 'webhook_url': expected a string"],
    [{ ...SEED, webhook_url: 'ftp://your-app.com/' }, 'webhook_url', "Invalid value for 'webhook_url': scheme must be https or http, not ftp"],
    [{ ...SEED, webhook_url: 'http://169.254.169.254/latest' }, 'webhook_url', "Invalid value for 'webhook_url': 169.254.169.254 is a cloud metadata address"],
    [{ ...SEED, webhook_url: 'http://[::ffff:127.0.0.1]/' }, 'webhook_url', "Invalid value for 'webhook_url': ::ffff:7f00:1 is loopback (IPv4-mapped 127.0.0.1)"],
    [{ ...SEED, webhook_url: 'https://hooks.internal/in' }, 'webhook_url', "Invalid value for 'webhook_url': hooks.internal resolves to 10.0.0.5, which is private"],
    [{ ...SEED, emails: ['oncall'] }, 'emails[0]', "Invalid value for 'emails[0]': expected an e-mail address"],
    [{ ...SEED, phone_numbers: ['4155550123'] }, 'phone_numbers[0]', 'Invalid value for \'phone_numbers[0]\': expected an E.164 number such as "+14155550123"'],
    [{ ...SEED, phone_numbers: ['+1', '+2', '+3', '+4', '+5', '+6'].map((p) => `${p}4155550123`) }, 'phone_numbers', "Invalid value for 'phone_numbers': at most 5 entries"],
    [{ channels: ['webhook'], webhook_url: 'https://your-app.com/', emails: ['a@example.com'] }, 'emails', 'Invalid value for \'emails\': only used with the email channel; add "email" to channels or leave it out'],
    [{ ...SEED, team: 'sre' }, 'team', 'Unrecognized request argument supplied: team'],
  ])('%j is a 400 naming %s', async (body, param, message) => {
    expect(await rejection(body)).toEqual(error400(param, message));
  });

  it('is a 400 for a channel the gateway has not configured, or one with no recipients to fall back on', async () => {
    const webhookOnly: SubscribeContext = { ...ctx, available: new Set(['webhook']), defaultRecipients: new Set() };
    expect(await rejection(SEED, webhookOnly)).toEqual(error400('channels[0]', "Invalid value for 'channels[0]': email notifications are not configured on this gateway"));
    const noDefaults: SubscribeContext = { ...ctx, defaultRecipients: new Set() };
    expect(await rejection(SEED, noDefaults)).toEqual(
      error400('emails', "Missing required parameter: 'emails' (required with the email channel: this gateway has no default recipients for it)."),
    );
    expect(await rejection({ ...SEED, emails: ['oncall@example.com'] }, noDefaults)).toEqual(
      error400('phone_numbers', "Missing required parameter: 'phone_numbers' (required with the sms channel: this gateway has no default recipients for it)."),
    );
    await expect(parseSubscription({ ...SEED, emails: ['oncall@example.com'], phone_numbers: ['+14155550123'] }, noDefaults)).resolves.toMatchObject({ emails: ['oncall@example.com'] });
  });
});

describe('a notifier’s subscribe context', () => {
  it('offers the channels and default recipients it was configured with, and its webhook policy', async () => {
    const full = new Notifier({
      config: testConfig({
        webhook: { allow_cidrs: [] },
        email: { host: '127.0.0.1', starttls: 'never', from: 'alerts@parrot.test', default_to: ['oncall@example.com'] },
        sms: { account_sid: 'AC0123456789abcdef0123456789abcdef', auth_token: 't', from: '+15005550006', default_to: ['+14155550123'] },
      }),
      log: new MemoryDeliveryLog(),
      resolve,
    });
    const bare = new Notifier({ config: testConfig({ webhook: { allow_cidrs: [] } }), log: new MemoryDeliveryLog(), resolve });
    try {
      await expect(parseSubscription(structuredClone(SEED), full.subscribeContext)).resolves.toEqual(SEED);
      expect(await rejection(SEED, bare.subscribeContext)).toEqual(error400('channels[0]', "Invalid value for 'channels[0]': email notifications are not configured on this gateway"));
      expect(await rejection({ channels: ['webhook'], webhook_url: 'https://hooks.internal/' }, full.subscribeContext)).toEqual(
        error400('webhook_url', "Invalid value for 'webhook_url': hooks.internal resolves to 10.0.0.5, which is private"),
      );
    } finally {
      await Promise.all([full.close(), bare.close()]);
    }
  });
});
