import { setFlagsFromString } from 'node:v8';

/**
 * Node flags `parrot serve` starts with: package.json's start script, bin/parrot.js's shebang
 * and every bench that starts the gateway pass them (test/runtime/gateway-node-flags.test.ts
 * keeps those in step). They size the heap, which V8 fixes when the process starts, so unlike
 * tuneGc() they cannot be set from inside it.
 *
 * `--max-semi-space-size=16`: semi-spaces of 16 MB, smaller than V8's own choice on these
 * machines (`node bench/young-generation.ts`: 19-20 scavenges by default, 30-31 at 32 MB, 64-65
 * at 16 MB for the same work). With a thousand requests in flight every scavenge copies the young
 * objects of the requests still open, so a larger young generation means fewer but longer
 * pauses, and those pauses are the open loop's tail. `bench:load` at 2,000 req/s with a 500 ms
 * upstream, non-streaming (docs/performance.md): added p99 +54 / +76 / +72 ms with 16 MB,
 * +74 to +94 ms with 32 MB, +102 / +112 ms with 8 MB (more CPU), +119 to +166 ms with the
 * default; peak RSS 469-481 MB against 578-589 MB.
 */
export const GATEWAY_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=16'];

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
