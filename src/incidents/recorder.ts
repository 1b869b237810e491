import { randomBytes } from 'node:crypto';
import type { Subscription } from 'rxjs';
import type { FlowOutput } from '../core/flow.ts';
import type { HealthEvent } from '../health/events.ts';
import type { HealthMonitor } from '../health/monitor.ts';
import type { WriteQueue } from '../health/write-queue.ts';
import type { FlowClock } from '../serve/flow-handle.ts';
import type { Incident, IncidentImpact, IncidentSeverity, NewTimelineEntry, Store } from '../store/types.ts';
import { INCIDENT_SEVERITIES } from '../store/types.ts';
import { incidentJson } from './incident-json.ts';

/**
 * Opens, grows and resolves incidents from the health events (docs/health.md):
 * - a provider or model going down opens an incident for its provider, or joins the one
 *   open (one incident per provider at a time); degraded mode entering opens one of its own;
 * - impact and severity only rise while it lasts: a model down is a `partial_outage`
 *   (`medium`), the whole provider down an `outage` (`high`; `critical` when every provider
 *   is down), degraded mode `degraded_performance` (`low`);
 * - it resolves once everything it covers has recovered and stayed so for
 *   `resolve_after_ms`; going down again within that time continues the same incident (a
 *   `flap` in its timeline), so a flapping provider makes one incident, not many. Its end is
 *   the last recovery;
 * - every transition of what it covers (breakers included) is a timeline entry; the requests
 *   a fallback answered while it lasted are counted as rescued, with where they went.
 * Every write goes through the ordered write queue, each committed before the next: a kill -9
 * loses at most the rescued count of the last second.
 */

export const DEGRADED_GROUP = 'degraded_mode';

export type IncidentChange = 'incident.opened' | 'incident.updated' | 'incident.resolved';

export interface IncidentRecorderOptions {
  monitor: HealthMonitor;
  store: Store;
  writes: WriteQueue;
  now: () => number;
  clock?: FlowClock;
  region: string | undefined;
  resolveAfterMs: number;
  /** Provider -> its models. */
  providers: ReadonlyMap<string, readonly string[]>;
  /** A provider's or model's current state, from its actor (`provider:openai`, `model:openai/gpt-4`). */
  stateOf: (systemId: string) => string | undefined;
  /** Told after each change is committed (notifications). */
  onChange?: (change: IncidentChange, incident: Incident) => void;
}

interface OpenIncident {
  id: string;
  group: string;
  title: string;
  startedAt: number;
  impact: IncidentImpact;
  severity: IncidentSeverity;
  /** What is down now: `provider:<p>`, target keys, `degraded`. */
  down: Set<string>;
  affected: Set<string>;
  routedTo: Set<string>;
  rescuedPending: number;
  flushTimer: unknown;
  lastRecoveryAt: number;
  resolveTimer: unknown;
}

const IMPACT_RANK: Record<IncidentImpact, number> = { degraded_performance: 0, partial_outage: 1, outage: 2 };
const RESCUE_FLUSH_MS = 1_000;

export class IncidentRecorder {
  readonly #o: IncidentRecorderOptions;
  /** One per provider at most, plus degraded mode: bounded by config. */
  readonly #open = new Map<string, OpenIncident>();
  readonly #sub: Subscription;
  #opened = 0;
  #resolved = 0;

  constructor(opts: IncidentRecorderOptions) {
    this.#o = opts;
    this.#sub = opts.monitor.events$.subscribe((e) => this.#on(e));
  }

  /** Incidents open now. */
  get openCount(): number {
    return this.#open.size;
  }

