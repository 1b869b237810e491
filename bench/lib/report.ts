/**
 * Turns the measurements into what the issue asks about: added latency over calling the
 * simulator directly, the gateway / pass-through throughput ratio, and the targets with
 * PASS/FAIL; and renders the stdout table.
 */
import type { ActorCostReport } from '../actor-cost.ts';
import type { MemoryReport } from '../memory.ts';
import type { Mode, ProfileReport, TargetName, ThroughputReport, ThroughputRow } from '../throughput.ts';

export interface TargetCheck {
  name: string;
  /** The bound, in the unit of `value`. */
  limit: string;
  value: number;
  unit: string;
  pass: boolean;
}

export interface Derived {
  /** Target p50/p99 minus direct p50/p99 at 1 connection, ms (non-streaming: full response; streaming: first byte). */
  addedLatencyMs: Partial<Record<Mode, Partial<Record<'passthrough' | 'gateway', { p50: number; p99: number }>>>>;
  /** Gateway req/s divided by pass-through req/s at the largest connection count. */
  throughputRatio: Partial<Record<Mode, number>>;
  /**
   * Pass-through CPU per request divided by the gateway's, at the largest connection count:
   * the throughput ratio two CPU-bound single-threaded servers would reach, and far less
   * sensitive than req/s to other processes competing for the two cores.
   */
  cpuRatio: Partial<Record<Mode, number>>;
  /**
   * Against another checkout run in the same windows (`--baseline`), at the largest connection
   * count: the gateway's CPU per request and req/s divided by the baseline's.
   */
  baseline?: Partial<Record<Mode, { cpu: number; rps: number }>>;
}

export function find(rows: readonly ThroughputRow[], target: TargetName, mode: Mode, connections: number): ThroughputRow | undefined {
  return rows.find((r) => r.target === target && r.mode === mode && r.connections === connections);
}

/** The timing of a row that the targets speak of: full response, or first byte for streams. */
const timing = (r: ThroughputRow) => (r.mode === 'stream' && r.ttfb ? r.ttfb : r.latency);

export function derive(t: ThroughputReport): Derived {
  const out: Derived = { addedLatencyMs: {}, throughputRatio: {}, cpuRatio: {} };
  const maxConns = Math.max(...t.rows.map((r) => r.connections));
  for (const mode of ['json', 'stream'] as const) {
    const direct = find(t.rows, 'direct', mode, 1);
    if (direct) {
      const added: NonNullable<Derived['addedLatencyMs'][Mode]> = {};
      for (const target of ['passthrough', 'gateway'] as const) {
        const r = find(t.rows, target, mode, 1);
        if (r) added[target] = { p50: timing(r).p50 - timing(direct).p50, p99: timing(r).p99 - timing(direct).p99 };
      }
      out.addedLatencyMs[mode] = added;
    }
    const g = find(t.rows, 'gateway', mode, maxConns);
    const p = find(t.rows, 'passthrough', mode, maxConns);
    if (g && p) {
      out.throughputRatio[mode] = g.rps / p.rps;
      out.cpuRatio[mode] = p.serverCpuUsPerRequest / g.serverCpuUsPerRequest;
    }
    const b = find(t.rows, 'baseline', mode, maxConns);
    if (g && b) (out.baseline ??= {})[mode] = { cpu: g.serverCpuUsPerRequest / b.serverCpuUsPerRequest, rps: g.rps / b.rps };
  }
  return out;
}

/**
 * The targets that still stand, for whichever parts were run. The closed-loop throughput ratio
 * (70 % of the pass-through) and the 1-connection added latency are retired as targets (one
 * machine per request is the design's accepted cost; concurrency, tails and memory are the
 * targets now, in bench:load): they are printed as figures. What stands here: no heap growth,
 * and with `--baseline`, no more CPU per request than the baseline checkout in the same run.
 */
export function checkTargets(d: Derived | null, memory: MemoryReport | null, maxConns: number): TargetCheck[] {
  const checks: TargetCheck[] = [];
  for (const mode of ['json', 'stream'] as const) {
    const b = d?.baseline?.[mode];
    if (b === undefined) continue;
    const what = mode === 'json' ? 'non-streaming' : 'streaming';
    checks.push({ name: `gateway CPU per request / the baseline's at ${maxConns} connections (${what})`, limit: '<= 100 %', value: b.cpu * 100, unit: '%', pass: b.cpu <= 1 });
  }
  if (memory) {
    checks.push({ name: 'gateway heapUsed growth 10k -> 100k requests', limit: '< 5 MB', value: memory.growthBytes / (1024 * 1024), unit: 'MB', pass: memory.pass });
  }
  return checks;
}

const f = (n: number | null | undefined, digits = 2): string => (n === null || n === undefined || Number.isNaN(n) ? '-' : n.toFixed(digits));
const pad = (s: string, n: number): string => s.padStart(n);

