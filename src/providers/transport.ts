import { Agent, request, errors as undiciErrors, type Dispatcher } from 'undici';
import type { ChatCompletion, ChatCompletionChunk, ChatRequest } from '../core/openai-types.ts';
import { GENERIC_REDACTOR, type Redactor } from '../core/redact.ts';
import { UpstreamError } from '../core/upstream-error.ts';
import { kCounts, kSent, trackCalls, type CallCounts, type SentStamp } from './call-tracking.ts';
import { finishBody } from './finish-body.ts';
import { OriginPool } from './origin-pool.ts';
import { untranslatable } from './invalid-request.ts';
import { MalformedEvent, MalformedEventTolerance, type MalformedEventSink } from './malformed-event.ts';
import { SseDecoder } from './sse.ts';
import type { HeaderMap, ProviderAdapter, TranslateContext, UpstreamRequest } from './types.ts';

/** A finished non-streaming call. */
export interface CompletionResult {
  type: 'completion';
  completion: ChatCompletion;
  /** The upstream body, when `completion` is exactly it (no translation was needed). */
  raw?: Uint8Array;
}

/**
 * A stream that has reached its commit point: the first content-bearing chunk has arrived,
 * so everything before it (lifecycle events, in-band errors) could still fail over.
 * `head` holds the chunks read so far; `rest` yields the remainder.
 */
export interface StreamResult {
  type: 'stream';
  head: ChatCompletionChunk[];
  /** True when the upstream already finished inside `head`. */
  complete: boolean;
  /**
   * The remaining chunks, in batches as they arrive. Throws UpstreamError on an in-band
   * error, on malformed events that repeat (MALFORMED_EVENT_LIMITS; a lone one is skipped),
   * or a cut connection. Ends normally only on a complete stream;
   * a body that ends without the provider's end marker and without a finish_reason throws
   * an UpstreamError (`server_error`, "stream ended before completion").
   */
  rest: AsyncIterable<ChatCompletionChunk[]>;
  /** Abort the upstream (client went away). */
  abort(): void;
}

export type AttemptResult = CompletionResult | StreamResult;

/** How long undici waits for headers/body when no statechart deadline is shorter. */
const SAFETY_TIMEOUT_MS = 10 * 60_000;

/**
 * Most connections per origin when neither the config nor the caller names a size: as many as
 * the gateway admits requests by default (server.max_in_flight), since an LLM call holds its
 * connection for the whole answer and a smaller pool would queue requests the gateway took.
 */
export const DEFAULT_CONNECTIONS_PER_ORIGIN = 10_000;

export interface TransportOptions {
  /** The pool size of each origin (`https://api.openai.com`); others get `defaultConnections`. */
  connections?: ReadonlyMap<string, number>;
  /** The pool size of an origin `connections` does not name (default DEFAULT_CONNECTIONS_PER_ORIGIN). */
  defaultConnections?: number;
  dispatcher?: Dispatcher;
  /**
   * Scrubs every upstream error message before it leaves the transport (the configured
   * secrets; generic key shapes when absent).
   */
  redactor?: Redactor;
  /** The clock `sent` stamps are read on (the engine's). */
  now?: () => number;
}

/**
 * Sends upstream calls over pooled keep-alive connections (one undici Agent, a pool per
 * origin) and turns what comes back into results or classified UpstreamErrors. Upstream text
 * enters the gateway here, so every UpstreamError it throws (a call's, or a stream's later)
 * has been scrubbed of key material: nothing downstream (client error bodies, in-band stream
 * errors, logs) can pass on a key an upstream echoed. A call given `counts` is counted in
 * flight (and waiting, until it has a connection) on them, and a `sent` stamp records when
 * the upstream got it (see call-tracking.ts).
 */
export class Transport {
  readonly #dispatcher: Dispatcher;
  readonly #redactor: Redactor;
  /** Health probes' own connections (created on the first probe): a busy pool never fails a probe. */
  #probes: Dispatcher | undefined;

  constructor(opts: TransportOptions = {}) {
    const sizes = opts.connections ?? new Map<string, number>();
    const otherwise = opts.defaultConnections ?? DEFAULT_CONNECTIONS_PER_ORIGIN;
    this.#redactor = opts.redactor ?? GENERIC_REDACTOR;
    const dispatcher =
      opts.dispatcher ??
      new Agent({
        keepAliveTimeout: 30_000,
        headersTimeout: SAFETY_TIMEOUT_MS,
        bodyTimeout: SAFETY_TIMEOUT_MS,
        // One pool per origin, sized by that origin's providers (a fragile local server can
        // ask for few connections without capping a hosted API).
        factory: (origin, poolOpts) =>
          new OriginPool(origin, { ...poolOpts, connections: sizes.get(new URL(origin).origin) ?? otherwise }),
      });
    this.#dispatcher = dispatcher.compose(trackCalls(opts.now ?? Date.now));
    // A dispatcher given by the caller carries the probes too.
    if (opts.dispatcher) this.#probes = this.#dispatcher;
  }

