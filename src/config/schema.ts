import { z } from 'zod';
import { degradedModeFileSchema, responseCacheFileSchema } from '../degraded/settings.ts';
import { BREAKER_FALLBACKS } from '../core/breaker/config.ts';
import { redactUrl } from '../core/redact-url.ts';
import { failoverTriggersSchema } from '../policy/schemas.ts';
import { PREFILL_MODES } from '../providers/types.ts';
import { notificationsConfigSchema } from '../notify/config.ts';
import { DEFAULT_MAX_IN_FLIGHT_REQUESTS } from '../http/admission.ts';

/**
 * The configuration file's shape (YAML, snake_case as users write it). Validated once at
 * start-up; a bad file stops the gateway with a message naming the field.
 */

const modelEntry = z.union([
  z.string().min(1),
  z.object({
    /** The name clients use. */
    name: z.string().min(1),
    /** The provider's own model id, when it differs (e.g. claude-3-opus -> claude-3-opus-20240229). */
    upstream: z.string().min(1).optional(),
    /** This model continues a trailing assistant message (overrides the provider's `prefill`). */
    prefill: z.union([z.boolean(), z.enum(PREFILL_MODES)]).optional(),
    /** USD per 1,000 tokens, for hedging's max_additional_cost estimate. */
    price: z.object({ input_per_1k: z.number().min(0), output_per_1k: z.number().min(0) }).strict().optional(),
    /** Hedging on by default for requests to this model (X-Request-Hedging still decides per request). */
    hedge: z.object({
      providers: z.array(z.string()).min(1),
      delay_ms: z.number().int().min(0).max(600_000).optional(),
      strategy: z.enum(['latency', 'first-success']).default('latency'),
      cancel_slower: z.boolean().default(true),
      max_additional_cost: z.number().min(0).optional(),
    }).strict().optional(),
  }).strict(),
]);

export const providerTypes = ['openai', 'openai-compatible', 'anthropic', 'google'] as const;

const provider = z.object({
  name: z.string().regex(/^[a-zA-Z0-9_.-]+$/, 'letters, digits, "_", "-" and "." only'),
  type: z.enum(providerTypes),
  /** URL of the API, or the word `simulator` for the built-in provider simulator. */
  base_url: z.string().min(1),
  api_key: z.string().optional(),
  models: z.array(modelEntry).min(1),
  headers: z.record(z.string(), z.string()).optional(),
  /** Azure OpenAI: the api-version query parameter (selects Azure's URL layout and `api-key` header). */
  api_version: z.string().optional(),
  /** Azure OpenAI: model name -> deployment name. */
  deployments: z.record(z.string(), z.string()).optional(),
  anthropic_version: z.string().optional(),
  /**
   * The provider continues a trailing assistant message as a prefix, so a stream broken
   * mid-answer may be continued there: `true` (Anthropic's default; an OpenAI-compatible server
   * that continues a trailing assistant message as sent), or for OpenAI-compatible servers the
   * mode that asks for it: `continue_final_message` (vLLM) or `prefix` (DeepSeek, Mistral).
   */
  prefill: z.union([z.boolean(), z.enum(PREFILL_MODES)]).optional(),
  /**
   * Most keep-alive connections to this provider's origin (default: no cap of its own, so the
   * admission limit server.max_in_flight bounds them; providers sharing an origin share the largest).
   */
  connections: z.number().int().min(1).max(1_000_000).optional(),
  /**
   * The gateway's own limit, per model of this provider: calls in flight at once, waiting for
   * a connection included (default 10,000); one more is refused at once (503 gateway_overloaded).
   */
  max_in_flight: z.number().int().min(1).max(1_000_000).optional(),
  /** How long a call may wait for a free connection before it is refused (default 30,000 ms; 503 gateway_overloaded). */
  queue_timeout_ms: z.number().int().min(1).max(3_600_000).optional(),
}).strict();

const server = z.object({
  host: z.string().default('127.0.0.1'),
  port: z.coerce.number().int().min(0).max(65535).default(8080),
  /** Largest accepted request body, in bytes. */
  body_limit_bytes: z.number().int().min(1024).max(512 * 1024 * 1024).default(10 * 1024 * 1024),
  /** One deadline per request across every attempt, unless X-Request-Timeout-Ms says otherwise. */
  request_timeout_ms: z.number().int().min(1).max(3_600_000).default(120_000),
  /**
   * The admission limit: chat requests in flight at once, streams until they end (default
   * 10,000). One more is answered 503 gateway_overloaded with Retry-After.
   */
  max_in_flight: z.number().int().min(1).max(1_000_000).default(DEFAULT_MAX_IN_FLIGHT_REQUESTS),
}).strict();

