/**
 * What the garbage collector does for the gateway's requests under load: a checkout's
 * `parrot serve` (this one by default) in front of the simulator under `--trace-gc-nvp`, a
 * closed loop of `--requests` at 50 connections, and the sum over the scavenges and
 * mark-compacts that ran during the load (after 3,000 requests of warm-up): bytes allocated, survived a scavenge and promoted
 * (per request too), and pause time. The gateway runs with no node flags of its own (V8 sizes
 * the young generation), so two checkouts meet the same heap; `--node-flags` adds some.
 *
 *   node bench/gc-trace.ts [--mode stream|json] [--requests 10000] [--checkout DIR] [--node-flags="--flag ..."] [--phases] [--alloc]
 *
 * `--phases` adds, per GC kind, the main thread's time in each phase V8 reports (the trace's
 * millisecond fields: roots, weak handles, copying survivors...), largest first: where two
 * checkouts' pauses differ. `--alloc` also samples what the gateway allocates during the
 * counted requests (bench/alloc-sampler.ts) and prints it per request by origin: XState,
 * undici, node's internals, each file of ours.
 *
 * docs/performance.md ("Third pass") cites it. A benchmark, not a test; one run per call
 * (alternate checkouts and repeat: the figures move a few % run to run).
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { readAllocationProfile } from './lib/alloc-profile.ts';
import { sumGcPhases, sumGcTrace } from './lib/gc-nvp.ts';
import { commitOf, ROOT, startServer } from './lib/processes.ts';
import { benchGatewayYaml, serveArgs } from './lib/systems.ts';
import { LISTENING, runLoad, target, type Mode } from './throughput.ts';

const { values } = parseArgs({
  options: {
    mode: { type: 'string', default: 'stream' },
    requests: { type: 'string', default: '10000' },
    checkout: { type: 'string' },
    'node-flags': { type: 'string', default: '' },
    phases: { type: 'boolean', default: false },
    alloc: { type: 'boolean', default: false },
  },
  strict: true,
});
const mode = values.mode as Mode;
const requests = Number(values.requests);
if ((mode !== 'stream' && mode !== 'json') || !(requests > 0)) {
  process.stderr.write('usage: node bench/gc-trace.ts [--mode stream|json] [--requests N] [--checkout DIR] [--node-flags="..."]\n');
  process.exit(2);
}
const checkout = values.checkout === undefined ? ROOT : resolve(values.checkout);
const extra = values['node-flags'].split(' ').filter((f) => f !== '');
const WARMUP_REQUESTS = 3_000;

if (import.meta.main) {
  const tmp = mkdtempSync(join(tmpdir(), 'parrot-gc-trace-'));
  const sim = await startServer('simulator', ['bin/parrot.js', 'simulate', '--port', '0'], LISTENING);
  const config = join(tmp, 'gateway.yaml');
  writeFileSync(config, benchGatewayYaml(sim.url, { checkout }));
  const allocFile = values.alloc ? join(tmp, 'alloc.heapprofile') : '';
  const sampler = values.alloc ? ['--import', join(ROOT, 'bench/alloc-sampler.ts')] : [];
  const gateway = spawn(process.execPath, serveArgs(config, ['--trace-gc-nvp', ...sampler, ...extra], []), {
    cwd: checkout,
    env: { ...process.env, PORT: '', HOST: '', PARROT_ALLOC_PROFILE: allocFile },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  // Lines of the GC trace while the load ran; the trace before (start-up) and after is dropped.
  const measured: string[] = [];
  let measuring = false;
  let pending = '';
  let url = '';
  const listening = new Promise<void>((ready, fail) => {
    gateway.once('exit', (code) => fail(new Error(`the gateway exited (code ${code}) before it listened`)));
    gateway.stdout!.on('data', (d: Buffer) => {
      const lines = (pending + d.toString('utf8')).split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) {
        if (measuring) measured.push(line);
        const m = /parrot listening on (http:\/\/\S+)/.exec(line);
        if (m && url === '') {
          url = m[1];
          ready();
        }
      }
    });
  });
  try {
    await listening;
    // Warm (JIT, pools, the young generation's size) before the trace counts.
    await runLoad(
      { targets: [target(url, mode)], stream: mode === 'stream', connections: 50, warmupMs: 0, roundWarmupMs: 0, rounds: 1, durationMs: 60_000, maxSamples: WARMUP_REQUESTS },
      [[gateway.pid!]],
    );
    measuring = true;
    if (values.alloc) gateway.kill('SIGUSR2');
    const run = await runLoad(
      { targets: [target(url, mode)], stream: mode === 'stream', connections: 50, warmupMs: 0, roundWarmupMs: 0, rounds: 1, durationMs: 60_000, maxSamples: requests },
      [[gateway.pid!]],
    );
    measuring = false;
    if (values.alloc) gateway.kill('SIGUSR2');
    const done = run.results[0].completed;
    const sums = sumGcTrace(measured);
    const mb = (b: number): string => `${(b / 2 ** 20).toFixed(1)} MB`;
    const kb = (b: number): string => `${(b / done / 1024).toFixed(1)} KB`;
    process.stdout.write(
      `gc-trace: ${checkout === ROOT ? 'this checkout' : checkout} (${commitOf(checkout)}), ${mode}, ${done} requests at 50 connections, ` +
        `CPU ${(run.cpuUs[0][0] / done).toFixed(0)} µs/request${extra.length ? `, node flags ${extra.join(' ')}` : ''}\n`,
    );
    for (const [kind, s] of sums) {
      process.stdout.write(
        `  gc=${kind.padEnd(3)} ${String(s.count).padStart(4)} x, pauses ${s.pauseMs.toFixed(1)} ms; allocated ${mb(s.allocated)} (${kb(s.allocated)}/req), ` +
          `survived a scavenge ${mb(s.survived)} (${kb(s.survived)}/req), promoted ${mb(s.promoted)} (${kb(s.promoted)}/req)\n`,
      );
    }
    if (values.alloc) {
      // The sampler writes its file when the second signal's stopSampling resolves.
      for (let i = 0; i < 100 && !existsSync(allocFile); i++) await new Promise((r) => setTimeout(r, 100));
      const { total, byOrigin } = readAllocationProfile(allocFile);
      const allocated = [...sums.values()].reduce((a, g) => a + g.allocated, 0);
      const perRequest = (bytes: number): string => `${(((bytes / total) * allocated) / done / 1024).toFixed(2)} KB`;
      process.stdout.write(`  allocated per request by origin (sampled every 1 KB, scaled to the collector's total; the sampling slows the gateway, so its CPU above is not comparable):\n`);
      for (const [origin, bytes] of byOrigin.slice(0, 12)) process.stdout.write(`    ${perRequest(bytes).padStart(9)}  ${origin}\n`);
      const ours = byOrigin.filter(([o]) => o.startsWith('src/') || o.startsWith('machines/')).reduce((a, [, b]) => a + b, 0);
      process.stdout.write(`    ${perRequest(ours).padStart(9)}  all of src/ and machines/ together\n`);
    }
    if (values.phases) {
      for (const [kind, phases] of sumGcPhases(measured)) {
        const shown = phases.filter(([, ms]) => ms >= 1).map(([key, ms]) => `${key} ${ms.toFixed(1)}`);
        process.stdout.write(`  gc=${kind} phases (ms): ${shown.join(', ')}\n`);
      }
    }
  } finally {
    gateway.kill('SIGTERM');
    await sim.stop();
    rmSync(tmp, { recursive: true, force: true });
  }
}
