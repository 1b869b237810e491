/**
 * Anthropic Messages SSE → OpenAI chat.completion.chunk. One translator per upstream stream.
 *
 * Anthropic's sequence: message_start, then per content block content_block_start /
 * content_block_delta* / content_block_stop, then message_delta (stop_reason, usage) and
 * message_stop; `ping` may come anywhere, and an `error` event may arrive after the 200.
 */
import type { ChatCompletionChunk, ToolCallDelta } from '../../core/openai-types.ts';
import { MalformedEvent } from '../malformed-event.ts';
import type { SseEvent } from '../sse.ts';
import type { StreamTranslator } from '../types.ts';
import { inBandAnthropicError } from './errors.ts';
import { unixSeconds } from '../../core/ids.ts';
import { finishReason, toUsage } from './response.ts';
import type { MessagesUsage } from './wire.ts';

type Delta = ChatCompletionChunk['choices'][number]['delta'];

/**
 * Stateful translator for one Anthropic stream.
 *
 * @example
 * const t = new AnthropicStreamTranslator();
 * const out: ChatCompletionChunk[] = [];
 * for (const ev of decoder.push(bytes)) if (t.push(ev, out)) break; // message_stop
 */
export class AnthropicStreamTranslator implements StreamTranslator {
  #id = '';
  #model = '';
  #created = 0;
  #started = false;
  /** Anthropic content-block index → OpenAI tool_calls index (tool blocks counted in order). */
  #toolIndex: number[] = [];
  #toolCount = 0;
  #usage: MessagesUsage = {};

  push(event: SseEvent, out: ChatCompletionChunk[]): boolean {
    const data = parse(event.data);
    switch (data.type) {
      case 'message_start':
        this.#start(data.message);
        out.push(this.#chunk({ role: 'assistant', content: '' }, null));
        return false;
      case 'content_block_start':
        this.#blockStart(data, out);
        return false;
      case 'content_block_delta':
        this.#blockDelta(data, out);
        return false;
      case 'message_delta': {
        this.#requireStarted('message_delta');
        const usage = data.usage;
        if (usage !== null && typeof usage === 'object') mergeUsage(this.#usage, usage as Record<string, unknown>);
        const reason = finishReason((data.delta as { stop_reason?: string | null } | undefined)?.stop_reason);
        if (reason !== null) out.push(this.#chunk({}, reason));
        return false;
      }
      case 'message_stop':
        this.#requireStarted('message_stop');
        out.push({ id: this.#id, object: 'chat.completion.chunk', created: this.#created, model: this.#model, choices: [], usage: toUsage(this.#usage) });
        return true;
      case 'error':
        throw inBandAnthropicError(data);
      default:
        // ping, content_block_stop, and event types Anthropic may add later carry nothing to forward.
        return false;
    }
  }

  #start(message: unknown): void {
    const m = message as { id?: unknown; model?: unknown; usage?: unknown } | null;
    if (m === null || typeof m !== 'object' || typeof m.id !== 'string') throw malformed('message_start without a message');
    this.#id = m.id;
    this.#model = typeof m.model === 'string' ? m.model : '';
    this.#created = unixSeconds();
    this.#started = true;
    if (m.usage !== null && typeof m.usage === 'object') mergeUsage(this.#usage, m.usage as Record<string, unknown>);
  }

  #blockStart(data: Record<string, unknown>, out: ChatCompletionChunk[]): void {
    this.#requireStarted('content_block_start');
    const block = data.content_block as { type?: unknown; text?: unknown; id?: unknown; name?: unknown } | undefined;
    if (block?.type === 'text') {
      if (typeof block.text === 'string' && block.text !== '') out.push(this.#chunk({ content: block.text }, null));
    } else if (block?.type === 'tool_use') {
      if (typeof data.index !== 'number' || typeof block.id !== 'string' || typeof block.name !== 'string') {
        throw malformed('tool_use block without index, id or name');
      }
      const index = this.#toolCount++;
      this.#toolIndex[data.index] = index;
      const call: ToolCallDelta = { index, id: block.id, type: 'function', function: { name: block.name, arguments: '' } };
      out.push(this.#chunk({ tool_calls: [call] }, null));
    }
    // thinking and server-tool blocks have no Chat Completions equivalent.
  }

  #blockDelta(data: Record<string, unknown>, out: ChatCompletionChunk[]): void {
    this.#requireStarted('content_block_delta');
    const delta = data.delta as { type?: unknown; text?: unknown; partial_json?: unknown } | undefined;
    if (delta?.type === 'text_delta') {
      if (typeof delta.text !== 'string') throw malformed('text_delta without text');
      if (delta.text !== '') out.push(this.#chunk({ content: delta.text }, null));
    } else if (delta?.type === 'input_json_delta') {
      const index = typeof data.index === 'number' ? this.#toolIndex[data.index] : undefined;
      if (index === undefined) throw malformed('input_json_delta for a block that is not a tool_use');
      const partial = delta.partial_json;
      if (typeof partial === 'string' && partial !== '') {
        out.push(this.#chunk({ tool_calls: [{ index, function: { arguments: partial } }] }, null));
      }
    }
    // thinking_delta, signature_delta, citations_delta: nothing to forward.
  }

  #requireStarted(type: string): void {
    if (!this.#started) throw malformed(`${type} before message_start`);
  }

  #chunk(delta: Delta, finish: ChatCompletionChunk['choices'][number]['finish_reason']): ChatCompletionChunk {
    return {
      id: this.#id,
      object: 'chat.completion.chunk',
      created: this.#created,
      model: this.#model,
      choices: [{ index: 0, delta, finish_reason: finish }],
    };
  }
}

/** Newer API versions repeat cumulative usage in message_delta: the latest number wins. */
function mergeUsage(into: MessagesUsage, from: Record<string, unknown>): void {
  for (const key of ['input_tokens', 'output_tokens', 'cache_creation_input_tokens', 'cache_read_input_tokens'] as const) {
    const v = from[key];
    if (typeof v === 'number') into[key] = v;
  }
}

function parse(text: string): Record<string, unknown> {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (cause) {
    throw malformed(`event data is not JSON: ${text.slice(0, 100)}`, cause);
  }
  if (data === null || typeof data !== 'object' || typeof (data as { type?: unknown }).type !== 'string') {
    throw malformed('event data has no type');
  }
  return data as Record<string, unknown>;
}

/** Thrown before anything is appended or any state changes: the transport may skip the event. */
function malformed(what: string, cause?: unknown): MalformedEvent {
  return new MalformedEvent(`Malformed Anthropic stream: ${what}`, cause);
}
