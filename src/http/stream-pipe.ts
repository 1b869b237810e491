import type { ServerResponse } from 'node:http';
import type { ChatCompletionChunk } from '../core/openai-types.ts';
import { toUpstreamError } from '../core/upstream-error.ts';
import type { ChatStream } from '../serve/chat-stream.ts';
import { upstreamToGateway } from './errors.ts';
import type { OpenStreams } from './open-streams.ts';
import { SseWriter } from './sse-writer.ts';

/** What a stream's head is once it has been written (never written to). */
const NOTHING: ChatCompletionChunk[] = [];

/** The in-band error of a stream cut by shutdown. */
const SHUTTING_DOWN = {
  message: 'The gateway is shutting down: this stream was cut before it finished. Retry the request.',
  type: 'api_error',
  code: 'gateway_shutting_down',
};

/**
 * Writes a committed stream to the client as OpenAI's SSE: status and headers first (the
 * commit point has passed), then every batch with backpressure, `[DONE]` for a complete
 * answer, or a final in-band error event and no `[DONE]` when the upstream broke and nothing
 * continued it, or when shutdown cut the stream (`streams`). The client leaving cancels the
 * stream and its upstream; so does a shutdown cut, which no provider is blamed for.
 */
export async function pipeStream(
  res: ServerResponse,
  stream: ChatStream,
  headers: Record<string, string>,
  includeUsage: boolean,
  streams: OpenStreams,
  comment?: string,
): Promise<void> {
  headers['content-type'] = 'text/event-stream; charset=utf-8';
  headers['cache-control'] = 'no-cache';
  headers['x-accel-buffering'] = 'no';
  res.writeHead(200, headers);
  // An SSE comment (degraded mode's notice): clients skip it, a reader of the raw stream sees it.
  if (comment !== undefined) res.write(`: ${comment}\n\n`);
  const writer = new SseWriter(res, includeUsage);
  let cut = false;
  const onClose = (): void => {
    if (!res.writableFinished) stream.cancel();
  };
  res.once('close', onClose);
  streams.add(res, () => {
    cut = true;
    stream.cancel();
  });
  try {
    // The upstream's own batches, written as they come (no extra async layer per batch).
    for (;;) {
      const upstream = stream.upstream;
      let stopped = false;
      try {
        const head = upstream.head;
        // Written once, then not held for the rest of the stream (with a fast upstream the head
        // is often the whole answer): the chunks die young instead of outliving a scavenge.
        upstream.head = NOTHING;
        await writer.write(stream.forward(head));
        for await (const batch of upstream.rest) {
          if (res.destroyed || cut) {
            stopped = true;
            break;
          }
          await writer.write(stream.forward(batch));
        }
      } catch (err) {
        if (res.destroyed || cut) break;
        // A continuation took over: read it; else resume threw the break's error.
        if (await stream.resume(err)) continue;
        break;
      }
      if (!stopped && !res.destroyed && !cut) {
        stream.ended();
        writer.done();
        return;
      }
      break;
    }
    if (res.destroyed) return;
    if (cut) writer.fail(SHUTTING_DOWN);
  } catch (err) {
    if (res.destroyed) return;
    if (cut) {
      writer.fail(SHUTTING_DOWN);
      return;
    }
    const g = upstreamToGateway(toUpstreamError(err));
    writer.fail({ message: `upstream stream failed after it started: ${g.message}`, type: g.type, code: g.code });
  } finally {
    res.off('close', onClose);
    streams.delete(res);
  }
}
