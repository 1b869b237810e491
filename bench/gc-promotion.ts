/**
 * How much of each per-request actor outlives the young generation. V8 collects short-lived
 * objects cheaply (a scavenge copies only what is still alive); anything that survives two
 * scavenges is promoted to the old generation and waits for a mark-compact. A request actor
 * lives for one request, so ideally none of it is promoted. This runs 50,000 actors of each
 * kind to `done`, one at a time, in a child process under `--trace-gc-nvp`, and reports the
 * bytes allocated and promoted per actor: a bare `fromPromise` actor, an idle one-state machine
 * started and stopped, the smallest machine with one invoke (bench/actor-cost.ts's floor), and
 * the gateway's failover machine. Each runs once with V8's defaults and once with
 * allocation-site pretenuring off (`tuneGc()`, as `parrot serve` runs), since pretenuring is
 * what promotes most of it.
 *
 *   node bench/gc-promotion.ts            (about 20 s)
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createActor, setup } from 'xstate';
import { tuneGc } from '../src/runtime/gc-tuning.ts';
import { actorRunners } from './actor-cost.ts';

const VARIANTS = ['promise', 'idle', 'floor', 'request'] as const;
type Variant = (typeof VARIANTS)[number];
const WARMUP = 5_000;
const ACTORS = 50_000;
const MARK = '-- gc-promotion measured --';

export interface PromotionRow {
  variant: Variant;
  pretenuring: boolean;
  scavenges: number;
  /** Bytes promoted to the old generation per actor over the measured actors. */
  promotedBytesPerActor: number;
  /** Bytes allocated in the young generation per actor (from the scavenges' `allocated=`). */
  allocatedBytesPerActor: number;
}

/** Runs one variant in a child process and reads its scavenges from the GC trace. */
export function measurePromotion(variant: Variant, pretenuring: boolean): PromotionRow {
  const args = ['--trace-gc-nvp', fileURLToPath(import.meta.url), '--child', variant, ...(pretenuring ? [] : ['--tune-gc'])];
  const child = spawnSync(process.execPath, args, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (child.status !== 0) throw new Error(`gc-promotion child (${variant}) failed: ${child.stderr}`);
  const measured = child.stdout.slice(child.stdout.indexOf(MARK) + MARK.length);
  let scavenges = 0;
  let promoted = 0;
  let allocated = 0;
  for (const line of measured.split('\n')) {
    if (!line.includes('gc=s ')) continue;
    scavenges++;
    promoted += Number(/ promoted=(\d+)/.exec(line)?.[1] ?? 0);
    allocated += Number(/ allocated=(\d+)/.exec(line)?.[1] ?? 0);
  }
  return { variant, pretenuring, scavenges, promotedBytesPerActor: promoted / ACTORS, allocatedBytesPerActor: allocated / ACTORS };
}

// A one-state machine started and stopped: what any machine actor costs before it does anything.
const IDLE = setup({}).createMachine({ initial: 'idle', states: { idle: {} } });
const runIdle = async (): Promise<void> => {
  createActor(IDLE).start().stop();
};

async function child(variant: Variant, tune: boolean): Promise<void> {
  // Pretenuring off exactly as `parrot serve` turns it off.
  if (tune) tuneGc();
  const { runBare, runFloor, runPromise } = actorRunners();
  const run = { promise: runPromise, idle: runIdle, floor: runFloor, request: runBare }[variant];
  for (let i = 0; i < WARMUP; i++) await run();
  process.stdout.write(`${MARK}\n`);
  for (let i = 0; i < ACTORS; i++) await run();
}

if (import.meta.main) {
  if (process.argv[2] === '--child') {
    await child(process.argv[3] as Variant, process.argv[4] === '--tune-gc');
  } else {
    process.stdout.write(`${ACTORS} actors each, run to done one at a time (node ${process.version})\n`);
    process.stdout.write(`${'actor'.padEnd(10)} ${'pretenuring'.padEnd(12)} ${'scavenges'.padStart(9)} ${'allocated B/actor'.padStart(18)} ${'promoted B/actor'.padStart(17)}\n`);
    for (const variant of VARIANTS) {
      for (const pretenuring of [true, false]) {
        const r = measurePromotion(variant, pretenuring);
        process.stdout.write(`${variant.padEnd(10)} ${(pretenuring ? 'on' : 'off').padEnd(12)} ${String(r.scavenges).padStart(9)} ${r.allocatedBytesPerActor.toFixed(0).padStart(18)} ${r.promotedBytesPerActor.toFixed(0).padStart(17)}\n`);
      }
    }
  }
}
