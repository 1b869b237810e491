/**
 * How many requests the gateway holds at once with its default config, and what each costs:
 * `--count` requests (streaming, non-streaming, or half of each) are sent at `--rate` to
 * `parrot serve` (the default config plus one provider on bench/upstream-mock.ts, which
 * answers each after `--latency-ms`), so all of them are in flight together until the
 * upstream answers. Each process runs in its own process with its file limit raised (as root,
 * through `prlimit`), since N requests in flight cost the gateway 2N sockets.
 *
 * Prints: how many succeeded (and failures by kind), the time to send them all, the gateway's
 * idle and peak RSS and RSS per request in flight, its CPU per request, and its event-loop
 * delay (bench/lag-probe.ts) while they were in flight and while they were answered.
 *
 *   node bench/inflight.ts [--count 10000] [--rate 1000] [--mode mixed|stream|json] [--latency-ms 15000] [--paced] [--node-flags="--v8-flag ..."] [--checkout DIR] [--heap-snapshots DIR] [--gc-trace] [--profile]
 *
 * `--paced` streams each answer over the latency (the mock's paced mode: the role chunk at once,
 * a delta half-way, the rest at the end), so a stream in flight is one the gateway has committed
 * and is piping, as a long LLM answer is, rather than one waiting for its first byte. With
 * `--count` above rate x latency the run reaches a steady state of rate x latency in flight,
 * answered at the rate they arrive; memory per request is then over that number, not `--count`.
 *
 * `--checkout DIR` runs the gateway of another checkout (its own bin/parrot.js, node_modules and
 * node flags; the store section left out if it predates the store, `connections: 4096` so an
 * older default pool cap does not queue it), for the same figures before and after a change.
 *
 * `--heap-snapshots DIR` writes the gateway's heap snapshot idle and while holding (each after a
 * full collection) to DIR/idle.heapsnapshot and DIR/held.heapsnapshot; `node
 * bench/heap-compare.ts` lists what the requests in flight hold, by constructor.
 *
 * `--gc-trace` runs the gateway under `--trace-gc-nvp` and prints each mark-compact of the run:
 * the old generation's objects when it began and what was left after it (how far the heap grows
 * past what is live while a concurrent mark-compact runs).
 *
 * `--profile` runs the gateway under `node --cpu-prof` (bench/results/prof/) and prints its top
 * functions by self time.
 *
 * A benchmark, not a test: bounded (one burst; the client gives up `--latency-ms` + 30 s after
 * sending), exit code 0 unless something crashed.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { Agent, request } from 'undici';
import { askProcess, peakRssBytes, processCpuUs, ROOT, rssBytes, startProcess, type ServerProcess } from './lib/processes.ts';
import type { HeapProbeReply, LagProbeReply } from './lag-probe.ts';
import { summarizeProfile } from './lib/profile.ts';
import { parseGcLine } from './lib/gc-nvp.ts';
import { benchGatewayYaml, MODEL, nodeFlagsOf, serveArgs } from './lib/systems.ts';

const { values } = parseArgs({
  options: {
    count: { type: 'string', default: '10000' },
    mode: { type: 'string', default: 'mixed' },
    'latency-ms': { type: 'string', default: '15000' },
    rate: { type: 'string', default: '1000' },
    profile: { type: 'boolean', default: false },
    paced: { type: 'boolean', default: false },
    'node-flags': { type: 'string', default: '' },
    checkout: { type: 'string' },
    'heap-snapshots': { type: 'string' },
    'gc-trace': { type: 'boolean', default: false },
  },
  strict: true,
});
const count = Number(values.count);
const latencyMs = Number(values['latency-ms']);
const mode = values.mode;
const rate = Number(values.rate);
if (!(rate > 0) || !(count > 0) || !(latencyMs > 0) || !['mixed', 'stream', 'json'].includes(mode)) {
  process.stderr.write('usage: node bench/inflight.ts [--count N] [--mode mixed|stream|json] [--latency-ms MS]\n');
  process.exit(2);
}

/** Extra flags for the gateway's node (e.g. a V8 GC setting to compare against the defaults). */
const nodeFlags = values['node-flags'].split(' ').filter((f) => f !== '');
/** The most requests in flight at once: all of them, or rate x latency once answers keep pace with arrivals. */
const inFlight = Math.min(count, Math.floor((rate * latencyMs) / 1000));
const FILES = 65_536;

