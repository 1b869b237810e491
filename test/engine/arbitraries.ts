import fc from 'fast-check';
import { ERROR_KINDS, type ErrorKind, type ErrorTrigger } from '../../src/core/error-kinds.ts';
import { RETRYABLE_KINDS } from '../../src/policy/schemas.ts';
import { PARSE_RETRY_AFTER } from '../../src/policy/types.ts';
import { MODEL, PROVIDERS, type Outcome } from './harness.ts';

/**
 * Random but valid values of the seed's policy headers (parsePolicy must accept every one:
 * a 400 here is a generator bug, and the test fails on it), random upstream scripts and
 * random request timelines.
 */

type Headers = Record<string, string>;

const json = (v: unknown): string => JSON.stringify(v);
/** Failover triggers: bad_request never fails over, so naming it is a 400. */
const TRIGGERS: readonly ErrorTrigger[] = [...ERROR_KINDS.filter((k) => k !== 'bad_request'), 'any_error'];

/** Merge optional header groups into one header object. */
const merge = (...parts: Headers[]): Headers => Object.assign({}, ...parts);

// ---- failover chain (1-4 steps) -----------------------------------------------------------

const trigger = fc.oneof(
  fc.constantFrom(...TRIGGERS),
  fc.uniqueArray(fc.constantFrom(...TRIGGERS), { minLength: 1, maxLength: 4 }),
);

const fallback = (provider: string) =>
  fc
    .record(
      {
        trigger,
        max_latency_increase: fc.integer({ min: 0, max: 500 }),
        reduce_quality: fc.boolean(),
        reduce_max_tokens: fc.integer({ min: 1, max: 10 }).map((n) => n / 10),
      },
      { requiredKeys: ['trigger'] },
    )
    .map((f) => ({ ...f, provider, model: MODEL }));

/** X-Failover-Config: a primary and 0-3 fallbacks on distinct providers. */
const advancedChain: fc.Arbitrary<Headers> = fc
  .uniqueArray(fc.constantFrom(...PROVIDERS), { minLength: 1, maxLength: 4 })
  .chain(([primary, ...rest]) =>
    fc.record({
      fallbacks: fc.tuple(...rest.map(fallback)),
      extra: fc.record(
        { health_check_interval: fc.integer({ min: 1, max: 60 }), failure_threshold: fc.integer({ min: 1, max: 5 }), success_threshold: fc.integer({ min: 1, max: 5 }) },
        { requiredKeys: [] },
      ),
    }).map(({ fallbacks, extra }) => ({ 'x-failover-config': json({ primary: { provider: primary, model: MODEL }, fallbacks, ...extra }) })),
  );

/** X-Failover-Providers (the requested route, p0, first), optionally with X-Failover-Enabled. */
const simpleChain: fc.Arbitrary<Headers> = fc
  .record({
    providers: fc.uniqueArray(fc.constantFrom(...PROVIDERS), { minLength: 1, maxLength: 4 }),
    enabled: fc.constantFrom(undefined, 'true', 'True', 'false'),
  })
  .map(({ providers, enabled }) => merge({ 'x-failover-providers': providers.join(', ') }, enabled === undefined ? {} : { 'x-failover-enabled': enabled }));

export const chainHeaders: fc.Arbitrary<Headers> = fc.oneof(fc.constant({}), simpleChain, advancedChain);

// ---- retries ------------------------------------------------------------------------------

const delay = fc.integer({ min: 0, max: 2_000 });
const strategy = fc.constantFrom('exponential', 'linear', 'fixed');

/** X-Max-Retries / X-Retry-Delay-Ms alone. */
const simpleRetry: fc.Arbitrary<Headers> = fc
  .record({ max: fc.integer({ min: 0, max: 10 }), delay }, { requiredKeys: [] })
  .map(({ max, delay: d }) => merge(max === undefined ? {} : { 'x-max-retries': String(max) }, d === undefined ? {} : { 'x-retry-delay-ms': String(d) }));

