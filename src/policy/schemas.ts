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
 * - hedging: delay_ms 0..600000, up to 16 providers, max_additional_cost 0..1000 (USD).
 * - degraded mode: one strategy per condition, each condition listed in `triggers`;
 *   batch_size 1..1000, max_queue_time_ms 0..600000, cache_ttl_multiplier 1..100, up to 32
 *   features of 1..64 chars, a notification message of 1..500 chars.
 */
import { z } from 'zod';
import { ERROR_KINDS, type ErrorKind } from '../core/error-kinds.ts';
import { BREAKER_FALLBACKS } from '../core/breaker/config.ts';
import { PARSE_RETRY_AFTER } from './types.ts';
import { FEATURE_NAMES, type Feature } from '../degraded/features.ts';

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

const FRACTION = 'expected a number greater than 0 and at most 1';
/** A factor 0 < f <= 1 (reduce_max_tokens). */
const fraction = z.number({ error: say(FRACTION) }).gt(0, { error: FRACTION }).lte(1, { error: FRACTION });

/**
 * One of a fixed set of words, e.g. `unknown strategy "fast" (expected one of: latency, first-success)`;
 * `wrongType` is what a value that is not a string hears.
 */
function oneOf<const T extends readonly [string, ...string[]]>(values: T, noun: string, wrongType = `expected a ${noun} (a string)`) {
  const list = values.join(', ');
  return z.enum(values, {
    error: (iss) =>
      iss.input === undefined
        ? undefined
        : typeof iss.input === 'string'
          ? `unknown ${noun} "${iss.input}" (expected one of: ${list})`
          : wrongType,
  });
}

function kindEnum<const T extends readonly [string, ...string[]]>(values: T, wrongType = 'expected an error kind (a string)') {
  return oneOf(values, 'error kind', wrongType);
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
    reduce_max_tokens: fraction.optional(),
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

// ---- X-Hedge-Config -----------------------------------------------------------------------

/** X-Hedge-Config `strategy` values: keep the fastest answer, or the first good one. */
export const HEDGE_STRATEGIES = ['latency', 'first-success'] as const;

/** X-Hedge-Config: which providers a request is hedged across, when, and at what extra cost. */
export const hedgeConfigSchema = z
  .object({
    strategy: oneOf(HEDGE_STRATEGIES, 'strategy').optional(),
    providers: distinctList(name(64), 1, 16, 'provider').optional(),
    delay_ms: intIn(0, 600_000).optional(),
    cancel_slower: bool.optional(),
    max_additional_cost: numberIn(0, 1000).optional(),
  })
  .strict();

export type HedgeConfigHeader = z.infer<typeof hedgeConfigSchema>;

// ---- X-Degraded-Mode-Config ---------------------------------------------------------------

/** What puts a request into degraded mode: `triggers` and each strategy's `condition`. */
export const DEGRADED_TRIGGERS = ['high_latency', 'partial_outage', 'rate_limiting'] as const;
/** What a degraded-mode strategy does. */
export const DEGRADED_ACTIONS = ['reduce_quality', 'feature_flags', 'queue_and_batch'] as const;

const condition = oneOf(DEGRADED_TRIGGERS, 'condition');

/** Each action has its own `config` fields, exactly the seed's. */
const strategySchema = z.discriminatedUnion(
  'action',
  [
    z
      .object({
        condition,
        action: z.literal('reduce_quality'),
        config: z
          .object({
            use_model: name(256).optional(),
            reduce_max_tokens: fraction.optional(),
            disable_streaming: bool.optional(),
            cache_aggressively: bool.optional(),
          })
          .strict()
          .optional(),
      })
      .strict(),
    z
      .object({
        condition,
        action: z.literal('feature_flags'),
        config: z
          .object({
            disable_features: distinctList(oneOf(FEATURE_NAMES as [Feature, ...Feature[]], 'feature'), 0, 32, 'feature').optional(),
            simplify_prompts: bool.optional(),
            use_cached_responses: bool.optional(),
            cache_ttl_multiplier: numberIn(1, 100).optional(),
          })
          .strict()
          .optional(),
      })
      .strict(),
    z
      .object({
        condition,
        action: z.literal('queue_and_batch'),
        config: z
          .object({
            batch_size: intIn(1, 1000).optional(),
            max_queue_time_ms: intIn(0, 600_000).optional(),
            priority_queue: bool.optional(),
            notify_users: bool.optional(),
          })
          .strict()
          .optional(),
      })
      .strict(),
  ],
  {
    // Only the discriminator's own failure is worded here; a non-object falls through to "expected a JSON object".
    error: (iss) => {
      if (iss.code !== 'invalid_union') return undefined;
      const action = (iss.input as { action?: unknown } | undefined)?.action;
      if (action === undefined) return 'required';
      const list = DEGRADED_ACTIONS.join(', ');
      return typeof action === 'string' ? `unknown action "${action}" (expected one of: ${list})` : `expected an action (one of: ${list})`;
    },
  },
);

/** X-Degraded-Mode-Config: when a request may be degraded, and how. */
export const degradedModeConfigSchema = z
  .object({
    enabled: bool.optional(),
    triggers: distinctList(condition, 1, DEGRADED_TRIGGERS.length, 'trigger'),
    strategies: z
      .array(strategySchema, { error: say('expected an array') })
      .max(DEGRADED_TRIGGERS.length, { error: `expected at most ${DEGRADED_TRIGGERS.length} strategies` })
      .optional(),
    user_notification: z
      .object({
        enabled: bool.optional(),
        message: name(500).optional(),
        show_status: bool.optional(),
      })
      .strict()
      .optional(),
  })
  .strict()
  .superRefine((cfg, ctx) => {
    // A strategy whose condition is not a trigger would never run: say so instead of ignoring it.
    const seen = new Set<string>();
    cfg.strategies?.forEach((s, i) => {
      if (seen.has(s.condition)) {
        ctx.addIssue({ code: 'custom', path: ['strategies', i, 'condition'], message: `duplicate strategy for "${s.condition}"` });
      } else if (!cfg.triggers.includes(s.condition)) {
        ctx.addIssue({ code: 'custom', path: ['strategies', i, 'condition'], message: `"${s.condition}" is not listed in triggers` });
      }
      seen.add(s.condition);
    });
  });

export type DegradedModeConfigHeader = z.infer<typeof degradedModeConfigSchema>;

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

/** X-User-Priority values, highest first. */
export const USER_PRIORITIES = ['high', 'normal', 'low'] as const;

/** X-User-Priority. */
export const userPriorityHeaderSchema = z.enum(USER_PRIORITIES, {
  error: `expected one of: ${USER_PRIORITIES.join(', ')}`,
});
