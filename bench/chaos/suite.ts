/**
 * `npm run chaos:suite`: every scenario of bench/chaos/scenarios.ts against a fresh gateway in
 * front of the simulator, with a bounded load of official openai SDK clients; network faults
 * go through Toxiproxy (built once with `go install` into .parrot/bin). A progress bar while it
 * runs, then a table on the console and a Markdown report with SVG charts under reports/.
 *
 *   npm run chaos:suite                     # every scenario at full size (37,000 requests; an estimated 4 to 5 minutes)
 *   node bench/chaos/suite.ts --quick       # a tenth of the requests (at least 200 each): a smoke run
 *   node bench/chaos/suite.ts --only hard-down,flap-and-429 [--no-network] [--out reports]
 *
 * A benchmark, not a test: targets print PASS/FAIL and the exit code is 0 unless it crashed.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ROOT } from '../lib/processes.ts';
import { barChart, checkTargets, metricsOf, renderConsoleTable, renderMarkdown, timelineChart, type ScenarioMetrics } from './report.ts';
import { runScenario } from './run-scenario.ts';
import { HEALTHY, MODELS, SCENARIOS, type Scenario } from './scenarios.ts';
import { startSimProcess } from './sim-control.ts';
import { buildToxiproxy, startToxiproxy, type Toxiproxy } from './toxiproxy.ts';

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    only: { type: 'string' },
    'no-network': { type: 'boolean', default: false },
    out: { type: 'string', default: 'reports' },
  },
  strict: true,
});
const quick = values.quick;
const only = values.only?.split(',').map((s) => s.trim());
const unknown = only?.filter((n) => !SCENARIOS.some((s) => s.name === n)) ?? [];
if (unknown.length) {
  process.stderr.write(`unknown scenario(s): ${unknown.join(', ')}; known: ${SCENARIOS.map((s) => s.name).join(', ')}\n`);
  process.exit(2);
}
const scenarios = SCENARIOS.filter((s) => only === undefined || only.includes(s.name));
const sizeOf = (s: Scenario): number => (quick ? Math.max(200, Math.round(s.requests / 10)) : s.requests);
const total = scenarios.reduce((n, s) => n + sizeOf(s), 0);

const err = (line: string): void => void process.stderr.write(`${line}\n`);
const commit = (() => {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim();
  } catch {
    return 'unknown';
  }
})();

/** A loopback port with nothing listening: connections to it are refused. */
async function closedPort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as { port: number }).port;
  await new Promise((r) => srv.close(r));
  return port;
}

/** One line redrawn in place on a terminal; a line per scenario otherwise. */
function progress(doneBefore: number, name: string) {
  const tty = process.stderr.isTTY === true;
  let last = -1;
  return (done: number): void => {
    const all = doneBefore + done;
    const pct = Math.floor((all * 100) / total);
    if (pct === last) return;
    last = pct;
    if (!tty) return;
    const width = 30;
    const filled = Math.round((pct / 100) * width);
    process.stderr.write(`\r[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${String(pct).padStart(3)} %  ${name.padEnd(18)} ${all}/${total}`);
  };
}

const load0 = loadavg()[0];
const tmpDir = mkdtempSync(join(tmpdir(), 'parrot-chaos-'));
const sim = await startSimProcess(tmpDir, Object.fromEntries(Object.values(MODELS).map((m) => [m, HEALTHY])), HEALTHY);
const refusedOrigin = `http://127.0.0.1:${await closedPort()}`;
let toxiproxy: Toxiproxy | undefined;
let toxiOrigin: string | undefined;
const skipped: { name: string; why: string }[] = [];
if (!values['no-network'] && scenarios.some((s) => s.network)) {
  const why = await buildToxiproxy(err);
  if (why === null) {
    try {
      toxiproxy = await startToxiproxy();
      toxiOrigin = await toxiproxy.proxy('openai', new URL(sim.url).host);
    } catch (e) {
      skipped.push(...scenarios.filter((s) => s.network).map((s) => ({ name: s.name, why: `Toxiproxy did not start: ${(e as Error).message.split('\n')[0]}` })));
    }
  } else skipped.push(...scenarios.filter((s) => s.network).map((s) => ({ name: s.name, why: `Toxiproxy not built: ${why}` })));
} else if (values['no-network']) skipped.push(...scenarios.filter((s) => s.network).map((s) => ({ name: s.name, why: '--no-network' })));

