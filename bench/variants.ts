/**
 * What the per-request actors cost under real load: the pass-through and the gateway's
 * request handling with each engine variant of `bench/engine-variants.ts`, non-streaming at
 * 50 connections, interleaved in rounds like the main bench so noise lands on all alike.
 * Reproduces the variants tables of docs/performance.md (it prints; it writes no file). The
 * `engine-v8-defaults` variant runs the shipped engine without tuneGc, beside `engine`.
 *
 *   node bench/variants.ts [--connections 50] [--rounds 4] [--duration 1000]
 */
import { parseArgs } from 'node:util';
import { startServer, type ServerProcess } from './lib/processes.ts';
import { LISTENING, runLoad, target } from './throughput.ts';

const VARIANTS = ['bypass', 'promise', 'machine', 'floor', 'spawned', 'engine', 'engine-v8-defaults'] as const;

const { values } = parseArgs({
  options: {
    connections: { type: 'string', default: '50' },
    rounds: { type: 'string', default: '4' },
    duration: { type: 'string', default: '1000' },
  },
});

const started: ServerProcess[] = [];
try {
  const sim = await startServer('simulator', ['bin/parrot.js', 'simulate', '--port', '0'], LISTENING);
  started.push(sim);
  const pass = await startServer('passthrough', ['bench/passthrough.ts', '--upstream', sim.url], LISTENING);
  started.push(pass);
  const servers: Array<{ name: string; proc: ServerProcess }> = [{ name: 'passthrough', proc: pass }];
  for (const v of VARIANTS) {
    const proc = await startServer(v, ['bench/engine-variants.ts', '--variant', v, '--upstream', sim.url], LISTENING);
    started.push(proc);
    servers.push({ name: v, proc });
  }
  const run = await runLoad(
    {
      targets: servers.map((s) => target(s.proc.url, 'json')),
      stream: false,
      connections: Number(values.connections),
      warmupMs: 1500,
      roundWarmupMs: 300,
      rounds: Number(values.rounds),
      durationMs: Number(values.duration),
      maxSamples: 400_000,
    },
    servers.map((s) => [s.proc.pid]),
  );
  const pass0 = run.results[0].rps;
  process.stdout.write(`non-streaming, ${values.connections} connections, ${values.rounds} rounds of ${values.duration} ms each\n`);
  process.stdout.write(`${'variant'.padEnd(12)} ${'req/s'.padStart(7)} ${'vs pass'.padStart(8)} ${'CPU µs/req'.padStart(11)} ${'p50 ms'.padStart(7)} ${'p99 ms'.padStart(7)} errors\n`);
  servers.forEach((s, i) => {
    const r = run.results[i];
    const cpu = r.completed > 0 ? run.cpuUs[i][0] / r.completed : Number.NaN;
    process.stdout.write(
      `${s.name.padEnd(12)} ${r.rps.toFixed(0).padStart(7)} ${`${((100 * r.rps) / pass0).toFixed(1)} %`.padStart(8)} ${cpu.toFixed(0).padStart(11)} ` +
        `${r.latency.p50.toFixed(2).padStart(7)} ${r.latency.p99.toFixed(2).padStart(7)} ${r.errors}\n`,
    );
  });
} finally {
  for (const s of started.reverse()) await s.stop();
}
