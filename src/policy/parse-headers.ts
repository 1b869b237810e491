/**
 * The seed's policy headers -> one normalised, frozen RequestPolicy, or a 400 naming the
 * header and the field. Runs once per request, before any upstream call.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { z } from 'zod';
import type { BreakerConfig } from '../core/breaker/config.ts';
import type { ErrorKind, ErrorTrigger } from '../core/error-kinds.ts';
import type { GatewayError } from '../core/openai-error.ts';
import { deepFreeze, defaultPolicy } from './defaults.ts';
import { headerError, issueError, issueMessages } from './header-error.ts';
import {
  RETRYABLE_KINDS,
  backoffRetryConfigSchema,
  booleanHeaderSchema,
  breakerConfigSchema,
  breakerFallbackHeaderSchema,
  customRetryConfigSchema,
  degradedModeConfigSchema,
  failoverConfigSchema,
  hedgeConfigSchema,
  maxRetriesHeaderSchema,
  providersHeaderSchema,
  requestTimeoutHeaderSchema,
  retryDelayHeaderSchema,
  retryStrategyHeaderSchema,
  userPriorityHeaderSchema,
  type BackoffRetryConfigHeader,
  type BreakerConfigHeader,
  type CustomRetryConfigHeader,
  type DegradedModeConfigHeader,
  type FailoverConfigHeader,
  type HedgeConfigHeader,
} from './schemas.ts';
import type {
  AdvancedFailover,
  DegradedModePolicy,
  DegradedStrategy,
  FailoverDefaults,
  FallbackRule,
  HedgePolicy,
  PolicyContext,
  RequestPolicy,
  RetryPolicy,
  RetryRule,
  RetryStrategy,
} from './types.ts';

/** The largest header value accepted, in bytes (Node hands header values over as latin1: one char, one byte). */
export const MAX_HEADER_BYTES = 8192;

/**
 * Parses and validates the seed's policy headers over the config defaults.
 *
 * A request with none of them gets the shared default policy (no allocation). Bad input
 * throws a 400 GatewayError with `param` = the header and `code` = `invalid_header`.
 *
 * @example
 * const policy = parsePolicy(req.headers, { providers: new Set(['openai', 'anthropic']), models, defaults });
 * policy.retry.maxRetries // 3 for `X-Max-Retries: 3`
 */
export function parsePolicy(headers: IncomingHttpHeaders, ctx: PolicyContext): RequestPolicy {
  // Plain property reads: the common request carries none of these and must stay cheap.
  if (
    headers['x-failover-enabled'] === undefined &&
    headers['x-failover-providers'] === undefined &&
    headers['x-max-retries'] === undefined &&
    headers['x-retry-delay-ms'] === undefined &&
    headers['x-failover-config'] === undefined &&
    headers['x-circuit-breaker'] === undefined &&
    headers['x-circuit-breaker-fallback'] === undefined &&
    headers['x-retry-strategy'] === undefined &&
    headers['x-retry-config'] === undefined &&
    headers['x-request-timeout-ms'] === undefined &&
    headers['x-request-hedging'] === undefined &&
    headers['x-hedge-config'] === undefined &&
    headers['x-degraded-mode-config'] === undefined &&
    headers['x-user-priority'] === undefined
  ) {
    return defaultPolicy(ctx.defaults);
  }
  return parseSent(headers, ctx);
}

function parseSent(headers: IncomingHttpHeaders, ctx: PolicyContext): RequestPolicy {
  const d = ctx.defaults;

  const enabled = scalar(headers, 'X-Failover-Enabled', booleanHeaderSchema);
  const providers = scalar(headers, 'X-Failover-Providers', providersHeaderSchema);
  if (providers !== undefined) {
    for (const p of providers) requireProvider(ctx, p, () => headerError('X-Failover-Providers', [], notConfigured(ctx, p)));
  }

  const retry = parseRetry(headers, d.retry);

  const failoverJson = json(headers, 'X-Failover-Config');
  let advanced: AdvancedFailover | undefined;
  if (failoverJson !== undefined) {
    if (providers !== undefined) {
      throw headerError(
        'X-Failover-Providers',
        [],
        'cannot be combined with X-Failover-Config (its primary and fallbacks name the providers)',
      );
    }
    const cfg = validate('X-Failover-Config', failoverConfigSchema, failoverJson);
    checkFailoverProviders(ctx, cfg);
    advanced = toAdvanced(cfg, d.failover);
  }

  const breakerJson = json(headers, 'X-Circuit-Breaker');
  const breaker =
    breakerJson === undefined ? undefined : toBreaker(validate('X-Circuit-Breaker', breakerConfigSchema, breakerJson), d.breaker);

  return deepFreeze({
    failover: {
      enabled: enabled ?? (providers !== undefined || advanced !== undefined ? true : d.failover.enabled),
      providers: providers ?? (advanced !== undefined ? chainOf(advanced) : d.failover.providers),
      explicitProviders: providers !== undefined,
      maxRetries: retry.maxRetries,
      retryDelayMs: retry.initialDelayMs,
      advanced,
      triggers: d.failover.triggers,
    },
    breaker,
    breakerFallback: scalar(headers, 'X-Circuit-Breaker-Fallback', breakerFallbackHeaderSchema) ?? d.breakerFallback,
    retry,
    requestTimeoutMs: scalar(headers, 'X-Request-Timeout-Ms', requestTimeoutHeaderSchema) ?? d.requestTimeoutMs,
    hedging: parseHedging(headers, ctx),
    degradedMode: parseDegradedMode(headers, ctx),
    userPriority: scalar(headers, 'X-User-Priority', userPriorityHeaderSchema) ?? 'normal',
  });
}

