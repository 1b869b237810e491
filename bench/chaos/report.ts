/**
 * The chaos suite's figures: per-scenario metrics from what each request came to, the issue's
 * targets checked against them, a console table, and a Markdown report with hand-written SVG
 * charts. Pure functions of the runs, so the arithmetic is tested (report.test.ts).
 */
import type { RequestRecord, ScenarioRun } from './run-scenario.ts';
import type { TargetName } from './scenarios.ts';

export interface ScenarioMetrics {
  name: string;
  title: string;
  requests: number;
  succeeded: number;
  successPct: number;
  /** Successes whose answer did not finish (no finish_reason `stop`). */
  truncated: number;
  /** Of the successes, those a cache answered (X-Cache). */
  cached: number;
  p50: number | null;
  p99: number | null;
  /** p50 of the successes a fallback served (X-Failover-Used). */
  failoverP50: number | null;
  /**
   * Upstream attempts per client request: the larger of X-Attempts (which counts attempts that
   * never reached a server, a refused or reset connection, but not a stream's continuation after
   * its headers went out) and the simulator's count of client calls (which counts continuations).
   */
  amplification: number;
  attemptsPerRequest: number;
  simCallsPerRequest: number;
  /** From the fault's start to the first breaker of a faulty provider opening, ms. */
  detectMs: number | null;
  /** From the heal to the last breaker of a faulty provider closing again, ms. */
  recoverMs: number | null;
  /** Client calls that reached a faulty provider while its breaker was open, later than OPEN_SLACK_MS after it opened (probes left out). */
  openBreakerCalls: number | null;
  /** How long after its breaker opened each of those calls arrived, ms. */
  openBreakerCallOffsets: number[];
  /** p50 of requests whose primary refused connections minus p50 of requests sent straight to the fallback, ms. */
  refusedAddedMs: number | null;
  failures: Record<string, number>;
  /** Success share per second of the run, and the fault's window, for the timeline chart. */
  timeline: { okPct: number[]; faultAt: number; healAt: number | null; durationMs: number };
}

/** Nearest-rank percentile of sorted values; null when there are none. */
export function percentile(sorted: readonly number[], p: number): number | null {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length))) - 1];
}

/** Calls arriving this soon after their breaker opened were sent before it opened (see metricsOf). */
export const OPEN_SLACK_MS = 25;

const sortedMs = (rs: readonly RequestRecord[]): number[] => rs.map((r) => r.ms).sort((a, b) => a - b);

/** The breaker changes of the given providers' targets, in order. */
function breakerChanges(run: ScenarioRun, providers: readonly string[]) {
  return run.changes.filter((c) => c.change.machine === 'breaker' && providers.some((p) => c.change.actor.startsWith(`breaker:${p}/`)));
}