/** The throughput/latency table: one line per target and connection count, both modes side by side. */
export function renderThroughputTable(t: ThroughputReport): string[] {
  const conns = [...new Set(t.rows.map((r) => r.connections))].sort((a, b) => a - b);
  const lines = [
    `${'target'.padEnd(12)}${pad('conns', 5)} | ${pad('req/s', 7)}${pad('p50 ms', 9)}${pad('p99 ms', 9)}${pad('CPU µs/req', 12)} | ${pad('req/s', 7)}${pad('TTFB p50', 10)}${pad('TTFB p99', 10)}${pad('CPU µs/req', 12)}`,
    `${''.padEnd(17)} | ${'non-streaming (full response)'.padEnd(37)} | streaming (time to first byte)`,
  ];
  for (const c of conns) {
    for (const target of ['direct', 'passthrough', 'gateway', 'baseline'] as const) {
      const j = find(t.rows, target, 'json', c);
      const s = find(t.rows, target, 'stream', c);
      if (j === undefined && s === undefined) continue;
      const errs = (j?.errors ?? 0) + (s?.errors ?? 0);
      lines.push(
        `${target.padEnd(12)}${pad(String(c), 5)} | ${pad(f(j?.rps, 0), 7)}${pad(f(j?.latency.p50, 3), 9)}${pad(f(j?.latency.p99, 3), 9)}${pad(f(j?.serverCpuUsPerRequest, 0), 12)} | ` +
          `${pad(f(s?.rps, 0), 7)}${pad(f(s?.ttfb?.p50, 3), 10)}${pad(f(s?.ttfb?.p99, 3), 10)}${pad(f(s?.serverCpuUsPerRequest, 0), 12)}${errs > 0 ? `  errors: ${errs}` : ''}`,
      );
    }
  }
  return lines;
}

export function renderDerived(d: Derived, maxConns: number): string[] {
  const lines: string[] = [];
  for (const mode of ['json', 'stream'] as const) {
    const a = d.addedLatencyMs[mode];
    if (!a) continue;
    const what = mode === 'json' ? 'added latency (full response)' : 'added time to first byte (streaming)';
    const parts = (['passthrough', 'gateway'] as const).filter((k) => a[k]).map((k) => `${k} p50 +${f(a[k]!.p50, 3)} ms, p99 +${f(a[k]!.p99, 3)} ms`);
    lines.push(`${what} at 1 connection, vs direct: ${parts.join('; ')}`);
  }
  for (const mode of ['json', 'stream'] as const) {
    const r = d.throughputRatio[mode];
    if (r !== undefined) {
      lines.push(
        `gateway / pass-through throughput at ${maxConns} connections (${mode === 'json' ? 'non-streaming' : 'streaming'}): ${f(r * 100, 1)} % ` +
          `(by CPU per request: ${f((d.cpuRatio[mode] ?? Number.NaN) * 100, 1)} %)`,
      );
    }
    const b = d.baseline?.[mode];
    if (b !== undefined) {
      lines.push(`gateway / baseline at ${maxConns} connections (${mode === 'json' ? 'non-streaming' : 'streaming'}): CPU per request ${f(b.cpu * 100, 1)} %, req/s ${f(b.rps * 100, 1)} %`);
    }
  }
  return lines;
}

export function renderTargets(checks: readonly TargetCheck[]): string[] {
  return checks.map((c) => `[${c.pass ? 'PASS' : 'FAIL'}] ${c.name}: ${f(c.value, 2)} ${c.unit} (target ${c.limit})`);
}

export function renderActorCost(a: ActorCostReport): string[] {
  const row = (label: string, v: ActorCostReport['requestActor']): string =>
    `${label.padEnd(46)} ${pad(f(v.cpuUsPerRequest, 1), 7)} µs CPU/request ${pad(f(v.wallUsPerRequest, 1), 7)} µs wall`;
  return [
    row('request actor alone, 1 at a time', a.requestActor),
    row('request actor alone, 50 in flight', a.requestActor50),
    row('serveChat (flow + target report + headers)', a.engineRun),
    row('floor: minimal XState machine, one invoke', a.xstateFloor),
  ];
}

/**
 * Self time by origin for each profiled server, in µs per request side by side, so what the
 * gateway adds over the pass-through reads directly; then the gateway's top functions.
 */
export function renderProfiles(profiles: readonly ProfileReport[]): string[] {
  if (profiles.length === 0) return [];
  const origins: string[] = [];
  for (const p of profiles) for (const o of p.byOrigin.slice(0, 12)) if (!origins.includes(o.name)) origins.push(o.name);
  const cell = (p: ProfileReport, name: string): string => {
    const o = p.byOrigin.find((x) => x.name === name);
    return o ? `${f(o.usPerRequest, 0)} µs ${pad(`(${f(o.pct, 0)} %)`, 6)}` : '-';
  };
  const lines = [
    `CPU profile at ${profiles[0].connections} connections (${profiles[0].mode === 'stream' ? 'streaming' : 'non-streaming'}), self time per request by origin (measurement window; the profiler slows each server):`,
    `  ${'origin'.padEnd(34)}${profiles.map((p) => pad(p.server, 17)).join('')}`,
    `  ${'all busy time'.padEnd(34)}${profiles.map((p) => pad(`${f((p.busyMs * 1000) / p.requests, 0)} µs`, 17)).join('')}`,
  ];
  for (const name of origins) lines.push(`  ${name.padEnd(34)}${profiles.map((p) => pad(cell(p, name), 17)).join('')}`);
  const gw = profiles.find((p) => p.server === 'gateway');
  if (gw) {
    lines.push('gateway: top functions by self time');
    for (const o of gw.topFunctions.slice(0, 12)) lines.push(`  ${pad(f(o.pct, 1), 5)} %  ${pad(f(o.usPerRequest, 0), 4)} µs/req  ${o.name}`);
  }
  return lines;
}
