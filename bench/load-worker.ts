/**
 * The load generator's own process (forked by bench/throughput.ts): receives one
 * TimedLoadSpec over IPC, reports when its measurement window opens and closes (so the
 * parent can sample the servers' CPU over exactly that window), sends the result, exits.
 *
 * Messages in: `{ type: 'run', spec }`. Out: `{ type: 'open' }`, `{ type: 'close' }`,
 * `{ type: 'result', result }`.
 */
import { runTimedLoad, type TimedLoadSpec } from './lib/load.ts';

export type LoadWorkerMessage = { type: 'open' } | { type: 'close' } | { type: 'result'; result: import('./lib/load.ts').TimedLoadResult };

if (process.send === undefined) {
  process.stderr.write('bench/load-worker.ts is started by bench/run.ts (it needs an IPC channel)\n');
  process.exit(2);
}
const ipc: (m: LoadWorkerMessage) => boolean = process.send.bind(process);
const send = (m: LoadWorkerMessage): void => void ipc(m);

process.once('message', (msg: { type: 'run'; spec: TimedLoadSpec }) => {
  void runTimedLoad(msg.spec, { onOpen: () => send({ type: 'open' }), onClose: () => send({ type: 'close' }) }).then(
    (result) => {
      send({ type: 'result', result });
      process.disconnect?.();
    },
    (err: unknown) => {
      process.stderr.write(`load worker failed: ${(err as Error).stack ?? String(err)}\n`);
      process.exit(1);
    },
  );
});
