/**
 * Two CPU profiles side by side, self time per request: by origin (a package, a file of ours,
 * node's internals, the garbage collector) and by function, largest difference first. For a
 * before/after of the same load, e.g. two `bench/inflight.ts --profile [--checkout DIR]` runs
 * (their files are bench/results/prof/inflight-<pid>.cpuprofile).
 *
 *   node bench/profile-compare.ts A.cpuprofile B.cpuprofile --requests 16000 [--requests-b N] [--top 30]
 *
 * `--requests` is how many requests each profile served (`--requests-b` when B's differs):
 * the whole profile counts, start-up included, so compare runs of the same length.
 */
import { parseArgs } from 'node:util';
import { summarizeProfile, type SelfTime } from './lib/profile.ts';

const { values, positionals } = parseArgs({
  options: { requests: { type: 'string' }, 'requests-b': { type: 'string' }, top: { type: 'string', default: '30' } },
  allowPositionals: true,
  strict: true,
});
if (positionals.length !== 2 || values.requests === undefined) {
  process.stderr.write('usage: node bench/profile-compare.ts A.cpuprofile B.cpuprofile --requests N [--requests-b N] [--top 30]\n');
  process.exit(2);
}
const top = Number(values.top);
const [a, b] = [
  summarizeProfile(positionals[0], 100_000, undefined, Number(values.requests)),
  summarizeProfile(positionals[1], 100_000, undefined, Number(values['requests-b'] ?? values.requests)),
];

/** Rows of both lists joined by name: µs per request in A, in B, and A - B. */
function joined(x: readonly SelfTime[], y: readonly SelfTime[]): Array<[string, number, number]> {
  const byName = new Map<string, [number, number]>();
  for (const s of x) byName.set(s.name, [s.usPerRequest, 0]);
  for (const s of y) byName.set(s.name, [byName.get(s.name)?.[0] ?? 0, s.usPerRequest]);
  return [...byName].map(([name, [p, q]]) => [name, p, q]);
}

const row = (name: string, p: number, q: number): string => `${p.toFixed(1).padStart(8)} ${q.toFixed(1).padStart(8)} ${(p - q).toFixed(1).padStart(8)}  ${name}\n`;
const perA = a.busyMs * 1000 / Number(values.requests);
const perB = b.busyMs * 1000 / Number(values['requests-b'] ?? values.requests);
process.stdout.write(`${'A'.padStart(8)} ${'B'.padStart(8)} ${'A - B'.padStart(8)}  µs per request\n`);
process.stdout.write(row('busy (all but idle)', perA, perB));
process.stdout.write('by origin, largest first:\n');
for (const [n, p, q] of joined(a.byOrigin, b.byOrigin).sort((x, y) => Math.max(y[1], y[2]) - Math.max(x[1], x[2])).slice(0, top)) process.stdout.write(row(n, p, q));
process.stdout.write('by function, largest difference first:\n');
for (const [n, p, q] of joined(a.topFunctions, b.topFunctions).sort((x, y) => Math.abs(y[1] - y[2]) - Math.abs(x[1] - x[2])).slice(0, top)) process.stdout.write(row(n, p, q));
