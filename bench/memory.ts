/**
 * Part 5 of `npm run bench` (`--only memory` runs it alone): 100,000 non-streaming requests
 * through a gateway in its own process (bench/gateway-child.ts) to the simulator, 50 in
 * flight, with a forced full GC and a heap reading after 10k, 50k and 100k requests.
 * PASS when heapUsed grows by less than 5 MB from 10k to 100k: per-request state (request
 * actors, their children, listeners, timers) is all released. The child runs with
 * `--no-flush-bytecode` so V8 discarding the bytecode of start-up-only functions (it does
 * after a few full GCs) does not show up as a heap drop that would hide growth.
 *
 * `node bench/memory.ts` runs it alone.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import type { GatewayChildMessage } from './gateway-child.ts';
import { closeClients, openClients, runCountedLoad, type Target } from './lib/load.ts';
import { ROOT, startServer } from './lib/processes.ts';

export interface MemoryCheckpoint {
  /** Requests sent so far. */
  requests: number;
  heapUsed: number;
  heapTotal: number;
  rss: number;
  external: number;
  /** Throughput of the phase that ended here, req/s. */
  phaseRps: number;
}

export interface MemoryReport {
  connections: number;
  /** Heap right after start-up and one warm-up request, before the counted load. */
  baseline: MemoryCheckpoint;
  checkpoints: MemoryCheckpoint[];
  /** heapUsed at the last checkpoint minus at the first, bytes. */
  growthBytes: number;
  limitBytes: number;
  errors: number;
  firstError: string | null;
  /** False when the time bound cut the run short (then the check cannot pass). */
  complete: boolean;
  pass: boolean;
}

export interface MemoryOptions {
  checkpoints?: readonly number[];
  connections?: number;
  /** Bound on the whole load, ms. */
  timeoutMs?: number;
  log?: (line: string) => void;
}

const MB = 1024 * 1024;
const LIMIT_BYTES = 5 * MB;

function forkGateway(upstream: string): Promise<{ child: ChildProcess; url: string }> {
  const child = fork(join(ROOT, 'bench/gateway-child.ts'), [upstream], { cwd: ROOT, execArgv: ['--expose-gc', '--no-flush-bytecode'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('gateway child did not start within 20 s')), 20_000);
    child.once('exit', (code) => reject(new Error(`gateway child exited with code ${code}`)));
    child.once('message', (m: GatewayChildMessage) => {
      clearTimeout(timer);
      if (m.type === 'ready') resolve({ child, url: m.url });
      else reject(new Error(`unexpected message from gateway child: ${m.type}`));
    });
  });
}

function readMemory(child: ChildProcess): Promise<NodeJS.MemoryUsage> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('gateway child did not report memory within 10 s')), 10_000);
    child.once('message', (m: GatewayChildMessage) => {
      clearTimeout(timer);
      if (m.type === 'memory') resolve(m.usage);
      else reject(new Error(`unexpected message from gateway child: ${m.type}`));
    });
    child.send({ type: 'memory' });
  });
}

const mb = (bytes: number): string => `${(bytes / MB).toFixed(2)} MB`;

/** Runs the check and stops every process it started. */
export async function runMemoryCheck(opts: MemoryOptions = {}): Promise<MemoryReport> {
  const checkpoints = opts.checkpoints ?? [10_000, 50_000, 100_000];
  const connections = opts.connections ?? 50;
  const log = opts.log ?? (() => {});
  const deadline = performance.now() + (opts.timeoutMs ?? 150_000);

  const sim = await startServer('simulator', ['bin/parrot.js', 'simulate', '--port', '0'], /listening on (http:\/\/[^\s]+)/);
  let gateway: ChildProcess | undefined;
  try {
    const started = await forkGateway(sim.url);
    gateway = started.child;
    const target: Target = {
      origin: started.url,
      path: '/v1/chat/completions',
      body: JSON.stringify({ model: 'gpt-4-turbo-preview', messages: [{ role: 'user', content: 'Say hello in one short sentence.' }] }),
      headers: { 'content-type': 'application/json', authorization: 'Bearer bench' },
    };
    const clients = openClients(started.url, connections);
    const checkpointOf = (requests: number, usage: NodeJS.MemoryUsage, phaseRps: number): MemoryCheckpoint => ({
      requests,
      heapUsed: usage.heapUsed,
      heapTotal: usage.heapTotal,
      rss: usage.rss,
      external: usage.external,
      phaseRps,
    });
    let errors = 0;
    let firstError: string | null = null;
    let complete = true;
    const points: MemoryCheckpoint[] = [];
    let baseline: MemoryCheckpoint;
    try {
      await runCountedLoad(clients.slice(0, 1), target, 1, 10_000);
      baseline = checkpointOf(0, await readMemory(gateway), Number.NaN);
      log(`memory: baseline heapUsed ${mb(baseline.heapUsed)}, rss ${mb(baseline.rss)}`);
      let sent = 0;
      for (const at of checkpoints) {
        const r = await runCountedLoad(clients, target, at - sent, Math.max(0, deadline - performance.now()));
        sent += r.ok + r.errors;
        errors += r.errors;
        firstError ??= r.firstError;
        const point = checkpointOf(sent, await readMemory(gateway), ((r.ok + r.errors) * 1000) / r.elapsedMs);
        points.push(point);
        log(`memory: after ${sent} requests heapUsed ${mb(point.heapUsed)}, rss ${mb(point.rss)} (${point.phaseRps.toFixed(0)} req/s)`);
        if (r.timedOut) {
          complete = false;
          log('memory: time bound reached; stopping early');
          break;
        }
      }
    } finally {
      await closeClients(clients);
    }
    const growthBytes = points.length > 1 ? points[points.length - 1].heapUsed - points[0].heapUsed : Number.NaN;
    const pass = complete && errors === 0 && points.length === checkpoints.length && growthBytes < LIMIT_BYTES;
    return { connections, baseline, checkpoints: points, growthBytes, limitBytes: LIMIT_BYTES, errors, firstError, complete, pass };
  } finally {
    if (gateway && gateway.exitCode === null) {
      const exited = new Promise((r) => gateway!.once('exit', r));
      gateway.send({ type: 'stop' });
      const killer = setTimeout(() => gateway!.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(killer);
    }
    await sim.stop();
  }
}

if (import.meta.main) {
  const r = await runMemoryCheck({ log: (s) => void process.stdout.write(`${s}\n`) });
  process.stdout.write(`memory growth 10k -> 100k: ${mb(r.growthBytes)} (limit ${mb(r.limitBytes)}), errors ${r.errors}: ${r.pass ? 'PASS' : 'FAIL'}\n`);
}
