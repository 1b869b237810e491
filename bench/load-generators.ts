/**
 * Which open-loop load generator bench:load should use: the Node one (bench/lib/open-loop.ts)
 * or vegeta, each sending at a fixed rate straight to the upstream mock, whose latency is
 * fixed, so whatever a generator reports above that latency is its own error. Reports each
 * generator's CPU per request (it competes with the systems under test for the two cores),
 * the latency it measured and how late it sent.
 *
 *   node bench/load-generators.ts [--rates 1000,2000,4000] [--duration 3] [--upstream-latency-ms 500]
 *
 * vegeta is built once into .parrot/bin with `go install` (needs Go); without Go it is
 * reported as not installed. Prints a table; writes nothing.
 */
import { execFile, fork, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs, promisify } from 'node:util';
import type { OpenLoopWorkerMessage } from './open-loop-worker.ts';
import { allRequestsPercentile, type OpenLoopResult } from './lib/open-loop.ts';
import { ROOT, startProcess } from './lib/processes.ts';

const VEGETA_VERSION = 'v12.13.0';
const VEGETA = join(ROOT, '.parrot/bin/vegeta');
const WARMUP_MS = 1000;
const TIMEOUT_MS = 10_000;

const { values } = parseArgs({
  options: { rates: { type: 'string', default: '1000,2000,4000' }, duration: { type: 'string', default: '3' }, 'upstream-latency-ms': { type: 'string', default: '500' } },
  strict: true,
});
const rates = values.rates.split(',').map(Number);
const windowMs = Number(values.duration) * 1000;
const latencyMs = Number(values['upstream-latency-ms']);
if (rates.some((r) => !(r > 0 && r <= 20_000)) || !(windowMs > 0) || !(latencyMs >= 0)) {
  process.stderr.write('usage: node bench/load-generators.ts [--rates 1000,2000,4000] [--duration SECONDS] [--upstream-latency-ms MS]\n');
  process.exit(2);
}
const log = (line = ''): void => void process.stdout.write(`${line}\n`);
const run = promisify(execFile);

interface Row {
  generator: string;
  rate: number;
  /** Why there is no measurement, else null. */
  missing: string | null;
  successPct: number;
  p50: number | null;
  p99: number | null;
  p999: number | null;
  /** Generator CPU (user + system) over the whole run per request sent, µs. */
  cpuUsPerRequest: number;
  /** How late requests left against the schedule, p99, ms (null: the generator does not say). */
  sendLagP99: number | null;
}

const BODY = JSON.stringify({ model: 'gpt-4-turbo-preview', messages: [{ role: 'user', content: 'Say hello in one short sentence.' }] });

function runNode(origin: string, rate: number): Promise<Row> {
  return new Promise((resolve, reject) => {
    const child = fork(join(ROOT, 'bench/open-loop-worker.ts'), [], { cwd: ROOT, stdio: ['ignore', 'inherit', 'inherit', 'ipc'], execArgv: [] });
    let result: OpenLoopResult | null = null;
    child.on('message', (m: OpenLoopWorkerMessage) => {
      if (m.type === 'result') result = m.result;
    });
    child.once('exit', () => {
      if (!result) return reject(new Error('node generator gave no result'));
      const r: OpenLoopResult = result;
      resolve({
        generator: 'node (bench/lib/open-loop.ts)',
        rate,
        missing: null,
        successPct: (r.ok * 100) / r.sent,
        ...r.latency,
        cpuUsPerRequest: r.cpuUsPerRequestWholeRun,
        sendLagP99: r.sendLag.p99,
      });
    });
    child.send({
      type: 'run',
      spec: { origin, path: '/v1/chat/completions', body: BODY, headers: { 'content-type': 'application/json' }, stream: false, rate, warmupMs: WARMUP_MS, durationMs: windowMs, timeoutMs: TIMEOUT_MS, maxConnections: 15_000 },
    });
  });
}

/** Builds vegeta into .parrot/bin once; null when ready, else why not. */
async function ensureVegeta(): Promise<string | null> {
  if (existsSync(VEGETA)) return null;
  mkdirSync(join(ROOT, '.parrot/bin'), { recursive: true });
  try {
    await run('go', ['install', `github.com/tsenart/vegeta/v12@${VEGETA_VERSION}`], { env: { ...process.env, GOBIN: join(ROOT, '.parrot/bin') }, timeout: 10 * 60_000 });
    return existsSync(VEGETA) ? null : 'go install left no binary';
  } catch (err) {
    return `go install failed: ${(err as Error).message.split('\n')[0]}`;
  }
}

