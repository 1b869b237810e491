import type { FlowOutput } from '../core/flow.ts';
import type { HealthEvent } from '../health/events.ts';
import type { Targets } from '../targets/targets.ts';

/**
 * `GET /metrics` in Prometheus' text format (version 0.0.4). Counters are plain numbers
 * bumped once per finished request (a few map lookups, no allocation for a known series);
 * gauges (breaker states, queue depth, open incidents) are read from their owners at scrape
 * time. Every label value comes from config (providers, models, targets) or a fixed set, so
 * the series are bounded. Hand-written: a few counters, gauges and one histogram family need
 * no library.
 */

/** Upstream latency buckets, seconds. */
const BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60] as const;

const BREAKER_STATES = ['closed', 'open', 'half_open'] as const;

class Histogram {
  readonly counts = new Float64Array(BUCKETS.length + 1);
  sum = 0;
  observe(seconds: number): void {
    let i = 0;
    while (i < BUCKETS.length && seconds > BUCKETS[i]!) i++;
    this.counts[i]!++;
    this.sum += seconds;
  }
}

interface RequestSeries {
  readonly model: string;
  readonly outcome: string;
  n: number;
}

interface TargetCounters {
  /** `provider/model`, built once when the series first appears. */
  readonly key: string;
  attemptsOk: number;
  attemptsFailed: number;
  /** By error kind. */
  failedByKind: Map<string, number>;
  skipped: number;
  hedges: number;
  latency: Histogram;
}

export interface MetricsSources {
  targets: Targets;
  openIncidents: () => number;
  incidents: () => { opened: number; resolved: number };
  streamClients: () => number;
  degradedMode: () => boolean;
}

export class GatewayMetrics {
  readonly #sources: MetricsSources;
  /** Request series in the order they first appeared (the render order). */
  readonly #requests: RequestSeries[] = [];
  /** Model -> outcome -> its series: a finished request looks up, builds no key. */
  readonly #requestsByModel = new Map<string, Map<string, RequestSeries>>();
  /** Target series in the order they first appeared (the render order). */
  readonly #targets: TargetCounters[] = [];
  /** Provider -> model -> its counters: an attempt looks up, builds no key. */
  readonly #targetsByProvider = new Map<string, Map<string, TargetCounters>>();
  #failovers = 0;
  #retries = 0;
  /** `target\u0000to` -> breaker transitions. */
  readonly #transitions = new Map<string, number>();

  constructor(sources: MetricsSources) {
    this.#sources = sources;
  }

  /** One finished client request (called by the chat service). */
  onRequest(model: string, out: FlowOutput): void {
    const outcome = out.ok ? (out.servedBy === 'upstream' ? 'ok' : out.servedBy) : 'error';
    this.#request(model, outcome).n++;
    let prevStep = -1;
    for (const a of out.attempts) {
      if (prevStep >= 0) {
        if (a.step !== prevStep) this.#failovers++;
        else if (!a.hedge) this.#retries++;
      }
      prevStep = a.step;
      const t = this.#target(a.provider, a.model);
      if (a.hedge) t.hedges++;
      if (a.skipped) {
        t.skipped++;
        continue;
      }
      if (a.ok) t.attemptsOk++;
      else {
        t.attemptsFailed++;
        const kind = a.kind ?? 'unknown';
        t.failedByKind.set(kind, (t.failedByKind.get(kind) ?? 0) + 1);
      }
      t.latency.observe(a.latencyMs / 1000);
    }
  }

  /** Breaker transitions, from the health events. */
  onHealthEvent(e: HealthEvent): void {
    if (e.type !== 'circuit_opened' && e.type !== 'circuit_half_open' && e.type !== 'circuit_closed') return;
    const to = e.type === 'circuit_opened' ? 'open' : e.type === 'circuit_half_open' ? 'half_open' : 'closed';
    const key = `${e.provider}/${e.model}\u0000${to}`;
    this.#transitions.set(key, (this.#transitions.get(key) ?? 0) + 1);
  }

