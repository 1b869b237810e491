/**
 * The baseline the gateway is judged against: the least a Node proxy can do for a chat
 * request. node:http server; reads the body, JSON.parse + JSON.stringify it (the gateway must
 * parse to route), forwards it with undici to the upstream's /v1/chat/completions over a
 * keep-alive pool, and relays the response (streams chunk by chunk, as they arrive).
 *
 * `node bench/passthrough.ts --upstream http://127.0.0.1:PORT [--port 0] [--connections 128]`; prints
 * `passthrough listening on http://127.0.0.1:PORT`. `--connections 0` lifts the pool's cap (the
 * open-loop bench needs rate x latency connections in flight).
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseArgs } from 'node:util';
import { Agent, request } from 'undici';

const { values } = parseArgs({
  options: { upstream: { type: 'string' }, port: { type: 'string', default: '0' }, connections: { type: 'string', default: '128' } },
  strict: true,
});
const connections = Number(values.connections);
if (values.upstream === undefined || !Number.isInteger(connections) || connections < 0) {
  process.stderr.write('usage: node bench/passthrough.ts --upstream http://127.0.0.1:PORT [--port N] [--connections N (0: no cap)]\n');
  process.exit(2);
}
const upstreamUrl = `${values.upstream.replace(/\/+$/, '')}/v1/chat/completions`;
// By default the same pool shape as the gateway's Transport (128 keep-alive connections per origin).
const dispatcher = new Agent({ connections: connections === 0 ? null : connections, keepAliveTimeout: 30_000 });

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(chunks.length === 1 ? chunks[0].toString('utf8') : Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const parsed = JSON.parse(await readBody(req)) as { stream?: boolean };
  const up = await request(upstreamUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: 'Bearer bench' },
    body: JSON.stringify(parsed),
    dispatcher,
  });
  const contentType = String(up.headers['content-type'] ?? 'application/json');
  if (parsed.stream !== true) {
    const body = Buffer.from(await up.body.arrayBuffer());
    res.writeHead(up.statusCode, { 'content-type': contentType, 'content-length': String(body.length) });
    res.end(body);
    return;
  }
  res.writeHead(up.statusCode, { 'content-type': contentType, 'cache-control': 'no-cache' });
  for await (const chunk of up.body) {
    if (!res.write(chunk)) await new Promise((r) => res.once('drain', r));
  }
  res.end();
}

const server = createServer({ keepAliveTimeout: 65_000 }, (req, res) => {
  handle(req, res).catch((err: unknown) => {
    if (res.headersSent) return void res.destroy();
    res.writeHead(502, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ error: { message: (err as Error).message, type: 'server_error', param: null, code: null } }));
  });
});
server.listen(Number(values.port), '127.0.0.1', () => {
  process.stdout.write(`passthrough listening on http://127.0.0.1:${(server.address() as AddressInfo).port}\n`);
});
const stop = (): void => {
  server.closeAllConnections();
  server.close(() => void dispatcher.close().then(() => process.exit(0)));
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
