import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import type { z } from 'zod';
import { formatPath } from '../core/field-path.ts';
import { bareHost } from '../net/loopback.ts';
import { DEFAULT_MAX_IN_FLIGHT, DEFAULT_QUEUE_TIMEOUT_MS } from '../targets/local-limit.ts';
import { DEFAULT_CONFIG } from './default-config.ts';
import { interpolateEnv } from './interpolate.ts';
import { policyDefaultsFromConfig } from './policy-defaults.ts';
import { configSchema, type ParsedConfig } from './schema.ts';
import type { GatewayConfig, ModelRoute, ProviderConfig } from './types.ts';
import type { PrefillMode } from '../providers/types.ts';

/** A configuration that cannot start a gateway; the message names the file and field. */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

export interface LoadOptions {
  /** Path of a YAML file; when absent, PARROT_CONFIG, then the embedded default. */
  path?: string;
  env?: NodeJS.ProcessEnv;
}

/** Load, interpolate, validate and normalise the configuration. Throws ConfigError. */
export function loadConfig(opts: LoadOptions = {}): GatewayConfig {
  const env = opts.env ?? process.env;
  const path = opts.path ?? (env.PARROT_CONFIG || undefined);
  let raw: unknown = DEFAULT_CONFIG;
  if (path !== undefined) {
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (err) {
      throw new ConfigError(`config ${path}: cannot read: ${(err as Error).message}`);
    }
    try {
      // Not yaml's pretty errors: they quote the offending line, which may hold a key.
      raw = parseYaml(text, { prettyErrors: false });
    } catch (err) {
      throw new ConfigError(`config ${path}: not valid YAML${yamlPosition(text, err)}: ${(err as Error).message}`);
    }
  }
  return configFromObject(raw, { env, source: path ?? 'embedded default (built-in simulator)' });
}

/** ` at line L, column C` of a yaml error, from its offset (no quote of the line itself). */
function yamlPosition(text: string, err: unknown): string {
  const pos = (err as { pos?: [number, number] }).pos?.[0];
  if (pos === undefined) return '';
  const before = text.slice(0, pos);
  const line = before.split('\n').length;
  return ` at line ${line}, column ${pos - before.lastIndexOf('\n')}`;
}

/** Validate an already-parsed config tree (YAML or an object in tests). */
export function configFromObject(raw: unknown, opts: { env?: NodeJS.ProcessEnv; source?: string } = {}): GatewayConfig {
  const source = opts.source ?? 'inline';
  const missing = new Set<string>();
  const interpolated = interpolateEnv(raw, opts.env ?? process.env, missing);
  const result = configSchema.safeParse(interpolated ?? {});
  if (!result.success) throw new ConfigError(`config ${source}: ${formatIssues(result.error)}`);
  return normalise(result.data, opts.env ?? process.env, source, [...missing]);
}

/** A `prefill` value as the route keeps it: whether the model continues a prefill, and the mode's fields. */
function prefillOf(value: boolean | PrefillMode): Pick<ModelRoute, 'prefill' | 'prefillMode'> {
  return typeof value === 'string' ? { prefill: true, prefillMode: value } : { prefill: value };
}

function formatIssues(error: z.ZodError): string {
  return error.issues
    .map((i) => `${formatPath(i.path) || '(root)'}: ${i.message}`)
    .join('; ');
}

