import type { ChatCompletionChunk } from '../core/openai-types.ts';

/**
 * The upstream's own JSON text of a stream chunk that passed through untranslated (OpenAI's
 * own dialect), so the gateway can send it on as it came instead of serialising the parsed
 * object again, as it already does for a whole untranslated completion. Held on the chunk
 * under a symbol, not enumerable: a copy the gateway makes (`{ ...chunk, id }` for a
 * continuation) does not inherit it, and JSON never shows it. (A WeakMap cost more than the
 * serialisation it saves.)
 */
const RAW = Symbol('upstream text');
type WithRaw = ChatCompletionChunk & { [RAW]?: string };

/** Keep `data` as `chunk`'s text. Multi-line data is not kept: one SSE line per chunk on the way out. */
export function keepRaw(chunk: ChatCompletionChunk, data: string): void {
  if (data.indexOf('\n') === -1) Object.defineProperty(chunk, RAW, { value: data });
}

const NULL_USAGE_TAIL = ',"usage":null}';

/**
 * `chunk` as JSON for a client. Without `includeUsage` the `usage` field is dropped, as OpenAI
 * leaves it out for clients that did not ask (the gateway always asks upstream): the kept text
 * serves when `usage` is null and is its last field, as OpenAI sends it; otherwise the chunk
 * is serialised.
 */
export function chunkJson(chunk: ChatCompletionChunk, includeUsage: boolean): string {
  const raw = (chunk as WithRaw)[RAW];
  if (includeUsage || chunk.usage === undefined) return raw ?? JSON.stringify(chunk);
  if (chunk.usage === null && raw !== undefined && raw.endsWith(NULL_USAGE_TAIL)) return `${raw.slice(0, -NULL_USAGE_TAIL.length)}}`;
  const { usage: _drop, ...rest } = chunk;
  return JSON.stringify(rest);
}
