/**
 * The upstream of the open-loop benchmark (bench/load.ts): an OpenAI-compatible chat endpoint
 * that answers every request after exactly `latencyMs`, and does as little else as possible, so
 * the two cores go to the systems under test rather than to the upstream.
 *
 * Non-streaming: one `chat.completion` JSON body. Streaming (`"stream": true`): status, headers
 * and five SSE events (role, three content deltas, finish), each written on its own, then
 * `data: [DONE]` (and a usage chunk first when `stream_options.include_usage` asks for it).
 * Answers are built once per model name (a few names at most) and reused.
 *
 * Serves POST `.../chat/completions` on any prefix (`/v1/chat/completions`, `/chat/completions`)
 * and GET `/v1/models`; bench/upstream-mock.ts runs it in its own process.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

/** One model's prebuilt answers. */
export interface Answers {
  json: Buffer;
  /** The SSE events before [DONE], each written with its own write(). */
  events: Buffer[];
  usageEvent: Buffer;
}

const CONTENT = ['Hello', ' from the', ' upstream mock.'];
const USAGE = { prompt_tokens: 11, completion_tokens: 16, total_tokens: 27 };
const DONE = Buffer.from('data: [DONE]\n\n');
/** Distinct model names whose answers are kept; past that each answer is built per request. */
const MAX_MODELS = 16;
const MAX_BODY_BYTES = 1 << 20;

/**
 * The answers for `model`, in OpenAI's wire format (ids are fixed: nothing downstream of a
 * benchmark reads them, and a constant costs nothing per request).
 */
export function buildAnswers(model: string): Answers {
  const created = Math.floor(Date.now() / 1000);
  const id = 'chatcmpl-upstreammock0001';
  const json = Buffer.from(
    JSON.stringify({
      id,
      object: 'chat.completion',
      created,
      model,
      choices: [{ index: 0, message: { role: 'assistant', content: CONTENT.join(''), refusal: null }, logprobs: null, finish_reason: 'stop' }],
      usage: USAGE,
      system_fingerprint: 'fp_upstreammock',
    }),
  );
  const chunk = (delta: object, finish: string | null): Buffer =>
    Buffer.from(
      `data: ${JSON.stringify({ id, object: 'chat.completion.chunk', created, model, system_fingerprint: 'fp_upstreammock', choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }] })}\n\n`,
    );
  const events = [chunk({ role: 'assistant', content: '' }, null), ...CONTENT.map((c) => chunk({ content: c }, null)), chunk({}, 'stop')];
  const usageEvent = Buffer.from(`data: ${JSON.stringify({ id, object: 'chat.completion.chunk', created, model, system_fingerprint: 'fp_upstreammock', choices: [], usage: USAGE })}\n\n`);
  return { json, events, usageEvent };
}

export interface MockOptions {
  latencyMs: number;
  /**
   * Streams start at once and are answered over `latencyMs`, as a model streams a long answer:
   * status, headers and the role chunk at once, the first content delta at half the latency,
   * the rest and `[DONE]` at the latency. So a stream in flight is one past its commit point,
   * being piped, not one waiting for its first byte. Non-streaming answers are unchanged.
   */
  paced?: boolean;
  /** Defers each answer by `latencyMs` (default: setTimeout; a test passes its own). */
  setTimer?: (answer: (res: ServerResponse, a: Answers, stream: boolean, usage: boolean) => void, ms: number, res: ServerResponse, a: Answers, stream: boolean, usage: boolean) => unknown;
}

/** The request handler; exported so the test drives it on its own server. */
export function mockHandler(opts: MockOptions): (req: IncomingMessage, res: ServerResponse) => void {
  const setTimer = opts.setTimer ?? setTimeout;
  const answers = new Map<string, Answers>();
  const answersFor = (model: string): Answers => {
    let a = answers.get(model);
    if (a === undefined) {
      a = buildAnswers(model);
      if (answers.size < MAX_MODELS) answers.set(model, a);
    }
    return a;
  };
  const sendError = (res: ServerResponse, status: number, message: string): void => {
    const body = JSON.stringify({ error: { message, type: 'invalid_request_error', param: null, code: null } });
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  };
  const answer = (res: ServerResponse, a: Answers, stream: boolean, usage: boolean): void => {
    if (res.destroyed) return;
    if (!stream) {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': a.json.length });
      res.end(a.json);
      return;
    }
    if (!res.headersSent) res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    for (let i = res.headersSent && opts.paced ? 2 : 0; i < a.events.length; i++) res.write(a.events[i]);
    if (usage) res.write(a.usageEvent);
    res.end(DONE);
  };
  /** Paced: the first content delta, half-way through. */
  const middle = (res: ServerResponse, a: Answers, _stream: boolean, _usage: boolean): void => {
    if (!res.destroyed) res.write(a.events[1]);
  };

  return (req, res) => {
    if (req.method === 'GET' && req.url === '/v1/models') {
      req.resume();
      const body = JSON.stringify({ object: 'list', data: [...answers.keys()].map((id) => ({ id, object: 'model', created: 0, owned_by: 'upstream-mock' })) });
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
      res.end(body);
      return;
    }
    if (req.method !== 'POST' || !(req.url ?? '').split('?')[0].endsWith('/chat/completions')) {
      req.resume();
      return sendError(res, 404, `no route for ${req.method} ${req.url}`);
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size <= MAX_BODY_BYTES) chunks.push(c);
    });
    req.on('end', () => {
      if (size > MAX_BODY_BYTES) return sendError(res, 413, 'request body too large');
      let body: { model?: unknown; stream?: unknown; stream_options?: { include_usage?: unknown } };
      try {
        body = JSON.parse(chunks.length === 1 ? chunks[0].toString('utf8') : Buffer.concat(chunks).toString('utf8'));
      } catch {
        return sendError(res, 400, 'request body is not JSON');
      }
      if (typeof body?.model !== 'string' || body.model === '') return sendError(res, 400, 'model is required');
      const a = answersFor(body.model);
      const stream = body.stream === true;
      const usage = stream && body.stream_options?.include_usage === true;
      if (opts.latencyMs <= 0) return answer(res, a, stream, usage);
      if (stream && opts.paced) {
        res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
        res.write(a.events[0]);
        setTimer(middle, opts.latencyMs / 2, res, a, stream, usage);
      }
      setTimer(answer, opts.latencyMs, res, a, stream, usage);
    });
  };
}