  render(): string {
    const out: string[] = [];
    const family = (name: string, type: string, help: string): void => {
      out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    };
    family('parrot_requests_total', 'counter', 'Client chat requests finished, by requested model and outcome (ok, cache, degraded, error).');
    for (const r of this.#requests) out.push(`parrot_requests_total{model="${esc(r.model)}",outcome="${r.outcome}"} ${r.n}`);
    family('parrot_attempts_total', 'counter', 'Upstream attempts, by provider, model and result (ok, failed, skipped: refused before any call).');
    family('parrot_attempt_failures_total', 'counter', 'Failed upstream attempts by error kind.');
    family('parrot_hedges_total', 'counter', 'Hedged attempts (sent in parallel with another), by provider and model.');
    const attemptLines: string[] = [];
    const failureLines: string[] = [];
    const hedgeLines: string[] = [];
    const latencyLines: string[] = [];
    for (const t of this.#targets) {
      const l = targetLabels(t.key);
      attemptLines.push(`parrot_attempts_total{${l},result="ok"} ${t.attemptsOk}`, `parrot_attempts_total{${l},result="failed"} ${t.attemptsFailed}`, `parrot_attempts_total{${l},result="skipped"} ${t.skipped}`);
      for (const [kind, n] of t.failedByKind) failureLines.push(`parrot_attempt_failures_total{${l},kind="${esc(kind)}"} ${n}`);
      hedgeLines.push(`parrot_hedges_total{${l}} ${t.hedges}`);
      let cumulative = 0;
      BUCKETS.forEach((b, i) => {
        cumulative += t.latency.counts[i]!;
        latencyLines.push(`parrot_upstream_latency_seconds_bucket{${l},le="${b}"} ${cumulative}`);
      });
      cumulative += t.latency.counts[BUCKETS.length]!;
      latencyLines.push(`parrot_upstream_latency_seconds_bucket{${l},le="+Inf"} ${cumulative}`, `parrot_upstream_latency_seconds_sum{${l}} ${t.latency.sum}`, `parrot_upstream_latency_seconds_count{${l}} ${cumulative}`);
    }
    // Each family's samples follow its own HELP/TYPE lines.
    insertAfter(out, 'parrot_attempts_total', attemptLines);
    insertAfter(out, 'parrot_attempt_failures_total', failureLines);
    out.push(...hedgeLines);
    family('parrot_failovers_total', 'counter', 'Moves of a request to another target of its chain.');
    out.push(`parrot_failovers_total ${this.#failovers}`);
    family('parrot_retries_total', 'counter', 'Retries of a request on the same target.');
    out.push(`parrot_retries_total ${this.#retries}`);
    family('parrot_cache_hits_total', 'counter', 'Requests answered from the cache (X-Circuit-Breaker-Fallback: cache).');
    // The requests with outcome `cache`, summed over models: not counted twice.
    let cacheHits = 0;
    for (const r of this.#requests) if (r.outcome === 'cache') cacheHits += r.n;
    out.push(`parrot_cache_hits_total ${cacheHits}`);
    family('parrot_upstream_latency_seconds', 'histogram', 'Upstream attempt latency (a stream: to its first content), by provider and model.');
    out.push(...latencyLines);

    family('parrot_breaker_state', 'gauge', '1 for the state each circuit breaker is in, by target and breaker config.');
    family('parrot_queue_depth', 'gauge', 'Calls waiting for a local connection, by target.');
    family('parrot_in_flight', 'gauge', 'Upstream calls in flight, by target.');
    family('parrot_target_routable', 'gauge', '1 while routing sends traffic to the target.');
    const breakerLines: string[] = [];
    const queueLines: string[] = [];
    const flightLines: string[] = [];
    const routableLines: string[] = [];
    for (const target of this.#sources.targets.values()) {
      const s = target.toJSON();
      const l = targetLabels(s.key);
      for (const b of s.breakers) for (const st of BREAKER_STATES) breakerLines.push(`parrot_breaker_state{${l},config="${esc(b.config)}",state="${st}"} ${b.status === st ? 1 : 0}`);
      queueLines.push(`parrot_queue_depth{${l}} ${s.local.waiting}`);
      flightLines.push(`parrot_in_flight{${l}} ${s.local.inFlight}`);
      routableLines.push(`parrot_target_routable{${l}} ${s.routable ? 1 : 0}`);
    }
    insertAfter(out, 'parrot_breaker_state', breakerLines);
    insertAfter(out, 'parrot_queue_depth', queueLines);
    insertAfter(out, 'parrot_in_flight', flightLines);
    out.push(...routableLines);
    family('parrot_breaker_transitions_total', 'counter', 'Circuit breaker transitions, by target and the state entered.');
    for (const [k, v] of this.#transitions) {
      const [key, to] = k.split('\u0000');
      out.push(`parrot_breaker_transitions_total{${targetLabels(key!)},to="${to}"} ${v}`);
    }
    const inc = this.#sources.incidents();
    family('parrot_incidents_opened_total', 'counter', 'Incidents opened since start.');
    out.push(`parrot_incidents_opened_total ${inc.opened}`);
    family('parrot_incidents_resolved_total', 'counter', 'Incidents resolved since start.');
    out.push(`parrot_incidents_resolved_total ${inc.resolved}`);
    family('parrot_incidents_open', 'gauge', 'Incidents open now.');
    out.push(`parrot_incidents_open ${this.#sources.openIncidents()}`);
    family('parrot_degraded_mode', 'gauge', '1 while degraded mode is active.');
    out.push(`parrot_degraded_mode ${this.#sources.degradedMode() ? 1 : 0}`);
    family('parrot_health_stream_clients', 'gauge', 'WebSocket clients of /v1/health/stream.');
    out.push(`parrot_health_stream_clients ${this.#sources.streamClients()}`);
    return `${out.join('\n')}\n`;
  }

  #request(model: string, outcome: string): RequestSeries {
    let byOutcome = this.#requestsByModel.get(model);
    if (byOutcome === undefined) {
      byOutcome = new Map();
      this.#requestsByModel.set(model, byOutcome);
    }
    let r = byOutcome.get(outcome);
    if (r === undefined) {
      r = { model, outcome, n: 0 };
      byOutcome.set(outcome, r);
      this.#requests.push(r);
    }
    return r;
  }

  #target(provider: string, model: string): TargetCounters {
    let byModel = this.#targetsByProvider.get(provider);
    if (byModel === undefined) {
      byModel = new Map();
      this.#targetsByProvider.set(provider, byModel);
    }
    let t = byModel.get(model);
    if (t === undefined) {
      t = { key: `${provider}/${model}`, attemptsOk: 0, attemptsFailed: 0, failedByKind: new Map(), skipped: 0, hedges: 0, latency: new Histogram() };
      byModel.set(model, t);
      this.#targets.push(t);
    }
    return t;
  }
}

function insertAfter(out: string[], name: string, lines: string[]): void {
  const at = out.findIndex((l) => l.startsWith(`# TYPE ${name} `)) + 1;
  out.splice(at, 0, ...lines);
}

function targetLabels(key: string): string {
  const slash = key.indexOf('/');
  return `provider="${esc(key.slice(0, slash))}",model="${esc(key.slice(slash + 1))}"`;
}

/** Prometheus label escaping: backslash, double quote, newline. */
function esc(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}
