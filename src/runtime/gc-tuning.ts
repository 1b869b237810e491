import { setFlagsFromString } from 'node:v8';

/**
 * Turns off V8's allocation-site pretenuring for this process. A request actor lives for one
 * request, but under load enough of them are still alive at a scavenge that V8 starts
 * allocating them straight in the old generation, where each waits for a mark-compact and
 * drags the young objects it points to along. Measured by bench/gc-promotion.ts: 4.7 KB of
 * each request actor promoted with pretenuring, 0.4 KB without; the request actor's CPU cost
 * falls by about a third (docs/performance.md). Call it before serving traffic; it only
 * changes where new objects are allocated.
 */
export function tuneGc(): void {
  setFlagsFromString('--no-allocation-site-pretenuring');
}