// ---- reading one header -------------------------------------------------------------------

/** The raw value, size-checked. Node joins repeated custom headers with ", ". */
function raw(headers: IncomingHttpHeaders, name: string): string | undefined {
  const v = headers[name.toLowerCase()];
  if (v === undefined) return undefined;
  const s = Array.isArray(v) ? v.join(', ') : v;
  if (s.length > MAX_HEADER_BYTES) {
    throw headerError(name, [], `value is ${s.length} bytes, over the ${MAX_HEADER_BYTES}-byte limit`);
  }
  return s;
}

function scalar<S extends z.ZodType>(headers: IncomingHttpHeaders, name: string, schema: S): z.output<S> | undefined {
  const s = raw(headers, name);
  return s === undefined ? undefined : validate(name, schema, s);
}

function json(headers: IncomingHttpHeaders, name: string): unknown {
  const s = raw(headers, name);
  if (s === undefined) return undefined;
  try {
    return JSON.parse(s) as unknown;
  } catch {
    throw headerError(name, [], 'invalid JSON');
  }
}

function validate<S extends z.ZodType>(name: string, schema: S, value: unknown): z.output<S> {
  const r = schema.safeParse(value, { error: issueMessages });
  if (!r.success) throw issueError(name, r.error.issues);
  return r.data;
}

// ---- providers ----------------------------------------------------------------------------

function requireProvider(ctx: PolicyContext, provider: string, fail: () => GatewayError): void {
  if (!ctx.providers.has(provider)) throw fail();
}

function notConfigured(ctx: PolicyContext, provider: string): string {
  return `provider "${provider}" is not configured (configured: ${[...ctx.providers].sort().join(', ')})`;
}

function checkFailoverProviders(ctx: PolicyContext, cfg: FailoverConfigHeader): void {
  const p = cfg.primary.provider;
  requireProvider(ctx, p, () => headerError('X-Failover-Config', ['primary', 'provider'], notConfigured(ctx, p)));
  cfg.fallbacks.forEach((f, i) => {
    requireProvider(ctx, f.provider, () =>
      headerError('X-Failover-Config', ['fallbacks', i, 'provider'], notConfigured(ctx, f.provider)),
    );
  });
}

/** Distinct providers of an advanced config, primary first. */
function chainOf(a: AdvancedFailover): readonly string[] {
  const chain = [a.primary.provider];
  for (const f of a.fallbacks) if (!chain.includes(f.provider)) chain.push(f.provider);
  return chain;
}

// ---- X-Failover-Config --------------------------------------------------------------------

function toAdvanced(cfg: FailoverConfigHeader, d: FailoverDefaults): AdvancedFailover {
  return {
    primary: { provider: cfg.primary.provider, model: cfg.primary.model },
    fallbacks: cfg.fallbacks.map((f): FallbackRule => {
      const rule: { -readonly [K in keyof FallbackRule]: FallbackRule[K] } = {
        trigger: typeof f.trigger === 'string' ? [f.trigger] : f.trigger,
        provider: f.provider,
        model: f.model,
      };
      if (f.max_latency_increase !== undefined) rule.maxLatencyIncreaseMs = f.max_latency_increase;
      if (f.reduce_quality !== undefined) rule.reduceQuality = f.reduce_quality;
      if (f.reduce_max_tokens !== undefined) rule.reduceMaxTokens = f.reduce_max_tokens;
      return rule;
    }),
    healthCheckIntervalMs: seconds(cfg.health_check_interval) ?? d.healthCheckIntervalMs,
    failureThreshold: cfg.failure_threshold ?? d.failureThreshold,
    successThreshold: cfg.success_threshold ?? d.successThreshold,
  };
}

