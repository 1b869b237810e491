/**
 * Part 1 of `npm run bench`: requests/s and latency of the simulator called directly, of a
 * minimal node:http + undici pass-through, and of the gateway, each server in its own
 * process and the load generator in another, non-streaming and streaming, at each
 * connection count.
 */
import { fork } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import type { LoadWorkerMessage } from './load-worker.ts';
import type { InterleavedLoadSpec, TimedLoadResult } from './lib/load.ts';
import { processCpuUs, ROOT, startProcess, startServer, type ServerProcess } from './lib/processes.ts';
import { summarizeProfile, type ProfileSummary } from './lib/profile.ts';
import { benchGatewayYaml, CHAT_PATH, chatRequestBody, nodeFlagsOf, serveArgs } from './lib/systems.ts';

export type TargetName = 'direct' | 'passthrough' | 'gateway' | 'baseline';
export type Mode = 'json' | 'stream';

export const TARGETS: readonly TargetName[] = ['direct', 'passthrough', 'gateway'];

export interface ThroughputOptions {
  /** Warm-up before each target's first window. */
  warmupMs: number;
  /** Warm-up before each later window (servers already warm; fresh connections). */
  roundWarmupMs: number;
  /** Windows per target, interleaved across targets. */
  rounds: number;
  /** Total measured time per target (summed over its windows). */
  durationMs: number;
  connections: readonly number[];
  modes: readonly Mode[];
  /** Where to write CPU profiles of the pass-through and the gateway (one more run each at the largest connection count); null: no profiling. */
  profileDir: string | null;
  /** What the profiled run sends (default json). */
  profileMode?: Mode;
  /**
   * Another checkout of the gateway (a directory with its own bin/parrot.js and node_modules),
   * run with the same config as one more target, interleaved window by window with the others:
   * "before and after in one run", so both meet the same machine state. It starts with that
   * checkout's own node flags, as its `parrot serve` does.
   */
  baseline?: string;
  /**
   * Another checkout run as the `gateway` row instead of this one (with its own node flags and
   * node_modules): two earlier commits compared with `baseline`, in one run.
   */
  candidate?: string;
  /** Extra node flags for the gateway and the baseline (after the ones they ship with: a later V8 flag wins). */
  gatewayNodeFlags?: readonly string[];
  log: (line: string) => void;
}

/** One cell of the matrix. */
export interface ThroughputRow extends TimedLoadResult {
  target: TargetName;
  mode: Mode;
  /** CPU of the process under test (the simulator itself for `direct`) per request, µs. */
  serverCpuUsPerRequest: number;
  /** CPU of the simulator per request when it sits behind a proxy, µs (null for direct). */
  upstreamCpuUsPerRequest: number | null;
}

/** Self time of one server under --cpu-prof, measurement window only (no start-up). */
export interface ProfileReport extends ProfileSummary {
  server: 'passthrough' | 'gateway' | 'baseline';
  file: string;
  mode: Mode;
  connections: number;
  /** req/s under the profiler (slower than unprofiled). */
  rps: number;
  /** Requests completed in the window. */
  requests: number;
}

export interface ThroughputReport {
  rows: ThroughputRow[];
  /** Empty unless --profile. */
  profiles: ProfileReport[];
}

/** Sample bound per target and run: 4x what the fastest target (direct, ~25k req/s) completes in 4 s here. */
const MAX_SAMPLES = 400_000;

export function target(origin: string, mode: Mode): InterleavedLoadSpec['targets'][number] {
  return { origin, path: CHAT_PATH, body: chatRequestBody(mode === 'stream'), headers: { 'content-type': 'application/json', authorization: 'Bearer bench' } };
}

export const LISTENING = /listening on (http:\/\/[^\s]+)/;
const GATEWAY_LISTENING = /parrot listening on (http:\/\/[^\s]+)/;

async function startGatewayProcess(configPath: string, extraNodeArgs: readonly string[] = [], checkout?: string, name = checkout === undefined ? 'gateway' : 'baseline'): Promise<ServerProcess> {
  const flags = await nodeFlagsOf(checkout);
  return startProcess({
    name,
    command: process.execPath,
    args: serveArgs(configPath, extraNodeArgs, flags),
    ready: { pattern: GATEWAY_LISTENING },
    env: { PORT: '', HOST: '' },
    ...(checkout === undefined ? {} : { cwd: checkout }),
  });
}

