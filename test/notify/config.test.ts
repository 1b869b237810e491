import { describe, expect, it } from 'vitest';
import { notificationsConfigSchema } from '../../src/notify/config.ts';
import { formatPath } from '../../src/core/field-path.ts';

/** The first problem, as `path: message`. */
function problem(input: unknown): string {
  const r = notificationsConfigSchema.safeParse(input);
  if (r.success) throw new Error('accepted');
  const issue = r.error.issues[0]!;
  return `${formatPath(issue.path, 'notifications')}: ${issue.message}`;
}

const SID = 'AC0123456789abcdef0123456789abcdef';

describe('the notifications config', () => {
  it('has defaults for everything but the e-mail and SMS channels, which are off until configured', () => {
    expect(notificationsConfigSchema.parse({})).toEqual({
      max_in_flight: 8,
      max_pending: 10_000,
      retry: { max_attempts: 8, initial_delay_ms: 5000, multiplier: 4, max_delay_ms: 3_600_000, jitter: 0.2 },
      webhook: { timeout_ms: 10_000, allow_cidrs: [] },
    });
  });

  it('takes full e-mail and SMS settings', () => {
    const c = notificationsConfigSchema.parse({
      webhook: { allow_cidrs: ['10.20.0.0/16', 'fd00:1::/64', '192.0.2.10'] },
      email: { host: 'smtp.example.com', username: 'parrot', password: 'x', from: 'parrot <alerts@example.com>', default_to: ['oncall@example.com'] },
      sms: { account_sid: SID, auth_token: 't', from: '+15005550006', default_to: ['+14155550123'] },
    });
    expect(c.email).toEqual({ host: 'smtp.example.com', secure: false, starttls: 'required', username: 'parrot', password: 'x', from: 'parrot <alerts@example.com>', default_to: ['oncall@example.com'], timeout_ms: 30_000 });
    expect(c.sms).toEqual({ base_url: 'https://api.twilio.com', account_sid: SID, auth_token: 't', from: '+15005550006', default_to: ['+14155550123'], timeout_ms: 10_000 });
  });

  it.each([
    [{ webhook: { allow_cidrs: ['10.0.0.0/33'] } }, 'notifications.webhook.allow_cidrs[0]: "10.0.0.0/33": prefix length must be 0-32'],
    [{ webhook: { allow_cidrs: ['internal'] } }, 'notifications.webhook.allow_cidrs[0]: "internal" is not an IP address or CIDR'],
    [{ retry: { jitter: 2 } }, 'notifications.retry.jitter: Too big: expected number to be <=1'],
    [{ retry: { max_attempts: 0 } }, 'notifications.retry.max_attempts: Too small: expected number to be >=1'],
    [{ email: { host: 'smtp.example.com', from: 'alerts' } }, 'notifications.email.from: expected an address, e.g. "parrot <alerts@example.com>"'],
    [{ email: { host: 'smtp.example.com', from: 'a@example.com', username: 'parrot', password: '' } }, 'notifications.email.password: username is set but password is empty (is its environment variable set?)'],
    [{ email: { host: 'smtp.example.com', from: 'a@example.com', starttls: 'maybe' } }, 'notifications.email.starttls: Invalid option: expected one of "required"|"opportunistic"|"never"'],
    [{ sms: { account_sid: 'AC123', auth_token: 't', from: '+15005550006' } }, 'notifications.sms.account_sid: expected "AC" and 32 hex digits'],
    [{ sms: { account_sid: SID, auth_token: '', from: '+15005550006' } }, 'notifications.sms.auth_token: empty (is its environment variable set?)'],
    [{ sms: { account_sid: SID, auth_token: 't' } }, 'notifications.sms.from: from or messaging_service_sid is required'],
    [{ sms: { account_sid: SID, auth_token: 't', from: '5550006' } }, 'notifications.sms.from: expected an E.164 number, e.g. "+15005550006"'],
    [{ sms: { base_url: 'ftp://x', account_sid: SID, auth_token: 't', from: '+15005550006' } }, 'notifications.sms.base_url: expected an http(s) URL'],
    [{ pager: {} }, 'notifications: Unrecognized key: "pager"'],
  ])('%j: %s', (input, message) => {
    expect(problem(input)).toBe(message);
  });
});
