/**
 * `npm run bench`: the gateway's overhead, measured in one bounded run (about 2 minutes on
 * 2 cores), everything on 127.0.0.1, every server and the load generator in its own process.
 *
 *   node bench/run.ts                       everything: actor cost, throughput/latency matrix, memory
 *   node bench/run.ts --only memory         one part (actor | throughput | memory; comma-separate several)
 *   node bench/run.ts --profile             also profile the pass-through and the gateway (--cpu-prof) and rank self time
 *   node bench/run.ts --profile --profile-mode stream   the same profile for streaming requests
 *   node bench/run.ts --only throughput --baseline ../before   also the gateway of another checkout (its own
 *                                           node_modules), interleaved with this one: before and after in one run
 *   node bench/run.ts --only throughput --candidate ../after --baseline ../before   two other checkouts
 *                                           against each other (the candidate in the gateway row)
 *   node bench/run.ts --only throughput --gateway-node-flags="--import ./probe.mjs"   extra node flags for the
 *                                           gateway (and the baseline), after the ones it ships with
 *   node bench/run.ts --warmup 1500 --rounds 4 --round-warmup 300 --duration 4000 --connections 1,50  (the defaults)
 *
 * Prints a table; writes bench/results/latest.json, and for a full run also
 * bench/results/<YYYY-MM-DD>.json (the file docs/performance.md cites). A benchmark, not a
 * test: targets print PASS/FAIL, the exit code is 0 unless something crashed.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { runActorCost, type ActorCostReport } from './actor-cost.ts';
import { commitOf, ROOT, runProvenance } from './lib/processes.ts';
import { tuneGc } from '../src/runtime/gc-tuning.ts';
import { checkTargets, derive, renderActorCost, renderDerived, renderProfiles, renderTargets, renderThroughputTable, type Derived } from './lib/report.ts';
import { runMemoryCheck, type MemoryReport } from './memory.ts';
import { runThroughput, type ThroughputReport } from './throughput.ts';

// The in-process actor figures are for the actor as `parrot serve` runs it (bin/parrot.js).
tuneGc();

const PARTS = ['actor', 'throughput', 'memory'] as const;
type Part = (typeof PARTS)[number];

const { values } = parseArgs({
  options: {
    only: { type: 'string' },
    warmup: { type: 'string', default: '1500' },
    'round-warmup': { type: 'string', default: '300' },
    rounds: { type: 'string', default: '4' },
    duration: { type: 'string', default: '4000' },
    connections: { type: 'string', default: '1,50' },
    profile: { type: 'boolean', default: false },
    'profile-mode': { type: 'string', default: 'json' },
    baseline: { type: 'string' },
    'gateway-node-flags': { type: 'string', default: '' },
    candidate: { type: 'string' },
    help: { type: 'boolean', short: 'h', default: false },
  },
  strict: true,
});
if (values.help) {
  process.stdout.write(
    'usage: node bench/run.ts [--only actor,throughput,memory] [--profile [--profile-mode json|stream]] [--baseline DIR [--candidate DIR]] [--gateway-node-flags="--flag ..."] [--warmup MS] [--round-warmup MS] [--rounds N] [--duration MS] [--connections 1,50]\n',
  );
  process.exit(0);
}
const parts: Part[] = values.only === undefined ? [...PARTS] : (values.only.split(',').map((s) => s.trim()) as Part[]);
for (const p of parts) {
  if (!PARTS.includes(p)) {
    process.stderr.write(`bench: --only takes ${PARTS.join(', ')} (got "${p}")\n`);
    process.exit(2);
  }
}
const profileMode = values['profile-mode'];
if (profileMode !== 'json' && profileMode !== 'stream') {
  process.stderr.write(`bench: --profile-mode takes json or stream (got "${profileMode}")\n`);
  process.exit(2);
}
const baseline = values.baseline === undefined ? undefined : resolve(values.baseline);
if (baseline !== undefined && !existsSync(join(baseline, 'bin/parrot.js'))) {
  process.stderr.write(`bench: --baseline takes a checkout of this repository with its node_modules installed (no bin/parrot.js in ${baseline})\n`);
  process.exit(2);
}
const candidate = values.candidate === undefined ? undefined : resolve(values.candidate);
if (candidate !== undefined && (baseline === undefined || !existsSync(join(candidate, 'bin/parrot.js')))) {
  process.stderr.write('bench: --candidate takes a checkout of this repository with its node_modules installed, and goes with --baseline\n');
  process.exit(2);
}
const warmupMs = Number(values.warmup);
const roundWarmupMs = Number(values['round-warmup']);
const rounds = Number(values.rounds);
const durationMs = Number(values.duration);
const connections = values.connections.split(',').map(Number);
if (
  !(warmupMs >= 0) ||
  !(roundWarmupMs >= 0) ||
  !(durationMs > 0) ||
  !Number.isInteger(rounds) ||
  rounds < 1 ||
  rounds > 100 ||
  connections.some((c) => !Number.isInteger(c) || c < 1 || c > 1000)
) {
  process.stderr.write('bench: --warmup and --round-warmup >= 0, --duration > 0, --rounds 1..100, --connections a list of integers 1..1000\n');
  process.exit(2);
}

const log = (line = ''): void => void process.stdout.write(`${line}\n`);

const startedAt = new Date();
const meta = {
  ...runProvenance('bench/run.ts', startedAt),
  warmupMs,
  roundWarmupMs,
  rounds,
  durationMs,
  connections,
  parts,
  baseline: baseline === undefined ? null : { dir: baseline, commit: commitOf(baseline) },
  candidate: candidate === undefined ? null : { dir: candidate, commit: commitOf(candidate) },
};
log(`parrot bench: node ${meta.node}, ${meta.cpus} x ${meta.cpuModel}, commit ${meta.commit}${meta.dirty ? ' (+ uncommitted src changes)' : ''}`);
log(
  `per target: warm-up ${warmupMs} ms, then ${rounds} interleaved windows totalling ${durationMs} ms (${roundWarmupMs} ms warm-up before each later one); ` +
    `connections ${connections.join(', ')}; load average ${meta.loadavgBefore.map((x) => x.toFixed(2)).join(' ')}`,
);
if (meta.loadavgBefore[0] > 0.5) log('note: the machine was busy when the run started (load average > 0.5): expect noise');
log();

let actorCost: ActorCostReport | null = null;
let throughput: ThroughputReport | null = null;
let memory: MemoryReport | null = null;

if (parts.includes('actor')) {
  log('== request actor CPU cost (in-process, attempt already resolved)');
  actorCost = await runActorCost();
  for (const l of renderActorCost(actorCost)) log(l);
  log();
}
if (parts.includes('throughput')) {
  log('== throughput and latency (closed loop, keep-alive; simulator at 0 ms)');
  throughput = await runThroughput({
    warmupMs,
    roundWarmupMs,
    rounds,
    durationMs,
    connections,
    modes: ['json', 'stream'],
    profileDir: values.profile ? join(ROOT, 'bench/results/prof') : null,
    profileMode,
    ...(baseline === undefined ? {} : { baseline }),
    ...(candidate === undefined ? {} : { candidate }),
    gatewayNodeFlags: values['gateway-node-flags'].split(' ').filter((f) => f !== ''),
    log,
  });
  log();
}
if (parts.includes('memory')) {
  log('== memory over 100,000 requests (gateway in its own process, 50 in flight, forced GC)');
  memory = await runMemoryCheck({ log });
  log();
}
meta.loadavgAfter = loadavg();

const maxConns = Math.max(...connections);
const derived: Derived | null = throughput ? derive(throughput) : null;
const targets = checkTargets(derived, memory, maxConns);

log('== results');
if (throughput) {
  for (const l of renderThroughputTable(throughput)) log(l);
  log('(CPU µs/req: CPU time of the process under test per request: the simulator itself for "direct", the proxy for the others)');
  log();
  for (const l of renderDerived(derived!, maxConns)) log(l);
  log();
}
if (actorCost) {
  for (const l of renderActorCost(actorCost)) log(l);
  log();
}
if (memory) {
  const mb = (b: number): string => (b / 2 ** 20).toFixed(2);
  log(`memory heapUsed: ${memory.checkpoints.map((c) => `${c.requests / 1000}k ${mb(c.heapUsed)} MB`).join(', ')}; growth ${mb(memory.growthBytes)} MB; errors ${memory.errors}`);
  log();
}
if (throughput && throughput.profiles.length > 0) {
  for (const l of renderProfiles(throughput.profiles)) log(l);
  log();
}
if (targets.length > 0) {
  log('== targets');
  for (const l of renderTargets(targets)) log(l);
}

const result = { meta, actorCost, throughput, derived, targets, memory };
const dir = join(ROOT, 'bench/results');
mkdirSync(dir, { recursive: true });
const json = `${JSON.stringify(result, null, 2)}\n`;
writeFileSync(join(dir, 'latest.json'), json);
let written = 'bench/results/latest.json';
if (values.only === undefined) {
  const dated = `${startedAt.toISOString().slice(0, 10)}.json`;
  writeFileSync(join(dir, dated), json);
  written += ` and bench/results/${dated}`;
}
log();
log(`wrote ${written} (${((Date.now() - startedAt.getTime()) / 1000).toFixed(0)} s)`);