/** What one load-generator run gives back: a result per target, its CPU over its windows, the span of its windows. */
export interface LoadRun {
  results: TimedLoadResult[];
  /** Per target, per pid: CPU µs used during that target's windows. */
  cpuUs: number[][];
  /** First window open to last window close, µs of the monotonic clock (the clock CPU profiles are stamped with). */
  span: [number, number];
}

/**
 * One interleaved load run in a fresh load-generator process. `pids[i]` are the processes
 * whose CPU is sampled over target i's windows.
 */
export function runLoad(spec: InterleavedLoadSpec, pids: ReadonlyArray<readonly number[]>): Promise<LoadRun> {
  return new Promise((resolve, reject) => {
    const child = fork(join(ROOT, 'bench/load-worker.ts'), [], { cwd: ROOT, stdio: ['ignore', 'inherit', 'inherit', 'ipc'], execArgv: [] });
    const cpuUs = pids.map((list) => list.map(() => 0));
    let atOpen: number[] = [];
    let results: TimedLoadResult[] | null = null;
    const span: [number, number] = [Number.NaN, Number.NaN];
    const nowUs = (): number => Number(process.hrtime.bigint() / 1000n);
    const phases = spec.rounds * spec.targets.length;
    // Bound: every phase's warm-up and window plus a generous drain; a hung run is killed, not waited for.
    const boundMs = spec.targets.length * spec.warmupMs + (phases - spec.targets.length) * spec.roundWarmupMs + spec.targets.length * spec.durationMs + 30_000;
    const killer = setTimeout(() => child.kill('SIGKILL'), boundMs);
    child.on('message', (m: LoadWorkerMessage) => {
      if (m.type === 'open') {
        atOpen = pids[m.target].map(processCpuUs);
        if (Number.isNaN(span[0])) span[0] = nowUs();
      } else if (m.type === 'close') {
        pids[m.target].forEach((pid, j) => {
          cpuUs[m.target][j] += processCpuUs(pid) - atOpen[j];
        });
        span[1] = nowUs();
      } else results = m.results;
    });
    child.once('exit', (code) => {
      clearTimeout(killer);
      if (results) resolve({ results, cpuUs, span });
      else reject(new Error(`load generator exited with code ${code} and no result`));
    });
    child.send({ type: 'run', spec });
  });
}

