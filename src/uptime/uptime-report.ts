import type { Incident } from '../store/types.ts';
import { utcDays } from './calendar.ts';
import type { DownSpans, Topology } from './down-spans.ts';
import { downtimeMinutes, uptimePercentage } from './figures.ts';
import { clip, measure, type Span } from './spans.ts';

export interface UptimeFigures {
  readonly uptimePercentage: number;
  readonly downtimeMinutes: number;
  /** Incidents that started in the period and affected the subject. */
  readonly incidents: number;
}

export interface DailyUptime extends UptimeFigures {
  /** `YYYY-MM-DD` (UTC). */
  readonly date: string;
}

export interface SubjectUptime extends UptimeFigures {
  /** One entry per UTC day of the period, oldest first. */
  readonly daily: readonly DailyUptime[];
}

export interface TargetUptime extends SubjectUptime {
  /** The model's name at its provider's route. */
  readonly name: string;
  /** `provider/model`. */
  readonly key: string;
}

export interface ProviderUptime extends SubjectUptime {
  readonly name: string;
  readonly models: readonly TargetUptime[];
}

export interface ModelUptime extends SubjectUptime {
  /** The model clients ask for. */
  readonly name: string;
}

export interface UptimeReport {
  readonly from: number;
  readonly to: number;
  /** The gateway as its clients see it. */
  readonly overall: SubjectUptime;
  /** Each model clients ask for, as its clients see it (all of its serving targets). */
  readonly models: readonly ModelUptime[];
  readonly providers: readonly ProviderUptime[];
}

export interface UptimeReportInput {
  /** From downSpans() over records covering [from, to). */
  readonly down: DownSpans;
  /** Incidents that may have started in [from, to); others are ignored. */
  readonly incidents: readonly Incident[];
  readonly topology: Topology;
  readonly from: number;
  readonly to: number;
}

/**
 * Uptime %, downtime minutes and incidents over [from, to) and per UTC day of it, for the
 * gateway, each client model, each provider and each of its targets.
 *
 * @example
 * const [from, to] = lastUtcDays(now, 30);
 * const records = { intervals: await store.availability.listDownIntervals({ from, to }),
 *                   unserved: await store.availability.listUnservedMinutes({ from, to }) };
 * const report = uptimeReport({ down: downSpans(records, topology, to), incidents, topology, from, to });
 */
export function uptimeReport(input: UptimeReportInput): UptimeReport {
  const { down, topology, from, to } = input;
  const days = utcDays(from, to);
  const started = input.incidents.filter((i) => i.startedAt >= from && i.startedAt < to);
  const figures = (spans: readonly Span[], affects: (services: readonly string[]) => boolean): SubjectUptime => {
    const mine = started.filter((i) => affects(i.affectedServices));
    const inPeriod = clip(spans, from, to);
    const daily = days.map(({ date, span: [s, e] }) => {
      const downMs = measure(clip(inPeriod, s, e));
      return {
        date,
        uptimePercentage: uptimePercentage(downMs, e - s),
        downtimeMinutes: downtimeMinutes(downMs),
        incidents: mine.filter((i) => i.startedAt >= s && i.startedAt < e).length,
      };
    });
    const downMs = measure(inPeriod);
    return {
      uptimePercentage: uptimePercentage(downMs, to - from),
      downtimeMinutes: downtimeMinutes(downMs),
      incidents: mine.length,
      daily,
    };
  };

  const byProvider = new Map<string, Array<{ key: string; model: string }>>();
  for (const t of topology.targets) {
    let list = byProvider.get(t.provider);
    if (list === undefined) byProvider.set(t.provider, (list = []));
    list.push(t);
  }
  const providerOf = new Map(topology.targets.map((t) => [t.key, t.provider]));
  // A service names a target (`openai/gpt-4`) or a whole provider (`openai`).
  const affectsTargets = (keys: readonly string[]) => {
    const names = new Set<string>(keys);
    for (const k of keys) names.add(providerOf.get(k) ?? k.slice(0, k.indexOf('/')));
    return (services: readonly string[]) => services.some((s) => names.has(s));
  };

  return {
    from,
    to,
    overall: figures(down.gateway, () => true),
    models: Object.entries(topology.servedBy).map(([name, keys]) => ({
      name,
      ...figures(down.models.get(name) ?? [], affectsTargets(keys)),
    })),
    providers: [...byProvider].map(([name, targets]) => ({
      name,
      ...figures(
        down.providers.get(name) ?? [],
        (services) => services.some((s) => s === name || s.startsWith(`${name}/`)),
      ),
      models: targets.map((t) => ({ name: t.model, key: t.key, ...figures(down.targets.get(t.key) ?? [], affectsTargets([t.key])) })),
    })),
  };
}