function normalise(c: ParsedConfig, env: NodeJS.ProcessEnv, source: string, missingEnv: string[]): GatewayConfig {
  const server = { ...c.server };
  if (env.PORT !== undefined && env.PORT !== '') {
    const port = Number(env.PORT);
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw new ConfigError(`PORT: not a port number: "${env.PORT}"`);
    server.port = port;
  }
  if (env.HOST !== undefined && env.HOST !== '') server.host = env.HOST;
  // `[::1]` (as a URL writes it) listens on ::1.
  server.host = bareHost(server.host);

  const providers: ProviderConfig[] = c.providers.map((p) => ({
    target: {
      name: p.name,
      type: p.type,
      baseUrl: p.base_url.replace(/\/+$/, ''),
      ...(p.api_key ? { apiKey: p.api_key } : {}),
      // Header names lower-cased once, here: adapters compare them with their own (all
      // lower-case) without doing it per request, so a configured `X-Api-Key` cannot double
      // the auth header (see ProviderTarget.headers for the precedence).
      ...(p.headers ? { headers: Object.fromEntries(Object.entries(p.headers).map(([name, value]) => [name.toLowerCase(), value])) } : {}),
      ...(p.api_version ? { azureApiVersion: p.api_version } : {}),
      ...(p.deployments ? { azureDeployments: p.deployments } : {}),
      ...(p.anthropic_version ? { anthropicVersion: p.anthropic_version } : {}),
    },
    models: p.models.map((m) => {
      // Anthropic's Messages API continues a final assistant message; others only when declared.
      const declared = p.prefill ?? p.type === 'anthropic';
      if (typeof m === 'string') return { name: m, upstream: m, ...prefillOf(declared) };
      return {
        name: m.name,
        upstream: m.upstream ?? m.name,
        ...prefillOf(m.prefill ?? declared),
        ...(m.price ? { price: { inputPer1k: m.price.input_per_1k, outputPer1k: m.price.output_per_1k } } : {}),
        ...(m.hedge
          ? {
              hedge: {
                providers: m.hedge.providers,
                strategy: m.hedge.strategy,
                cancelSlower: m.hedge.cancel_slower,
                ...(m.hedge.delay_ms !== undefined ? { delayMs: m.hedge.delay_ms } : {}),
                ...(m.hedge.max_additional_cost !== undefined ? { maxAdditionalCost: m.hedge.max_additional_cost } : {}),
              },
            }
          : {}),
      };
    }),
    connections: p.connections,
    maxInFlight: p.max_in_flight ?? DEFAULT_MAX_IN_FLIGHT,
    queueTimeoutMs: p.queue_timeout_ms ?? DEFAULT_QUEUE_TIMEOUT_MS,
  }));

  let policy;
  try {
    policy = policyDefaultsFromConfig(c, new Set(providers.map((p) => p.target.name)));
  } catch (err) {
    throw new ConfigError(`config ${source}: ${(err as Error).message}`);
  }
  const r = c.resilience;

  return {
    resilience: {
      policy,
      attemptTimeoutMs: r.attempt_timeout_ms,
      ttftTimeoutMs: r.ttft_timeout_ms,
      streamIdleTimeoutMs: r.stream_idle_timeout_ms,
      retryBudget: { maxTokens: r.retry_budget.max_tokens, ratio: r.retry_budget.ratio },
      cacheEntries: r.cache_entries,
      degraded: r.degraded,
      maxBreakersPerTarget: r.max_breakers_per_target,
      breakerProbeIntervalMs: r.breaker_probe_interval_ms,
      hedgeMinDelayMs: r.hedge_min_delay_ms,
    },
    server: { host: server.host, port: server.port, bodyLimitBytes: server.body_limit_bytes, requestTimeoutMs: server.request_timeout_ms, maxInFlight: server.max_in_flight },
    // An unset ${VAR} leaves an empty key: never accept "" as a key.
    auth: { keys: c.auth.keys.filter((k) => k !== ''), adminKeys: c.auth.admin_keys.filter((k) => k !== '') },
    providers,
    equivalents: c.models,
    degradedMode: c.degraded_mode,
    responseCache: { maxBytes: c.response_cache.max_bytes, ttlMs: c.response_cache.ttl_ms, file: c.response_cache.file },
    simulator: {
      enabled: c.simulator.enabled,
      host: bareHost(c.simulator.host),
      port: c.simulator.port,
      ...(c.simulator.models ? { models: c.simulator.models } : {}),
      ...(c.simulator.defaults !== undefined ? { defaults: c.simulator.defaults } : {}),
      ...(c.simulator.seed !== undefined ? { seed: c.simulator.seed } : {}),
    },
    chaos: { enabled: c.chaos.enabled },
    statusPage: { enabled: c.status_page.enabled, public: c.status_page.public },
    store: { databaseUrl: c.store.database_url ?? env.DATABASE_URL, sqlitePath: c.store.path },
    region: c.region,
    sla: { targetPercent: c.sla.target_percent, tiers: c.sla.credit_tiers.map((t) => ({ belowPercent: t.below_percent, creditPercent: t.credit_percent })) },
    health: { heartbeatIntervalMs: c.health.heartbeat_interval_ms, streamBufferBytes: c.health.stream_buffer_bytes, maxStreamClients: c.health.max_stream_clients },
    incidents: { resolveAfterMs: c.incidents.resolve_after_ms },
    notifications: c.notifications,
    source,
    missingEnv,
  };
}

/**
 * Point every `base_url: simulator` provider at the running simulator, sending `headers` (the
 * simulator's per-process token) on each call.
 */
export function bindSimulator(config: GatewayConfig, simulatorUrl: string, headers: Record<string, string> = {}): void {
  for (const p of config.providers) {
    if (p.target.baseUrl !== 'simulator') continue;
    p.target.baseUrl = p.target.type === 'openai' || p.target.type === 'openai-compatible' ? `${simulatorUrl}/v1` : simulatorUrl;
    p.target.headers = { ...p.target.headers, ...headers };
  }
}
