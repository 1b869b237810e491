/**
 * `npm run bench:load`: the open-loop benchmark. Requests arrive at a fixed rate for a bounded
 * time whatever the answers, against an upstream mock answering in a fixed latency, for parrot,
 * the bare pass-through and peer gateways side by side, every system in its own process and
 * started fresh for each measurement, all on 127.0.0.1.
 *
 *   node bench/load.ts                                   the full run (see --help for the defaults; an estimated 40 min)
 *   node bench/load.ts --quick                           a smoke run: 500,1000 req/s x 3 s, 500 ms upstream
 *   node bench/load.ts --rates 2000 --upstream-latency-ms 500 --non-stream --systems parrot,passthrough
 *   node bench/load.ts --markdown bench/results/load-<date>-<commit>.json   the Markdown tables of a run
 *
 * Prints a table per upstream latency and mode, then the issue's targets (PASS/FAIL: a
 * benchmark, not a test; the exit code is 0 unless something crashed). Writes
 * bench/results/load-latest.json, and for a run without --quick also
 * bench/results/load-<YYYY-MM-DD>-<commit>.json.
 */
import { execFileSync, fork } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { OpenLoopWorkerMessage } from './open-loop-worker.ts';
import type { LagProbeReply } from './lag-probe.ts';
import { checkTargets, renderConsole, renderMarkdown, renderTargets, type LoadCell, type Mode, type Subject } from './lib/load-report.ts';
import type { OpenLoopResult, OpenLoopSpec } from './lib/open-loop.ts';
import { askProcess, peakRssBytes, processCpuUs, processTree, ROOT, rssBytes, runProvenance, startProcess, type ServerProcess } from './lib/processes.ts';
import { baselineCheckout, CHAT_PATH, chatRequestBody, DEFAULT_SYSTEMS, parrotNodeFlags, LITELLM_VERSION, MODEL, PORTKEY_VERSION, SYSTEM_NAMES, SYSTEMS, type StartedSystem, type SystemName } from './lib/systems.ts';

const USAGE = `usage: node bench/load.ts [options]
  --rates 500,1000,2000,4000          requests per second, each a separate measurement
  --duration 20                       measured window per cell, seconds (or 3000ms)
  --warmup S                          unmeasured sending before each window (default: the larger of 2 s and 2 x upstream latency)
  --upstream-latency-ms 500,2000      the mock's fixed latency; one pass per value
  --stream | --non-stream             only streaming / only non-streaming requests (default: both)
  --systems parrot,passthrough,portkey,litellm   systems beside "direct" (also: parrot-wide)
  --timeout 10                        client timeout, seconds: a request not answered by then failed
  --parrot-node-flags="--flag ..."    extra node flags for parrot's process and the baseline's (e.g. a V8 GC setting to compare)
  --baseline DIR                      adds the system "baseline": parrot serve of the checkout in DIR (its own
                                      node_modules and node flags), before and after in the same run
  --no-install                        do not install missing peers (they are reported as not installed)
  --quick                             smoke run: --rates 500,1000 --duration 3 --warmup 1 --upstream-latency-ms 500
  --markdown FILE.json                print the Markdown tables and targets of a results file, and exit
`;

const { values } = parseArgs({
  options: {
    rates: { type: 'string' },
    duration: { type: 'string' },
    warmup: { type: 'string' },
    'upstream-latency-ms': { type: 'string' },
    stream: { type: 'boolean', default: false },
    'non-stream': { type: 'boolean', default: false },
    systems: { type: 'string', default: DEFAULT_SYSTEMS.join(',') },
    timeout: { type: 'string', default: '10' },
    'no-install': { type: 'boolean', default: false },
    'parrot-node-flags': { type: 'string', default: '' },
    baseline: { type: 'string' },
    quick: { type: 'boolean', default: false },
    markdown: { type: 'string' },
    help: { type: 'boolean', short: 'h', default: false },
  },
  strict: true,
});

const log = (line = ''): void => void process.stdout.write(`${line}\n`);
parrotNodeFlags.push(...values['parrot-node-flags'].split(' ').filter((f) => f !== ''));
const fail = (message: string): never => {
  process.stderr.write(`bench:load: ${message}\n${USAGE}`);
  process.exit(2);
};

if (values.help) {
  process.stdout.write(USAGE);
  process.exit(0);
}
if (values.markdown !== undefined) {
  const saved = JSON.parse(readFileSync(values.markdown, 'utf8')) as { cells: LoadCell[] };
  for (const l of renderMarkdown(saved.cells)) log(l);
  for (const l of renderTargets(checkTargets(saved.cells))) log(`- ${l}`);
  process.exit(0);
}

