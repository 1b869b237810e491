/**
 * What `WS /v1/health/stream` sends and what the incident recorder hears: one event per
 * health transition of a provider, a model (target), a breaker or degraded mode, and the
 * incidents they open and resolve. Every event has a `type` and an ISO 8601 `timestamp`.
 */

/** Every provider_down names the models it takes down and where their traffic goes now. */
export interface ProviderDownEvent {
  type: 'provider_down';
  timestamp: string;
  provider: string;
  /** The provider's models (`gpt-4-turbo-preview`), all unhealthy now. */
  models: string[];
  /** The first provider of the failover chain that is not down, or null when none is left. */
  fallback_provider: string | null;
}

export interface ProviderRecoveredEvent {
  type: 'provider_recovered';
  timestamp: string;
  provider: string;
  /** `healthy`, or `degraded` when some of its models are still unhealthy. */
  status: string;
}

export interface ModelEvent {
  type: 'model_down' | 'model_recovered';
  timestamp: string;
  provider: string;
  model: string;
  /** model_down: why routing skips the target (`circuit_open`, `health_check`). */
  reason?: string | null;
}

export interface CircuitEvent {
  type: 'circuit_opened' | 'circuit_half_open' | 'circuit_closed';
  timestamp: string;
  provider: string;
  model: string;
  /** The breaker's config key (a target has one breaker per distinct X-Circuit-Breaker config). */
  breaker: string;
  /** True for the target's default breaker, the one routing and health follow. */
  default: boolean;
}

export interface DegradedModeEvent {
  type: 'degraded_mode_entered' | 'degraded_mode_exited';
  timestamp: string;
  /** The degraded-mode machine's state after the change. */
  state: string;
}

/** An incident as the stream shows it (the same fields as GET /v1/incidents). */
export interface IncidentStreamEvent {
  type: 'incident_opened' | 'incident_resolved';
  timestamp: string;
  incident: Record<string, unknown>;
}

export type HealthEvent = ProviderDownEvent | ProviderRecoveredEvent | ModelEvent | CircuitEvent | DegradedModeEvent | IncidentStreamEvent;

export type HealthEventType = HealthEvent['type'];