export function metricsOf(run: ScenarioRun): ScenarioMetrics {
  const { records, scenario } = run;
  const ok = records.filter((r) => r.ok);
  const failures: Record<string, number> = {};
  for (const r of records) if (!r.ok) failures[r.error ?? 'unknown'] = (failures[r.error ?? 'unknown'] ?? 0) + 1;
  const okSorted = sortedMs(ok);
  const changes = breakerChanges(run, scenario.faulty);
  const opened = changes.find((c) => c.change.to === 'open' && c.at >= run.faultAt);
  let recoverMs: number | null = null;
  if (run.healAt !== undefined) {
    const after = changes.filter((c) => c.at >= run.healAt!);
    const closes = after.filter((c) => c.change.to === 'closed');
    // Recovered once every breaker that was not closed at the heal is closed again.
    const stillOpen = new Set<string>();
    for (const c of changes) if (c.at < run.healAt) (c.change.to === 'closed' ? stillOpen.delete(c.change.actor) : stillOpen.add(c.change.actor));
    if (stillOpen.size === 0) recoverMs = opened === undefined ? null : 0;
    else if ([...stillOpen].every((a) => closes.some((c) => c.change.actor === a))) recoverMs = Math.max(...[...stillOpen].map((a) => closes.find((c) => c.change.actor === a)!.at)) - run.healAt;
  }
  // Open intervals per breaker: client calls to its provider inside them.
  let openBreakerCalls: number | null = null;
  const openBreakerCallOffsets: number[] = [];
  if (changes.some((c) => c.change.to === 'open')) {
    openBreakerCalls = 0;
    const byActor = new Map<string, { at: number; to: string }[]>();
    for (const c of changes) byActor.set(c.change.actor, [...(byActor.get(c.change.actor) ?? []), { at: c.at, to: c.change.to }]);
    for (const [actor, list] of byActor) {
      const provider = actor.slice('breaker:'.length, actor.indexOf('/'));
      list.forEach((c, i) => {
        if (c.to !== 'open') return;
        const end = list[i + 1]?.at ?? run.durationMs;
        // A call the gateway sent just before the breaker opened reaches the simulator's log a
        // moment after (6 to 17 ms on the loaded 2-core machine): OPEN_SLACK_MS of slack. A
        // breaker that let calls through would show them across the whole open window.
        const inside = run.upstreamCalls.filter((u) => u.provider === provider && u.at > c.at + OPEN_SLACK_MS && u.at < end);
        openBreakerCalls! += inside.length;
        for (const u of inside) openBreakerCallOffsets.push(Math.round(u.at - c.at));
      });
    }
  }
  let refusedAddedMs: number | null = null;
  if (scenario.models.includes('refused')) {
    const a = percentile(sortedMs(ok.filter((r) => r.model === 'refused')), 50);
    const b = percentile(sortedMs(ok.filter((r) => r.model !== 'refused')), 50);
    refusedAddedMs = a === null || b === null ? null : a - b;
  }
  const seconds = Math.max(1, Math.ceil(run.durationMs / 1000));
  const sent = new Array<number>(seconds).fill(0);
  const good = new Array<number>(seconds).fill(0);
  for (const r of records) {
    const s = Math.min(seconds - 1, Math.floor(r.at / 1000));
    sent[s]++;
    if (r.ok && !r.truncated) good[s]++;
  }
  const attempts = records.reduce((n, r) => n + r.attempts, 0);
  const attemptsPerRequest = records.length === 0 ? 0 : attempts / records.length;
  const simCallsPerRequest = records.length === 0 ? 0 : run.upstreamCalls.length / records.length;
  return {
    name: scenario.name,
    title: scenario.title,
    requests: records.length,
    succeeded: ok.length,
    successPct: records.length === 0 ? 0 : (ok.length * 100) / records.length,
    truncated: ok.filter((r) => r.truncated).length,
    cached: ok.filter((r) => r.cached).length,
    p50: percentile(okSorted, 50),
    p99: percentile(okSorted, 99),
    failoverP50: percentile(sortedMs(ok.filter((r) => r.failover)), 50),
    amplification: Math.max(attemptsPerRequest, simCallsPerRequest),
    attemptsPerRequest,
    simCallsPerRequest,
    detectMs: opened === undefined ? null : opened.at - run.faultAt,
    recoverMs,
    openBreakerCalls,
    openBreakerCallOffsets,
    refusedAddedMs,
    failures,
    timeline: { okPct: sent.map((n, i) => (n === 0 ? 100 : (good[i] * 100) / n)), faultAt: run.faultAt, healAt: run.healAt ?? null, durationMs: run.durationMs },
  };
}

export interface TargetCheck {
  scenario: string;
  target: string;
  value: string;
  pass: boolean;
}

const TARGET_TEXT: Record<TargetName, string> = {
  success_99_95: 'success >= 99.95 %',
  no_truncated: '0 truncated successes',
  amplification_1_2: 'amplification <= 1.2x',
  refused_adds_5ms: 'a connection-refused primary adds <= 5 ms over the fallback (p50)',
  open_breaker_0_attempts: 'an open breaker lets 0 client calls through',
};

export function checkTargets(runs: readonly { metrics: ScenarioMetrics; targets: readonly TargetName[] }[]): TargetCheck[] {
  const checks: TargetCheck[] = [];
  for (const { metrics: m, targets } of runs) {
    for (const t of targets) {
      const check = (value: string, pass: boolean): number => checks.push({ scenario: m.name, target: TARGET_TEXT[t], value, pass });
      if (t === 'success_99_95') check(`${m.successPct.toFixed(3)} % of ${m.requests}`, m.successPct >= 99.95);
      else if (t === 'no_truncated') check(String(m.truncated), m.truncated === 0);
      else if (t === 'amplification_1_2') check(`${m.amplification.toFixed(3)}x`, m.amplification <= 1.2);
      else if (t === 'refused_adds_5ms') check(m.refusedAddedMs === null ? 'n/a' : `${m.refusedAddedMs.toFixed(2)} ms`, m.refusedAddedMs !== null && m.refusedAddedMs <= 5);
      else check(m.openBreakerCalls === null ? 'breaker never opened' : String(m.openBreakerCalls), m.openBreakerCalls === 0);
    }
  }
  return checks;
}

