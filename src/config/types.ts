import type { DegradedModeFile } from '../degraded/settings.ts';
import type { PolicyDefaults } from '../policy/types.ts';
import type { PrefillMode, ProviderTarget } from '../providers/types.ts';
import type { NotificationsConfig } from '../notify/config.ts';
import type { SlaPolicy } from '../uptime/sla.ts';

/** One model a provider serves: the name clients use and the provider's own id. */
export interface ModelRoute {
  name: string;
  upstream: string;
  /** Continues a trailing assistant message (see providers[].prefill). */
  prefill: boolean;
  /** The fields an OpenAI-compatible server needs to continue it (providers[].prefill's mode). */
  prefillMode?: PrefillMode;
  /** USD per 1,000 tokens (hedging's cost estimate); undefined when not configured. */
  price?: { inputPer1k: number; outputPer1k: number };
  /** Hedging enabled by config for this model. */
  hedge?: HedgeDefaults;
}

/** Hedging for a model, from config (X-Hedge-Config's fields). */
export interface HedgeDefaults {
  providers: string[];
  delayMs?: number;
  strategy: 'latency' | 'first-success';
  cancelSlower: boolean;
  maxAdditionalCost?: number;
}

export interface ProviderConfig {
  target: ProviderTarget;
  models: ModelRoute[];
  /** Most connections to its origin; undefined: no cap of its own (server.maxInFlight bounds them). */
  connections: number | undefined;
  /** Calls in flight at once to each of its models, waiting for a connection included (the gateway's own limit). */
  maxInFlight: number;
  /** Longest a call may wait for a free connection (the gateway's own limit). */
  queueTimeoutMs: number;
}

/** The gateway's configuration after validation and defaults, in runtime shape. */
export interface GatewayConfig {
  server: {
    host: string;
    port: number;
    bodyLimitBytes: number;
    requestTimeoutMs: number;
    /** The admission limit: chat requests in flight at once (server.max_in_flight). */
    maxInFlight: number;
  };
  auth: { keys: string[]; adminKeys: string[] };
  providers: ProviderConfig[];
  /** requested model -> provider name -> that provider's equivalent model */
  equivalents: Record<string, Record<string, string>>;
  simulator: {
    enabled: boolean;
    host: string;
    port: number;
    models?: Record<string, unknown>;
    defaults?: unknown;
    seed?: number;
  };
  resilience: {
    /** The defaults every policy header is merged over (built once; shared). */
    policy: PolicyDefaults;
    attemptTimeoutMs: number;
    ttftTimeoutMs: number;
    streamIdleTimeoutMs: number;
    retryBudget: { maxTokens: number; ratio: number };
    cacheEntries: number;
    degraded: Record<string, string>;
    maxBreakersPerTarget: number;
    breakerProbeIntervalMs: number;
    hedgeMinDelayMs: number;
  };
  /** The `degraded_mode` block as parsed (its policy is checked against the routes at start-up). */
  degradedMode: DegradedModeFile;
  responseCache: { maxBytes: number; ttlMs: number; file: string | undefined };
  chaos: { enabled: boolean };
  statusPage: { enabled: boolean; public: boolean };
  /** PostgreSQL when `databaseUrl` is non-empty, else the SQLite file at `sqlitePath` (docs/store.md). */
  store: { databaseUrl: string | undefined; sqlitePath: string | undefined };
  /** Incidents' region; undefined: they name none (and reach every subscription). */
  region: string | undefined;
  sla: SlaPolicy;
  health: { heartbeatIntervalMs: number; streamBufferBytes: number; maxStreamClients: number };
  incidents: { resolveAfterMs: number };
  notifications: NotificationsConfig;
  /** Where the config came from, for the start-up banner. */
  source: string;
  /** `${VAR}`s that were unset. */
  missingEnv: string[];
}
