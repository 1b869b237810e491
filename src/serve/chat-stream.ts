import type { ChatCompletionChunk } from '../core/openai-types.ts';
import type { ResultRef } from '../core/flow.ts';
import { toUpstreamError } from '../core/upstream-error.ts';
import type { StreamResult } from '../providers/transport.ts';
import type { FlowHandle } from './flow-runtime.ts';

/** What the stream tells its consumer besides the chunks. */
export interface ChatStreamOptions {
  /** A later step can continue a broken stream: keep the text the client got. */
  continuable: boolean;
  /** Sees every batch the client gets (e.g. to cache the whole answer). */
  observe?: (batch: readonly ChatCompletionChunk[]) => void;
  /** Called once when the stream completed whole. */
  onComplete?: () => void;
}

/**
 * A committed stream as the client sees it: one stream of chunk batches across the upstream
 * that committed it and any continuation a prefill-capable step makes after a break (its
 * chunks carry the first stream's id and lose their role-only opener). Iterating ends after
 * the last batch of a complete answer; it throws the UpstreamError that ended it otherwise.
 * Every chunk stamps the flow's idle watchdog; a break is reported to the flow, which decides
 * whether a continuation takes over.
 */
export class ChatStream implements AsyncIterable<ChatCompletionChunk[]> {
  readonly #handle: FlowHandle;
  readonly #opts: ChatStreamOptions;
  readonly #now: () => number;
  #result: StreamResult;
  #gone = false;
  #partial = '';
  #toolCalls = false;
  #id: string | undefined;

  constructor(handle: FlowHandle, ref: ResultRef, now: () => number, opts: ChatStreamOptions) {
    this.#handle = handle;
    this.#result = handle.resultOf(ref) as StreamResult;
    this.#now = now;
    this.#opts = opts;
  }

  /** The client left: abort the upstream and the flow. */
  cancel(): void {
    if (this.#gone) return;
    this.#gone = true;
    this.#result.abort();
    this.#handle.cancel();
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<ChatCompletionChunk[], void> {
    let continuation = false;
    for (;;) {
      const result = this.#result;
      try {
        yield this.#forward(result.head, continuation);
        for await (const batch of result.rest) {
          if (this.#gone) return;
          this.#handle.live.activity.lastChunkAt = this.#now();
          yield this.#forward(batch, continuation);
        }
        this.#handle.send({ type: 'END' });
        this.#opts.onComplete?.();
        return;
      } catch (err) {
        if (this.#gone) return;
        this.#handle.send({ type: 'BROKEN', error: toUpstreamError(err), partial: this.#partial, toolCalls: this.#toolCalls });
        const next = await this.#handle.afterBreak();
        if (this.#gone) {
          if ('ref' in next) (this.#handle.resultOf(next.ref) as StreamResult).abort();
          return;
        }
        if ('error' in next) throw next.error;
        this.#result = this.#handle.resultOf(next.ref) as StreamResult;
        continuation = true;
      }
    }
  }

  #forward(batch: ChatCompletionChunk[], continuation: boolean): ChatCompletionChunk[] {
    const out = continuation ? asContinuation(batch, this.#id) : batch;
    if (this.#opts.continuable) {
      for (const c of out) {
        this.#id ??= c.id;
        const d = c.choices[0]?.delta;
        if (d?.content) this.#partial += d.content;
        if (d?.tool_calls) this.#toolCalls = true;
      }
    }
    this.#opts.observe?.(out);
    return out;
  }
}

/** A continuation's chunks as part of the first stream: its id, no second role opener. */
function asContinuation(batch: ChatCompletionChunk[], id: string | undefined): ChatCompletionChunk[] {
  const out: ChatCompletionChunk[] = [];
  for (const c of batch) {
    const d = c.choices[0]?.delta;
    const roleOnly = d !== undefined && d.role !== undefined && !d.content && !d.tool_calls && !c.choices[0].finish_reason;
    if (roleOnly) continue;
    if (d?.role !== undefined) {
      const { role: _role, ...delta } = d;
      out.push({ ...c, id: id ?? c.id, choices: [{ ...c.choices[0], delta }] });
    } else out.push(id === undefined ? c : { ...c, id });
  }
  return out;
}