const ms = (v: number | null): string => (v === null ? '-' : v >= 10_000 ? `${(v / 1000).toFixed(1)} s` : `${v.toFixed(0)} ms`);

export const COLUMNS = ['scenario', 'requests', 'success', 'truncated', 'p50', 'p99', 'failover p50', 'attempts/req', 'detect', 'recover'] as const;

export function row(m: ScenarioMetrics): string[] {
  return [
    m.name,
    String(m.requests),
    `${m.successPct.toFixed(2)} %`,
    String(m.truncated),
    ms(m.p50),
    ms(m.p99),
    ms(m.failoverP50),
    `${m.amplification.toFixed(2)}x`,
    ms(m.detectMs),
    // A breaker that opened and was not closed again before the run ended.
    m.recoverMs === null && m.detectMs !== null && m.timeline.healAt !== null ? 'after end' : ms(m.recoverMs),
  ];
}

export function renderConsoleTable(metrics: readonly ScenarioMetrics[]): string[] {
  const rows = [[...COLUMNS], ...metrics.map(row)];
  const widths = COLUMNS.map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return rows.map((r, ri) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ') + (ri === 0 ? '' : ''));
}

const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** Horizontal bars, one per scenario (several series side by side), with the value written at each bar's end. */
export function barChart(title: string, labels: readonly string[], series: readonly { name: string; color: string; values: readonly (number | null)[] }[], unit: string, floor = 0): string {
  const rowH = 14 * series.length + 8;
  const left = 140;
  const width = 640;
  const plotW = width - left - 70;
  const top = 40;
  const height = top + rowH * labels.length + 20;
  const max = Math.max(floor + 1e-9, ...series.flatMap((s) => s.values.filter((v): v is number => v !== null)));
  const x = (v: number): number => left + (Math.max(0, v - floor) / (max - floor)) * plotW;
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="11">`,
    `<text x="${width / 2}" y="16" text-anchor="middle" font-size="13" font-weight="bold">${esc(title)}</text>`,
    ...series.map((s, i) => `<rect x="${left + i * 110}" y="24" width="10" height="10" fill="${s.color}"/><text x="${left + i * 110 + 14}" y="33">${esc(s.name)}</text>`),
  ];
  labels.forEach((label, li) => {
    const y0 = top + li * rowH;
    parts.push(`<text x="${left - 6}" y="${y0 + rowH / 2 + 4}" text-anchor="end">${esc(label)}</text>`);
    series.forEach((s, si) => {
      const v = s.values[li];
      const y = y0 + 4 + si * 14;
      if (v === null) {
        parts.push(`<text x="${left + 4}" y="${y + 10}" fill="#888">n/a</text>`);
        return;
      }
      parts.push(`<rect x="${left}" y="${y}" width="${(x(v) - left).toFixed(1)}" height="12" fill="${s.color}"/>`);
      parts.push(`<text x="${(x(v) + 4).toFixed(1)}" y="${y + 10}">${esc(formatValue(v, unit))}</text>`);
    });
  });
  parts.push(`<line x1="${left}" y1="${top - 2}" x2="${left}" y2="${height - 16}" stroke="#444"/>`);
  if (floor > 0) parts.push(`<text x="${left}" y="${height - 4}" text-anchor="middle" fill="#666">${formatValue(floor, unit)}</text>`);
  parts.push('</svg>');
  return parts.join('\n');
}

function formatValue(v: number, unit: string): string {
  if (unit === '%') return `${v.toFixed(2)} %`;
  if (unit === 'x') return `${v.toFixed(2)}x`;
  return ms(v);
}

/** Success share per second for each scenario, the fault's window shaded. */
export function timelineChart(metrics: readonly ScenarioMetrics[]): string {
  const width = 640;
  const rowH = 46;
  const left = 140;
  const plotW = width - left - 20;
  const height = 30 + rowH * metrics.length;
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="11">`,
    `<text x="${width / 2}" y="16" text-anchor="middle" font-size="13" font-weight="bold">Complete answers per second, % (shaded: fault active)</text>`,
  ];
  metrics.forEach((m, i) => {
    const y0 = 26 + i * rowH;
    const h = rowH - 12;
    const t = m.timeline;
    const sx = (ms: number): number => left + (ms / Math.max(1, t.durationMs)) * plotW;
    parts.push(`<text x="${left - 6}" y="${y0 + h / 2 + 4}" text-anchor="end">${esc(m.name)}</text>`);
    parts.push(`<rect x="${left}" y="${y0}" width="${plotW}" height="${h}" fill="#f4f4f4"/>`);
    if (m.title !== 'no fault') parts.push(`<rect x="${sx(t.faultAt).toFixed(1)}" y="${y0}" width="${(sx(t.healAt ?? t.durationMs) - sx(t.faultAt)).toFixed(1)}" height="${h}" fill="#f6c9c9"/>`);
    const n = t.okPct.length;
    const points = t.okPct.map((p, s) => `${(left + ((s + 0.5) / n) * plotW).toFixed(1)},${(y0 + h - (p / 100) * h).toFixed(1)}`).join(' ');
    parts.push(`<polyline points="${points}" fill="none" stroke="#1f6fb2" stroke-width="1.5"/>`);
    parts.push(`<text x="${left + plotW}" y="${y0 + h + 10}" text-anchor="end" fill="#666">${(t.durationMs / 1000).toFixed(1)} s</text>`);
  });
  parts.push('</svg>');
  return parts.join('\n');
}