  /** Incidents opened and resolved since start (for metrics). */
  get counts(): { opened: number; resolved: number } {
    return { opened: this.#opened, resolved: this.#resolved };
  }

  /**
   * Takes over the incidents still ongoing in the store (the gateway stopped during them).
   * Call before the targets' health is restored, then `settleRestored()` once it is: those
   * whose subjects are healthy again start their resolution wait.
   */
  async restore(): Promise<void> {
    const ongoing = await this.#o.store.incidents.list({ status: 'ongoing', limit: 1000 });
    for (const i of ongoing) {
      const group = i.affectedServices.includes(DEGRADED_GROUP) ? DEGRADED_GROUP : (i.affectedServices[0] ?? '').split('/')[0]!;
      if (group === '' || this.#open.has(group)) continue;
      this.#open.set(group, {
        id: i.id,
        group,
        title: i.title,
        startedAt: i.startedAt,
        impact: i.impact,
        severity: i.severity,
        down: new Set(),
        affected: new Set(i.affectedServices),
        routedTo: new Set(i.resolution.routedTo),
        rescuedPending: 0,
        flushTimer: undefined,
        lastRecoveryAt: this.#o.now(),
        resolveTimer: undefined,
      });
    }
  }

  /** After the restored health has settled: restored incidents with nothing down start their resolution wait. */
  settleRestored(): void {
    for (const inc of this.#open.values()) {
      if (inc.group === DEGRADED_GROUP) {
        if (this.#o.monitor.degradedMode !== undefined) inc.down.add('degraded');
      } else {
        if (this.#o.stateOf(`provider:${inc.group}`) === 'down') inc.down.add(`provider:${inc.group}`);
        for (const m of this.#o.providers.get(inc.group) ?? []) if (this.#o.stateOf(`model:${inc.group}/${m}`) === 'down') inc.down.add(`${inc.group}/${m}`);
      }
      if (inc.down.size === 0 && inc.resolveTimer === undefined) this.#scheduleResolve(inc, this.#o.now());
    }
  }

  /**
   * One finished client request (called by the chat service): a request answered by another
   * target after a target of an open incident failed or was skipped was rescued by failover.
   */
  onRequest(out: FlowOutput): void {
    if (this.#open.size === 0 || !out.ok || out.attempts.length < 2) return;
    const served = out.step.key;
    const servedProvider = out.step.provider;
    for (const a of out.attempts) {
      if (a.ok || a.provider === servedProvider) continue;
      const inc = this.#open.get(a.provider);
      if (inc === undefined) continue;
      inc.routedTo.add(served);
      inc.rescuedPending++;
      if (inc.flushTimer === undefined) inc.flushTimer = this.#setTimeout(() => this.#flushRescued(inc), RESCUE_FLUSH_MS);
      return;
    }
  }

  /** Writes what is pending; the open incidents stay open in the store (a restart takes them over). */
  async stop(): Promise<void> {
    this.#sub.unsubscribe();
    for (const inc of this.#open.values()) {
      this.#clearTimer(inc.resolveTimer);
      this.#flushRescued(inc);
    }
    await this.#o.writes.drain();
  }

  #on(e: HealthEvent): void {
    const at = Date.parse(e.timestamp);
    switch (e.type) {
      case 'provider_down':
        this.#down(e.provider, `provider:${e.provider}`, [e.provider], 'outage', at, entry(e, at, `${e.provider} is down (${e.models.join(', ')}); traffic goes to ${e.fallback_provider ?? 'no other provider'}`));
        break;
      case 'model_down':
        this.#down(e.provider, `${e.provider}/${e.model}`, [`${e.provider}/${e.model}`], 'partial_outage', at, entry(e, at, `${e.provider}/${e.model} is down (${e.reason ?? 'unhealthy'})`));
        break;
      case 'degraded_mode_entered':
        this.#down(DEGRADED_GROUP, 'degraded', [DEGRADED_GROUP], 'degraded_performance', at, entry(e, at, `degraded mode entered (${e.state})`));
        break;
      case 'provider_recovered':
        this.#up(e.provider, `provider:${e.provider}`, at, entry(e, at, `${e.provider} recovered (${e.status})`));
        break;
      case 'model_recovered':
        this.#up(e.provider, `${e.provider}/${e.model}`, at, entry(e, at, `${e.provider}/${e.model} recovered`));
        break;
      case 'degraded_mode_exited':
        this.#up(DEGRADED_GROUP, 'degraded', at, entry(e, at, 'degraded mode exited'));
        break;
      case 'circuit_opened':
      case 'circuit_half_open':
      case 'circuit_closed': {
        const inc = this.#open.get(e.provider);
        if (inc !== undefined) this.#append(inc, entry(e, at, `circuit ${e.type.slice('circuit_'.length).replace('opened', 'open')} for ${e.provider}/${e.model}${e.default ? '' : ` (breaker ${e.breaker})`}`));
        break;
      }
      default:
        break;
    }
  }

  #down(group: string, subject: string, services: readonly string[], impact: IncidentImpact, at: number, step: NewTimelineEntry): void {
    const inc = this.#open.get(group);
    if (inc === undefined) {
      this.#create(group, subject, services, impact, at, step);
      return;
    }
    if (inc.resolveTimer !== undefined) {
      // Down again before the resolution wait ended: the same incident goes on.
      this.#clearTimer(inc.resolveTimer);
      inc.resolveTimer = undefined;
      this.#append(inc, { at, type: 'flap', message: `down again ${Math.round((at - inc.lastRecoveryAt) / 1000)} s after recovering: the incident continues`, details: { subject } });
    }
    inc.down.add(subject);
    const before = { impact: inc.impact, severity: inc.severity, affected: inc.affected.size };
    for (const s of services) inc.affected.add(s);
    if (IMPACT_RANK[impact] > IMPACT_RANK[inc.impact]) inc.impact = impact;
    const severity = this.#severityOf(inc.impact);
    if (INCIDENT_SEVERITIES.indexOf(severity) > INCIDENT_SEVERITIES.indexOf(inc.severity)) inc.severity = severity;
    const changed = before.impact !== inc.impact || before.severity !== inc.severity || before.affected !== inc.affected.size;
    if (!changed) {
      this.#append(inc, step);
      return;
    }
    const patch = { impact: inc.impact, severity: inc.severity, affectedServices: [...inc.affected] };
    void this.#o.writes.push(`updating incident ${inc.id}`, async () => {
      const updated = await this.#o.store.incidents.update(inc.id, patch, step);
      if (updated) this.#o.onChange?.('incident.updated', updated);
    });
  }

