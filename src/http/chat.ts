import type { IncomingMessage, ServerResponse } from 'node:http';
import { GatewayError, KIND_TO_CLIENT } from '../core/openai-error.ts';
import type { ChatRequest } from '../core/openai-types.ts';
import { UpstreamError } from '../core/upstream-error.ts';
import type { Engine, RunOutput } from '../engine/engine.ts';
import type { RouteStep } from '../engine/routes.ts';
import type { StreamResult } from '../providers/transport.ts';
import { readJsonBody } from './body.ts';
import { sendError, toGatewayError, upstreamToGateway } from './errors.ts';
import { SseWriter } from './sse-writer.ts';
import { validateChatRequest } from './validate-chat.ts';

export interface ChatHandlerOptions {
  engine: Engine;
  bodyLimitBytes: number;
  requestTimeoutMs: number;
  /** Request ids: a process prefix plus a counter (cheap, unique per process). */
  nextRequestId: () => string;
}

/** Headers that say what happened to the request (which provider, model, how many attempts). */
function outcomeHeaders(out: RunOutput, requestId: string): Record<string, string> {
  const h: Record<string, string> = { 'x-request-id': requestId, 'x-attempts': String(out.attempts.length) };
  if (out.ok) {
    h['x-provider'] = out.step.provider;
    h['x-model'] = out.step.model;
    h['x-failover-used'] = out.stepIndex > 0 ? 'true' : 'false';
  } else {
    const last = out.attempts[out.attempts.length - 1];
    if (last) {
      h['x-provider'] = last.provider;
      h['x-model'] = last.model;
    }
    h['x-failover-used'] = out.attempts.some((a) => a.step > 0) ? 'true' : 'false';
  }
  return h;
}

/** POST /v1/chat/completions. The hot path: kept free of express so its cost is only its own. */
export function createChatHandler(opts: ChatHandlerOptions) {
  const { engine } = opts;
  return async function handleChat(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const requestId = opts.nextRequestId();
    let request: ChatRequest;
    let route: RouteStep;
    try {
      request = validateChatRequest(await readJsonBody(req, opts.bodyLimitBytes));
      const r = engine.routes.resolve(request.model);
      if (!r) {
        throw new GatewayError(404, `The model \`${request.model}\` does not exist or you do not have access to it.`, {
          code: 'model_not_found',
          param: 'model',
        });
      }
      route = r;
    } catch (err) {
      sendError(res, toGatewayError(err), { 'x-request-id': requestId });
      return;
    }

    const stream = request.stream === true;
    const handle = engine.run({ request, stream }, { steps: [route], deadlineMs: opts.requestTimeoutMs });
    // The client left: stop the request actor, which aborts the attempt in flight.
    const onClose = (): void => {
      if (!res.writableFinished) handle.cancel();
    };
    res.once('close', onClose);

    let out: RunOutput;
    try {
      out = await handle.done;
    } catch (err) {
      res.off('close', onClose);
      sendError(res, toGatewayError(err), { 'x-request-id': requestId });
      return;
    }
    if (res.destroyed) return;
    const headers = outcomeHeaders(out, requestId);
    if (!out.ok) {
      res.off('close', onClose);
      sendError(res, upstreamToGateway(out.error), headers);
      return;
    }
    const result = out.result;
    if (result.type === 'completion') {
      res.off('close', onClose);
      const body = JSON.stringify(result.completion);
      headers['content-type'] = 'application/json';
      headers['content-length'] = String(Buffer.byteLength(body));
      res.writeHead(200, headers);
      res.end(body);
      return;
    }
    res.off('close', onClose);
    await pipeStream(res, result, headers, request.stream_options?.include_usage === true);
  };
}

async function pipeStream(res: ServerResponse, result: StreamResult, headers: Record<string, string>, includeUsage: boolean): Promise<void> {
  const onClose = (): void => {
    if (!res.writableFinished) result.abort();
  };
  res.once('close', onClose);
  headers['content-type'] = 'text/event-stream; charset=utf-8';
  headers['cache-control'] = 'no-cache';
  headers['x-accel-buffering'] = 'no';
  res.writeHead(200, headers);
  const writer = new SseWriter(res, includeUsage);
  try {
    await writer.write(result.head);
    if (!result.complete) {
      for await (const batch of result.rest) {
        if (res.destroyed) return;
        await writer.write(batch);
      }
    }
    writer.done();
  } catch (err) {
    if (res.destroyed) return;
    const e = err instanceof UpstreamError ? err : new UpstreamError({ kind: 'server_error', message: (err as Error).message });
    const c = KIND_TO_CLIENT[e.kind];
    writer.fail({ message: `upstream stream failed after it started: ${e.message}`, type: c.type, code: c.code });
  } finally {
    res.off('close', onClose);
  }
}