/** X-Retry-Config (backoff strategies), the strategy in the header, the body, or both. */
const backoffRetry: fc.Arbitrary<Headers> = fc
  .record({
    strategy,
    where: fc.constantFrom('header', 'body', 'both', 'none'),
    initial: delay,
    extra: fc.integer({ min: 0, max: 20_000 }),
    body: fc.record(
      {
        multiplier: fc.integer({ min: 10, max: 40 }).map((n) => n / 10),
        max_retries: fc.integer({ min: 0, max: 10 }),
        jitter: fc.boolean(),
        retry_on: fc.uniqueArray(fc.constantFrom<ErrorTrigger>(...RETRYABLE_KINDS, 'any_error'), { maxLength: 7 }),
      },
      { requiredKeys: [] },
    ),
    withDelays: fc.boolean(),
  })
  .map(({ strategy: s, where, initial, extra, body, withDelays }) => {
    const cfg: Record<string, unknown> = { ...body };
    if (withDelays) Object.assign(cfg, { initial_delay_ms: initial, max_delay_ms: initial + extra });
    if (where === 'body' || where === 'both') cfg.strategy = s;
    return merge({ 'x-retry-config': json(cfg) }, where === 'header' || where === 'both' ? { 'x-retry-strategy': s } : {});
  });

/** One custom rule, as the parser lets it through (delays within max_wait_ms, no contradictions). */
const rule = (errorType: ErrorTrigger) =>
  fc
    .record({
      cap: fc.option(fc.integer({ min: 0, max: 20_000 }), { nil: undefined }),
      switchAfter: fc.option(fc.integer({ min: 0, max: 5 }), { nil: undefined }),
      shape: fc.oneof(
        fc.constant({ t: 'immediate' as const }),
        fc.constant({ t: 'backoff' as const }),
        fc.constant({ t: 'parse' as const }),
        fc.double({ min: 0, max: 1, noNaN: true }).map((f) => ({ t: 'wait' as const, f })),
        fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: 1, maxLength: 6 }).map((fs) => ({ t: 'attempts' as const, fs })),
      ),
    })
    .map(({ cap, switchAfter, shape }) => {
      if (shape.t === 'immediate') return { error_type: errorType, immediate_failover: true };
      const within = cap ?? 20_000;
      const r: Record<string, unknown> = { error_type: errorType };
      if (cap !== undefined) r.max_wait_ms = cap;
      if (switchAfter !== undefined) r.switch_provider_after = switchAfter;
      if (shape.t === 'parse') r.wait_ms = PARSE_RETRY_AFTER;
      if (shape.t === 'wait') r.wait_ms = Math.floor(shape.f * within);
      if (shape.t === 'attempts') r.attempts = shape.fs.map((f) => Math.floor(f * within));
      return r;
    });

/** X-Retry-Config with the custom strategy (the seed's rules form). */
const customRetry: fc.Arbitrary<Headers> = fc
  .record({
    types: fc.uniqueArray(fc.constantFrom<ErrorTrigger>(...RETRYABLE_KINDS, 'any_error'), { minLength: 1, maxLength: 4 }),
    maxRetries: fc.option(fc.integer({ min: 0, max: 10 }), { nil: undefined }),
    maxDelay: fc.option(fc.integer({ min: 2_000, max: 20_000 }), { nil: undefined }),
    inHeader: fc.boolean(),
  })
  .chain(({ types, maxRetries, maxDelay, inHeader }) =>
    fc.tuple(...types.map(rule)).map((rules) => {
      const cfg: Record<string, unknown> = { strategy: 'custom', rules };
      if (maxRetries !== undefined) cfg.max_retries = maxRetries;
      if (maxDelay !== undefined) cfg.max_delay_ms = maxDelay;
      return merge({ 'x-retry-config': json(cfg) }, inHeader ? { 'x-retry-strategy': 'custom' } : {});
    }),
  );

export const retryHeaders: fc.Arbitrary<Headers> = fc.oneof(fc.constant({}), simpleRetry, backoffRetry, customRetry);

// ---- breaker and deadline -----------------------------------------------------------------

/** X-Circuit-Breaker fields (also the config's resilience.breaker). */
export const breakerFields: fc.Arbitrary<Record<string, unknown>> = fc
  .record(
    {
      error_threshold: fc.integer({ min: 1, max: 5 }),
      error_threshold_window: fc.integer({ min: 1, max: 120 }),
      timeout: fc.integer({ min: 1, max: 600 }).map((n) => n / 10),
      half_open_requests: fc.integer({ min: 1, max: 3 }),
      success_threshold: fc.integer({ min: 1, max: 3 }),
      excluded_errors: fc.uniqueArray(fc.constantFrom(...ERROR_KINDS), { maxLength: 3 }),
      monitor_latency: fc.boolean(),
      latency_threshold_ms: fc.integer({ min: 1, max: 3_000 }),
    },
    { requiredKeys: [] },
  );

