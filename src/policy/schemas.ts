/**
 * zod schemas for the seed's JSON policy headers, exactly as the seed writes them
 * (snake_case, seconds where the seed says seconds). Objects are strict: an unknown field is
 * a 400, never silently ignored. Every bound is written here, once; messages are the ones the
 * client sees after `X-Header: field "path": `.
 *
 * Bounds, and why:
 * - counts (thresholds, half-open trials): 1..100, error_threshold 1..1000; retries 0..10
 *   (more than 10 retries on one target is an outage amplifier, not resilience).
 * - windows and timeouts in seconds: error_threshold_window 1..86400, timeout 0.1..3600,
 *   health_check_interval 1..86400; fractions allowed, kept to the millisecond.
 * - delays in ms: initial_delay_ms 0..60000, max_delay_ms / wait_ms / max_wait_ms / each
 *   attempt 0..300000 (5 min), latency_threshold_ms and max_latency_increase 1..600000 / 0..600000
 *   (the request timeout's own ceiling).
 * - multiplier 1..10; reduce_max_tokens 0 < f <= 1.
 * - lists: 0..16 fallbacks (none: no failover), 10 attempts, one rule per kind; no duplicates anywhere.
 * - names: provider 1..64 chars, model 1..256 chars.
 */
import { z } from 'zod';
import { ERROR_KINDS, type ErrorKind } from '../core/error-kinds.ts';
import { BREAKER_FALLBACKS } from '../breaker/config.ts';
import { PARSE_RETRY_AFTER } from './types.ts';

const TRIGGERS = [...ERROR_KINDS, 'any_error'] as const;

/**
 * Kinds never retried on the same target: the client's own error, or failures that waiting
 * cannot heal (a longer context, a refusal, an exhausted quota). decideRetry hands them to the
 * chain (which fails content_filter over only where a trigger names it) or fails bad_request;
 * naming them in retry_on or a rule would be silently ignored, so it is a 400.
 */
export const NEVER_RETRIED: ReadonlySet<ErrorKind> = new Set<ErrorKind>([
  'bad_request',
  'context_length_exceeded',
  'content_filter',
  'quota_exceeded',
]);

/** What `any_error` means in retry_on: every kind that may be retried. */
export const RETRYABLE_KINDS: readonly ErrorKind[] = Object.freeze(ERROR_KINDS.filter((k) => !NEVER_RETRIED.has(k)));

// ---- leaves -------------------------------------------------------------------------------

/**
 * A leaf's own message, except for a missing required field: that one falls through to
 * the parse-level map, which says "required".
 */
function say(message: string) {
  return (iss: { input?: unknown }) => (iss.input === undefined ? undefined : message);
}

function intIn(min: number, max: number) {
  const error = say(`expected an integer between ${min} and ${max}`);
  return z.number({ error }).int({ error }).min(min, { error }).max(max, { error });
}

function secondsIn(min: number, max: number) {
  const error = say(`expected a number of seconds between ${min} and ${max}`);
  return z.number({ error }).min(min, { error }).max(max, { error });
}

function numberIn(min: number, max: number) {
  const error = say(`expected a number between ${min} and ${max}`);
  return z.number({ error }).min(min, { error }).max(max, { error });
}

function name(max: number) {
  const error = say(`expected a non-empty string of at most ${max} characters`);
  return z.string({ error }).min(1, { error }).max(max, { error });
}

const bool = z.boolean({ error: say('expected true or false') });

function kindEnum<const T extends readonly [string, ...string[]]>(values: T, wrongType = 'expected an error kind (a string)') {
  const list = values.join(', ');
  return z.enum(values, {
    error: (iss) =>
      iss.input === undefined
        ? undefined
        : typeof iss.input === 'string'
          ? `unknown error kind "${iss.input}" (expected one of: ${list})`
          : wrongType,
  });
}

const errorKind = kindEnum(ERROR_KINDS);
const errorTrigger = kindEnum(TRIGGERS);
/** A failover trigger: bad_request is the client's own error, which no other target can fix. */
const notBadRequest = [(k: string) => k !== 'bad_request', { error: 'error kind "bad_request" never fails over (the client\'s own error)' }] as const;
const failoverTrigger = errorTrigger.refine(...notBadRequest);
/** A trigger that may be retried: retry_on entries and rule error_types. */
const retryableTrigger = errorTrigger.refine((k) => !NEVER_RETRIED.has(k as ErrorKind), {
  error: (iss) => `error kind "${String(iss.input)}" is never retried on the same target`,
});