/** `prlimit` raises a child's file limit when this process may (root); otherwise the child inherits ours. */
function withFiles(command: string, args: string[]): { command: string; args: string[]; raised: boolean } {
  try {
    execFileSync('prlimit', [`--nofile=${FILES}:${FILES}`, 'true'], { stdio: 'ignore' });
    return { command: 'prlimit', args: [`--nofile=${FILES}:${FILES}`, command, ...args], raised: true };
  } catch {
    return { command, args, raised: false };
  }
}

function lag(server: ServerProcess, type: 'lag' | 'lag-reset'): Promise<LagProbeReply | undefined> {
  if (type === 'lag-reset') {
    server.child.send({ type });
    return Promise.resolve(undefined);
  }
  return askProcess<LagProbeReply>(server, { type }, 'lag').then((r) => r ?? undefined);
}

const mb = (b: number): string => (b / 2 ** 20).toFixed(1);
const fmtLag = (l: LagProbeReply | undefined): string => (l === undefined ? 'n/a' : `p50 ${l.p50.toFixed(1)} ms, p99 ${l.p99.toFixed(1)} ms, max ${l.max.toFixed(1)} ms`);

const tmp = mkdtempSync(join(tmpdir(), 'parrot-inflight-'));
const procs: ServerProcess[] = [];
try {
  const up = withFiles(process.execPath, ['bench/upstream-mock.ts', '--latency-ms', String(latencyMs), ...(values.paced ? ['--paced'] : [])]);
  const upstream = await startProcess({ name: 'upstream', command: up.command, args: up.args, ready: { pattern: /listening on (http:\/\/[^\s]+)/ } });
  procs.push(upstream);
  const configPath = join(tmp, 'parrot.yaml');
  const checkout = values.checkout === undefined ? undefined : resolve(values.checkout);
  writeFileSync(configPath, benchGatewayYaml(upstream.url, checkout === undefined ? {} : { connections: 4096, checkout }));
  const profDir = join(ROOT, 'bench/results/prof');
  const prof = values.profile ? ['--cpu-prof', '--cpu-prof-dir', profDir, '--cpu-prof-name', `inflight-${process.pid}.cpuprofile`] : [];
  const shipped = await nodeFlagsOf(checkout);
  const trace = values['gc-trace'] ? ['--trace-gc-nvp'] : [];
  const gw = withFiles(process.execPath, serveArgs(configPath, [...nodeFlags, ...trace, ...prof, '--import', join(ROOT, 'bench/lag-probe.ts')], shipped));
  const gateway = await startProcess({
    name: 'parrot',
    command: gw.command,
    args: gw.args,
    ready: { pattern: /parrot listening on (http:\/\/[^\s]+)/ },
    env: { PORT: '', HOST: '' },
    ipc: true,
    ...(checkout === undefined ? {} : { cwd: checkout }),
  });
  procs.push(gateway);
  // The mark-compacts' lines, from here on (start-up's are not the run's).
  const markCompacts: string[] = [];
  if (values['gc-trace']) {
    let pending = '';
    gateway.child.stdout!.on('data', (d: string | Buffer) => {
      const lines = (pending + d.toString()).split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) if (line.includes(' gc=mc ')) markCompacts.push(line);
    });
  }
  // prlimit execs node in place, so the pid is the gateway's own.
  await new Promise((r) => setTimeout(r, 500));
  const idleRss = rssBytes(gateway.pid);
  const snapshots = values['heap-snapshots'] === undefined ? undefined : resolve(values['heap-snapshots']);
  if (snapshots !== undefined) mkdirSync(snapshots, { recursive: true });
  const heapAsk = (name: string) => ({ type: 'heap', ...(snapshots === undefined ? {} : { snapshot: join(snapshots, `${name}.heapsnapshot`) }) });
  const idleHeap = await askProcess<HeapProbeReply>(gateway, heapAsk('idle'), 'heap', 60_000);
  const load0 = loadavg()[0];
  process.stdout.write(`parrot inflight: ${count} requests (${mode}${values.paced ? ', streams paced' : ''}) at ${rate} req/s, upstream latency ${latencyMs} ms, at most ${inFlight} in flight${checkout === undefined ? '' : `; the gateway of ${checkout}`}${nodeFlags.length ? `; gateway node flags: ${nodeFlags.join(' ')}` : ''}; file limit ${gw.raised ? FILES : 'inherited'}; load average ${load0.toFixed(2)}\n`);

  const client = new Agent({ connections: null, keepAliveTimeout: 60_000, headersTimeout: latencyMs + 30_000, bodyTimeout: latencyMs + 30_000 });
  const bodies = {
    json: JSON.stringify({ model: MODEL, messages: [{ role: 'user', content: 'Hello' }] }),
    stream: JSON.stringify({ model: MODEL, stream: true, messages: [{ role: 'user', content: 'Hello' }] }),
  };
  const failures = new Map<string, number>();
  const fail = (kind: string): void => {
    failures.set(kind, (failures.get(kind) ?? 0) + 1);
  };
  let ok = 0;
  let done = 0;
  const cpu0 = processCpuUs(gateway.pid);
  await lag(gateway, 'lag-reset');
  const t0 = performance.now();
  let lastAnswerAt = t0;
  // Request i leaves at t0 + i / rate (a timer sends every request that is due), so the
  // upstream answers at the same rate and the count in flight peaks at `count` when the last
  // one leaves, provided count / rate < latency.
  const all: Promise<void>[] = [];
  const send = async (i: number): Promise<void> => {
    const stream = mode === 'stream' || (mode === 'mixed' && i % 2 === 0);
    try {
      const res = await request(`${gateway.url}/v1/chat/completions`, {
        method: 'POST',
        dispatcher: client,
        headers: { 'content-type': 'application/json', authorization: 'Bearer bench' },
        body: stream ? bodies.stream : bodies.json,
      });
      const text = await res.body.text();
      if (res.statusCode !== 200) fail(`http_${res.statusCode}`);
      else if (stream ? text.trimEnd().endsWith('data: [DONE]') : text.includes('"choices"')) ok++;
      else fail('incomplete_body');
    } catch (err) {
      fail(`${(err as { code?: string }).code ?? (err as Error).name} (${stream ? 'stream' : 'json'}, ${performance.now() - t0 < latencyMs ? 'before' : 'after'} the upstream's latency)`);
    } finally {
      done++;
      lastAnswerAt = performance.now();
    }
  };
  const pacer = setInterval(() => {
    const due = Math.min(count, Math.floor(((performance.now() - t0) * rate) / 1000) + 1);
    while (all.length < due) all.push(send(all.length));
    if (all.length === count) clearInterval(pacer);
  }, 5);
  // Sample RSS while the requests are held: the peak is read from the kernel at the end too.
  let peakSeen = 0;
  const sampler = setInterval(() => (peakSeen = Math.max(peakSeen, rssBytes(gateway.pid))), 100);
  // Every request has left once the pacer is done; a second more for the last ones to reach the upstream.
  while (all.length < count) await new Promise((r) => setTimeout(r, 20));
  const sentBy = performance.now() - t0;
  await new Promise((r) => setTimeout(r, 1_000));
  const heldRss = rssBytes(gateway.pid);
  const heldLag = await lag(gateway, 'lag');
  const heldHeap = await askProcess<HeapProbeReply>(gateway, heapAsk('held'), 'heap', 120_000);
  const doneBeforeAnswers = done;
  await lag(gateway, 'lag-reset');
  await Promise.all(all);
  clearInterval(sampler);
  const answerLag = await lag(gateway, 'lag');
  const cpuUs = processCpuUs(gateway.pid) - cpu0;
  const peak = Math.max(peakSeen, peakRssBytes(gateway.pid));
  const rows = [
    ['succeeded', `${ok} of ${count} (${((ok * 100) / count).toFixed(2)} %)${failures.size ? `; failures: ${[...failures].map(([k, n]) => `${k} ${n}`).join(', ')}` : ''}`],
    ['answered before the upstream answered', String(doneBeforeAnswers)],
    ['all sent after', `${(sentBy / 1000).toFixed(1)} s (${rate} req/s)`],
    ['all answered after', `${((lastAnswerAt - t0) / 1000).toFixed(1)} s`],
    ['gateway RSS idle / held / peak', `${mb(idleRss)} / ${mb(heldRss)} / ${mb(peak)} MB`],
    ['RSS per request in flight', `${(((heldRss - idleRss) / inFlight) / 1024).toFixed(1)} KB (held), ${(((peak - idleRss) / inFlight) / 1024).toFixed(1)} KB (peak), over ${inFlight} in flight`],
    ['RSS extrapolated to 10,000 in flight', `${mb(idleRss + ((peak - idleRss) * 10_000) / inFlight)} MB (from the peak)`],
    [
      'V8 heap per request in flight',
      idleHeap === null || heldHeap === null
        ? 'n/a'
        : `${((heldHeap.heapUsed - idleHeap.heapUsed) / inFlight / 1024).toFixed(1)} KB (heap used after a full GC: ${mb(idleHeap.heapUsed)} MB idle, ${mb(heldHeap.heapUsed)} MB holding)`,
    ],
    ['gateway memory while holding', heldLag?.memory == null ? 'n/a' : `heap used ${mb(heldLag.memory.heapUsed)} of ${mb(heldLag.memory.heapTotal)} MB, external ${mb(heldLag.memory.external)} MB (array buffers ${mb(heldLag.memory.arrayBuffers)} MB)`],
    ['gateway CPU per request', `${(cpuUs / count).toFixed(0)} µs`],
    ['event-loop delay while sending and holding', fmtLag(heldLag)],
    ['event-loop delay while answering', fmtLag(answerLag)],
    ['load average before / after', `${load0.toFixed(2)} / ${loadavg()[0].toFixed(2)}`],
  ];
  for (const [k, v] of rows) process.stdout.write(`  ${k.padEnd(44)} ${v}\n`);
  if (values['gc-trace']) {
    // The probe's own full collections are among them: the ones ending at the heap figures above.
    process.stdout.write(`  mark-compacts (old generation's objects at its start -> left after it, MB; the probe's end at the heap figures above):\n`);
    for (const line of markCompacts) {
      const f = parseGcLine(line)?.fields;
      if (f !== undefined) process.stdout.write(`    ${mb(f.get('start_object_size') ?? 0)} -> ${mb(f.get('end_object_size') ?? 0)}, pause ${(f.get('pause') ?? 0).toFixed(1)} ms\n`);
    }
  }
  await client.close();
  if (values.profile) {
    await gateway.stop();
    const summary = summarizeProfile(join(profDir, `inflight-${process.pid}.cpuprofile`), 20, undefined, count);
    for (const f of [...summary.byOrigin.slice(0, 8), ...summary.topFunctions]) process.stdout.write(`  ${f.usPerRequest.toFixed(0).padStart(6)} µs/req  ${f.pct.toFixed(1).padStart(5)} %  ${f.name}\n`);
  }
} finally {
  for (const p of procs.reverse()) await p.stop();
  rmSync(tmp, { recursive: true, force: true });
}