const breakerHeader: fc.Arbitrary<Headers> = breakerFields.map((b) => ({ 'x-circuit-breaker': json(b) }));

const timeoutHeader: fc.Arbitrary<Headers> = fc.integer({ min: 1, max: 30_000 }).map((ms) => ({ 'x-request-timeout-ms': String(ms) }));

/** Every policy header a request may carry, each group present or not. */
export const policyHeaders: fc.Arbitrary<Headers> = fc
  .tuple(chainHeaders, retryHeaders, fc.option(breakerHeader, { nil: undefined }), fc.option(timeoutHeader, { nil: undefined }))
  .map(([chain, retry, breaker, timeout]) => merge(chain, retry, breaker ?? {}, timeout ?? {}));

// ---- upstream scripts ---------------------------------------------------------------------

const outcomeDelay = fc.oneof({ weight: 3, arbitrary: fc.constant(0) }, { weight: 2, arbitrary: fc.integer({ min: 1, max: 6_000 }) });

export const outcome: fc.Arbitrary<Outcome> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ type: fc.constant('ok' as const), delayMs: outcomeDelay }) },
  {
    weight: 6,
    arbitrary: fc
      .record(
        {
          kind: fc.constantFrom<ErrorKind>(...ERROR_KINDS),
          delayMs: outcomeDelay,
          retryAfterMs: fc.integer({ min: 0, max: 15_000 }),
          fatal: fc.boolean(),
        },
        { requiredKeys: ['kind', 'delayMs'] },
      )
      .map((e) => ({ type: 'error' as const, ...e })),
  },
  { weight: 1, arbitrary: fc.constant({ type: 'hang' as const }) },
);

/** One run: requests (each after a random clock advance, so they may overlap) over one script. */
export interface Scenario {
  attemptTimeoutMs: number;
  /** The config's resilience.failover.triggers: what moves a request along a chain without triggers. */
  chainTriggers: readonly ErrorTrigger[];
  /** The config's default breaker. */
  breaker: Record<string, unknown>;
  budgetTokens: number;
  requests: Array<{ gapMs: number; headers: Headers }>;
  script: Outcome[];
  probeScript: Outcome[];
  seed: number;
}

const gap = fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 40_000 }));

/**
 * A client usually sends the same policy headers on every request (its profile); some
 * requests carry their own. Breakers then see a stream of outcomes under one config.
 */
export const scenario: fc.Arbitrary<Scenario> = scenarioOf(outcome);

/** Scenarios whose upstreams often refuse with content_filter (a rare kind in `scenario`). */
export const refusalScenario: fc.Arbitrary<Scenario> = scenarioOf(
  fc.oneof(
    { weight: 1, arbitrary: outcome },
    { weight: 1, arbitrary: outcomeDelay.map((delayMs): Outcome => ({ type: 'error', kind: 'content_filter', delayMs })) },
  ),
);

function scenarioOf(upstream: fc.Arbitrary<Outcome>): fc.Arbitrary<Scenario> {
  return fc
  .record({
    attemptTimeoutMs: fc.integer({ min: 50, max: 20_000 }),
    chainTriggers: fc.constantFrom<readonly ErrorTrigger[]>(['any_error'], ['any_error', 'content_filter'], ['timeout', 'content_filter']),
    breaker: breakerFields,
    budgetTokens: fc.integer({ min: 0, max: 10 }),
    profile: policyHeaders,
    requests: fc.array(fc.record({ gapMs: gap, own: fc.oneof({ weight: 3, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: policyHeaders }) }), { minLength: 1, maxLength: 10 }),
    script: fc.array(upstream, { maxLength: 60 }),
    probeScript: fc.array(outcome, { maxLength: 20 }),
    seed: fc.nat(),
  })
  .map(({ profile, requests, ...rest }) => ({ ...rest, requests: requests.map((r) => ({ gapMs: r.gapMs, headers: r.own ?? profile })) }));
}
