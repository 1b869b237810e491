import type { ChatCompletionChunk } from '../../core/openai-types.ts';
import type { SseEvent } from '../sse.ts';
import type { StreamTranslator, TranslateContext } from '../types.ts';
import { classifyGoogleErrorBody, isGeminiErrorBody } from './errors.ts';
import { MalformedEvent } from '../malformed-event.ts';
import { finishReasonOf, promptBlocked, readParts, ToolCallIds, usageOf, type GoogleClock } from './response.ts';
import type { GeminiUsageMetadata, GenerateContentResponse } from './wire.ts';

type Delta = ChatCompletionChunk['choices'][number]['delta'];

/** Per-choice progress; one per candidate index (candidateCount is small). */
interface ChoiceState {
  toolCalls: number;
  finished: boolean;
}

/**
 * Translates `streamGenerateContent?alt=sse`: every `data:` is a whole GenerateContentResponse
 * holding the next slice of each candidate, with no event names and no [DONE]. The chunk that
 * carries finishReason is the last one.
 *
 * Out, per choice: a role chunk the first time the choice appears, a content delta per text
 * slice, one tool_calls delta with every complete call of a chunk, a finish_reason chunk; then,
 * once every choice has finished, one usage chunk (`choices: []`).
 */
export class GoogleStreamTranslator implements StreamTranslator {
  readonly #ctx: TranslateContext;
  readonly #clock: GoogleClock;
  #id = '';
  #created = 0;
  #model = '';
  #ids: ToolCallIds | undefined;
  readonly #choices: ChoiceState[] = [];
  #usage: GeminiUsageMetadata | undefined;
  #done = false;

  constructor(ctx: TranslateContext, clock: GoogleClock) {
    this.#ctx = ctx;
    this.#clock = clock;
  }

  push(event: SseEvent, out: ChatCompletionChunk[]): boolean {
    if (this.#done) return true;
    // A regex test stops at the first non-blank character; trim() would copy the whole chunk.
    if (/^\s*$/.test(event.data)) return false;
    let value: unknown;
    try {
      value = JSON.parse(event.data);
    } catch (cause) {
      throw new MalformedEvent('Gemini stream sent a chunk that is not JSON', cause, 'malformed_response');
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      throw new MalformedEvent('Gemini stream sent a chunk that is not a JSON object', undefined, 'malformed_response');
    }
    if (isGeminiErrorBody(value)) throw classifyGoogleErrorBody(value, true);
    const chunk = value as GenerateContentResponse;
    if (chunk.promptFeedback?.blockReason !== undefined) throw promptBlocked(chunk.promptFeedback, true);
    if (chunk.usageMetadata !== undefined) this.#usage = chunk.usageMetadata;

    const candidates = Array.isArray(chunk.candidates) ? chunk.candidates : [];
    if (candidates.length === 0) return false;
    if (this.#ids === undefined) this.#open(chunk);

    for (let i = 0; i < candidates.length; i++) {
      const c = candidates[i];
      const index = typeof c.index === 'number' ? c.index : i;
      const state = this.#choice(index, out);
      const { text, toolCalls } = readParts(c.content?.parts, this.#ids!);
      if (text !== '') out.push(this.#chunk(index, { content: text }, null));
      if (toolCalls.length > 0) {
        out.push(this.#chunk(index, {
          tool_calls: toolCalls.map((tc) => ({ index: state.toolCalls++, ...tc })),
        }, null));
      }
      const finish = finishReasonOf(c.finishReason, state.toolCalls > 0);
      if (finish !== null && !state.finished) {
        state.finished = true;
        out.push(this.#chunk(index, {}, finish));
      }
    }

    if (!this.#choices.every((s) => s === undefined || s.finished)) return false;
    this.#done = true;
    if (this.#usage !== undefined) {
      out.push({ id: this.#id, object: 'chat.completion.chunk', created: this.#created, model: this.#model, choices: [], usage: usageOf(this.#usage) });
    }
    return true;
  }

  /** The first chunk with candidates fixes the id, model and clock reading of the whole stream. */
  #open(chunk: GenerateContentResponse): void {
    this.#id = typeof chunk.responseId === 'string' && chunk.responseId !== '' ? chunk.responseId : this.#clock.newId();
    this.#created = Math.floor(this.#clock.now() / 1000);
    this.#model = typeof chunk.modelVersion === 'string' && chunk.modelVersion !== '' ? chunk.modelVersion : this.#ctx.model;
    this.#ids = new ToolCallIds(this.#id);
  }

  #choice(index: number, out: ChatCompletionChunk[]): ChoiceState {
    let state = this.#choices[index];
    if (state === undefined) {
      state = { toolCalls: 0, finished: false };
      this.#choices[index] = state;
      out.push(this.#chunk(index, { role: 'assistant', content: '' }, null));
    }
    return state;
  }

  #chunk(index: number, delta: Delta, finish: ChatCompletionChunk['choices'][number]['finish_reason']): ChatCompletionChunk {
    return {
      id: this.#id,
      object: 'chat.completion.chunk',
      created: this.#created,
      model: this.#model,
      choices: [{ index, delta, finish_reason: finish, logprobs: null }],
    };
  }
}