/** `20`, `20s` or `20000ms` -> ms. */
function durationMs(text: string, flag: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s)?$/.exec(text.trim());
  if (!m) return fail(`${flag} takes seconds, e.g. 20 or 20s or 3000ms (got "${text}")`);
  return Number(m[1]) * (m[2] === 'ms' ? 1 : 1000);
}

function numberList(text: string, flag: string, min: number, max: number): number[] {
  const list = text.split(',').map((s) => Number(s.trim()));
  if (list.length === 0 || list.some((n) => !Number.isFinite(n) || n < min || n > max)) fail(`${flag} takes a list of numbers ${min}..${max} (got "${text}")`);
  return list;
}

const quick = values.quick;
const rates = numberList(values.rates ?? (quick ? '500,1000' : '500,1000,2000,4000'), '--rates', 1, 20_000);
const latencies = numberList(values['upstream-latency-ms'] ?? (quick ? '500' : '500,2000'), '--upstream-latency-ms', 0, 60_000);
const windowMs = durationMs(values.duration ?? (quick ? '3' : '20'), '--duration');
const timeoutMs = durationMs(values.timeout, '--timeout');
const warmupFor = (latencyMs: number): number => (values.warmup !== undefined ? durationMs(values.warmup, '--warmup') : quick ? 1000 : Math.max(2000, 2 * latencyMs));
if (values.stream && values['non-stream']) fail('--stream and --non-stream exclude each other (give neither for both)');
const modes: Mode[] = values.stream ? ['stream'] : values['non-stream'] ? ['json'] : ['json', 'stream'];
const systemNames = values.systems
  .split(',')
  .map((s) => s.trim())
  .filter((s) => s !== '');
for (const s of systemNames) if (!SYSTEM_NAMES.includes(s as SystemName)) fail(`--systems takes ${SYSTEM_NAMES.join(', ')} (got "${s}")`);
if (values.baseline !== undefined) {
  baselineCheckout.dir = resolve(values.baseline);
  if (!systemNames.includes('baseline')) systemNames.splice(systemNames.indexOf('parrot') + 1, 0, 'baseline');
}
if (!(windowMs > 0) || !(timeoutMs > 0)) fail('--duration and --timeout must be > 0');

/** The generator's connection cap: under this process's file-descriptor limit, which its child inherits. */
function generatorConnectionCap(): number {
  try {
    const limit = Number(execFileSync('sh', ['-c', 'ulimit -n'], { encoding: 'utf8' }).trim());
    if (Number.isFinite(limit) && limit > 2000) return Math.min(30_000, limit - 1000);
  } catch {
    // fall through
  }
  return 1000;
}
const maxConnections = generatorConnectionCap();

const startedAt = new Date();
const meta = {
  ...runProvenance('bench/load.ts', startedAt),
  generator: 'bench/lib/open-loop.ts (Node, undici Pool, own process)',
  rates,
  upstreamLatenciesMs: latencies,
  windowMs,
  warmupMs: Object.fromEntries(latencies.map((l) => [l, warmupFor(l)])),
  timeoutMs,
  generatorMaxConnections: maxConnections,
  modes,
  systems: {} as Record<string, string>,
  /** --parrot-node-flags (parrot's and the baseline's extra node flags). */
  parrotNodeFlags: [...parrotNodeFlags],
};

const tmp = mkdtempSync(join(tmpdir(), 'parrot-load-'));
const cells: LoadCell[] = [];

log(`parrot bench:load: node ${meta.node}, ${meta.cpus} x ${meta.cpuModel}, commit ${meta.commit}${meta.dirty ? ' (+ uncommitted src changes)' : ''}`);
log(
  `rates ${rates.join(', ')} req/s; window ${windowMs / 1000} s after a warm-up of ${latencies.map((l) => `${warmupFor(l) / 1000} s`).join(' / ')}; ` +
    `upstream ${latencies.join(', ')} ms; ${modes.join(' + ')}; client timeout ${timeoutMs / 1000} s; load average ${meta.loadavgBefore.map((x) => x.toFixed(2)).join(' ')}`,
);
if (meta.loadavgBefore[0] > 0.5) log('note: the machine was busy when the run started (load average > 0.5): expect noise');

// Peers: install what is missing (once), or say why they cannot run.
const unavailable = new Map<SystemName, string>();
for (const name of systemNames as SystemName[]) {
  const system = SYSTEMS[name];
  meta.systems[name] = system.version;
  const reason = await system.prepare(log, !values['no-install']).catch((err: unknown) => `install failed: ${(err as Error).message}`);
  if (reason !== null) {
    unavailable.set(name, reason);
    log(`${name}: not installed: ${reason}`);
  }
}
log(`peers: @portkey-ai/gateway ${PORTKEY_VERSION}, litellm[proxy] ${LITELLM_VERSION} (under .parrot/peers/)`);
log();

