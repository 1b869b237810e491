import { once } from 'node:events';
import type { ServerResponse } from 'node:http';
import type { ChatCompletionChunk } from '../core/openai-types.ts';
import { chunkJson } from '../providers/raw-chunk.ts';

/**
 * Writes OpenAI-style SSE to the client with backpressure: `data: <json>\n\n` per chunk,
 * `data: [DONE]` only for a complete stream.
 */
export class SseWriter {
  readonly #res: ServerResponse;
  readonly #includeUsage: boolean;

  constructor(res: ServerResponse, includeUsage: boolean) {
    this.#res = res;
    this.#includeUsage = includeUsage;
  }

  /** Write a batch; resolves when the socket can take more. */
  async write(chunks: readonly ChatCompletionChunk[]): Promise<void> {
    let payload = '';
    for (const c of chunks) {
      // The usage chunk (choices: []) is only for clients that asked for it.
      if (c.choices.length === 0 && c.usage && !this.#includeUsage) continue;
      payload += `data: ${chunkJson(c, this.#includeUsage)}\n\n`;
    }
    if (payload === '') return;
    if (!this.#res.write(payload) && !this.#res.destroyed) await once(this.#res, 'drain');
  }

  /** The stream is complete. */
  done(): void {
    this.#res.end('data: [DONE]\n\n');
  }

  /** The stream broke after the commit point: say so in-band and end without [DONE]. */
  fail(error: { message: string; type: string; code: string | null }): void {
    if (this.#res.destroyed) return;
    this.#res.end(`data: ${JSON.stringify({ error: { message: error.message, type: error.type, param: null, code: error.code } })}\n\n`);
  }
}
