import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningGateway } from '../../src/gateway.ts';
import { startTestGateway } from '../helpers/gateway.ts';

/** Sends `raw` on a fresh connection and returns everything the server wrote until it closed. */
function exchange(gw: RunningGateway, raw: string): Promise<{ head: string; body: string; reset: boolean }> {
  return new Promise((resolve) => {
    const socket = connect(gw.port, '127.0.0.1');
    let got = '';
    let reset = false;
    socket.on('data', (d: Buffer) => (got += d.toString('latin1')));
    socket.on('error', () => (reset = true));
    socket.on('close', () => {
      const at = got.indexOf('\r\n\r\n');
      resolve({ head: at === -1 ? got : got.slice(0, at), body: at === -1 ? '' : got.slice(at + 4), reset });
    });
    socket.write(raw);
  });
}

/** Status line and the headers that matter, lower-cased. */
function parseHead(head: string): { status: string; headers: Record<string, string> } {
  const [status, ...lines] = head.split('\r\n');
  const headers: Record<string, string> = {};
  for (const l of lines) {
    const i = l.indexOf(':');
    headers[l.slice(0, i).toLowerCase()] = l.slice(i + 1).trim();
  }
  return { status, headers };
}

// Requests that Node's HTTP parser refuses never reach the app; they still answer in OpenAI's
// error shape, with the status that names the problem, and the connection closes cleanly.
describe("protocol errors answer in OpenAI's error shape", () => {
  let gw: RunningGateway;
  beforeAll(async () => {
    gw = await startTestGateway();
  });
  afterAll(() => gw.close());

  it('431 for 100 KB of headers', async () => {
    const big = `POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nX-Padding: ${'a'.repeat(100 * 1024)}\r\nContent-Length: 2\r\n\r\n{}`;
    const r = await exchange(gw, big);
    const { status, headers } = parseHead(r.head);
    expect(status).toBe('HTTP/1.1 431 Request Header Fields Too Large');
    expect(headers['content-type']).toBe('application/json');
    expect(headers.connection).toBe('close');
    expect(Number(headers['content-length'])).toBe(Buffer.byteLength(r.body));
    expect(JSON.parse(r.body)).toEqual({
      error: {
        message: 'Request header fields too large: the limit is 16384 bytes for all headers together.',
        type: 'invalid_request_error',
        param: null,
        code: 'request_header_fields_too_large',
      },
    });
    // The answer arrived whole, then a clean close: no reset while the client was still sending.
    expect(r.reset).toBe(false);
  });

  it('400 for a malformed request line', async () => {
    const r = await exchange(gw, 'GET /v1/models HTTP/1.1 extra\r\nHost: x\r\n\r\n');
    expect(parseHead(r.head).status).toBe('HTTP/1.1 400 Bad Request');
    expect(JSON.parse(r.body)).toEqual({
      error: { message: expect.stringMatching(/^Malformed HTTP request \(HPE_[A-Z_]+\)\.$/), type: 'invalid_request_error', param: null, code: 'bad_http_request' },
    });
  });

  it('400 for a header with an invalid character', async () => {
    const r = await exchange(gw, 'GET /v1/models HTTP/1.1\r\nHost: x\r\nBad\x01Name: y\r\n\r\n');
    expect(parseHead(r.head).status).toBe('HTTP/1.1 400 Bad Request');
    expect((JSON.parse(r.body) as { error: { code: string } }).error.code).toBe('bad_http_request');
  });

  it('a well-formed request on the same server is unaffected', async () => {
    const r = await exchange(gw, 'GET /v1/models HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    expect(parseHead(r.head).status).toBe('HTTP/1.1 200 OK');
  });
});