err(`chaos suite${quick ? ' (--quick)' : ''}: ${scenarios.length} scenarios, ${total} requests; load average ${load0.toFixed(2)}`);
const results: { metrics: ScenarioMetrics; targets: Scenario['targets'] & object }[] = [];
let doneBefore = 0;
try {
  for (const scenario of scenarios) {
    if (skipped.some((s) => s.name === scenario.name)) {
      doneBefore += sizeOf(scenario);
      continue;
    }
    const onProgress = progress(doneBefore, scenario.name);
    const run = await runScenario(scenario, {
      ctx: { sim, quick, ...(toxiproxy ? { toxiproxy } : {}) },
      requests: sizeOf(scenario),
      openaiOrigin: scenario.network && toxiOrigin ? toxiOrigin : sim.url,
      refusedOrigin,
      tmpDir,
      onProgress,
    });
    await toxiproxy?.reset();
    doneBefore += sizeOf(scenario);
    const metrics = metricsOf(run);
    results.push({ metrics, targets: scenario.targets ?? [] });
    if (process.stderr.isTTY) process.stderr.write('\r\x1b[K');
    err(`${scenario.name}: ${metrics.successPct.toFixed(2)} % of ${metrics.requests} in ${(run.durationMs / 1000).toFixed(1)} s`);
  }
} finally {
  await toxiproxy?.stop();
  await sim.stop();
  rmSync(tmpDir, { recursive: true, force: true });
}

const metrics = results.map((r) => r.metrics);
const checks = checkTargets(results);
const load1 = loadavg()[0];
process.stdout.write(`\n${renderConsoleTable(metrics).join('\n')}\n\n`);
for (const c of checks) process.stdout.write(`[${c.pass ? 'PASS' : 'FAIL'}] ${c.scenario}: ${c.target}: ${c.value}\n`);
for (const s of skipped) process.stdout.write(`(not run) ${s.name}: ${s.why}\n`);

const date = new Date().toISOString().slice(0, 10);
const base = `chaos-${date}-${commit}${quick ? '-quick' : ''}`;
const outDir = join(ROOT, values.out);
mkdirSync(join(outDir, base), { recursive: true });
const labels = metrics.map((m) => m.name);
const charts = {
  success: `${base}/success.svg`,
  latency: `${base}/latency.svg`,
  amplification: `${base}/amplification.svg`,
  timeline: `${base}/timeline.svg`,
};
const floor = Math.min(100, ...metrics.map((m) => m.successPct));
writeFileSync(join(outDir, charts.success), barChart('Success, % of client requests', labels, [{ name: 'success', color: '#2e8b57', values: metrics.map((m) => m.successPct) }], '%', Math.max(0, Math.floor(floor) - 1)));
writeFileSync(
  join(outDir, charts.latency),
  barChart('Latency of successful requests', labels, [
    { name: 'p50', color: '#1f6fb2', values: metrics.map((m) => m.p50) },
    { name: 'p99', color: '#e08a1e', values: metrics.map((m) => m.p99) },
    { name: 'failover p50', color: '#8e44ad', values: metrics.map((m) => m.failoverP50) },
  ], 'ms'),
);
writeFileSync(join(outDir, charts.amplification), barChart('Upstream attempts per client request', labels, [{ name: 'attempts/request', color: '#c0392b', values: metrics.map((m) => m.amplification) }], 'x'));
writeFileSync(join(outDir, charts.timeline), timelineChart(metrics));
const report = join(outDir, `${base}.md`);
writeFileSync(report, renderMarkdown(metrics, checks, { date, commit, quick, loadavg: [load0, load1], node: process.version, skipped }, charts));
writeFileSync(join(outDir, `${base}.json`), `${JSON.stringify({ date, commit, quick, loadavg: [load0, load1], metrics, checks, skipped }, null, 2)}\n`);
process.stdout.write(`\nwrote ${report}\n`);
