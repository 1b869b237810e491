/**
 * Where the slowest requests at 50 connections come from. The closed loop of `npm run bench`
 * (50 undici Clients, each sending its next request when the last has been read) against the
 * simulator at 0 ms, the pass-through and the gateway in turn, for `--rounds` windows each;
 * for every window it prints the slowest request, how many took over 50 ms and how many of
 * those overlapped in time (a stall of the whole process hits every connection at once),
 * the server's own event-loop delay (bench/lag-probe.ts), the longest gap between turns and how
 * much of it the main thread spent on CPU, and the gap with the most CPU (bench/turn-probe.ts:
 * own work against waiting for a core), and what the kernel counted meanwhile:
 * TCP retransmission timeouts, tail-loss probes, accept-queue overflows (nstat) and packets
 * the loopback's input queue dropped (/proc/net/softnet_stat). The kernel's counters are the
 * whole machine's: read them beside the load average.
 *
 *   node bench/tails.ts [--rounds 3] [--duration 3000] [--connections 50] [--stream]
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { Client } from 'undici';
import type { LagProbeReply } from './lag-probe.ts';
import type { TurnProbeReply } from './turn-probe.ts';
import { closeClients, openClients } from './lib/load.ts';
import { askProcess, ROOT, startProcess, type ServerProcess } from './lib/processes.ts';
import { benchGatewayYaml, serveArgs } from './lib/systems.ts';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '3' },
    duration: { type: 'string', default: '3000' },
    connections: { type: 'string', default: '50' },
    stream: { type: 'boolean', default: false },
  },
  strict: true,
});
const rounds = Number(values.rounds);
const durationMs = Number(values.duration);
const connections = Number(values.connections);
const LAG_PROBE = join(ROOT, 'bench/lag-probe.ts');
const TURN_PROBE = join(ROOT, 'bench/turn-probe.ts');
const MODEL = 'gpt-4-turbo-preview';
const body = JSON.stringify({ model: MODEL, ...(values.stream ? { stream: true } : {}), messages: [{ role: 'system', content: 'You are terse.' }, { role: 'user', content: 'Say hello.' }] });

const COUNTERS = ['TcpExtTCPTimeouts', 'TcpExtTCPLossProbes', 'TcpRetransSegs', 'TcpExtListenOverflows'] as const;

/** The kernel's TCP counters (nstat -az, absolute values) and softnet drops summed over CPUs. */
function kernelCounters(): Record<string, number> {
  const out: Record<string, number> = {};
  try {
    const text = execFileSync('nstat', ['-az'], { encoding: 'utf8' });
    for (const line of text.split('\n')) {
      const [name, value] = line.trim().split(/\s+/);
      if ((COUNTERS as readonly string[]).includes(name)) out[name] = Number(value);
    }
  } catch {
    // nstat missing: only softnet below.
  }
  try {
    out.softnetDrops = readFileSync('/proc/net/softnet_stat', 'utf8')
      .trim()
      .split('\n')
      .reduce((n, l) => n + parseInt(l.trim().split(/\s+/)[1], 16), 0);
  } catch {
    // not Linux
  }
  return out;
}

const turns = (server: ServerProcess): Promise<TurnProbeReply | null> => askProcess<TurnProbeReply>(server, { type: 'turns' }, 'turns');

async function lag(server: ServerProcess, type: 'lag' | 'lag-reset'): Promise<LagProbeReply | null> {
  if (type === 'lag-reset') {
    server.child.send({ type: 'turns-reset' });
    server.child.send({ type });
    return null;
  }
  return askProcess<LagProbeReply>(server, { type }, 'lag');
}

interface Sample {
  start: number;
  end: number;
}