const auth = z.object({
  keys: z.array(z.string()).default([]),
  admin_keys: z.array(z.string()).default([]),
}).strict();

const simulator = z.object({
  enabled: z.boolean().default(false),
  host: z.string().default('127.0.0.1'),
  port: z.number().int().min(0).max(65535).default(0),
  /** Per-model simulator behaviour (latency, faults): passed to the simulator as is. */
  models: z.record(z.string(), z.unknown()).optional(),
  defaults: z.unknown().optional(),
  seed: z.number().int().optional(),
}).strict();

/** Fault injection (POST /admin/chaos): off unless a config turns it on. */
const chaos = z.object({ enabled: z.boolean().default(false) }).strict();

/** The status page (/status): `public` serves it without a key; off, it needs a gateway key. */
const statusPage = z.object({ enabled: z.boolean().default(true), public: z.boolean().default(true) }).strict();

const ms = (max: number) => z.number().int().min(1).max(max);

/**
 * Resilience defaults: what a request that sends no policy header gets. `breaker` and
 * `retry` take exactly the fields of the X-Circuit-Breaker and X-Retry-Config headers.
 */
const resilience = z.object({
  /** X-Circuit-Breaker fields, e.g. { error_threshold: 5, timeout: 30 }. */
  breaker: z.record(z.string(), z.unknown()).optional(),
  breaker_fallback: z.enum(BREAKER_FALLBACKS).default('error'),
  /** X-Retry-Config fields, e.g. { initial_delay_ms: 100, max_retries: 2 }. */
  retry: z.record(z.string(), z.unknown()).optional(),
  failover: z.object({
    enabled: z.boolean().default(true),
    /** The default chain: the requested model on each of these providers, through `models` equivalents. */
    providers: z.array(z.string()).default([]),
    /**
     * The kinds that move a request along that chain (and an X-Failover-Providers chain):
     * X-Failover-Config's trigger vocabulary. `any_error` leaves out content_filter: list it
     * to fail a safety refusal over too.
     */
    triggers: failoverTriggersSchema.default(['any_error']),
    health_check_interval: z.number().min(1).max(86_400).default(30),
    failure_threshold: z.number().int().min(1).max(100).default(3),
    success_threshold: z.number().int().min(1).max(100).default(2),
  }).strict().prefault({}),
  /** A non-streaming attempt must answer within this. */
  attempt_timeout_ms: ms(3_600_000).default(60_000),
  /** A streaming attempt must produce its first content within this (time to first token). */
  ttft_timeout_ms: ms(3_600_000).default(15_000),
  /** After the first byte, a stream silent this long is ended as timed out. */
  stream_idle_timeout_ms: ms(3_600_000).default(30_000),
  retry_budget: z.object({
    max_tokens: z.number().min(0).max(10_000).default(10),
    ratio: z.number().min(0).max(1).default(0.2),
  }).strict().prefault({}),
  /** Last good responses kept for X-Circuit-Breaker-Fallback: cache. */
  cache_entries: z.number().int().min(0).max(1_000_000).default(1000),
  /** Model to serve when a breaker is open and the request asked for `degraded`: model -> cheaper model. */
  degraded: z.record(z.string(), z.string()).default({}),
  /** While a breaker is open, how often one background probe tests its target (a success half-opens it at once). */
  breaker_probe_interval_ms: ms(3_600_000).default(5_000),
  /** Floor of the hedge delay when X-Hedge-Config gives no delay_ms (the primary's p95 time to first token). */
  hedge_min_delay_ms: z.number().int().min(0).max(600_000).default(50),
  /** Most distinct X-Circuit-Breaker configs kept per target. */
  max_breakers_per_target: z.number().int().min(1).max(1024).default(32),
}).strict();

/** Where history and runtime state are kept (docs/store.md). */
const store = z.object({
  /** A PostgreSQL URL; default the DATABASE_URL environment variable. An empty string means SQLite. */
  database_url: z.string().optional(),
  /** The SQLite file when no PostgreSQL URL is given (default ./data/parrot.db; `:memory:` keeps nothing). */
  path: z.string().min(1).optional(),
}).strict();

/** The region incidents are tagged with (subscriptions filter on it); absent: incidents name no region. */
const region = z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'expected a region name such as "us-east-1"');

