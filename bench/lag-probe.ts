/**
 * Measures the event-loop delay of a Node server under test from inside it, without changing
 * the server: bench/load.ts starts it as `node --import <this file> <server entry> ...` with an
 * IPC channel. The histogram is perf_hooks' monitorEventLoopDelay (a 10 ms timer's lateness),
 * so the figures are what a request arriving at a random moment waits for the loop.
 *
 * Messages in: `{ type: 'lag-reset' }` (start a window), `{ type: 'lag' }` (read it).
 * Out: `{ type: 'lag', p50, p99, max, samples, memory }`, in ms, with the process's
 * `process.memoryUsage()` at that moment (where its RSS goes: V8 heap, external, buffers), or
 * null when it cannot be read (out of open files). Without an IPC channel it does nothing.
 * `{ type: 'heap' }` answers `{ type: 'heap', heapUsed }`: the V8 heap in use right after a
 * full collection, so only what is still reachable counts (what requests in flight hold);
 * with `snapshot: FILE` it also writes a heap snapshot there after that collection.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { setFlagsFromString, writeHeapSnapshot } from 'node:v8';
import { runInNewContext } from 'node:vm';

export type LagProbeReply = { type: 'lag'; p50: number; p99: number; max: number; samples: number; memory: NodeJS.MemoryUsage | null };
export type HeapProbeReply = { type: 'heap'; heapUsed: number };

/** A full collection on demand, without starting the server with --expose-gc. */
function fullGc(): void {
  setFlagsFromString('--expose-gc');
  (runInNewContext('gc') as () => void)();
}

if (process.send !== undefined && process.channel !== undefined) {
  const histogram = monitorEventLoopDelay({ resolution: 10 });
  histogram.enable();
  const reply: (m: LagProbeReply) => boolean = process.send.bind(process);
  const ms = (ns: number): number => ns / 1e6;
  // process.memoryUsage() reads /proc and throws EMFILE when the server is out of open files,
  // which is exactly when a load bench asks: the probe must never be what ends the server.
  const memoryUsage = (): NodeJS.MemoryUsage | null => {
    try {
      return process.memoryUsage();
    } catch {
      return null;
    }
  };
  process.on('message', (m: { type?: string }) => {
    if (m?.type === 'lag-reset') histogram.reset();
    else if (m?.type === 'lag') {
      reply({ type: 'lag', p50: ms(histogram.percentile(50)), p99: ms(histogram.percentile(99)), max: ms(histogram.max), samples: histogram.count, memory: memoryUsage() });
    } else if (m?.type === 'heap') {
      fullGc();
      const file = (m as { snapshot?: string }).snapshot;
      if (file !== undefined) writeHeapSnapshot(file);
      (process.send as (m: HeapProbeReply) => boolean)({ type: 'heap', heapUsed: process.memoryUsage().heapUsed });
    }
  });
  // The channel must not keep the server alive once it has closed (SIGTERM ends it as before).
  process.channel.unref();
}
