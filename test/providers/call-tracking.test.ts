import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { CallCounts, SentStamp } from '../../src/providers/call-tracking.ts';
import { openaiAdapter } from '../../src/providers/openai.ts';
import { Transport } from '../../src/providers/transport.ts';
import { until } from '../helpers/gateway.ts';
import { closeServer } from '../helpers/servers.ts';

/** A real OpenAI chat completion (the fixture the response tests read). */
const COMPLETION = readFileSync(new URL('../fixtures/openai/chat-completion.json', import.meta.url), 'utf8');

/** An upstream that holds every request until the test answers it. */
async function heldUpstream(): Promise<{ url: string; held: ServerResponse[]; server: Server }> {
  const held: ServerResponse[] = [];
  const server = createServer((req: IncomingMessage, res) => {
    req.resume();
    held.push(res);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, held, server };
}

const answer = (res: ServerResponse): void => void res.writeHead(200, { 'content-type': 'application/json' }).end(COMPLETION);

let up: Awaited<ReturnType<typeof heldUpstream>> | undefined;
let transport: Transport | undefined;
afterEach(async () => {
  await transport?.close();
  await closeServer(up?.server);
  up = transport = undefined;
});

describe('call tracking in the transport', () => {
  it('counts calls in flight and waiting for a connection, and stamps each when the upstream gets it', async () => {
    up = await heldUpstream();
    let now = 100;
    transport = new Transport({ connections: new Map([[up.url, 1]]), now: () => now });
    const counts: CallCounts = { inFlight: 0, waiting: 0 };
    const first: SentStamp = { sentAt: -1 };
    const second: SentStamp = { sentAt: -1 };
    const req = { model: 'gpt-4o', messages: [{ role: 'user' as const, content: 'hi' }] };
    const ctx = { target: { name: 'p', type: 'openai' as const, baseUrl: `${up.url}/v1` }, model: 'gpt-4o', stream: false };
    const a = transport.call(openaiAdapter, req, ctx, new AbortController().signal, counts, first);
    const b = transport.call(openaiAdapter, req, ctx, new AbortController().signal, counts, second);
    await until(() => up!.held.length === 1);
    expect({ ...counts, first: first.sentAt, second: second.sentAt }).toEqual({ inFlight: 2, waiting: 1, first: 100, second: -1 });

    now = 250; // the second call gets the one connection when the first is answered
    answer(up.held[0]);
    await a;
    await until(() => up!.held.length === 2);
    expect({ ...counts, second: second.sentAt }).toEqual({ inFlight: 1, waiting: 0, second: 250 });
    answer(up.held[1]);
    await b;
    expect(counts).toEqual({ inFlight: 0, waiting: 0 });
  });

  it('a call aborted while it waits leaves the counts, never reaches the upstream, and is never stamped', async () => {
    up = await heldUpstream();
    transport = new Transport({ connections: new Map([[up.url, 1]]), now: () => 7 });
    const counts: CallCounts = { inFlight: 0, waiting: 0 };
    const waiting: SentStamp = { sentAt: -1 };
    const req = { model: 'gpt-4o', messages: [{ role: 'user' as const, content: 'hi' }] };
    const ctx = { target: { name: 'p', type: 'openai' as const, baseUrl: `${up.url}/v1` }, model: 'gpt-4o', stream: true };
    const held = transport.call(openaiAdapter, req, { ...ctx, stream: false }, new AbortController().signal, counts, { sentAt: -1 });
    const c = new AbortController();
    const queued = transport.call(openaiAdapter, req, ctx, c.signal, counts, waiting).catch((e: unknown) => e);
    await until(() => up!.held.length === 1 && counts.waiting === 1);
    c.abort();
    expect(await queued).toMatchObject({ kind: 'connection_error', message: 'attempt aborted' });
    expect({ ...counts, stamped: waiting.sentAt }).toEqual({ inFlight: 1, waiting: 0, stamped: -1 });
    answer(up.held[0]);
    await held;
    await new Promise((r) => setTimeout(r, 20));
    expect(up.held).toHaveLength(1);
    expect(counts).toEqual({ inFlight: 0, waiting: 0 });
  });
});
