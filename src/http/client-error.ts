import { maxHeaderSize, STATUS_CODES, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { OpenAIErrorBody } from '../core/openai-error.ts';

/** How long a socket that sent a bad request may go on sending before it is closed. */
const LINGER_MS = 2_000;

/** Sockets already answered: the parser reports its error again on every further chunk read. */
const answered = new WeakSet<Duplex>();

/** The answer to each protocol error Node's HTTP parser reports; anything else is a 400. */
function answerFor(code: string | undefined): { status: number; body: OpenAIErrorBody } {
  switch (code) {
    case 'HPE_HEADER_OVERFLOW':
      return problem(431, `Request header fields too large: the limit is ${maxHeaderSize} bytes for all headers together.`, 'request_header_fields_too_large');
    case 'HPE_CHUNK_EXTENSIONS_OVERFLOW':
      return problem(413, 'Request chunk extensions too large.', 'request_too_large');
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return problem(408, 'The request was not received in time.', 'request_timeout');
    default:
      return problem(400, `Malformed HTTP request${code?.startsWith('HPE_') ? ` (${code})` : ''}.`, 'bad_http_request');
  }
}

function problem(status: number, message: string, code: string): { status: number; body: OpenAIErrorBody } {
  return { status, body: { error: { message, type: 'invalid_request_error', param: null, code } } };
}

/**
 * The server's 'clientError' listener: a request Node's HTTP parser refused (headers over the
 * limit, a malformed request line, a request timeout) gets its status with a body in OpenAI's
 * error shape, where Node alone answers a bare status line. The socket then stops writing but
 * keeps reading (discarding) for a moment: closing it with the rest of the request unread
 * would send a TCP reset, which can destroy the answer before the client reads it.
 */
export function answerClientError(err: NodeJS.ErrnoException, socket: Duplex): void {
  if (answered.has(socket)) return;
  // A response already started on this socket (pipelining) cannot be followed by another.
  const inFlight = (socket as { _httpMessage?: ServerResponse | null })._httpMessage;
  if (err.code === 'ECONNRESET' || !socket.writable || socket.writableEnded || (inFlight != null && inFlight.headersSent)) {
    socket.destroy();
    return;
  }
  answered.add(socket);
  const { status, body } = answerFor(err.code);
  const json = JSON.stringify(body);
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(json)}\r\nconnection: close\r\n\r\n${json}`,
  );
  socket.resume();
  setTimeout(() => socket.destroy(), LINGER_MS).unref();
}
