import type { GatewayConfig } from '../config/types.ts';
import type { RouteTable } from '../routing/routes.ts';
import type { Store } from '../store/types.ts';
import { lastUtcDays, utcMonthOf } from '../uptime/calendar.ts';
import { downSpans, type DownSpans, type Topology } from '../uptime/down-spans.ts';
import { uptimePercentage } from '../uptime/figures.ts';
import { monthlySla, type MonthlySla, type SlaPolicy } from '../uptime/sla.ts';
import { clip, measure, type Span } from '../uptime/spans.ts';
import { uptimeReport, type DailyUptime, type SubjectUptime } from '../uptime/uptime-report.ts';

/**
 * What serves what, from the config: every target, and for each model clients ask for, its
 * own routes and the equivalents its failover chain can reach (`models:`), so a provider down
 * while another serves the model is not the model's downtime (docs/uptime.md).
 */
export function topologyOf(routes: RouteTable, config: Pick<GatewayConfig, 'equivalents'>): Topology {
  const targets = [...routes.routes()].map((r) => ({ key: r.key, provider: r.provider, model: r.model }));
  const servedBy: Record<string, string[]> = {};
  for (const t of targets) (servedBy[t.model] ??= []).push(t.key);
  for (const [model, keys] of Object.entries(servedBy)) {
    for (const provider of Object.keys(config.equivalents[model] ?? {})) {
      const eq = routes.equivalentOn(provider, model);
      if (eq !== undefined && !keys.includes(eq.key)) keys.push(eq.key);
    }
  }
  return { targets, servedBy };
}

/** The store's down records over [from, to), turned into down spans at `now`. */
export async function loadDownSpans(store: Store, topology: Topology, from: number, to: number): Promise<DownSpans> {
  const [intervals, unserved] = await Promise.all([
    store.availability.listDownIntervals({ from, to }),
    store.availability.listUnservedMinutes({ from, to }),
  ]);
  return downSpans({ intervals, unserved }, topology, to);
}

/** Uptime % of `spans` over the last `ms` before `now`. */
export function uptimeOver(spans: readonly Span[], now: number, ms: number): number {
  return uptimePercentage(measure(clip(spans, now - ms, now)), ms);
}

const daily = (d: readonly DailyUptime[]) => d.map((x) => ({ date: x.date, uptime_percentage: x.uptimePercentage, downtime_minutes: x.downtimeMinutes, incidents: x.incidents }));
const figures = (s: SubjectUptime) => ({ uptime_percentage: s.uptimePercentage, downtime_minutes: s.downtimeMinutes, incidents: s.incidents, daily: daily(s.daily) });

function slaJson(m: MonthlySla) {
  return {
    month: m.month,
    from: new Date(m.from).toISOString(),
    to: new Date(m.to).toISOString(),
    total_minutes: m.totalMinutes,
    downtime_minutes: m.downtimeMinutes,
    availability_percentage: m.availabilityPercentage,
    target_percentage: m.targetPercentage,
    met: m.met,
    service_credit_percentage: m.creditPercentage,
    complete: m.complete,
  };
}

/**
 * `GET /v1/uptime?days=N`: uptime %, downtime minutes and incidents per provider, per target,
 * per client model and overall, over the last N UTC days and per day; and the gateway's
 * availability this calendar month against its SLA with the service credit earned.
 */
export async function uptimeResponse(store: Store, topology: Topology, sla: SlaPolicy, now: number, days: number) {
  const [from, to] = lastUtcDays(now, days);
  const month = utcMonthOf(now);
  const monthStart = Date.UTC(month.year, month.month - 1, 1);
  // One read covers the window and the month so far.
  const readFrom = Math.min(from, monthStart);
  const [down, incidents] = await Promise.all([loadDownSpans(store, topology, readFrom, to), store.incidents.list({ from, to, limit: 100_000 })]);
  const report = uptimeReport({ down, incidents, topology, from, to });
  return {
    object: 'uptime',
    days,
    from: new Date(from).toISOString(),
    to: new Date(to).toISOString(),
    overall: figures(report.overall),
    sla: slaJson(monthlySla(down.gateway, month, now, sla)),
    models: report.models.map((m) => ({ name: m.name, ...figures(m) })),
    providers: report.providers.map((p) => ({
      name: p.name,
      ...figures(p),
      models: p.models.map((t) => ({ name: t.name, key: t.key, ...figures(t) })),
    })),
  };
}
