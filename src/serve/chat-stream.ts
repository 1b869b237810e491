import type { ChatCompletionChunk } from '../core/openai-types.ts';
import type { ResultRef } from '../core/flow.ts';
import { toUpstreamError } from '../core/upstream-error.ts';
import type { StreamResult } from '../providers/transport.ts';
import type { FlowHandle } from './flow-handle.ts';

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
 * chunks carry the first stream's id and lose their role-only opener). The HTTP pipe reads
 * `upstream` itself (no extra async layer per batch on the hot path), passes each batch
 * through `forward`, and says how the upstream ended: `ended()`, or `resume(err)` after a
 * break, which reports it to the flow and tells whether a continuation took over.
 *
 * @example
 * for (;;) {
 *   try { for await (const b of stream.upstream.rest) write(stream.forward(b)); stream.ended(); break; }
 *   catch (err) { if (!(await stream.resume(err))) break; }   // resume throws the final error
 * }
 */
export class ChatStream {
  readonly #handle: FlowHandle;
  readonly #opts: ChatStreamOptions;
  readonly #now: () => number;
  #result: StreamResult;
  #continuation = false;
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

  /** The upstream stream to read now: the one that committed, then a continuation's. */
  get upstream(): StreamResult {
    return this.#result;
  }

  /** True once the client left (or shutdown cut the stream). */
  get gone(): boolean {
    return this.#gone;
  }

  /** The client left: abort the upstream and the flow. */
  cancel(): void {
    if (this.#gone) return;
    this.#gone = true;
    this.#result.abort();
    this.#handle.cancel();
  }

  /** One batch for the client: stamps the idle watchdog, rewrites a continuation's, keeps what a continuation needs. */
  forward(batch: ChatCompletionChunk[]): ChatCompletionChunk[] {
    this.#handle.live.activity.lastChunkAt = this.#now();
    const out = this.#continuation ? asContinuation(batch, this.#id) : batch;
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

  /** The upstream ended with a complete answer. */
  ended(): void {
    this.#handle.send({ type: 'END' });
    this.#opts.onComplete?.();
  }

  /**
   * The upstream broke with `err`: the flow hears it and decides. Resolves true when a
   * continuation took over (read `upstream` again), false when the client is gone; throws
   * the error that ends the stream otherwise.
   */
  async resume(err: unknown): Promise<boolean> {
    if (this.#gone) return false;
    this.#handle.send({ type: 'BROKEN', error: toUpstreamError(err), partial: this.#partial, toolCalls: this.#toolCalls });
    const next = await this.#handle.afterBreak();
    if (this.#gone) {
      if ('ref' in next) (this.#handle.resultOf(next.ref) as StreamResult).abort();
      return false;
    }
    if ('error' in next) throw next.error;
    this.#result = this.#handle.resultOf(next.ref) as StreamResult;
    this.#continuation = true;
    return true;
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
