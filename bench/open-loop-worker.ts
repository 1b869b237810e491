/**
 * The open-loop load generator in its own process (forked by bench/load.ts): receives one
 * OpenLoopSpec over IPC, reports when the measured window opens and closes (so the parent
 * samples the system's CPU and event-loop lag over exactly that window), sends the result, exits.
 *
 * Messages in: `{ type: 'run', spec }`. Out: `{ type: 'open' }`, `{ type: 'close' }`,
 * `{ type: 'result', result }`.
 */
import { runOpenLoop, type OpenLoopResult, type OpenLoopSpec } from './lib/open-loop.ts';

export type OpenLoopWorkerMessage = { type: 'open' } | { type: 'close' } | { type: 'result'; result: OpenLoopResult };

if (process.send === undefined) {
  process.stderr.write('bench/open-loop-worker.ts is started by bench/load.ts (it needs an IPC channel)\n');
  process.exit(2);
}
const ipc: (m: OpenLoopWorkerMessage) => boolean = process.send.bind(process);
const send = (m: OpenLoopWorkerMessage): void => void ipc(m);

process.once('message', (msg: { type: 'run'; spec: OpenLoopSpec }) => {
  void runOpenLoop(msg.spec, { onOpen: () => send({ type: 'open' }), onClose: () => send({ type: 'close' }) }).then(
    (result) => {
      send({ type: 'result', result });
      process.disconnect?.();
    },
    (err: unknown) => {
      process.stderr.write(`open-loop generator failed: ${(err as Error).stack ?? String(err)}\n`);
      process.exit(1);
    },
  );
});
