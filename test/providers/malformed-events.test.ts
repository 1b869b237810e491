import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChatCompletionChunk } from '../../src/core/openai-types.ts';
import type { UpstreamError } from '../../src/core/upstream-error.ts';
import { MALFORMED_EVENT_LIMITS, MalformedEventTolerance } from '../../src/providers/malformed-event.ts';
import { openaiAdapter } from '../../src/providers/openai.ts';
import { Transport } from '../../src/providers/transport.ts';

describe('MalformedEventTolerance', () => {
  it(`skips a lone malformed event and breaks at the ${MALFORMED_EVENT_LIMITS.inARow}nd in a row`, () => {
    const t = new MalformedEventTolerance();
    expect(t.malformed()).toBe(true);
    expect(t.malformed()).toBe(false);
  });

  it(`breaks at the ${MALFORMED_EVENT_LIMITS.perStream}rd in one stream, good events between or not`, () => {
    const t = new MalformedEventTolerance();
    const seen: boolean[] = [];
    for (let i = 0; i < MALFORMED_EVENT_LIMITS.perStream; i++) {
      seen.push(t.malformed());
      t.good();
    }
    expect(seen).toEqual([true, true, false]);
  });
});

/**
 * Through the transport against a real server sending OpenAI chunks with malformed events
 * between them: every good chunk is delivered, each skipped event is reported to the sink
 * (scrubbed), and the per-stream limit breaks the stream even with good events between.
 */
describe('a stream with separated malformed events', () => {
  let server: Server;
  let events: string[] = [];
  // The first event goes at once, the rest once the call has returned (the stream is committed).
  let release: () => void = () => {};
  const transport = new Transport();
  const chunk = (content: string) =>
    `data: ${JSON.stringify({ id: 'c', object: 'chat.completion.chunk', created: 1, model: 'm', choices: [{ index: 0, delta: { content }, finish_reason: null }] })}\n\n`;
  const finish = `data: ${JSON.stringify({ id: 'c', object: 'chat.completion.chunk', created: 1, model: 'm', choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] })}\n\ndata: [DONE]\n\n`;
  beforeAll(async () => {
    server = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(events[0]);
      release = () => res.end(events.slice(1).join(''));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  });
  afterAll(async () => {
    await transport.close();
    await new Promise((r) => server.close(r));
  });

  async function run(): Promise<{ text: string; err: UpstreamError | undefined; skipped: string[] }> {
    const skipped: string[] = [];
    const ctx = { target: { name: 'p', type: 'openai' as const, baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1` }, model: 'm', stream: true };
    const r = await transport.call(openaiAdapter, { model: 'm', messages: [{ role: 'user', content: 'hi' }] }, ctx, new AbortController().signal, undefined, undefined, {
      skipped: (e) => skipped.push(e.message),
    });
    if (r.type !== 'stream') throw new Error('expected a stream');
    release();
    const text = (cs: ChatCompletionChunk[]) => cs.map((c) => c.choices[0]?.delta.content ?? '').join('');
    let out = text(r.head);
    try {
      for await (const batch of r.rest) out += text(batch);
    } catch (err) {
      return { text: out, err: err as UpstreamError, skipped };
    }
    return { text: out, err: undefined, skipped };
  }

  it('two separated malformed events are skipped; every good chunk arrives', async () => {
    events = [chunk('a'), 'data: {"broken\n\n', chunk('b'), 'data: sk-proj-abcdefghijklmnopqrstuvwxyz0123456789\n\n', chunk('c'), finish];
    const got = await run();
    expect(got.err).toBeUndefined();
    expect(got.text).toBe('abc');
    expect(got.skipped).toEqual(['upstream sent a stream event that is not JSON: {"broken', 'upstream sent a stream event that is not JSON: sk-****']);
  });

  it('the third in one stream breaks it, after the chunks before it', async () => {
    events = [chunk('a'), 'data: x\n\n', chunk('b'), 'data: y\n\n', chunk('c'), 'data: z\n\n', chunk('d'), finish];
    const got = await run();
    expect(got.text).toBe('abc');
    expect(got.skipped).toHaveLength(2);
    expect({ kind: got.err?.kind, message: got.err?.message, inBand: got.err?.inBand }).toEqual({ kind: 'server_error', message: 'upstream sent a stream event that is not JSON: z', inBand: true });
  });
});