/** An array with 0..max (or min..max) distinct entries; a duplicate is reported at its index. */
function distinctList<T extends z.ZodType>(item: T, min: number, max: number, noun: string) {
  const n = (count: number) => `${count} ${noun}${count === 1 ? '' : 's'}`;
  return z
    .array(item, { error: say('expected an array') })
    .min(min, { error: `expected at least ${n(min)}` })
    .max(max, { error: `expected at most ${n(max)}` })
    .superRefine((list, ctx) => {
      const seen = new Set<unknown>();
      list.forEach((v, i) => {
        if (seen.has(v)) ctx.addIssue({ code: 'custom', path: [i], message: `duplicate ${JSON.stringify(v)}` });
        seen.add(v);
      });
    });
}

// ---- X-Failover-Config --------------------------------------------------------------------

const target = { provider: name(64), model: name(256) };

const fallbackSchema = z
  .object({
    // "trigger": "any_error" or ["timeout", "rate_limit"]; the union's errors are resolved to
    // the branch matching the input's shape by the issue formatter.
    trigger: z.union([
      kindEnum(TRIGGERS, 'expected an error kind or a list of error kinds').refine(...notBadRequest),
      distinctList(failoverTrigger, 1, TRIGGERS.length, 'error kind'),
    ]),
    ...target,
    max_latency_increase: intIn(0, 600_000).optional(),
    reduce_quality: bool.optional(),
    reduce_max_tokens: z
      .number({ error: say('expected a number greater than 0 and at most 1') })
      .gt(0, { error: 'expected a number greater than 0 and at most 1' })
      .lte(1, { error: 'expected a number greater than 0 and at most 1' })
      .optional(),
  })
  .strict();

/** X-Failover-Config: the seed's advanced failover object. `fallbacks: []` means no failover. */
export const failoverConfigSchema = z
  .object({
    primary: z.object(target).strict(),
    fallbacks: z
      .array(fallbackSchema, { error: say('expected an array') })
      .max(16, { error: 'expected at most 16 fallbacks' }),
    health_check_interval: secondsIn(1, 86_400).optional(),
    failure_threshold: intIn(1, 100).optional(),
    success_threshold: intIn(1, 100).optional(),
  })
  .strict();

export type FailoverConfigHeader = z.infer<typeof failoverConfigSchema>;

/**
 * `resilience.failover.triggers` in the config: the kinds that move a request along a chain
 * whose steps carry no trigger of their own (X-Failover-Providers, the default chain).
 */
export const failoverTriggersSchema = distinctList(failoverTrigger, 1, TRIGGERS.length, 'error kind');

// ---- X-Circuit-Breaker --------------------------------------------------------------------

/** X-Circuit-Breaker: every field optional, missing ones take the configured default. */
export const breakerConfigSchema = z
  .object({
    error_threshold: intIn(1, 1000).optional(),
    error_threshold_window: secondsIn(1, 86_400).optional(),
    timeout: secondsIn(0.1, 3600).optional(),
    half_open_requests: intIn(1, 100).optional(),
    success_threshold: intIn(1, 100).optional(),
    excluded_errors: distinctList(errorKind, 0, ERROR_KINDS.length, 'error kind').optional(),
    monitor_latency: bool.optional(),
    latency_threshold_ms: intIn(1, 600_000).optional(),
  })
  .strict();

export type BreakerConfigHeader = z.infer<typeof breakerConfigSchema>;

// ---- X-Retry-Config -----------------------------------------------------------------------

const MAX_WAIT = 300_000;

/** The backoff fields, shared by the exponential-style object and the custom one (for kinds without a rule). */
const backoffFields = {
  initial_delay_ms: intIn(0, 60_000).optional(),
  max_delay_ms: intIn(0, MAX_WAIT).optional(),
  multiplier: numberIn(1, 10).optional(),
  max_retries: intIn(0, 10).optional(),
  jitter: bool.optional(),
  retry_on: distinctList(retryableTrigger, 0, TRIGGERS.length, 'error kind').optional(),
};

/** X-Retry-Config for exponential, linear and fixed strategies. */
export const backoffRetryConfigSchema = z
  .object({
    strategy: z
      .enum(['exponential', 'linear', 'fixed'], { error: say('expected one of: exponential, linear, fixed, custom') })
      .optional(),
    ...backoffFields,
  })
  .strict();

const waitError = `expected an integer between 0 and ${MAX_WAIT} or "${PARSE_RETRY_AFTER}"`;

