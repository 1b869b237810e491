import type { PolicyDefaults } from '../policy/types.ts';
import type { ProviderTarget } from '../providers/types.ts';

/** One model a provider serves: the name clients use and the provider's own id. */
export interface ModelRoute {
  name: string;
  upstream: string;
  /** Continues a trailing assistant message (see providers[].prefill). */
  prefill: boolean;
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
  /** Where the config came from, for the start-up banner. */
  source: string;
  /** `${VAR}`s that were unset. */
  missingEnv: string[];
}
