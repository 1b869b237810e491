import type { ChatCompletion, ChatCompletionChunk, FinishReason, ToolCall, Usage } from '../core/openai-types.ts';

/**
 * Rebuilds the chat.completion a stream amounted to (first choice: content, tool calls,
 * finish reason, usage), so a streamed answer can be cached like a plain one.
 */
export class StreamAssembler {
  #id = '';
  #model = '';
  #created = 0;
  #content = '';
  #tools: ToolCall[] = [];
  #finish: FinishReason | null = null;
  #usage: Usage | undefined;

  push(chunks: readonly ChatCompletionChunk[]): void {
    for (const c of chunks) {
      if (this.#id === '') {
        this.#id = c.id;
        this.#model = c.model;
        this.#created = c.created;
      }
      if (c.usage) this.#usage = c.usage;
      const choice = c.choices[0];
      if (!choice) continue;
      if (typeof choice.delta.content === 'string') this.#content += choice.delta.content;
      for (const t of choice.delta.tool_calls ?? []) {
        const call = (this.#tools[t.index] ??= { id: '', type: 'function', function: { name: '', arguments: '' } });
        if (t.id) call.id = t.id;
        if (t.function?.name) call.function.name += t.function.name;
        if (t.function?.arguments) call.function.arguments += t.function.arguments;
      }
      if (choice.finish_reason) this.#finish = choice.finish_reason;
    }
  }

  /** The whole answer; undefined unless the stream finished (a finish_reason was seen). */
  completion(): ChatCompletion | undefined {
    if (this.#finish === null) return undefined;
    const tools = this.#tools.filter(Boolean);
    return {
      id: this.#id,
      object: 'chat.completion',
      created: this.#created,
      model: this.#model,
      choices: [
        {
          index: 0,
          message: { role: 'assistant', content: tools.length > 0 && this.#content === '' ? null : this.#content, ...(tools.length > 0 ? { tool_calls: tools } : {}) },
          finish_reason: this.#finish,
        },
      ],
      ...(this.#usage ? { usage: this.#usage } : {}),
    };
  }
}