  #create(group: string, subject: string, services: readonly string[], impact: IncidentImpact, at: number, step: NewTimelineEntry): void {
    const title = group === DEGRADED_GROUP ? 'Degraded mode' : impact === 'outage' ? `${group} outage` : `${group} partial outage`;
    const inc: OpenIncident = {
      id: `inc_${randomBytes(10).toString('hex')}`,
      group,
      title,
      startedAt: at,
      impact,
      severity: this.#severityOf(impact),
      down: new Set([subject]),
      affected: new Set(services),
      routedTo: new Set(),
      rescuedPending: 0,
      flushTimer: undefined,
      lastRecoveryAt: at,
      resolveTimer: undefined,
    };
    this.#open.set(group, inc);
    this.#opened++;
    const input = {
      id: inc.id,
      title,
      impact,
      severity: inc.severity,
      region: this.#o.region ?? '',
      affectedServices: [...inc.affected],
      startedAt: at,
      resolution: { summary: step.message },
      timeline: [step],
    };
    void this.#o.writes.push(`opening incident ${inc.id}`, async () => {
      const created = await this.#o.store.incidents.create(input);
      this.#o.monitor.publish({ type: 'incident_opened', timestamp: new Date(at).toISOString(), incident: incidentJson(created, this.#o.now()) });
      this.#o.onChange?.('incident.opened', created);
    });
  }

  #up(group: string, subject: string, at: number, step: NewTimelineEntry): void {
    const inc = this.#open.get(group);
    if (inc === undefined) return;
    this.#append(inc, step);
    inc.down.delete(subject);
    if (inc.down.size === 0 && inc.resolveTimer === undefined) this.#scheduleResolve(inc, at);
  }

  #scheduleResolve(inc: OpenIncident, recoveredAt: number): void {
    inc.lastRecoveryAt = recoveredAt;
    if (this.#o.resolveAfterMs === 0) {
      this.#resolve(inc);
      return;
    }
    inc.resolveTimer = this.#setTimeout(() => {
      inc.resolveTimer = undefined;
      this.#resolve(inc);
    }, this.#o.resolveAfterMs);
  }

  #resolve(inc: OpenIncident): void {
    if (this.#open.get(inc.group) !== inc) return;
    this.#open.delete(inc.group);
    this.#resolved++;
    this.#clearTimer(inc.flushTimer);
    const at = Math.max(inc.lastRecoveryAt, inc.startedAt);
    const minutes = Math.round((at - inc.startedAt) / 600) / 100;
    const routed = [...inc.routedTo];
    const summary = `${[...inc.affected].join(', ')} ${inc.impact === 'degraded_performance' ? 'degraded' : 'down'} for ${minutes} minutes; recovered.`;
    const patch = { summary, routedTo: routed, rescuedDelta: inc.rescuedPending };
    inc.rescuedPending = 0;
    const step: NewTimelineEntry = { at, type: 'resolved', message: `resolved: everything recovered and stayed so for ${Math.round(this.#o.resolveAfterMs / 1000)} s`, details: null };
    void this.#o.writes.push(`resolving incident ${inc.id}`, async () => {
      const resolved = await this.#o.store.incidents.resolve(inc.id, at, patch, step);
      if (resolved === undefined) return;
      this.#o.monitor.publish({ type: 'incident_resolved', timestamp: new Date(at).toISOString(), incident: incidentJson(resolved, this.#o.now()) });
      this.#o.onChange?.('incident.resolved', resolved);
    });
  }

  #append(inc: OpenIncident, step: NewTimelineEntry): void {
    void this.#o.writes.push(`adding to incident ${inc.id}`, () => this.#o.store.incidents.appendTimeline(inc.id, step));
  }

  #flushRescued(inc: OpenIncident): void {
    this.#clearTimer(inc.flushTimer);
    inc.flushTimer = undefined;
    if (inc.rescuedPending === 0) return;
    const patch = { rescuedDelta: inc.rescuedPending, routedTo: [...inc.routedTo] };
    inc.rescuedPending = 0;
    void this.#o.writes.push(`counting rescued requests of ${inc.id}`, () => this.#o.store.incidents.update(inc.id, patch));
  }

  #severityOf(impact: IncidentImpact): IncidentSeverity {
    if (impact === 'degraded_performance') return 'low';
    if (impact === 'partial_outage') return 'medium';
    const providers = [...this.#o.providers.keys()];
    return providers.every((p) => this.#o.stateOf(`provider:${p}`) === 'down' || this.#o.monitor.providerState(p) === 'down') ? 'critical' : 'high';
  }

  #setTimeout(fn: () => void, ms: number): unknown {
    if (this.#o.clock) return this.#o.clock.setTimeout(fn, ms);
    const t = setTimeout(fn, ms);
    t.unref();
    return t;
  }

  #clearTimer(t: unknown): void {
    if (t === undefined) return;
    if (this.#o.clock) this.#o.clock.clearTimeout(t);
    else clearTimeout(t as NodeJS.Timeout);
  }
}

function entry(e: HealthEvent, at: number, message: string): NewTimelineEntry {
  const { type, timestamp: _, ...details } = e as HealthEvent & Record<string, unknown>;
  return { at, type, message, details: JSON.parse(JSON.stringify(details)) };
}


