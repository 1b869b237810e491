/**
 * A dialect is one provider's wire format, pure (no I/O): request validation into a neutral
 * `Turn`, and rendering of answers, streams and errors exactly as that provider sends them.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { ErrorKind } from '../../core/error-kinds.ts';
import type { Answer, Turn } from '../answer.ts';
import type { SimPrefillMode, SimProvider } from '../types.ts';

/** Response headers as a flat [name, value, name, value...] list (what writeHead takes fastest). */
export type FlatHeaders = string[];

/** A complete non-streamed response. */
export interface Rendered {
  status: number;
  headers: FlatHeaders;
  body: string;
}

/**
 * A 200 stream, pre-framed (each entry is one whole SSE event, terminators included):
 * `head` before any content, one `deltas` entry per completion token, `tail` after content
 * (finish, usage and the provider's end marker).
 */
export interface StreamPlan {
  headers: FlatHeaders;
  head: string[];
  deltas: string[];
  tail: string[];
  /** `tail` without the end-of-stream markers ([DONE], message_stop, finishReason): what `no_done` sends. */
  tailNoDone: string[];
}

export type ParseResult =
  | { ok: true; turn: Turn }
  /** `model`/`stream` as far as the body told them, for the call log. */
  | { ok: false; error: Rendered; model: string | null; stream: boolean };

/** Request facts outside the JSON body. */
export interface RequestContext {
  headers: IncomingHttpHeaders;
  /** Google: from the path. */
  model?: string;
  /** Google: from the method (streamGenerateContent). */
  stream?: boolean;
  /** Google: `?alt=sse`; a stream without it is answered as one JSON array. */
  sse?: boolean;
  /** Google: `?key=`. */
  queryKey?: string | null;
  /** The prefix modes a model honours (OpenAI: continue_final_message, prefix). */
  prefillModes?: (model: string) => ReadonlySet<SimPrefillMode>;
}

/** What an injected error is made of beside its kind. */
export interface ErrorDetail {
  /** The provider's retry hint, in seconds (`error` faults). */
  retryAfterS?: number;
  /** Replaces the provider's own message text. */
  message?: string;
  /** The call's request headers: OpenAI quotes the key it was given, masked, in its auth error. */
  headers: IncomingHttpHeaders;
}

export interface Dialect {
  readonly provider: SimProvider;
  /** Header-level checks (API key when keys are restricted, required version headers). */
  checkHeaders(ctx: RequestContext, keys: ReadonlySet<string> | null): Rendered | null;
  /** Validates a parsed JSON body. `body` is `undefined` when the bytes were not valid JSON. */
  parse(body: unknown, ctx: RequestContext): ParseResult;
  /** The answer as one body: every turn whose `sse` is false (non-streamed, or a stream the dialect answers at once). */
  respond(turn: Turn, answer: Answer): Rendered;
  /** The answer as a paced SSE stream: turns whose `sse` is true. */
  stream(turn: Turn, answer: Answer): StreamPlan;
  /** The provider's real error response for `kind` (status, headers, body) to this request. */
  error(kind: ErrorKind, turn: Turn, detail: ErrorDetail): Rendered;
  /** The provider's in-band stream error event for `kind`. */
  inBandError(kind: ErrorKind, turn: Turn, detail: ErrorDetail): string;
  /** One SSE data event whose JSON is broken. */
  malformed(): string;
  notFound(method: string, path: string): Rendered;
}