function seconds(s: number | undefined): number | undefined {
  return s === undefined ? undefined : Math.round(s * 1000);
}

// ---- X-Request-Hedging, X-Hedge-Config ----------------------------------------------------

function parseHedging(headers: IncomingHttpHeaders, ctx: PolicyContext): HedgePolicy | undefined {
  const enabled = scalar(headers, 'X-Request-Hedging', booleanHeaderSchema);
  const cfgJson = json(headers, 'X-Hedge-Config');
  if (enabled === undefined && cfgJson === undefined) return undefined;
  const cfg: HedgeConfigHeader = cfgJson === undefined ? {} : validate('X-Hedge-Config', hedgeConfigSchema, cfgJson);
  cfg.providers?.forEach((p, i) => {
    requireProvider(ctx, p, () => headerError('X-Hedge-Config', ['providers', i], notConfigured(ctx, p)));
  });
  return {
    // Sending the config asks for hedging, as sending X-Failover-Config asks for failover.
    enabled: enabled ?? true,
    strategy: cfg.strategy ?? 'latency',
    providers: cfg.providers,
    delayMs: cfg.delay_ms,
    cancelSlower: cfg.cancel_slower ?? true,
    maxAdditionalCostUsd: cfg.max_additional_cost,
  };
}

// ---- X-Degraded-Mode-Config ---------------------------------------------------------------

function parseDegradedMode(headers: IncomingHttpHeaders, ctx: PolicyContext): DegradedModePolicy | undefined {
  const cfgJson = json(headers, 'X-Degraded-Mode-Config');
  if (cfgJson === undefined) return undefined;
  const cfg = validate('X-Degraded-Mode-Config', degradedModeConfigSchema, cfgJson);
  checkDegradedModels(ctx, cfg);
  return toDegradedMode(cfg);
}

function checkDegradedModels(ctx: PolicyContext, cfg: DegradedModeConfigHeader): void {
  cfg.strategies?.forEach((s, i) => {
    const model = s.action === 'reduce_quality' ? s.config?.use_model : undefined;
    if (model !== undefined && !ctx.models.has(model)) {
      throw headerError('X-Degraded-Mode-Config', ['strategies', i, 'config', 'use_model'], `model "${model}" is not configured`);
    }
  });
}

function toDegradedMode(cfg: DegradedModeConfigHeader): DegradedModePolicy {
  const n = cfg.user_notification;
  return {
    enabled: cfg.enabled ?? true,
    triggers: cfg.triggers,
    strategies: (cfg.strategies ?? []).map(toStrategy),
    userNotification: n === undefined ? undefined : { enabled: n.enabled ?? true, message: n.message, showStatus: n.show_status },
  };
}

function toStrategy(s: NonNullable<DegradedModeConfigHeader['strategies']>[number]): DegradedStrategy {
  switch (s.action) {
    case 'reduce_quality':
      return {
        condition: s.condition,
        action: s.action,
        config: {
          useModel: s.config?.use_model,
          reduceMaxTokens: s.config?.reduce_max_tokens,
          disableStreaming: s.config?.disable_streaming,
          cacheAggressively: s.config?.cache_aggressively,
        },
      };
    case 'feature_flags':
      return {
        condition: s.condition,
        action: s.action,
        config: {
          disableFeatures: s.config?.disable_features,
          simplifyPrompts: s.config?.simplify_prompts,
          useCachedResponses: s.config?.use_cached_responses,
          cacheTtlMultiplier: s.config?.cache_ttl_multiplier,
        },
      };
    case 'queue_and_batch':
      return {
        condition: s.condition,
        action: s.action,
        config: {
          batchSize: s.config?.batch_size,
          maxQueueTimeMs: s.config?.max_queue_time_ms,
          priorityQueue: s.config?.priority_queue,
          notifyUsers: s.config?.notify_users,
        },
      };
  }
}

// ---- X-Circuit-Breaker --------------------------------------------------------------------

function toBreaker(c: BreakerConfigHeader, d: BreakerConfig): BreakerConfig {
  return {
    errorThreshold: c.error_threshold ?? d.errorThreshold,
    errorThresholdWindowMs: seconds(c.error_threshold_window) ?? d.errorThresholdWindowMs,
    openTimeoutMs: seconds(c.timeout) ?? d.openTimeoutMs,
    halfOpenRequests: c.half_open_requests ?? d.halfOpenRequests,
    successThreshold: c.success_threshold ?? d.successThreshold,
    excludedErrors: c.excluded_errors ?? d.excludedErrors,
    // A threshold sent without monitor_latency means "monitor it": otherwise it would be ignored.
    monitorLatency: c.monitor_latency ?? (c.latency_threshold_ms !== undefined ? true : d.monitorLatency),
    latencyThresholdMs: c.latency_threshold_ms ?? d.latencyThresholdMs,
  };
}

