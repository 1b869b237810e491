import type { DownInterval, UnservedMinute } from '../store/types.ts';
import { MINUTE_MS } from './calendar.ts';
import { intersectAll, normalize, union, type Span } from './spans.ts';

/** The down-interval subject that is the gateway itself (e.g. the process was not running). */
export const GATEWAY_SUBJECT = 'gateway';

/** What serves what: from the config, so the figures follow the routes clients actually get. */
export interface Topology {
  /** Every configured target: its key (`provider/model`), provider and model. */
  readonly targets: ReadonlyArray<{ readonly key: string; readonly provider: string; readonly model: string }>;
  /**
   * For each model clients ask for, every target that can answer it: its own route and the
   * equivalents its failover chain reaches.
   */
  readonly servedBy: Readonly<Record<string, readonly string[]>>;
}

/** The records, as the store gives them for the period. */
export interface AvailabilityRecords {
  readonly intervals: readonly DownInterval[];
  readonly unserved: readonly UnservedMinute[];
}

/** When each subject was down, as normalised span sets. */
export interface DownSpans {
  /** Per target key: its down intervals. */
  readonly targets: ReadonlyMap<string, Span[]>;
  /** Per provider: when every one of its targets was down at once. */
  readonly providers: ReadonlyMap<string, Span[]>;
  /** Per client model: when every target serving it was down, or a request for it went unserved. */
  readonly models: ReadonlyMap<string, Span[]>;
  /** The gateway: any model down, any unserved minute, or the gateway's own down intervals. */
  readonly gateway: Span[];
}

/**
 * Turns stored records into down time (the rules are written out in docs/uptime.md):
 * - an interval still open is down until `now`;
 * - a provider is down only while all of its targets are;
 * - a client model is down while every target serving it is down, and for every whole UTC
 *   minute in which a request for it failed for lack of any serving provider;
 * - the gateway is down while any model is, plus its own intervals, plus unserved minutes of
 *   models the topology does not know (any more).
 */
export function downSpans(records: AvailabilityRecords, topology: Topology, now: number): DownSpans {
  const bySubject = new Map<string, Span[]>();
  for (const i of records.intervals) {
    const end = i.endedAt ?? Math.max(now, i.startedAt);
    let list = bySubject.get(i.subject);
    if (list === undefined) bySubject.set(i.subject, (list = []));
    list.push([i.startedAt, end]);
  }
  const spansOf = (subject: string): Span[] => normalize(bySubject.get(subject) ?? []);

  const targets = new Map<string, Span[]>();
  const ofProvider = new Map<string, Span[][]>();
  for (const t of topology.targets) {
    const spans = spansOf(t.key);
    targets.set(t.key, spans);
    let list = ofProvider.get(t.provider);
    if (list === undefined) ofProvider.set(t.provider, (list = []));
    list.push(spans);
  }
  const providers = new Map<string, Span[]>();
  for (const [name, sets] of ofProvider) providers.set(name, intersectAll(sets));

  const unservedByModel = new Map<string, Span[]>();
  for (const u of records.unserved) {
    let list = unservedByModel.get(u.model);
    if (list === undefined) unservedByModel.set(u.model, (list = []));
    list.push([u.minute, u.minute + MINUTE_MS]);
  }

  const models = new Map<string, Span[]>();
  for (const [model, keys] of Object.entries(topology.servedBy)) {
    const allDown = intersectAll(keys.map((k) => targets.get(k) ?? spansOf(k)));
    models.set(model, union(allDown, unservedByModel.get(model) ?? []));
  }
  const unknownModels = [...unservedByModel].filter(([m]) => !models.has(m)).map(([, spans]) => spans);
  const gateway = union(spansOf(GATEWAY_SUBJECT), ...models.values(), ...unknownModels);
  return { targets, providers, models, gateway };
}