const sum = (pids: readonly number[], read: (pid: number) => number): number => pids.reduce((acc, pid) => acc + (read(pid) || 0), 0);

/** Asks a Node system's lag probe for its histogram; null if it does not answer within 2 s. */
const readLag = (server: ServerProcess): Promise<LagProbeReply | null> => askProcess<LagProbeReply>(server, { type: 'lag' }, 'lag');

/** What the generator process reported, and the system's CPU and lag over its window. */
interface Measured {
  result: OpenLoopResult;
  cpuUs: number;
  upstreamCpuUs: number;
  lag: LagProbeReply | null;
}

/**
 * One cell: the generator in a fresh process sends to `origin`; the processes in `pids` (the
 * system, or the mock for direct) are sampled for CPU over the window, and for memory
 * throughout by `onSample`.
 */
function measure(spec: OpenLoopSpec, pids: () => readonly number[], mockPid: number, started: StartedSystem | null, onSample: () => void): Promise<Measured> {
  return new Promise((resolve, reject) => {
    const child = fork(join(ROOT, 'bench/open-loop-worker.ts'), [], { cwd: ROOT, stdio: ['ignore', 'inherit', 'inherit', 'ipc'], execArgv: [] });
    const sampler = setInterval(onSample, 200);
    let cpuAtOpen = 0;
    let mockAtOpen = 0;
    let cpuUs = Number.NaN;
    let upstreamCpuUs = Number.NaN;
    let lag: Promise<LagProbeReply | null> = Promise.resolve(null);
    let result: OpenLoopResult | null = null;
    // A hung generator is killed, not waited for: warm-up, window, the timeout and its grace, and slack.
    const killer = setTimeout(() => child.kill('SIGKILL'), spec.warmupMs + spec.durationMs + spec.timeoutMs + 60_000);
    child.on('message', (m: OpenLoopWorkerMessage) => {
      if (m.type === 'open') {
        cpuAtOpen = sum(pids(), processCpuUs);
        mockAtOpen = processCpuUs(mockPid);
        if (started?.lagProbe) started.server.child.send({ type: 'lag-reset' });
      } else if (m.type === 'close') {
        cpuUs = sum(pids(), processCpuUs) - cpuAtOpen;
        upstreamCpuUs = processCpuUs(mockPid) - mockAtOpen;
        if (started?.lagProbe) lag = readLag(started.server);
      } else result = m.result;
    });
    child.once('exit', (code) => {
      clearTimeout(killer);
      clearInterval(sampler);
      onSample();
      if (result) void lag.then((l) => resolve({ result: result!, cpuUs, upstreamCpuUs, lag: l }));
      else reject(new Error(`load generator exited with code ${code} and no result`));
    });
    child.send({ type: 'run', spec });
  });
}

async function runCell(system: SystemName | null, mock: ServerProcess, latencyMs: number, mode: Mode, rate: number): Promise<LoadCell> {
  const subject: Subject = system ?? 'direct';
  const cell: LoadCell = {
    upstreamLatencyMs: latencyMs,
    mode,
    rate,
    system: subject,
    status: 'measured',
    result: null,
    crashed: null,
    cpuUsPerRequest: null,
    upstreamCpuUsPerRequest: null,
    idleRssBytes: null,
    peakRssBytes: null,
    processes: 1,
    eventLoopLag: null,
  };
  if (system !== null && unavailable.has(system)) {
    cell.status = `not installed: ${unavailable.get(system)}`;
    return cell;
  }
  let started: StartedSystem | null = null;
  if (system !== null) {
    try {
      started = await SYSTEMS[system].start(mock.url, tmp);
    } catch (err) {
      cell.status = `failed to start: ${(err as Error).message.split('\n')[0]}`;
      log(`${system}: ${cell.status}\n${(err as Error).message.split('\n').slice(1).join('\n').slice(-1500)}`);
      return cell;
    }
  }
  const mainPid = started?.server.pid ?? mock.pid;
  let tree = processTree(mainPid);
  if (tree.length === 0) tree = [mainPid];
  const pids = (): readonly number[] => tree;
  cell.processes = tree.length;
  let peakPolled = 0;
  if (started) cell.idleRssBytes = sum(tree, rssBytes);
  const onSample = (): void => {
    if (started) peakPolled = Math.max(peakPolled, sum(tree, rssBytes));
  };
  try {
    const m = await measure(
      {
        origin: started?.server.url ?? mock.url,
        path: CHAT_PATH,
        body: chatRequestBody(mode === 'stream'),
        headers: started?.headers ?? { 'content-type': 'application/json', authorization: 'Bearer bench' },
        stream: mode === 'stream',
        rate,
        warmupMs: warmupFor(latencyMs),
        durationMs: windowMs,
        timeoutMs,
        maxConnections,
      },
      pids,
      mock.pid,
      started,
      onSample,
    );
    cell.result = m.result;
    cell.cpuUsPerRequest = m.cpuUs / m.result.sent;
    cell.upstreamCpuUsPerRequest = system === null ? null : m.upstreamCpuUs / m.result.sent;
    if (m.lag) cell.eventLoopLag = { p50: m.lag.p50, p99: m.lag.p99, max: m.lag.max };
    if (started) {
      // The kernel's high-water mark is exact for the main process; a forking server is summed from the polls.
      cell.peakRssBytes = tree.length === 1 ? Math.max(peakPolled, peakRssBytes(mainPid) || 0) : peakPolled;
    }
  } catch (err) {
    cell.status = `load generator failed: ${(err as Error).message}`;
  } finally {
    if (started) {
      const c = started.server.child;
      if (c.exitCode !== null || c.signalCode !== null) {
        cell.crashed = `exited during the run (${c.signalCode ?? `code ${c.exitCode}`})${crashReason(started.server.outputTail())}`;
      }
      await started.server.stop();
    }
  }
  return cell;
}

