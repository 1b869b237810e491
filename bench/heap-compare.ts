/**
 * What a set of objects costs the V8 heap, by constructor: the difference between two heap
 * snapshots (e.g. bench/inflight.ts --heap-snapshots DIR: idle and holding N requests),
 * per unit (`--per N`: bytes per request in flight), largest first.
 *
 *   node bench/heap-compare.ts DIR/idle.heapsnapshot DIR/held.heapsnapshot --per 3000 [--top 40]
 *
 * Self sizes only (what each object is itself, not what it keeps alive), grouped by the
 * snapshot's node type and name: `object Actor`, `closure callAttempt`, `string`, `array`...
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

interface HeapSnapshotFile {
  snapshot: { meta: { node_fields: string[]; node_types: [string[], ...unknown[]] } };
  nodes: number[];
  strings: string[];
}

/** Count and self bytes per `type name` of one snapshot. */
export function heapByConstructor(file: HeapSnapshotFile): Map<string, { count: number; bytes: number }> {
  const fields = file.snapshot.meta.node_fields;
  const width = fields.length;
  const typeAt = fields.indexOf('type');
  const nameAt = fields.indexOf('name');
  const sizeAt = fields.indexOf('self_size');
  const types = file.snapshot.meta.node_types[0];
  const out = new Map<string, { count: number; bytes: number }>();
  for (let i = 0; i < file.nodes.length; i += width) {
    const type = types[file.nodes[i + typeAt]];
    // Strings, numbers and code by kind only: their "names" are their contents.
    const key = type === 'object' || type === 'closure' || type === 'native' ? `${type} ${file.strings[file.nodes[i + nameAt]]}` : type;
    const e = out.get(key) ?? { count: 0, bytes: 0 };
    e.count++;
    e.bytes += file.nodes[i + sizeAt];
    out.set(key, e);
  }
  return out;
}

if (import.meta.main) {
  const { values, positionals } = parseArgs({
    options: { per: { type: 'string', default: '1' }, top: { type: 'string', default: '40' } },
    allowPositionals: true,
    strict: true,
  });
  if (positionals.length !== 2) {
    process.stderr.write('usage: node bench/heap-compare.ts BEFORE.heapsnapshot AFTER.heapsnapshot [--per N] [--top 40]\n');
    process.exit(2);
  }
  const per = Number(values.per);
  const [before, after] = positionals.map((f) => heapByConstructor(JSON.parse(readFileSync(f, 'utf8')) as HeapSnapshotFile));
  const rows = [...new Set([...before.keys(), ...after.keys()])].map((key) => {
    const a = before.get(key) ?? { count: 0, bytes: 0 };
    const b = after.get(key) ?? { count: 0, bytes: 0 };
    return { key, count: (b.count - a.count) / per, bytes: (b.bytes - a.bytes) / per };
  });
  const total = rows.reduce((s, r) => s + r.bytes, 0);
  process.stdout.write(`${(total / 1024).toFixed(2)} KB per unit in all (${per} units)\n`);
  for (const r of rows.sort((x, y) => y.bytes - x.bytes).slice(0, Number(values.top))) {
    process.stdout.write(`${r.bytes.toFixed(0).padStart(8)} B ${r.count.toFixed(2).padStart(8)} x  ${r.key}\n`);
  }
}
