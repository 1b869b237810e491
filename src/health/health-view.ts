import type { AnyActorRef } from 'xstate';
import type { FlowRuntime } from '../serve/flow-runtime.ts';
import type { Store } from '../store/types.ts';
import { DAY_MS } from '../uptime/calendar.ts';
import type { Topology } from '../uptime/down-spans.ts';
import type { HealthMonitor } from './monitor.ts';
import { topState } from './monitor.ts';
import { loadDownSpans, uptimeOver } from './uptime-view.ts';

/**
 * `GET /v1/health` (and the stream's snapshot): the seed's fields (status, uptime_percentage,
 * providers[{name, status, uptime_24h, avg_response_time_ms, error_rate, models[{name,
 * status, healthy}]}]) read from the same actors and targets routing uses, plus what an
 * operator needs (p95 latency, breaker state, last error, next probe).
 */

export type HealthStatus = 'healthy' | 'degraded' | 'down';

export interface HealthViewOptions {
  runtime: FlowRuntime;
  monitor: HealthMonitor;
  store: Store;
  topology: Topology;
  /** Provider -> its models, in config order. */
  providers: ReadonlyMap<string, readonly string[]>;
  region: string | undefined;
  /** Incidents open now. */
  openIncidents: () => number;
}

/** Days the overall uptime_percentage covers (the same window as GET /v1/uptime's default). */
export const OVERALL_UPTIME_DAYS = 30;

/** A model actor's state as health shows it: `failing` (consecutive failures, still routed to) is degraded. */
const MODEL_STATUS: Record<string, HealthStatus> = { healthy: 'healthy', failing: 'degraded', down: 'down' };

const round1 = (x: number): number => Math.round(x * 10) / 10;
const iso = (t: number | null | undefined): string | null => (t === null || t === undefined ? null : new Date(t).toISOString());

export async function healthView(o: HealthViewOptions) {
  const now = o.runtime.now();
  const down = await loadDownSpans(o.store, o.topology, now - OVERALL_UPTIME_DAYS * DAY_MS, now);
  const providers = [...o.providers].map(([name, models]) => {
    const providerActor = o.runtime.actor(`provider:${name}`);
    const status = (providerActor ? topState(providerActor.getSnapshot().value) : 'healthy') as HealthStatus;
    let requests = 0;
    let failures = 0;
    let latencySum = 0;
    let latencyWeight = 0;
    let p95: number | null = null;
    const modelViews = models.map((model) => {
      const key = `${name}/${model}`;
      const target = o.runtime.targets.byKey(key).toJSON();
      const actor = o.runtime.actor(`model:${key}`) as AnyActorRef | undefined;
      const snap = actor?.getSnapshot() as { value: unknown; context: { lastErrorKind: string | null; lastHeardAt: number | null; downReason: string | null } } | undefined;
      const mStatus = MODEL_STATUS[snap ? topState(snap.value) : 'healthy'] ?? 'healthy';
      const st = target.stats;
      requests += st.requests;
      failures += st.failures;
      if (st.latencyEwmaMs !== null) {
        // Weighted by the model's traffic, so a rarely used model does not skew its provider.
        const w = Math.max(1, st.requests - st.failures);
        latencySum += st.latencyEwmaMs * w;
        latencyWeight += w;
      }
      if (target.p95LatencyMs !== null) p95 = Math.max(p95 ?? 0, target.p95LatencyMs);
      const defaultId = o.runtime.targets.byKey(key).breakers.default.id;
      const defaultBreaker = target.breakers.find((b) => defaultId.endsWith(`#${b.config}`));
      const probe = o.monitor.nextProbe(key);
      const ctx = snap?.context;
      return {
        name: model,
        status: mStatus,
        healthy: mStatus === 'healthy',
        routable: target.routable,
        down_reason: ctx?.downReason ?? null,
        uptime_24h: uptimeOver(down.targets.get(key) ?? [], now, DAY_MS),
        avg_response_time_ms: st.latencyEwmaMs === null ? null : Math.round(st.latencyEwmaMs),
        p95_response_time_ms: target.p95LatencyMs === null ? null : Math.round(target.p95LatencyMs),
        error_rate: st.requests === 0 ? 0 : round1((100 * st.failures) / st.requests),
        requests: st.requests,
        circuit_breaker: defaultBreaker ? { state: defaultBreaker.status, opened_at: iso(defaultBreaker.openedAt) } : null,
        breakers: target.breakers.map((b) => ({ config: b.config, state: b.status, opened_at: iso(b.openedAt) })),
        last_error: ctx?.lastErrorKind ? { kind: ctx.lastErrorKind, at: iso(ctx.lastHeardAt) } : null,
        next_probe: probe ? { kind: probe.kind, at: iso(probe.at) } : null,
        queue: { in_flight: target.local.inFlight, waiting: target.local.waiting },
      };
    });
    return {
      name,
      status,
      uptime_24h: uptimeOver(down.providers.get(name) ?? [], now, DAY_MS),
      avg_response_time_ms: latencyWeight === 0 ? null : Math.round(latencySum / latencyWeight),
      p95_response_time_ms: p95 === null ? null : Math.round(p95),
      error_rate: requests === 0 ? 0 : round1((100 * failures) / requests),
      requests,
      models: modelViews,
    };
  });
  const degradedMode = o.monitor.degradedMode;
  const status: HealthStatus = providers.every((p) => p.status === 'down')
    ? 'down'
    : providers.some((p) => p.status !== 'healthy') || degradedMode !== undefined
      ? 'degraded'
      : 'healthy';
  return {
    status,
    uptime_percentage: uptimeOver(down.gateway, now, OVERALL_UPTIME_DAYS * DAY_MS),
    uptime_days: OVERALL_UPTIME_DAYS,
    timestamp: new Date(now).toISOString(),
    region: o.region ?? null,
    degraded_mode: degradedMode === undefined ? null : { state: degradedMode },
    open_incidents: o.openIncidents(),
    providers,
  };
}
