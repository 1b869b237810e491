/**
 * The upstream of the open-loop benchmark (bench/load.ts) in its own process: an
 * OpenAI-compatible chat endpoint answering after exactly `--latency-ms` (see
 * bench/lib/upstream-mock.ts for what it sends).
 *
 * `node bench/upstream-mock.ts --latency-ms 500 [--port 0] [--paced]`; prints
 * `upstream mock listening on http://127.0.0.1:PORT`.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseArgs } from 'node:util';
import { mockHandler } from './lib/upstream-mock.ts';

const { values } = parseArgs({
  options: { 'latency-ms': { type: 'string', default: '500' }, port: { type: 'string', default: '0' }, paced: { type: 'boolean', default: false } },
  strict: true,
});
const latencyMs = Number(values['latency-ms']);
if (!(latencyMs >= 0)) {
  process.stderr.write('usage: node bench/upstream-mock.ts --latency-ms MS [--port N] [--paced]\n');
  process.exit(2);
}
const server = createServer({ keepAliveTimeout: 65_000 }, mockHandler({ latencyMs, paced: values.paced }));
// Thousands of connections open at once when an open-loop run starts: a deep accept queue
// (the kernel caps it at net.core.somaxconn) keeps SYNs from being dropped and retried.
server.listen({ port: Number(values.port), host: '127.0.0.1', backlog: 4096 }, () => {
  process.stdout.write(`upstream mock listening on http://127.0.0.1:${(server.address() as AddressInfo).port} (latency ${latencyMs} ms${values.paced ? ', streams paced' : ''})\n`);
});
const stop = (): void => {
  server.closeAllConnections();
  server.close(() => process.exit(0));
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