/** One window: fresh connections, 300 ms unmeasured, then `durationMs` of samples (a request counts if it started in the window). */
async function window(origin: string): Promise<Sample[]> {
  const clients = openClients(origin, connections);
  const samples: Sample[] = [];
  const t0 = performance.now();
  const from = t0 + 300;
  const to = from + durationMs;
  const loop = async (client: Client): Promise<void> => {
    while (performance.now() < to) {
      const start = performance.now();
      const res = await client.request({ path: '/v1/chat/completions', method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Bearer bench' }, body });
      for await (const _ of res.body) {
        // read to the end
      }
      if (start >= from) samples.push({ start, end: performance.now() });
    }
  };
  await Promise.all(clients.map(loop));
  await closeClients(clients);
  return samples;
}

/** The most slow requests (over `slowMs`) in flight at one instant. */
function largestStall(samples: readonly Sample[], slowMs: number): number {
  const events: [number, number][] = [];
  for (const s of samples) if (s.end - s.start > slowMs) events.push([s.start, 1], [s.end, -1]);
  events.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let open = 0;
  let most = 0;
  for (const [, d] of events) most = Math.max(most, (open += d));
  return most;
}

const tmp = mkdtempSync(join(tmpdir(), 'parrot-tails-'));
const procs: ServerProcess[] = [];
try {
  const sim = await startProcess({ name: 'simulator', command: process.execPath, args: ['--import', LAG_PROBE, '--import', TURN_PROBE, 'bin/parrot.js', 'simulate', '--port', '0'], ready: { pattern: /simulator listening on (http:\/\/[^\s]+)/ }, ipc: true });
  procs.push(sim);
  const pass = await startProcess({ name: 'passthrough', command: process.execPath, args: ['--import', LAG_PROBE, '--import', TURN_PROBE, 'bench/passthrough.ts', '--upstream', sim.url], ready: { pattern: /listening on (http:\/\/[^\s]+)/ }, ipc: true });
  procs.push(pass);
  const config = join(tmp, 'parrot.yaml');
  writeFileSync(config, benchGatewayYaml(sim.url));
  const gw = await startProcess({ name: 'gateway', command: process.execPath, args: serveArgs(config, ['--import', LAG_PROBE, '--import', TURN_PROBE]), ready: { pattern: /parrot listening on (http:\/\/[^\s]+)/ }, env: { PORT: '', HOST: '' }, ipc: true });
  procs.push(gw);
  process.stdout.write(`tails at ${connections} connections, ${values.stream ? 'streaming' : 'non-streaming'}, ${rounds} rounds of ${durationMs} ms; load average ${loadavg()[0].toFixed(2)}\n`);
  process.stdout.write('target       round    reqs  p99 ms  max ms  >50ms  stall  loop max ms  longest gap ms (CPU in it)  most CPU in a gap ms (its wall)  ' + [...COUNTERS.map((c) => c.replace(/^TcpExt|^Tcp/, '')), 'softnetDrops'].join('  ') + '\n');
  for (let r = 1; r <= rounds; r++) {
    for (const [name, server] of [['direct', sim], ['passthrough', pass], ['gateway', gw]] as const) {
      const before = kernelCounters();
      await lag(server, 'lag-reset');
      await lag(sim, 'lag-reset');
      const samples = await window(server.url);
      const l = await lag(server, 'lag');
      const t = await turns(server);
      const after = kernelCounters();
      const ms = samples.map((s) => s.end - s.start).sort((a, b) => a - b);
      const p99 = ms[Math.ceil(ms.length * 0.99) - 1] ?? Number.NaN;
      const max = ms.at(-1) ?? Number.NaN;
      const deltas = [...COUNTERS, 'softnetDrops'].map((c) => String((after[c] ?? 0) - (before[c] ?? 0)).padStart(c.length - (c.startsWith('TcpExt') ? 6 : c.startsWith('Tcp') ? 3 : 0)));
      process.stdout.write(
        `${name.padEnd(12)} ${String(r).padStart(5)} ${String(ms.length).padStart(7)} ${p99.toFixed(1).padStart(7)} ${max.toFixed(1).padStart(7)} ${String(ms.filter((m) => m > 50).length).padStart(6)} ${String(largestStall(samples, 50)).padStart(6)} ${(l?.max ?? Number.NaN).toFixed(1).padStart(12)}  ${`${(t?.maxWallMs ?? Number.NaN).toFixed(1)} (${(t?.cpuMsInMaxWall ?? Number.NaN).toFixed(1)})`.padStart(26)}  ${`${(t?.maxCpuMs ?? Number.NaN).toFixed(1)} (${(t?.wallMsInMaxCpu ?? Number.NaN).toFixed(1)})`.padStart(31)}  ${deltas.join('  ')}\n`,
      );
    }
  }
  process.stdout.write(`load average after: ${loadavg()[0].toFixed(2)}\n`);
} finally {
  for (const p of procs.reverse()) await p.stop();
  rmSync(tmp, { recursive: true, force: true });
}
