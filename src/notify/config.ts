/**
 * The `notifications` block of the configuration file (snake_case like the rest). Secrets
 * (SMTP password, SMS auth token) come from the environment through `${VAR}` interpolation
 * and are never logged.
 */
import { z } from 'zod';
import { parseCidr } from './address-policy.ts';

/** E.164: `+` and up to 15 digits, no leading zero. */
export const E164 = /^\+[1-9]\d{1,14}$/;

const ms = (min: number, max: number) => z.number().int().min(min).max(max);

const retry = z.object({
  /** Tries in all, the first included (1: never retry). */
  max_attempts: z.number().int().min(1).max(20).default(8),
  initial_delay_ms: ms(1, 86_400_000).default(5_000),
  multiplier: z.number().min(1).max(10).default(4),
  max_delay_ms: ms(1, 86_400_000).default(3_600_000),
  /** Each wait is drawn from ±jitter of the nominal one. */
  jitter: z.number().min(0).max(1).default(0.2),
}).strict();

const cidr = z.string().superRefine((c, ctx) => {
  try {
    parseCidr(c);
  } catch (e) {
    ctx.addIssue({ code: 'custom', message: (e as Error).message });
  }
});

const webhook = z.object({
  /** One try's limit: connect, send, and the receiver's answer. */
  timeout_ms: ms(1, 300_000).default(10_000),
  /**
   * Addresses a webhook may reach although the address policy refuses them (loopback,
   * private...), as CIDRs: `["10.20.0.0/16"]` for an internal receiver, `["127.0.0.0/8",
   * "::1/128"]` for tests. Cloud metadata addresses stay refused.
   */
  allow_cidrs: z.array(cidr).max(256).default([]),
}).strict();

const email = z.object({
  host: z.string().min(1),
  /** Default 465 with `secure`, else 587. */
  port: z.number().int().min(1).max(65535).optional(),
  /** TLS from the first byte (SMTPS, usually port 465). */
  secure: z.boolean().default(false),
  /**
   * Without `secure`: `required` refuses to send unless the server upgrades with STARTTLS,
   * `opportunistic` upgrades when offered, `never` does not try (a relay on loopback).
   */
  starttls: z.enum(['required', 'opportunistic', 'never']).default('required'),
  username: z.string().optional(),
  password: z.string().optional(),
  /** The From header: `alerts@example.com` or `parrot <alerts@example.com>`. */
  from: z.string().min(3).regex(/^[^<>]*<[^<>\s@]+@[^<>\s@]+>$|^[^<>\s@]+@[^<>\s@]+$/, 'expected an address, e.g. "parrot <alerts@example.com>"'),
  /** Where a subscription's e-mail goes when it names no `emails` of its own (the seed's example names none). */
  default_to: z.array(z.email('expected an e-mail address')).min(1).max(10).optional(),
  timeout_ms: ms(1, 600_000).default(30_000),
}).strict().superRefine((e, ctx) => {
  const user = e.username !== undefined && e.username !== '';
  const pass = e.password !== undefined && e.password !== '';
  if (user && !pass) ctx.addIssue({ code: 'custom', path: ['password'], message: 'username is set but password is empty (is its environment variable set?)' });
  if (pass && !user) ctx.addIssue({ code: 'custom', path: ['username'], message: 'password is set but username is empty' });
});

const sms = z.object({
  /** An API in the shape of Twilio's Messages API (`{base_url}/2010-04-01/Accounts/{sid}/Messages.json`). */
  base_url: z.string().default('https://api.twilio.com').refine((u) => {
    const url = URL.parse(u);
    return url !== null && (url.protocol === 'https:' || url.protocol === 'http:');
  }, 'expected an http(s) URL'),
  account_sid: z.string().regex(/^AC[0-9a-fA-F]{32}$/, 'expected "AC" and 32 hex digits'),
  auth_token: z.string().min(1, 'empty (is its environment variable set?)'),
  /** The sending number (E.164); or `messaging_service_sid`. */
  from: z.string().regex(E164, 'expected an E.164 number, e.g. "+15005550006"').optional(),
  messaging_service_sid: z.string().regex(/^MG[0-9a-fA-F]{32}$/, 'expected "MG" and 32 hex digits').optional(),
  /** Numbers a subscription texts when it names no `phone_numbers` of its own. */
  default_to: z.array(z.string().regex(E164, 'expected an E.164 number, e.g. "+14155550123"')).min(1).max(5).optional(),
  timeout_ms: ms(1, 300_000).default(10_000),
}).strict().superRefine((s, ctx) => {
  if (s.from === undefined && s.messaging_service_sid === undefined) ctx.addIssue({ code: 'custom', path: ['from'], message: 'from or messaging_service_sid is required' });
});

/**
 * @example
 * notifications:
 *   webhook: { allow_cidrs: ["10.20.0.0/16"] }
 *   email: { host: smtp.example.com, username: parrot, password: "${SMTP_PASSWORD}", from: "parrot <alerts@example.com>" }
 *   sms: { account_sid: "${TWILIO_ACCOUNT_SID}", auth_token: "${TWILIO_AUTH_TOKEN}", from: "+15005550006" }
 */
export const notificationsConfigSchema = z.object({
  /** Tries in flight at once, per channel (a slow channel cannot take another's slots). */
  max_in_flight: z.number().int().min(1).max(1024).default(8),
  /** Deliveries alive at once (queued, in flight or waiting to retry); more are dropped and logged. */
  max_pending: z.number().int().min(1).max(1_000_000).default(10_000),
  retry: retry.prefault({}),
  webhook: webhook.prefault({}),
  /** Absent: no e-mail channel (a subscription asking for one is refused). */
  email: email.optional(),
  /** Absent: no SMS channel. */
  sms: sms.optional(),
}).strict();

export type NotificationsConfigInput = z.input<typeof notificationsConfigSchema>;
export type NotificationsConfig = z.output<typeof notificationsConfigSchema>;
export type EmailConfig = NonNullable<NotificationsConfig['email']>;
export type SmsConfig = NonNullable<NotificationsConfig['sms']>;
