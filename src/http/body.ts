import type { IncomingMessage } from 'node:http';
import { GatewayError } from '../core/openai-error.ts';

/**
 * Read and parse a JSON body, refusing more than `limit` bytes (413) before reading it all
 * when Content-Length already says so.
 */
export function readJsonBody(req: IncomingMessage, limit: number): Promise<unknown> {
  const declared = req.headers['content-length'];
  if (declared !== undefined && Number(declared) > limit) {
    req.resume();
    return Promise.reject(tooLarge(limit));
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let failed = false;
    req.on('data', (chunk: Buffer) => {
      if (failed) return;
      size += chunk.length;
      if (size > limit) {
        failed = true;
        reject(tooLarge(limit));
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (failed) return;
      const text = chunks.length === 1 ? chunks[0].toString('utf8') : Buffer.concat(chunks).toString('utf8');
      if (text.length === 0) {
        reject(new GatewayError(400, 'We could not parse the JSON body of your request: the body is empty.', { code: 'invalid_json' }));
        return;
      }
      try {
        resolve(JSON.parse(text));
      } catch (err) {
        reject(new GatewayError(400, `We could not parse the JSON body of your request: ${(err as Error).message}`, { code: 'invalid_json' }));
      }
    });
    req.on('error', (err) => {
      if (!failed) reject(err);
    });
  });
}

function tooLarge(limit: number): GatewayError {
  return new GatewayError(413, `Request body too large: the limit is ${limit} bytes.`, { code: 'request_too_large' });
}
