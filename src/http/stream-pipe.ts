import type { ServerResponse } from 'node:http';
import { KIND_TO_CLIENT } from '../core/openai-error.ts';
import { toUpstreamError } from '../core/upstream-error.ts';
import type { ChatStream } from '../serve/chat-stream.ts';
import { SseWriter } from './sse-writer.ts';

/**
 * Writes a committed stream to the client as OpenAI's SSE: status and headers first (the
 * commit point has passed), then every batch with backpressure, `[DONE]` for a complete
 * answer, or a final in-band error event and no `[DONE]` when the upstream broke and nothing
 * continued it. The client leaving cancels the stream (and its upstream).
 */
export async function pipeStream(res: ServerResponse, stream: ChatStream, headers: Record<string, string>, includeUsage: boolean): Promise<void> {
  headers['content-type'] = 'text/event-stream; charset=utf-8';
  headers['cache-control'] = 'no-cache';
  headers['x-accel-buffering'] = 'no';
  res.writeHead(200, headers);
  const writer = new SseWriter(res, includeUsage);
  const onClose = (): void => {
    if (!res.writableFinished) stream.cancel();
  };
  res.once('close', onClose);
  try {
    for await (const batch of stream) {
      if (res.destroyed) return;
      await writer.write(batch);
    }
    if (!res.destroyed) writer.done();
  } catch (err) {
    if (res.destroyed) return;
    const e = toUpstreamError(err);
    const c = KIND_TO_CLIENT[e.kind];
    writer.fail({ message: `upstream stream failed after it started: ${e.message}`, type: c.type, code: c.code });
  } finally {
    res.off('close', onClose);
  }
}