// ---- retry headers ------------------------------------------------------------------------

function parseRetry(headers: IncomingHttpHeaders, base: RetryPolicy): RetryPolicy {
  const maxRetriesHdr = scalar(headers, 'X-Max-Retries', maxRetriesHeaderSchema);
  const delayHdr = scalar(headers, 'X-Retry-Delay-Ms', retryDelayHeaderSchema);
  const strategyHdr = scalar(headers, 'X-Retry-Strategy', retryStrategyHeaderSchema);
  const cfgJson = json(headers, 'X-Retry-Config');

  let cfg: BackoffRetryConfigHeader | CustomRetryConfigHeader | undefined;
  let custom = false;
  if (cfgJson !== undefined) {
    const obj = isRecord(cfgJson) ? cfgJson : undefined;
    const declared = typeof obj?.strategy === 'string' ? obj.strategy : undefined;
    if (strategyHdr !== undefined && declared !== undefined && declared !== strategyHdr) {
      throw headerError('X-Retry-Config', ['strategy'], `"${declared}" disagrees with X-Retry-Strategy "${strategyHdr}"`);
    }
    const named = strategyHdr ?? declared;
    custom = named === 'custom' || (named === undefined && obj !== undefined && 'rules' in obj);
    cfg = custom
      ? validate('X-Retry-Config', customRetryConfigSchema, cfgJson)
      : validate('X-Retry-Config', backoffRetryConfigSchema, cfgJson);
  }

  const strategy: RetryStrategy = strategyHdr ?? cfg?.strategy ?? (custom ? 'custom' : base.strategy);
  let rules: readonly RetryRule[] = [];
  if (strategy === 'custom') {
    if (cfg !== undefined && 'rules' in cfg) rules = cfg.rules.map(toRule);
    else if (base.rules.length > 0) rules = base.rules;
    else throw headerError('X-Retry-Strategy', [], '"custom" needs rules in X-Retry-Config');
  }

  const maxRetries = agree(cfg?.max_retries, maxRetriesHdr, 'max_retries', 'X-Max-Retries') ?? base.maxRetries;
  const initialExplicit = agree(cfg?.initial_delay_ms, delayHdr, 'initial_delay_ms', 'X-Retry-Delay-Ms');
  const maxExplicit = cfg?.max_delay_ms;
  if (initialExplicit !== undefined && maxExplicit !== undefined && initialExplicit > maxExplicit) {
    throw headerError('X-Retry-Config', ['max_delay_ms'], `must be at least the initial delay (${initialExplicit})`);
  }
  // A default never overrides what the client sent: the unsent bound moves to fit the sent one.
  const initialDelayMs = initialExplicit ?? Math.min(base.initialDelayMs, maxExplicit ?? Infinity);
  const maxDelayMs = maxExplicit ?? Math.max(base.maxDelayMs, initialDelayMs);

  return {
    strategy,
    initialDelayMs,
    maxDelayMs,
    multiplier: cfg?.multiplier ?? base.multiplier,
    maxRetries,
    jitter: cfg?.jitter ?? base.jitter,
    retryOn: cfg?.retry_on === undefined ? base.retryOn : expandRetryOn(cfg.retry_on),
    rules,
  };
}

/** X-Retry-Config's value and the plain header's must not contradict each other. */
function agree(fromConfig: number | undefined, fromHeader: number | undefined, field: string, header: string): number | undefined {
  if (fromConfig !== undefined && fromHeader !== undefined && fromConfig !== fromHeader) {
    throw headerError('X-Retry-Config', [field], `${fromConfig} disagrees with ${header} (${fromHeader})`);
  }
  return fromConfig ?? fromHeader;
}

function expandRetryOn(list: readonly ErrorTrigger[]): readonly ErrorKind[] {
  if (!list.includes('any_error')) return list as readonly ErrorKind[];
  return RETRYABLE_KINDS;
}

function toRule(r: CustomRetryConfigHeader['rules'][number]): RetryRule {
  const rule: { -readonly [K in keyof RetryRule]: RetryRule[K] } = { errorType: r.error_type };
  if (r.wait_ms !== undefined) rule.waitMs = r.wait_ms;
  if (r.max_wait_ms !== undefined) rule.maxWaitMs = r.max_wait_ms;
  if (r.attempts !== undefined) rule.attempts = r.attempts;
  if (r.switch_provider_after !== undefined) rule.switchProviderAfter = r.switch_provider_after;
  if (r.immediate_failover !== undefined) rule.immediateFailover = r.immediate_failover;
  return rule;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