const percent3 = z.number().gt(0).max(100).refine((p) => Math.abs(Math.round(p * 1000) - p * 1000) < 1e-6, 'at most three decimals');

/** The monthly availability promised and the service credits below it (docs/uptime.md). */
const sla = z.object({
  target_percent: percent3.default(99.9),
  credit_tiers: z.array(z.object({ below_percent: percent3, credit_percent: z.number().min(0).max(100) }).strict()).max(20).default([
    { below_percent: 99.9, credit_percent: 10 },
    { below_percent: 99.0, credit_percent: 25 },
    { below_percent: 95.0, credit_percent: 100 },
  ]),
}).strict();

/** GET /v1/health and WS /v1/health/stream (docs/health.md). */
const health = z.object({
  /** A heartbeat to every stream client this often. */
  heartbeat_interval_ms: z.number().int().min(100).max(3_600_000).default(15_000),
  /** A stream client whose unsent data passes this is closed (1008) instead of slowing anything. */
  stream_buffer_bytes: z.number().int().min(1024).max(64 * 1024 * 1024).default(1024 * 1024),
  /** Stream clients at once; more are refused at the handshake (503). */
  max_stream_clients: z.number().int().min(1).max(100_000).default(1000),
}).strict();

/** The incident recorder (docs/health.md). */
const incidents = z.object({
  /**
   * An incident resolves only after everything it covers stayed recovered this long; going
   * down again within it continues the same incident (flapping makes one incident, not many).
   */
  resolve_after_ms: z.number().int().min(0).max(86_400_000).default(120_000),
}).strict();

export const configSchema = z.object({
  server: server.prefault({}),
  auth: auth.prefault({}),
  providers: z.array(provider).min(1),
  /** Equivalents: for a requested model, the model to use on each other provider. */
  models: z.record(z.string(), z.record(z.string(), z.string())).default({}),
  simulator: simulator.prefault({}),
  resilience: resilience.prefault({}),
  /** Degraded mode's triggers, default policy, quality table, priorities and queue (docs/degraded-mode.md). */
  degraded_mode: degradedModeFileSchema.prefault({}),
  response_cache: responseCacheFileSchema.prefault({}),
  chaos: chaos.prefault({}),
  status_page: statusPage.prefault({}),
  store: store.prefault({}),
  region: region.optional(),
  sla: sla.prefault({}),
  health: health.prefault({}),
  incidents: incidents.prefault({}),
  notifications: notificationsConfigSchema.prefault({}),
}).strict().superRefine((cfg, ctx) => {
  const names = new Set<string>();
  cfg.providers.forEach((p, i) => {
    if (names.has(p.name)) ctx.addIssue({ code: 'custom', path: ['providers', i, 'name'], message: `duplicate provider name "${p.name}"` });
    names.add(p.name);
    if (p.base_url === 'simulator' && !cfg.simulator.enabled) {
      ctx.addIssue({ code: 'custom', path: ['providers', i, 'base_url'], message: '"simulator" needs simulator.enabled: true' });
    } else if (p.base_url !== 'simulator' && !URL.canParse(p.base_url)) {
      ctx.addIssue({ code: 'custom', path: ['providers', i, 'base_url'], message: `not a URL: "${redactUrl(p.base_url)}"` });
    }
    // A prefill mode names fields of the Chat Completions body: other wire formats have none.
    if (p.type === 'anthropic' || p.type === 'google') {
      const modeless = `a prefill mode is for openai and openai-compatible providers; ${p.type} takes true or false`;
      if (typeof p.prefill === 'string') ctx.addIssue({ code: 'custom', path: ['providers', i, 'prefill'], message: modeless });
      p.models.forEach((m, j) => {
        if (typeof m === 'object' && typeof m.prefill === 'string') ctx.addIssue({ code: 'custom', path: ['providers', i, 'models', j, 'prefill'], message: modeless });
      });
    }
  });
  cfg.resilience.failover.providers.forEach((p, i) => {
    if (!names.has(p)) ctx.addIssue({ code: 'custom', path: ['resilience', 'failover', 'providers', i], message: `unknown provider "${p}"` });
  });
  for (const [model, equivalents] of Object.entries(cfg.models)) {
    for (const providerName of Object.keys(equivalents)) {
      if (!names.has(providerName)) ctx.addIssue({ code: 'custom', path: ['models', model, providerName], message: `unknown provider "${providerName}"` });
    }
  }
});

export type ConfigFile = z.input<typeof configSchema>;
export type ParsedConfig = z.output<typeof configSchema>;
