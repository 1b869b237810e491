/**
 * The load generator's own process (forked by bench/throughput.ts): receives one
 * InterleavedLoadSpec over IPC, reports when each measurement window opens and closes (so the
 * parent can sample the servers' CPU over exactly those windows), sends the results, exits.
 *
 * Messages in: `{ type: 'run', spec }`. Out: `{ type: 'open', target }`, `{ type: 'close', target }`,
 * `{ type: 'result', results }` (one per target, in the spec's order).
 */
import { runInterleavedLoad, type InterleavedLoadSpec, type TimedLoadResult } from './lib/load.ts';

export type LoadWorkerMessage = { type: 'open'; target: number } | { type: 'close'; target: number } | { type: 'result'; results: TimedLoadResult[] };

if (process.send === undefined) {
  process.stderr.write('bench/load-worker.ts is started by bench/run.ts (it needs an IPC channel)\n');
  process.exit(2);
}
const ipc: (m: LoadWorkerMessage) => boolean = process.send.bind(process);
const send = (m: LoadWorkerMessage): void => void ipc(m);

process.once('message', (msg: { type: 'run'; spec: InterleavedLoadSpec }) => {
  void runInterleavedLoad(msg.spec, { onOpen: (target) => send({ type: 'open', target }), onClose: (target) => send({ type: 'close', target }) }).then(
    (results) => {
      send({ type: 'result', results });
      process.disconnect?.();
    },
    (err: unknown) => {
      process.stderr.write(`load worker failed: ${(err as Error).stack ?? String(err)}\n`);
      process.exit(1);
    },
  );
});
