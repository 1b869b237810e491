/**
 * `POST /v1/incidents/subscribe`: the body (the seed's fields, plus where e-mail and SMS go),
 * its validation into a 400 in OpenAI's error shape naming the field, and the stored record
 * with its webhook signing secret.
 */
import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { formatPath } from '../core/field-path.ts';
import { GatewayError } from '../core/openai-error.ts';
import { issueMessages } from '../policy/header-error.ts';
import type { AllowList } from './address-policy.ts';
import { E164 } from './config.ts';
import { generateSecret } from './signature.ts';
import { CHANNELS, INCIDENT_TYPES, SEVERITIES, type Channel } from './types.ts';
import { TargetRefused, vetWebhookUrl, type Resolver } from './webhook-target.ts';

const oneOf = (values: readonly string[]) => ({ error: `expected one of ${values.join(', ')}` });

/** AWS `us-east-1`, Google `us-central1`, Azure `westeurope`: lower-case letters, digits and dashes. */
const region = z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'expected a region name such as "us-east-1"');

function unique<T extends z.ZodType<string>>(item: T, max: number, empty = 'must not be empty; leave the field out instead') {
  return z.array(item).min(1, empty).max(max, `at most ${max} entries`).superRefine((xs, ctx) => {
    const seen = new Set<string>();
    xs.forEach((x, i) => {
      if (seen.has(x)) ctx.addIssue({ code: 'custom', path: [i], message: `"${x}" is listed twice` });
      seen.add(x);
    });
  });
}

/** Where each channel's recipients are named. */
const CHANNEL_FIELD = { webhook: 'webhook_url', email: 'emails', sms: 'phone_numbers' } as const satisfies Record<Channel, string>;

/**
 * The body, strict: an unknown field is a 400, never ignored. Filters left out match
 * everything (`include_types`: every type, `regions`: every region, `severity_threshold`: low).
 */
export const subscriptionRequestSchema = z.object({
  channels: unique(z.enum(CHANNELS, oneOf(CHANNELS)), CHANNELS.length, 'must name at least one channel'),
  severity_threshold: z.enum(SEVERITIES, oneOf(SEVERITIES)).default('low'),
  webhook_url: z.string().optional(),
  include_types: unique(z.enum(INCIDENT_TYPES, oneOf(INCIDENT_TYPES)), INCIDENT_TYPES.length).optional(),
  regions: unique(region, 50).optional(),
  /** Where the email channel writes (one message to all of them); default: the gateway's `email.default_to`. */
  emails: unique(z.email('expected an e-mail address'), 10).optional(),
  /** Where the sms channel texts, E.164 (one message each); default: the gateway's `sms.default_to`. */
  phone_numbers: unique(z.string().regex(E164, 'expected an E.164 number such as "+14155550123"'), 5).optional(),
}).strict().superRefine((s, ctx) => {
  for (const channel of CHANNELS) {
    const field = CHANNEL_FIELD[channel];
    if (!s.channels.includes(channel) && s[field] !== undefined) {
      ctx.addIssue({ code: 'custom', path: [field], message: `only used with the ${channel} channel; add "${channel}" to channels or leave it out` });
    }
  }
});

export type SubscriptionRequest = z.output<typeof subscriptionRequestSchema>;

/** A stored subscription. `webhook_secret` is shown once, in the answer to the subscribe call. */
export interface Subscription extends SubscriptionRequest {
  id: string;
  created_at: string;
  /** Present with the webhook channel. */
  webhook_secret?: string;
}

/** What listing shows: everything but the secret. */
export type PublicSubscription = Omit<Subscription, 'webhook_secret'>;

export interface SubscribeContext {
  /** Channels this gateway can deliver on (webhook always; email and sms when configured). */
  available: ReadonlySet<Channel>;
  /** Channels with recipients configured by the operator, used when a subscription names none. */
  defaultRecipients: ReadonlySet<Channel>;
  allow: AllowList;
  resolve: Resolver;
}

/**
 * The subscribe body, validated; throws a 400 GatewayError naming the field. A subscription
 * to email or sms may leave its recipients out when the gateway has default ones configured
 * (so the seed's example body, which names none, subscribes the operator's on-call). The webhook URL
 * is also resolved now so a name that points at a refused address is a 400 at once (it is
 * checked again at every delivery); a name that does not resolve yet is accepted.
 *
 * @example
 * const req = await parseSubscription(body, { available: new Set(['webhook']), allow, resolve: systemResolver });
 * const subscription = createSubscription(req);
 * res.status(201).json(subscription); // carries webhook_secret, this once; list with publicSubscription
 */
export async function parseSubscription(body: unknown, ctx: SubscribeContext): Promise<SubscriptionRequest> {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw new GatewayError(400, 'The request body must be a JSON object.');
  const parsed = subscriptionRequestSchema.safeParse(body, { error: issueMessages });
  if (!parsed.success) throw issueError(parsed.error.issues[0]!);
  const s = parsed.data;
  s.channels.forEach((c, i) => {
    if (!ctx.available.has(c)) throw invalid(['channels', i], `${c} notifications are not configured on this gateway`);
  });
  for (const c of s.channels) {
    const field = CHANNEL_FIELD[c];
    if (s[field] === undefined && !ctx.defaultRecipients.has(c)) {
      const why = c === 'webhook' ? 'required with the webhook channel' : `required with the ${c} channel: this gateway has no default recipients for it`;
      throw new GatewayError(400, `Missing required parameter: '${field}' (${why}).`, { param: field });
    }
  }
  if (s.webhook_url !== undefined) {
    try {
      await vetWebhookUrl(s.webhook_url, ctx);
    } catch (e) {
      if (e instanceof TargetRefused) throw invalid(['webhook_url'], e.message);
      // Not resolvable now: deliveries resolve again and retry.
    }
  }
  return s;
}

/** The record to store, with a new id and, for webhooks, a new signing secret (the subscribe answer shows it once). */
export function createSubscription(req: SubscriptionRequest, now: () => number = Date.now): Subscription {
  return {
    id: `sub_${randomBytes(12).toString('base64url')}`,
    created_at: new Date(now()).toISOString(),
    ...req,
    ...(req.channels.includes('webhook') ? { webhook_secret: generateSecret() } : {}),
  };
}

/** The subscription without its secret, for listing. */
export function publicSubscription(s: Subscription): PublicSubscription {
  const { webhook_secret: _, ...rest } = s;
  return rest;
}

function invalid(path: readonly PropertyKey[], message: string): GatewayError {
  const param = formatPath(path);
  return new GatewayError(400, `Invalid value for '${param}': ${message}`, { param });
}

/** One zod issue in OpenAI's wording: a missing field, an unknown one, or a bad value. */
function issueError(issue: z.core.$ZodIssue): GatewayError {
  if (issue.code === 'unrecognized_keys') {
    const param = formatPath([...issue.path, issue.keys[0]!]);
    return new GatewayError(400, `Unrecognized request argument supplied: ${param}`, { param });
  }
  const param = formatPath(issue.path);
  // issueMessages words a missing value "required" (zod keeps no input on the issue).
  if (issue.code === 'invalid_type' && issue.message === 'required') return new GatewayError(400, `Missing required parameter: '${param}'.`, { param });
  return invalid(issue.path, issue.message);
}
