import type { ChatCompletionChunk } from '../core/openai-types.ts';
import type { ErrorKind } from '../core/error-kinds.ts';
import { UpstreamError } from '../core/upstream-error.ts';
import { SseDecoder } from '../providers/sse.ts';
import type { AttemptResult } from '../providers/transport.ts';
import type { HeaderMap, ProviderAdapter, TranslateContext } from '../providers/types.ts';
import { anthropicDialect } from '../simulator/dialects/anthropic.ts';
import { googleDialect } from '../simulator/dialects/google.ts';
import { openaiDialect } from '../simulator/dialects/openai.ts';
import type { Dialect, FlatHeaders } from '../simulator/dialects/types.ts';
import type { Turn } from '../simulator/answer.ts';
import type { Fault } from './faults.ts';

/** The wire format a provider type speaks, as the simulator renders it. */
export function dialectOf(adapter: ProviderAdapter): Dialect {
  return adapter.type === 'anthropic' ? anthropicDialect : adapter.type === 'google' ? googleDialect : openaiDialect;
}

function turnOf(ctx: TranslateContext): Turn {
  return { model: ctx.model, stream: ctx.stream, promptHash: 0, promptTokens: 0, sse: ctx.stream, maxTokens: undefined, tool: null, jsonSchema: undefined, includeUsage: false };
}

function headerMap(flat: FlatHeaders): HeaderMap {
  const out: HeaderMap = {};
  for (let i = 0; i < flat.length; i += 2) out[flat[i].toLowerCase()] = flat[i + 1];
  return out;
}

/** `err`, its message marked as injected by `fault` (logs, error bodies and incidents all carry the mark). */
export function marked(err: UpstreamError, fault: Fault): UpstreamError {
  return new UpstreamError({
    kind: err.kind,
    message: `${err.message} [injected by parrot chaos ${fault.id}]`,
    status: err.status,
    providerCode: err.providerCode,
    param: err.param,
    hints: err.hints,
    inBand: err.inBand,
    fatal: err.fatal,
    skipped: err.skipped,
    cause: err.cause,
  });
}

/**
 * The provider's own response for an error of `kind`, rendered as the provider sends it and
 * read back by the provider's adapter exactly as a real response is: the result is what the
 * gateway would make of that provider failing that way. A `connection_error` has no shape (the
 * connection drops). A refusal some providers answer with a 200 (Gemini's blocked prompt)
 * goes through the adapter's response or stream path.
 */
export function renderedError(kind: ErrorKind, fault: Fault, adapter: ProviderAdapter, ctx: TranslateContext): AttemptResult {
  if (kind === 'connection_error') {
    throw marked(new UpstreamError({ kind, message: 'upstream connection failed (ECONNRESET): other side closed' }), fault);
  }
  const rendered = dialectOf(adapter).error(kind, turnOf(ctx), { headers: {}, ...(fault.retryAfterS !== undefined ? { retryAfterS: fault.retryAfterS } : {}) });
  try {
    if (rendered.status < 200 || rendered.status >= 300) throw adapter.classifyError(rendered.status, headerMap(rendered.headers), rendered.body);
    if (!ctx.stream) return { type: 'completion', completion: adapter.parseResponse(JSON.parse(rendered.body), ctx) };
    const decoder = new SseDecoder();
    const translator = adapter.createStreamTranslator(ctx);
    const head: ChatCompletionChunk[] = [];
    let complete = false;
    for (const ev of [...decoder.push(rendered.body), ...decoder.end()]) if (!complete) complete = translator.push(ev, head);
    return { type: 'stream', head, complete: true, rest: (async function* () {})(), abort() {} };
  } catch (err) {
    throw err instanceof UpstreamError ? marked(err, fault) : err;
  }
}

/** What the adapter makes of the provider's malformed stream event: its own malformed-chunk error. */
export function malformedChunkError(fault: Fault, adapter: ProviderAdapter, ctx: TranslateContext): UpstreamError {
  const decoder = new SseDecoder();
  const translator = adapter.createStreamTranslator(ctx);
  try {
    for (const ev of [...decoder.push(dialectOf(adapter).malformed()), ...decoder.end()]) translator.push(ev, []);
  } catch (err) {
    if (err instanceof UpstreamError) return marked(err, fault);
    throw err;
  }
  return marked(new UpstreamError({ kind: 'server_error', message: 'upstream sent a malformed stream event' }), fault);
}
