/**
 * Reads a V8 sampling heap profile (HeapProfiler.stopSampling's result, as
 * bench/alloc-sampler.ts writes it) and sums the bytes allocated by origin: the package or file
 * of the nearest frame with a script (XState, undici, node's internals, a file of ours), so
 * what a builtin allocates (an array, a Set) counts for the code that asked for it.
 */
import { readFileSync } from 'node:fs';
import { originOf } from './profile.ts';

interface HeapProfileNode {
  callFrame: { functionName: string; url: string };
  selfSize: number;
  children: HeapProfileNode[];
}

/** Bytes by origin, largest first, and the total. */
export function allocationByOrigin(head: HeapProfileNode): { total: number; byOrigin: Array<[string, number]> } {
  const sums = new Map<string, number>();
  let total = 0;
  // Iterative: a deep stack must not overflow this one.
  const stack: Array<[HeapProfileNode, string]> = [[head, '(native)']];
  while (stack.length > 0) {
    const [node, owner] = stack.pop()!;
    const { url, functionName } = node.callFrame;
    const origin = url === '' ? owner : groupOf(originOf(url, functionName));
    total += node.selfSize;
    if (node.selfSize > 0) sums.set(origin, (sums.get(origin) ?? 0) + node.selfSize);
    for (const c of node.children) stack.push([c, origin]);
  }
  return { total, byOrigin: [...sums].sort((a, b) => b[1] - a[1]) };
}

/** node's internals as one origin; everything else as originOf says. */
function groupOf(origin: string): string {
  return origin.startsWith('node:') ? 'node (http, streams, timers...)' : origin;
}

export function readAllocationProfile(path: string): ReturnType<typeof allocationByOrigin> {
  return allocationByOrigin((JSON.parse(readFileSync(path, 'utf8')) as { head: HeapProfileNode }).head);
}
