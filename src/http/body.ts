import type { IncomingMessage } from 'node:http';
import { GatewayError } from '../core/openai-error.ts';

/**
 * Collects a request body as text, refusing more than `limit` bytes: `tooLarge` is called
 * instead of `done` (at once when Content-Length already says so, else as soon as the bytes
 * run over; the rest is drained). Callback style, so the simulator's hot path allocates no
 * promise; `failed` gets a stream error.
 */
export function collectBody(
  req: IncomingMessage,
  limit: number,
  done: (text: string) => void,
  tooLarge: () => void,
  failed: (err: Error) => void = () => {},
): void {
  const declared = req.headers['content-length'];
  if (declared !== undefined && Number(declared) > limit) {
    req.resume();
    tooLarge();
    return;
  }
  const chunks: Buffer[] = [];
  let size = 0;
  let over = false;
  req.on('data', (chunk: Buffer) => {
    if (over) return;
    size += chunk.length;
    if (size > limit) {
      over = true;
      tooLarge();
      return;
    }
    chunks.push(chunk);
  });
  req.on('end', () => {
    if (!over) done(chunks.length === 1 ? chunks[0].toString('utf8') : Buffer.concat(chunks).toString('utf8'));
  });
  req.on('error', (err) => {
    if (!over) failed(err);
  });
}

/** Read and parse a JSON body (413 over `limit`, 400 for an empty or malformed one). */
export function readJsonBody(req: IncomingMessage, limit: number): Promise<unknown> {
  return new Promise((resolve, reject) => {
    collectBody(
      req,
      limit,
      (text) => {
        if (text.length === 0) {
          reject(new GatewayError(400, 'We could not parse the JSON body of your request: the body is empty.', { code: 'invalid_json' }));
          return;
        }
        try {
          resolve(JSON.parse(text));
        } catch (err) {
          reject(new GatewayError(400, `We could not parse the JSON body of your request: ${(err as Error).message}`, { code: 'invalid_json' }));
        }
      },
      () => reject(new GatewayError(413, `Request body too large: the limit is ${limit} bytes.`, { code: 'request_too_large' })),
      reject,
    );
  });
}