/** vegeta attack under /usr/bin/time (for its CPU), then its results decoded and windowed like the Node generator's. */
async function runVegeta(origin: string, rate: number, dir: string): Promise<Row> {
  writeFileSync(join(dir, 'body.json'), BODY);
  writeFileSync(join(dir, 'targets.txt'), `POST ${origin}/v1/chat/completions\nContent-Type: application/json\n@${join(dir, 'body.json')}\n`);
  const results = join(dir, 'results.bin');
  const timing = join(dir, 'time.txt');
  const seconds = (WARMUP_MS + windowMs) / 1000;
  await new Promise<void>((resolve, reject) => {
    const child = spawn(
      '/usr/bin/time',
      ['-f', '%U %S', '-o', timing, VEGETA, 'attack', '-targets', join(dir, 'targets.txt'), '-rate', `${rate}/1s`, '-duration', `${seconds}s`, '-timeout', `${TIMEOUT_MS / 1000}s`, '-output', results],
      { stdio: ['ignore', 'ignore', 'inherit'] },
    );
    child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`vegeta exited with ${code}`))));
  });
  const [user, sys] = readFileSync(timing, 'utf8').trim().split('\n').pop()!.split(' ').map(Number);
  const { stdout } = await run(VEGETA, ['encode', '--to', 'json', results], { maxBuffer: 1 << 30 });
  const lines = stdout.split('\n').filter((l) => l !== '');
  const all = lines.map((l) => JSON.parse(l) as { timestamp: string; code: number; latency: number; error: string; body: string });
  const t0 = Math.min(...all.map((r) => Date.parse(r.timestamp)));
  const windowed = all.filter((r) => Date.parse(r.timestamp) >= t0 + WARMUP_MS);
  const ok = windowed.filter((r) => r.code === 200 && r.error === '' && r.latency <= TIMEOUT_MS * 1e6 && Buffer.from(r.body, 'base64').toString('latin1').includes('"choices"'));
  const sorted = Float64Array.from(ok.map((r) => r.latency / 1e6)).sort();
  return {
    generator: `vegeta ${VEGETA_VERSION}`,
    rate,
    missing: null,
    successPct: (ok.length * 100) / windowed.length,
    p50: allRequestsPercentile(sorted, windowed.length, 50),
    p99: allRequestsPercentile(sorted, windowed.length, 99),
    p999: allRequestsPercentile(sorted, windowed.length, 99.9),
    cpuUsPerRequest: ((user + sys) * 1e6) / all.length,
    sendLagP99: null,
  };
}

const dir = mkdtempSync(join(tmpdir(), 'parrot-generators-'));
const vegetaMissing = await ensureVegeta();
const mock = await startProcess({
  name: 'upstream mock',
  command: process.execPath,
  args: ['bench/upstream-mock.ts', '--latency-ms', String(latencyMs), '--port', '0'],
  ready: { pattern: /listening on (http:\/\/[^\s]+)/ },
});
const rows: Row[] = [];
try {
  for (const rate of rates) {
    rows.push(await runNode(mock.url, rate));
    if (vegetaMissing !== null) rows.push({ generator: 'vegeta', rate, missing: `not installed: ${vegetaMissing}`, successPct: 0, p50: null, p99: null, p999: null, cpuUsPerRequest: Number.NaN, sendLagP99: null });
    else rows.push(await runVegeta(mock.url, rate, dir));
  }
} finally {
  await mock.stop();
  rmSync(dir, { recursive: true, force: true });
}

const ms = (n: number | null): string => (n === null ? 'failed' : n.toFixed(1));
log(`straight to the mock (${latencyMs} ms), ${windowMs / 1000} s window after ${WARMUP_MS / 1000} s warm-up; what a generator reports above ${latencyMs} ms is its own error`);
log(`${'generator'.padEnd(32)}${'req/s'.padStart(7)}${'success'.padStart(10)}${'p50 ms'.padStart(9)}${'p99 ms'.padStart(9)}${'p99.9 ms'.padStart(10)}${'CPU µs/req'.padStart(12)}${'send lag p99'.padStart(14)}`);
for (const r of rows) {
  if (r.missing) {
    log(`${r.generator.padEnd(32)}${String(r.rate).padStart(7)}  ${r.missing}`);
    continue;
  }
  log(
    `${r.generator.padEnd(32)}${String(r.rate).padStart(7)}${`${r.successPct.toFixed(2)} %`.padStart(10)}${ms(r.p50).padStart(9)}${ms(r.p99).padStart(9)}${ms(r.p999).padStart(10)}` +
      `${r.cpuUsPerRequest.toFixed(0).padStart(12)}${(r.sendLagP99 === null ? '-' : `${r.sendLagP99.toFixed(1)} ms`).padStart(14)}`,
  );
}
log('(CPU: the generator process over the whole run, per request sent; send lag: how late requests left their schedule, the Node generator only)');