export interface ReportMeta {
  date: string;
  commit: string;
  quick: boolean;
  loadavg: [number, number];
  node: string;
  skipped: { name: string; why: string }[];
}

export function renderMarkdown(metrics: readonly ScenarioMetrics[], checks: readonly TargetCheck[], meta: ReportMeta, charts: { success: string; latency: string; amplification: string; timeline: string }): string {
  const lines = [
    `# Chaos suite: ${meta.date} at ${meta.commit}${meta.quick ? ' (--quick)' : ''}`,
    '',
    `Node ${meta.node}; load average ${meta.loadavg[0].toFixed(2)} before, ${meta.loadavg[1].toFixed(2)} after (2 cores shared with other work: latencies move with it).`,
    'How to read it: docs/chaos.md.',
    '',
    '## Targets',
    '',
    '| scenario | target | value | |',
    '| --- | --- | ---: | --- |',
    ...checks.map((c) => `| ${c.scenario} | ${c.target} | ${c.value} | ${c.pass ? 'PASS' : 'FAIL'} |`),
    '',
    '## Scenarios',
    '',
    `| ${COLUMNS.join(' | ')} |`,
    `| ${COLUMNS.map((_, i) => (i === 0 ? '---' : '---:')).join(' | ')} |`,
    ...metrics.map((m) => `| ${row(m).join(' | ')} |`),
    '',
    ...metrics.map((m) => {
      const f = Object.entries(m.failures).map(([k, n]) => `${k} ${n}`).join(', ');
      const extra = [
        `attempts per request ${m.attemptsPerRequest.toFixed(3)} (X-Attempts), simulator calls per request ${m.simCallsPerRequest.toFixed(3)}`,
        m.cached > 0 ? `${m.cached} answered from the cache` : '',
        m.openBreakerCalls !== null ? `client calls through an open breaker: ${m.openBreakerCalls}${m.openBreakerCalls > 0 ? ` (arriving ${m.openBreakerCallOffsets.join(', ')} ms after it opened)` : ''}` : '',
        m.refusedAddedMs !== null ? `refused primary adds ${m.refusedAddedMs.toFixed(2)} ms at p50` : '',
      ].filter((s) => s !== '');
      return `- **${m.name}**: ${m.title}. ${f === '' ? 'No failures.' : `Failures: ${f}.`}${extra.length ? ` ${extra.join('; ')}.` : ''}`;
    }),
    ...(meta.skipped.length ? ['', ...meta.skipped.map((s) => `- **${s.name}** not run: ${s.why}`)] : []),
    '',
    '## Charts',
    '',
    `![success](${charts.success})`,
    '',
    `![latency](${charts.latency})`,
    '',
    `![amplification](${charts.amplification})`,
    '',
    `![timeline](${charts.timeline})`,
    '',
  ];
  return lines.join('\n');
}
