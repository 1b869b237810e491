import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ChatCompletion, ChatCompletionChunk, ChatRequest } from '../core/openai-types.ts';
import { presentedKey } from '../auth/keys.ts';
import { parsePolicy } from '../policy/parse-headers.ts';
import type { PolicyContext } from '../policy/types.ts';
import type { ChatService } from '../serve/serve-chat.ts';
import { readJsonBody } from './body.ts';
import { sendError, toGatewayError } from './errors.ts';
import { SseWriter } from './sse-writer.ts';
import { pipeStream } from './stream-pipe.ts';
import { validateChatRequest } from './validate-chat.ts';
import type { OpenStreams } from './open-streams.ts';
import type { Admission } from './admission.ts';
import { ClientDeparture } from '../core/client-signal.ts';

export interface ChatHandlerOptions {
  chat: ChatService;
  /** Committed streams, cut with an in-band error when shutdown's grace period ends. */
  streams: OpenStreams;
  policy: PolicyContext;
  bodyLimitBytes: number;
  /** The gateway-wide limit of chat requests in flight (server.max_in_flight). */
  admission: Admission;
  /** Request ids: a process prefix plus a counter (cheap, unique per process). */
  nextRequestId: () => string;
}

/**
 * POST /v1/chat/completions: reads and validates the request and its policy headers, hands
 * it to the chat service, and writes what comes back. The hot path: kept free of express so
 * its cost is only its own.
 */
export function createChatHandler(opts: ChatHandlerOptions) {
  // One async frame per request (admission wraps the whole of it).
  return async function handleChat(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (!opts.admission.enter(req, res)) return;
    try {
      const requestId = opts.nextRequestId();
      let request: ChatRequest;
      let outcome;
      // The client leaving before the answer cancels the request (and its upstream call).
      const gone = new ClientDeparture();
      const onClose = (): void => {
        if (!res.writableFinished) gone.abort();
      };
      try {
        request = validateChatRequest(await readJsonBody(req, opts.bodyLimitBytes));
        const policy = parsePolicy(req.headers, opts.policy);
        res.once('close', onClose);
        outcome = await opts.chat.serveChat(request, policy, {
          requestId,
          signal: gone,
          tenant: presentedKey(req.headers) ?? '',
          ...(req.headers['x-cache-bypass'] === 'true' ? { cacheBypass: true } : {}),
        });
      } catch (err) {
        sendError(res, toGatewayError(err), { 'x-request-id': requestId });
        return;
      } finally {
        res.off('close', onClose);
      }
      if (res.destroyed) {
        if (outcome.type === 'stream') outcome.stream.cancel();
        return;
      }
      const headers = outcome.headers;
      switch (outcome.type) {
        case 'error':
          sendError(res, outcome.error, headers);
          return;
        case 'stream':
          await pipeStream(res, outcome.stream, headers, request.stream_options?.include_usage === true, opts.streams, outcome.comment);
          return;
        case 'completion':
          if (outcome.raw !== undefined) {
            headers['content-type'] = 'application/json';
            headers['content-length'] = String(outcome.raw.byteLength);
            res.writeHead(200, headers);
            res.end(outcome.raw);
            return;
          }
          await sendCompletion(res, outcome.completion, headers, request, outcome.comment);
      }
    } finally {
      opts.admission.leave();
    }
  };
}

async function sendCompletion(res: ServerResponse, completion: ChatCompletion, headers: Record<string, string>, request: ChatRequest, comment?: string): Promise<void> {
  if (request.stream === true) {
    // A cached (non-streamed) answer to a streaming request: replay it as one content chunk.
    headers['content-type'] = 'text/event-stream; charset=utf-8';
    headers['cache-control'] = 'no-cache';
    res.writeHead(200, headers);
    if (comment !== undefined) res.write(`: ${comment}\n\n`);
    const w = new SseWriter(res, request.stream_options?.include_usage === true);
    await w.write(completionToChunks(completion));
    w.done();
    return;
  }
  const body = JSON.stringify(completion);
  headers['content-type'] = 'application/json';
  headers['content-length'] = String(Buffer.byteLength(body));
  res.writeHead(200, headers);
  res.end(body);
}

function completionToChunks(c: ChatCompletion): ChatCompletionChunk[] {
  const base = { id: c.id, object: 'chat.completion.chunk' as const, created: c.created, model: c.model };
  const choice = c.choices[0];
  const chunks: ChatCompletionChunk[] = [
    {
      ...base,
      choices: [
        {
          index: 0,
          delta: {
            role: 'assistant',
            content: choice?.message.content ?? null,
            ...(choice?.message.tool_calls ? { tool_calls: choice.message.tool_calls.map((t, i) => ({ index: i, ...t })) } : {}),
          },
          finish_reason: null,
        },
      ],
    },
    { ...base, choices: [{ index: 0, delta: {}, finish_reason: choice?.finish_reason ?? 'stop' }] },
  ];
  if (c.usage) chunks.push({ ...base, choices: [], usage: c.usage });
  return chunks;
}
