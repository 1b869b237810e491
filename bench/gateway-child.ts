/**
 * A gateway in its own process for the memory check: started in-process with
 * `startGateway(configFromObject(...))`, it reports its heap over IPC after forcing GC, so
 * nothing is added to the gateway's HTTP surface. Needs `node --expose-gc`.
 *
 * `fork('bench/gateway-child.ts', [upstreamUrl], { execArgv: ['--expose-gc'] })`.
 * Messages in: `{ type: 'memory' }`, `{ type: 'stop' }`. Out: `{ type: 'ready', url }`,
 * `{ type: 'memory', usage }`.
 */
import { BENCH_STORE } from './lib/systems.ts';
import { configFromObject } from '../src/config/load.ts';
import { startGateway } from '../src/gateway.ts';
import { tuneGc } from '../src/runtime/gc-tuning.ts';

export type GatewayChildMessage = { type: 'ready'; url: string } | { type: 'memory'; usage: NodeJS.MemoryUsage };

const upstream = process.argv[2];
if (!process.send || upstream === undefined || typeof globalThis.gc !== 'function') {
  process.stderr.write('bench/gateway-child.ts is forked by bench/memory.ts with an upstream URL, an IPC channel and --expose-gc\n');
  process.exit(2);
}
// As `parrot serve` runs (bin/parrot.js).
tuneGc();
const gc = globalThis.gc as () => void;
const send = (m: GatewayChildMessage): void => void process.send!(m);

const gw = await startGateway(
  configFromObject(
    {
      server: { host: '127.0.0.1', port: 0 },
      store: { ...BENCH_STORE },
      providers: [{ name: 'openai', type: 'openai', base_url: `${upstream}/v1`, api_key: 'bench', models: ['gpt-4-turbo-preview'] }],
      simulator: { enabled: false },
    },
    { env: {}, source: 'bench/gateway-child.ts' },
  ),
);

/** Full GCs until the heap stops shrinking (weak refs and finalizers need more than one pass). */
async function settledHeap(): Promise<NodeJS.MemoryUsage> {
  let last = Number.POSITIVE_INFINITY;
  for (let i = 0; i < 5; i++) {
    gc();
    await new Promise((r) => setImmediate(r));
    const used = process.memoryUsage().heapUsed;
    if (used >= last - 64 * 1024) break;
    last = used;
  }
  return process.memoryUsage();
}

process.on('message', (m: { type: 'memory' | 'stop' }) => {
  if (m.type === 'memory') void settledHeap().then((usage) => send({ type: 'memory', usage }));
  else void gw.close().then(() => process.exit(0));
});
send({ type: 'ready', url: gw.url });
