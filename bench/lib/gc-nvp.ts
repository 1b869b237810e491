/**
 * Reads V8's `--trace-gc-nvp` output (one line of name=value pairs per collection): bench/gc-trace.ts
 * sums it, bench/inflight.ts --gc-trace lists its mark-compacts.
 */

/** One GC kind's sums over the measured window. */
export interface GcSums {
  count: number;
  pauseMs: number;
  allocated: number;
  survived: number;
  promoted: number;
}

/** One `--trace-gc-nvp` line: its kind (`s` scavenge, `mc` mark-compact, ...) and numeric fields; undefined for other output. */
export function parseGcLine(line: string): { kind: string; fields: Map<string, number> } | undefined {
  const kind = / gc=(\S+)/.exec(line)?.[1];
  if (kind === undefined) return undefined;
  const fields = new Map<string, number>();
  for (const [, key, value] of line.matchAll(/ ([a-z_.]+)=([\d.]+)/g)) fields.set(key, Number(value));
  return { kind, fields };
}

/** Sums `--trace-gc-nvp` lines by kind. */
export function sumGcTrace(lines: readonly string[]): Map<string, GcSums> {
  const out = new Map<string, GcSums>();
  for (const line of lines) {
    const gc = parseGcLine(line);
    if (gc === undefined) continue;
    const num = (key: string): number => gc.fields.get(key) ?? 0;
    const s = out.get(gc.kind) ?? { count: 0, pauseMs: 0, allocated: 0, survived: 0, promoted: 0 };
    s.count++;
    s.pauseMs += num('pause');
    s.allocated += num('allocated');
    s.survived += num('new_space_survived');
    s.promoted += num('promoted');
    out.set(gc.kind, s);
  }
  return out;
}

/** Fields of a trace line that are not times (bytes, counts, rates, flags). */
const NOT_TIMES = /^(gc|reduce_memory|time_to_safepoint|allocated|promoted|semi_space_copied|nodes_|promotion_|average_|new_space_|survived|total_size|holes_|allocation_throughput|pool_|compaction_speed|incremental_marking_throughput|.*_size|.*_rate|.*_count|.*_limit|.*_throughput|.*_speed|.*bytes.*)/;

/** Per GC kind, the sum of every time field of its lines (ms), largest first. */
export function sumGcPhases(lines: readonly string[]): Map<string, [string, number][]> {
  const out = new Map<string, Map<string, number>>();
  for (const line of lines) {
    const gc = parseGcLine(line);
    if (gc === undefined) continue;
    const phases = out.get(gc.kind) ?? new Map<string, number>();
    for (const [key, value] of gc.fields) {
      if (NOT_TIMES.test(key)) continue;
      phases.set(key, (phases.get(key) ?? 0) + value);
    }
    out.set(gc.kind, phases);
  }
  return new Map([...out].map(([kind, phases]) => [kind, [...phases].sort((a, b) => b[1] - a[1])]));
}