/** What a crashed system last printed that names the error (its first error line), if anything. */
function crashReason(tail: string): string {
  const lines = tail.split('\n');
  const i = lines.findIndex((l) => /^\s*(\w*Error|FATAL|Uncaught|node:|<--- )/.test(l) || /\bE[A-Z]{3,}\b/.test(l));
  if (i < 0) return '';
  // The error's own line is a few below a `node:...` location line: keep a few, on one line.
  return `: ${lines.slice(i, i + 6).map((l) => l.trim()).filter((l) => l !== '' && l !== '^').join(' | ').slice(0, 400)}`;
}

const short = (c: LoadCell): string => {
  if (!c.result) return `${c.system}: ${c.status}`;
  const r = c.result;
  const t = c.mode === 'stream' && r.ttfb ? r.ttfb : r.latency;
  const ms = (n: number | null): string => (n === null ? 'failed' : n.toFixed(1));
  return (
    `${c.system.padEnd(12)} ${((r.ok * 100) / r.sent).toFixed(2).padStart(6)} % ok  ${c.mode === 'stream' ? 'ttfb' : 'lat '} p50 ${ms(t.p50)} p99 ${ms(t.p99)} ms` +
    `${c.peakRssBytes !== null ? `  peak ${(c.peakRssBytes / 2 ** 20).toFixed(0)} MB` : ''}  CPU ${c.cpuUsPerRequest?.toFixed(0)} µs/req${c.crashed ? `  CRASHED ${c.crashed}` : ''}`
  );
};

try {
  for (const latencyMs of latencies) {
    const mock = await startProcess({
      name: 'upstream mock',
      command: process.execPath,
      args: ['bench/upstream-mock.ts', '--latency-ms', String(latencyMs), '--port', '0'],
      ready: { pattern: /listening on (http:\/\/[^\s]+)/ },
    });
    try {
      for (const mode of modes) {
        for (const rate of rates) {
          log(`== upstream ${latencyMs} ms, ${mode === 'json' ? 'non-streaming' : 'streaming'}, ${rate} req/s`);
          for (const system of [null, ...(systemNames as SystemName[])]) {
            const cell = await runCell(system, mock, latencyMs, mode, rate);
            cells.push(cell);
            log(`  ${short(cell)}`);
          }
        }
      }
    } finally {
      await mock.stop();
    }
  }
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
meta.loadavgAfter = loadavg();

log();
log('== results (latency percentiles over every request of the window, failures ranked last: "failed" where a percentile falls on one)');
for (const l of renderConsole(cells)) log(l);
const targets = checkTargets(cells);
log('== targets');
for (const l of renderTargets(targets)) log(l);

const dir = join(ROOT, 'bench/results');
mkdirSync(dir, { recursive: true });
const json = `${JSON.stringify({ meta, cells, targets }, null, 2)}\n`;
writeFileSync(join(dir, 'load-latest.json'), json);
let written = 'bench/results/load-latest.json';
if (!quick) {
  const dated = `load-${startedAt.toISOString().slice(0, 10)}-${meta.commit || 'nogit'}.json`;
  writeFileSync(join(dir, dated), json);
  written += ` and bench/results/${dated}`;
}
log();
log(`wrote ${written} (${((Date.now() - startedAt.getTime()) / 1000).toFixed(0)} s); Markdown: node bench/load.ts --markdown ${written.split(' ')[0]}`);
