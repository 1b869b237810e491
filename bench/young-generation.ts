/**
 * How V8 sizes the young generation on this machine: the same allocation (6 million small
 * objects with a sliding live set of 50,000-100,000) in a child process per setting, counting
 * the scavenges and their total pause. Fewer scavenges means a larger young generation. Cited
 * by src/runtime/gc-tuning.ts and docs/performance.md ("The young generation").
 *
 *   node bench/young-generation.ts [--flags "--max-semi-space-size=16,--max-semi-space-size=32"]
 *
 * A benchmark, not a test: prints a table, about 5 s.
 */
import { execFileSync } from 'node:child_process';
import { parseArgs } from 'node:util';

const WORKLOAD = `
import { PerformanceObserver, constants } from 'node:perf_hooks';
let minor = 0, ms = 0;
new PerformanceObserver((l) => { for (const e of l.getEntries()) if (e.detail?.kind === constants.NODE_PERFORMANCE_GC_MINOR) { minor++; ms += e.duration; } }).observe({ entryTypes: ['gc'] });
const keep = [];
for (let i = 0; i < 6e6; i++) { keep.push({ a: i, b: [i] }); if (keep.length > 100000) keep.splice(0, 50000); }
setTimeout(() => console.log(JSON.stringify({ minor, ms })), 100);
`;

const { values } = parseArgs({ options: { flags: { type: 'string', default: '--max-semi-space-size=8,--max-semi-space-size=16,--max-semi-space-size=32,--max-semi-space-size=64' } }, strict: true });
const settings = ['', ...values.flags.split(',').map((f) => f.trim()).filter((f) => f !== '')];

process.stdout.write(`young generation on node ${process.version}: the same allocation per setting\n`);
process.stdout.write(`${'setting'.padEnd(30)} ${'scavenges'.padStart(9)} ${'pause ms'.padStart(9)}\n`);
for (const flag of settings) {
  const out = execFileSync(process.execPath, [...(flag ? [flag] : []), '--input-type=module', '-e', WORKLOAD], { encoding: 'utf8' });
  const { minor, ms } = JSON.parse(out.trim()) as { minor: number; ms: number };
  process.stdout.write(`${(flag || "V8's default").padEnd(30)} ${String(minor).padStart(9)} ${ms.toFixed(0).padStart(9)}\n`);
}