const ruleSchema = z
  .object({
    error_type: retryableTrigger,
    wait_ms: z
      .union([z.number().int().min(0).max(MAX_WAIT), z.literal(PARSE_RETRY_AFTER)], { error: say(waitError) })
      .optional(),
    max_wait_ms: intIn(0, MAX_WAIT).optional(),
    attempts: z
      .array(intIn(0, MAX_WAIT), { error: say('expected an array') })
      .min(1, { error: 'expected at least 1 delay' })
      .max(10, { error: 'expected at most 10 delays' })
      .optional(),
    switch_provider_after: intIn(0, 10).optional(),
    immediate_failover: bool.optional(),
  })
  .strict()
  .superRefine((rule, ctx) => {
    if (rule.immediate_failover === true) {
      for (const f of ['wait_ms', 'max_wait_ms', 'attempts', 'switch_provider_after'] as const) {
        if (rule[f] !== undefined) ctx.addIssue({ code: 'custom', path: [f], message: 'cannot be combined with immediate_failover' });
      }
      return;
    }
    if (rule.wait_ms !== undefined && rule.attempts !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['attempts'], message: 'cannot be combined with wait_ms' });
    }
    const cap = rule.max_wait_ms;
    if (cap === undefined) return;
    if (typeof rule.wait_ms === 'number' && rule.wait_ms > cap) {
      ctx.addIssue({ code: 'custom', path: ['wait_ms'], message: `exceeds max_wait_ms (${cap})` });
    }
    rule.attempts?.forEach((ms, i) => {
      if (ms > cap) ctx.addIssue({ code: 'custom', path: ['attempts', i], message: `exceeds max_wait_ms (${cap})` });
    });
  });

/** X-Retry-Config for the custom strategy: `{"strategy":"custom","rules":[...]}`. */
export const customRetryConfigSchema = z
  .object({
    strategy: z.literal('custom', { error: say('expected "custom"') }).optional(),
    rules: z
      .array(ruleSchema, { error: say('expected an array') })
      .min(1, { error: 'expected at least 1 rule' })
      .max(TRIGGERS.length, { error: `expected at most ${TRIGGERS.length} rules` })
      .superRefine((rules, ctx) => {
        const seen = new Set<string>();
        rules.forEach((r, i) => {
          if (seen.has(r.error_type)) {
            ctx.addIssue({ code: 'custom', path: [i, 'error_type'], message: `duplicate rule for "${r.error_type}"` });
          }
          seen.add(r.error_type);
        });
      }),
    ...backoffFields,
  })
  .strict();

export type BackoffRetryConfigHeader = z.infer<typeof backoffRetryConfigSchema>;
export type CustomRetryConfigHeader = z.infer<typeof customRetryConfigSchema>;

/** X-Retry-Strategy values. */
export const RETRY_STRATEGIES = ['exponential', 'linear', 'fixed', 'custom'] as const;
/** X-Circuit-Breaker-Fallback values. */

// ---- plain (non-JSON) headers -------------------------------------------------------------

/** X-Failover-Enabled: "true" or "false", any case (Python's `str(True)` is "True"). */
export const booleanHeaderSchema = z
  .string()
  .transform((s) => s.toLowerCase())
  .pipe(z.enum(['true', 'false'], { error: 'expected "true" or "false"' }))
  .transform((s) => s === 'true');

/** A decimal integer header within [min, max] (X-Max-Retries, X-Retry-Delay-Ms, X-Request-Timeout-Ms). */
export function integerHeaderSchema(min: number, max: number) {
  const error = `expected an integer between ${min} and ${max}`;
  return z.string({ error }).regex(/^\d+$/, { error }).transform(Number).pipe(intIn(min, max));
}

/** X-Max-Retries: retries on one target, 0..10. */
export const maxRetriesHeaderSchema = integerHeaderSchema(0, 10);
/** X-Retry-Delay-Ms: base retry delay, 0..60000 ms. */
export const retryDelayHeaderSchema = integerHeaderSchema(0, 60_000);
/** X-Request-Timeout-Ms: whole-request deadline, 1 ms..10 min. */
export const requestTimeoutHeaderSchema = integerHeaderSchema(1, 600_000);

/** X-Retry-Strategy. */
export const retryStrategyHeaderSchema = z.enum(RETRY_STRATEGIES, {
  error: `expected one of: ${RETRY_STRATEGIES.join(', ')}`,
});

/** X-Circuit-Breaker-Fallback. */
export const breakerFallbackHeaderSchema = z.enum(BREAKER_FALLBACKS, {
  error: `expected one of: ${BREAKER_FALLBACKS.join(', ')}`,
});

/**
 * X-Failover-Providers: comma-separated names, blanks around commas allowed, none empty,
 * none twice. Whether each is configured is checked against the running config by the parser.
 */
export const providersHeaderSchema = z
  .string()
  .transform((s) => s.split(',').map((p) => p.trim()))
  .superRefine((list, ctx) => {
    const seen = new Set<string>();
    list.forEach((p, i) => {
      if (p === '') ctx.addIssue({ code: 'custom', message: `entry ${i + 1} is empty` });
      else if (p.length > 64) ctx.addIssue({ code: 'custom', message: `entry ${i + 1} is longer than 64 characters` });
      else if (seen.has(p)) ctx.addIssue({ code: 'custom', message: `provider "${p}" is listed twice` });
      seen.add(p);
    });
  });