  /**
   * One upstream attempt. `signal` aborts it until the result is returned; a returned
   * stream is aborted with its own `abort()`. With `counts`, the call is counted on them
   * until its response ends; `sent` is stamped when the upstream gets the request. A stream
   * skips a lone malformed event and tells `malformed` of it (see ./malformed-event.ts).
   */
  call(
    adapter: ProviderAdapter,
    req: ChatRequest,
    ctx: TranslateContext,
    signal: AbortSignal,
    counts?: CallCounts,
    sent?: SentStamp,
    malformed?: MalformedEventSink,
  ): Promise<AttemptResult> {
    return this.#send(adapter, req, ctx, signal, counts, sent, this.#dispatcher, malformed);
  }

  /**
   * A health probe. It goes over connections of its own (no pool limit: at most one probe per
   * target is in flight), not the pool requests wait for: a probe measures the provider, and
   * waiting behind the gateway's own traffic would fail it for the gateway's saturation.
   */
  probe(adapter: ProviderAdapter, req: ChatRequest, ctx: TranslateContext, signal: AbortSignal): Promise<AttemptResult> {
    this.#probes ??= new Agent({ keepAliveTimeout: 30_000, headersTimeout: SAFETY_TIMEOUT_MS, bodyTimeout: SAFETY_TIMEOUT_MS });
    return this.#send(adapter, req, ctx, signal, undefined, undefined, this.#probes);
  }