/** Runs the whole matrix and stops every process it started. */
export async function runThroughput(opts: ThroughputOptions): Promise<ThroughputReport> {
  const started: ServerProcess[] = [];
  const tmp = mkdtempSync(join(tmpdir(), 'parrot-bench-'));
  try {
    const sim = await startServer('simulator', ['bin/parrot.js', 'simulate', '--port', '0'], LISTENING);
    started.push(sim);
    const pass = await startServer('passthrough', ['bench/passthrough.ts', '--upstream', sim.url], LISTENING);
    started.push(pass);
    const configPath = join(tmp, 'gateway.yaml');
    writeFileSync(configPath, benchGatewayYaml(sim.url, { ...(opts.candidate !== undefined ? { checkout: opts.candidate } : {}) }));
    const extra = opts.gatewayNodeFlags ?? [];
    const gw = await startGatewayProcess(configPath, extra, opts.candidate, 'gateway');
    if (opts.candidate !== undefined) opts.log(`gateway: the gateway of ${opts.candidate} (node flags: ${(await nodeFlagsOf(opts.candidate)).join(' ') || 'none'})`);
    started.push(gw);
    opts.log(`simulator ${sim.url} (pid ${sim.pid}), passthrough ${pass.url} (pid ${pass.pid}), gateway ${gw.url} (pid ${gw.pid})`);
    const servers: Partial<Record<TargetName, ServerProcess>> = { direct: sim, passthrough: pass, gateway: gw };
    const names: TargetName[] = [...TARGETS];
    if (opts.baseline !== undefined) {
      const baseConfig = join(tmp, 'baseline.yaml');
      writeFileSync(baseConfig, benchGatewayYaml(sim.url, { checkout: opts.baseline }));
      const base = await startGatewayProcess(baseConfig, extra, opts.baseline);
      started.push(base);
      servers.baseline = base;
      names.push('baseline');
      opts.log(`baseline: the gateway of ${opts.baseline} at ${base.url} (pid ${base.pid}; node flags: ${(await nodeFlagsOf(opts.baseline)).join(' ') || 'none'})`);
    }
    const rows: ThroughputRow[] = [];
    for (const mode of opts.modes) {
      for (const connections of opts.connections) {
        const run = await runLoad(
          {
            targets: names.map((t) => target(servers[t]!.url, mode)),
            stream: mode === 'stream',
            connections,
            warmupMs: opts.warmupMs,
            roundWarmupMs: opts.roundWarmupMs,
            rounds: opts.rounds,
            durationMs: opts.durationMs,
            maxSamples: MAX_SAMPLES,
          },
          // The process under test, then (behind a proxy) the simulator.
          names.map((t) => (t === 'direct' ? [sim.pid] : [servers[t]!.pid, sim.pid])),
        );
        names.forEach((name, i) => {
          const result = run.results[i];
          const perReq = (us: number): number => (result.completed > 0 ? us / result.completed : Number.NaN);
          const row: ThroughputRow = {
            ...result,
            target: name,
            mode,
            serverCpuUsPerRequest: perReq(run.cpuUs[i][0]),
            upstreamCpuUsPerRequest: name === 'direct' ? null : perReq(run.cpuUs[i][1]),
          };
          rows.push(row);
          const lat = mode === 'stream' && row.ttfb ? row.ttfb : row.latency;
          opts.log(
            `${mode.padEnd(6)} c=${String(connections).padEnd(3)} ${name.padEnd(11)} ${row.rps.toFixed(0).padStart(6)} req/s  ` +
              `${mode === 'stream' ? 'ttfb' : 'lat '} p50 ${lat.p50.toFixed(3)} p99 ${lat.p99.toFixed(3)} ms  errors ${row.errors}`,
          );
        });
      }
    }

    let profiles: ProfileReport[] = [];
    if (opts.profileDir !== null) {
      profiles = await profileServers(
        opts,
        [
          { name: 'passthrough', start: (args) => startServer('passthrough', [...args, 'bench/passthrough.ts', '--upstream', sim.url], LISTENING) },
          { name: 'gateway', start: (args) => startGatewayProcess(configPath, [...extra, ...args], opts.candidate, 'gateway') },
          ...(opts.baseline !== undefined ? [{ name: 'baseline' as const, start: (args: string[]) => startGatewayProcess(join(tmp, 'baseline.yaml'), [...extra, ...args], opts.baseline) }] : []),
        ],
        sim,
      );
    }
    return { rows, profiles };
  } finally {
    for (const s of started.reverse()) await s.stop();
    rmSync(tmp, { recursive: true, force: true });
  }
}

/** A profiled server: which one, and how it starts with extra node flags. */
type ProfileSubject = { name: 'passthrough' | 'gateway' | 'baseline'; start: (nodeArgs: string[]) => Promise<ServerProcess> };

/**
 * One more run (non-streaming unless `profileMode`) at the largest connection count against each subject under
 * --cpu-prof (profiling slows it: its req/s is not comparable with the table's). Self time is
 * taken over the measurement window only and also given per request, so the pass-through's
 * costs can be subtracted from the gateway's.
 */
async function profileServers(opts: ThroughputOptions, subjects: readonly ProfileSubject[], sim: ServerProcess): Promise<ProfileReport[]> {
  const dir = opts.profileDir!;
  mkdirSync(dir, { recursive: true });
  for (const f of readdirSync(dir)) if (f.endsWith('.cpuprofile')) rmSync(join(dir, f));
  const connections = Math.max(...opts.connections);
  const mode = opts.profileMode ?? 'json';
  const out: ProfileReport[] = [];
  for (const subject of subjects) {
    const name = `${subject.name}.cpuprofile`;
    const server = await subject.start(['--cpu-prof', '--cpu-prof-dir', dir, '--cpu-prof-name', name]);
    let run: LoadRun;
    try {
      run = await runLoad(
        {
          targets: [target(server.url, mode)],
          stream: mode === 'stream',
          connections,
          warmupMs: opts.warmupMs,
          roundWarmupMs: 0,
          rounds: 1,
          durationMs: opts.durationMs,
          maxSamples: MAX_SAMPLES,
        },
        [[server.pid, sim.pid]],
      );
    } finally {
      // SIGTERM: the server closes and exits, which writes the profile.
      await server.stop(15_000);
    }
    const file = join(dir, name);
    const result = run.results[0];
    const summary = summarizeProfile(file, 25, run.span, result.completed);
    opts.log(`profiled ${subject.name} at ${connections} connections: ${result.rps.toFixed(0)} req/s under the profiler; ${file}`);
    out.push({ server: subject.name, file: relative(ROOT, file), mode, connections, rps: result.rps, requests: result.completed, ...summary });
  }
  return out;
}