  async #send(
    adapter: ProviderAdapter,
    req: ChatRequest,
    ctx: TranslateContext,
    signal: AbortSignal,
    counts: CallCounts | undefined,
    sent: SentStamp | undefined,
    dispatcher: Dispatcher,
    malformed?: MalformedEventSink,
  ): Promise<AttemptResult> {
    if (signal.aborted) throw abortedError();
    let built: UpstreamRequest;
    try {
      built = adapter.buildRequest(req, ctx);
    } catch (err) {
      throw untranslatable(err, adapter.type);
    }
    // A returned stream outlives the attempt (and its signal), so it gets a controller of its
    // own, linked to the attempt's signal until the commit point. A plain completion needs none.
    const controller = ctx.stream ? new AbortController() : undefined;
    const onAbort = controller ? (): void => controller.abort(signal.reason) : undefined;
    if (onAbort) signal.addEventListener('abort', onAbort, { once: true });
    try {
      let res: Dispatcher.ResponseData;
      try {
        const opts = {
          method: built.method,
          headers: built.headers,
          body: built.body,
          signal: controller ? controller.signal : signal,
          dispatcher,
          [kCounts]: counts,
          [kSent]: sent,
        };
        res = await request(built.url, opts);
      } catch (err) {
        throw redacted(toConnectionError(err, signal), this.#redactor);
      }
      try {
        if (res.statusCode < 200 || res.statusCode >= 300) {
          const text = await res.body.text().catch(() => '');
          throw adapter.classifyError(res.statusCode, res.headers as HeaderMap, text);
        }
        if (controller === undefined) {
          let bytes: Uint8Array;
          let body: unknown;
          try {
            bytes = await res.body.bytes();
            body = JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8'));
          } catch (err) {
            if (signal.aborted) throw abortedError();
            throw new UpstreamError({ kind: 'server_error', status: res.statusCode, message: `upstream sent an unreadable body: ${(err as Error).message}`, cause: err });
          }
          const completion = adapter.parseResponse(body, ctx);
          // An adapter that accepted the body as is (OpenAI's own format) lets the gateway send
          // the upstream bytes on unchanged: no second serialisation.
          return completion === body ? { type: 'completion', completion, raw: bytes } : { type: 'completion', completion };
        }
        return await openStream(adapter, ctx, res.body, controller, this.#redactor, malformed);
      } catch (err) {
        // (A plain completion's body is always consumed by here: its connection stays pooled.)
        if (controller) controller.abort();
        throw redacted(err instanceof UpstreamError ? err : toConnectionError(err, signal), this.#redactor);
      }
    } finally {
      if (onAbort) signal.removeEventListener('abort', onAbort);
    }
  }

  async close(): Promise<void> {
    await Promise.all([this.#dispatcher.close(), this.#probes !== undefined && this.#probes !== this.#dispatcher ? this.#probes.close() : undefined]);
  }
}

/** `err` with its message and param scrubbed; `err` itself when there was nothing to scrub. */
function redacted(err: UpstreamError, redactor: Redactor): UpstreamError {
  const message = redactor.scrub(err.message);
  const param = err.param === null ? null : redactor.scrub(err.param);
  if (message === err.message && param === err.param) return err;
  return new UpstreamError({
    kind: err.kind,
    message,
    status: err.status,
    providerCode: err.providerCode,
    param,
    hints: err.hints,
    inBand: err.inBand,
    fatal: err.fatal,
    skipped: err.skipped,
    cause: err.cause,
  });
}

function abortedError(): UpstreamError {
  return new UpstreamError({ kind: 'connection_error', message: 'attempt aborted' });
}

function toConnectionError(err: unknown, signal: AbortSignal): UpstreamError {
  if (err instanceof UpstreamError) return err;
  if (signal.aborted) return abortedError();
  if (err instanceof undiciErrors.HeadersTimeoutError || err instanceof undiciErrors.BodyTimeoutError) {
    return new UpstreamError({ kind: 'timeout', message: `upstream timed out: ${(err as Error).message}`, cause: err });
  }
  const code = (err as { code?: string }).code;
  if (code !== undefined && OUT_OF_LOCAL_RESOURCES.has(code)) {
    // This machine, not the upstream: no socket could be made. Skipped, so no breaker, budget
    // or health counts it, and the client hears 503 gateway_overloaded.
    return new UpstreamError({
      kind: 'connection_error',
      skipped: 'local_resources',
      message: `the gateway could not open a connection: this machine is out of ${code === 'EADDRNOTAVAIL' ? 'local ports' : 'open files'} (${code}); raise the open-file limit (ulimit -n) or lower server.max_in_flight`,
      cause: err,
    });
  }
  return new UpstreamError({
    kind: 'connection_error',
    message: `upstream connection failed${code ? ` (${code})` : ''}: ${(err as Error).message}`,
    cause: err,
  });
}

/**
 * Errors of the local machine when making a socket: file descriptors (EMFILE per process,
 * ENFILE system-wide), kernel buffers or memory, ephemeral ports (EADDRNOTAVAIL on connect).
 */
const OUT_OF_LOCAL_RESOURCES: ReadonlySet<string> = new Set(['EMFILE', 'ENFILE', 'ENOBUFS', 'ENOMEM', 'EADDRNOTAVAIL']);

/** A delta that carries something a client would render: anything beyond the role-only opener. */
function hasContent(d: ChatCompletionChunk['choices'][number]['delta']): boolean {
  return (d.content !== undefined && d.content !== null && d.content !== '') || !!d.tool_calls || !!d.refusal;
}

async function openStream(
  adapter: ProviderAdapter,
  ctx: TranslateContext,
  body: Dispatcher.ResponseData['body'],
  controller: AbortController,
  redactor: Redactor,
  sink: MalformedEventSink | undefined,
): Promise<StreamResult> {
  const decoder = new SseDecoder();
  const translator = adapter.createStreamTranslator(ctx);
  const tolerance = new MalformedEventTolerance();
  const iterator = body[Symbol.asyncIterator]();
  const head: ChatCompletionChunk[] = [];
  let complete = false;
  let finished = false; // a finish_reason was seen
  // The commit point was reached: a chunk carried content, usage or a finish_reason.
  let committed = false;

  // Translates the events into `out`, looking at each new chunk once for both flags. A
  // malformed event is skipped while the tolerance allows (before the commit point too: one
  // garbled event is no reason to fail over), and breaks the stream when they repeat.
  const feed = (events: ReturnType<SseDecoder['push']>, out: ChatCompletionChunk[]): void => {
    for (const ev of events) {
      if (complete) return;
      const before = out.length;
      try {
        complete = translator.push(ev, out);
      } catch (err) {
        if (!(err instanceof MalformedEvent) || !tolerance.malformed()) throw err;
        out.length = before;
        sink?.skipped(redacted(err, redactor));
        continue;
      }
      tolerance.good();
      for (let i = before; i < out.length; i++) {
        const chunk = out[i];
        if (chunk.usage) committed = true;
        for (const c of chunk.choices) {
          if (c.finish_reason) finished = committed = true;
          else if (!committed && hasContent(c.delta)) committed = true;
        }
      }
    }
  };

  // Read until the commit point: the first content-bearing chunk, or the end.
  while (!committed && !complete) {
    const next = await iterator.next();
    if (next.done) {
      feed(decoder.end(), head);
      if (!complete && !finished) {
        throw new UpstreamError({ kind: 'server_error', message: 'upstream stream ended before any content' });
      }
      complete = true;
      break;
    }
    feed(decoder.push(next.value as Buffer), head);
  }

  async function* rest(): AsyncGenerator<ChatCompletionChunk[]> {
    try {
      while (!complete) {
        const next = await iterator.next();
        const out: ChatCompletionChunk[] = [];
        if (next.done) {
          feed(decoder.end(), out);
          if (out.length > 0) yield out;
          if (!complete && !finished) {
            throw new UpstreamError({ kind: 'server_error', message: 'upstream stream ended before completion' });
          }
          // No end marker, but the answer had finished: finalise as complete.
          complete = true;
          return;
        }
        let broke: unknown;
        try {
          feed(decoder.push(next.value as Buffer), out);
        } catch (err) {
          broke = err;
        }
        // The chunks that came before a break in the same read still reach the client.
        if (out.length > 0) yield out;
        if (broke !== undefined) throw broke;
      }
    } catch (err) {
      if (err instanceof UpstreamError) throw redacted(err, redactor);
      if (controller.signal.aborted) throw abortedError();
      throw redacted(new UpstreamError({ kind: 'connection_error', message: `upstream stream broke: ${(err as Error).message}`, cause: err }), redactor);
    } finally {
      if (!complete) controller.abort();
      else finishBody(body, iterator);
    }
  }

  return { type: 'stream', head, complete, rest: rest(), abort: () => controller.abort() };
}
