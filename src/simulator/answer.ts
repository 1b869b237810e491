/**
 * Deterministic answers: the same model and prompt always produce the same text (or the same
 * tool call), whichever provider dialect asked. Provider-neutral: dialects turn an `Answer`
 * into their own wire format.
 */
import { fnv1a, FNV_OFFSET, seededRng } from './rng.ts';
import type { SimPrefillMode } from './types.ts';

/** What a dialect extracted from a validated request. */
export interface Turn {
  model: string;
  stream: boolean;
  /** FNV-1a over every prompt text, in order. */
  promptHash: number;
  /** Whitespace-separated words of the prompt: the simulator's token count. */
  promptTokens: number;
  /**
   * Streamed as paced SSE events. False for a non-streamed call, and for Gemini's
   * streamGenerateContent without `alt=sse`, which answers its chunks as one JSON array body.
   */
  sse: boolean;
  /** The request's own cap (max_tokens, max_output_tokens...), if any. */
  maxTokens: number | undefined;
  /** The tool to call, decided from the tools offered, the tool choice and the last message; null answers text. */
  tool: { name: string; schema: unknown } | null;
  /** Answer with a JSON document matching this schema (structured output) instead of prose. */
  jsonSchema: unknown;
  /** OpenAI `stream_options.include_usage`. */
  includeUsage: boolean;
  /**
   * The request asks to continue its final assistant message (a prefix mode the model
   * honours): that message is not part of the prompt, and the answer resumes after its words.
   */
  prefill?: { mode: SimPrefillMode; assistant: string; words: number };
}

type FinishKind = 'stop' | 'length' | 'tool';

export interface Answer {
  /**
   * One entry per completion token: text pieces, or the tool's argument JSON in pieces. The
   * completion token count is `pieces.length`; the whole text is `pieces.join('')`.
   */
  pieces: string[];
  tool: { name: string; args: string; input: unknown } | null;
  finish: FinishKind;
}

/**
 * Accumulates the prompt's hash and word count in one pass, without concatenating strings.
 * Every dialect feeds it through `addContent`, so the same prompt text gives the same answer
 * whichever provider asked.
 */
export class PromptDigest {
  hash = FNV_OFFSET;
  words = 0;

  /** The prompt's token count as the dialects report it (never 0). */
  get tokens(): number {
    return Math.max(1, this.words);
  }

  /**
   * Adds a message's content: a string, or a list of parts/blocks whose `text` strings count
   * (OpenAI content parts, Anthropic blocks, Gemini parts); an Anthropic `tool_result` block
   * without text counts its own nested content. Anything else is ignored.
   */
  addContent(content: unknown): void {
    if (typeof content === 'string') this.add(content);
    else if (Array.isArray(content)) {
      for (const part of content) {
        if (typeof part !== 'object' || part === null) continue;
        const p = part as { text?: unknown; type?: unknown; content?: unknown };
        if (typeof p.text === 'string') this.add(p.text);
        else if (p.type === 'tool_result') this.addContent(p.content);
      }
    }
  }

  add(s: string): void {
    let h = this.hash;
    let w = this.words;
    let inWord = false;
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i);
      h = Math.imul(h ^ c, 0x01000193);
      const space = c === 32 || c === 10 || c === 9 || c === 13;
      if (!space && !inWord) w++;
      inWord = !space;
    }
    // A separator, so ["ab","c"] and ["a","bc"] hash differently.
    this.hash = Math.imul(h ^ 0x1f, 0x01000193) >>> 0;
    this.words = w;
  }
}

const VOCAB = (
  'the quick brown fox jumps over lazy dog while parrot routes every request across resilient ' +
  'providers with circuit breakers retries hedging and graceful failover so that applications ' +
  'stay online during partial outages latency spikes quota limits and overloaded models today'
).split(' ');

const JSON_PIECE = 8;

function splitPieces(s: string, size: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < s.length; i += size) out.push(s.slice(i, i + size));
  return out.length > 0 ? out : [''];
}

/**
 * The answer to `turn` for a model configured to answer `length` tokens. Text starts with
 * "Simulated reply from <model>:" and is cut at the request's max tokens (finish `length`).
 */
export function buildAnswer(turn: Turn, length: number): Answer {
  if (turn.tool !== null) {
    const input = sampleFromSchema(turn.tool.schema, 0, 'value');
    const args = JSON.stringify(input);
    return { pieces: splitPieces(args, JSON_PIECE), tool: { name: turn.tool.name, args, input }, finish: 'tool' };
  }
  if (turn.jsonSchema !== undefined) {
    return { pieces: splitPieces(JSON.stringify(sampleFromSchema(turn.jsonSchema, 0, 'value')), JSON_PIECE), tool: null, finish: 'stop' };
  }
  const n = turn.maxTokens !== undefined && turn.maxTokens < length ? Math.max(0, turn.maxTokens) : length;
  const pieces: string[] = [];
  const lead = ['Simulated', ' reply', ' from', ` ${turn.model}:`];
  for (let i = 0; i < n && i < lead.length; i++) pieces.push(lead[i]);
  if (n > lead.length) {
    const rng = seededRng(fnv1a(turn.model, turn.promptHash));
    for (let i = lead.length; i < n; i++) pieces.push(' ' + VOCAB[Math.floor(rng() * VOCAB.length)]);
  }
  // A continuation: the words the prefix already holds are not written again.
  return { pieces: turn.prefill === undefined ? pieces : pieces.slice(turn.prefill.words), tool: null, finish: n < length ? 'length' : 'stop' };
}

/**
 * A value that satisfies the JSON schema's required parts: required properties only, the first
 * enum/const/default when given, minimal arrays. Understands Gemini's upper-case type names.
 */
function sampleFromSchema(schema: unknown, depth: number, name: string): unknown {
  if (schema === null || typeof schema !== 'object' || depth > 8) return `simulated ${name}`;
  const s = schema as Record<string, unknown>;
  if ('const' in s) return s.const;
  if (Array.isArray(s.enum) && s.enum.length > 0) return s.enum[0];
  if ('default' in s) return s.default;
  const alt = (Array.isArray(s.anyOf) && s.anyOf) || (Array.isArray(s.oneOf) && s.oneOf);
  if (alt && alt.length > 0) return sampleFromSchema(alt[0], depth + 1, name);
  let type = s.type;
  if (Array.isArray(type)) type = type.find((t) => String(t).toLowerCase() !== 'null') ?? 'null';
  switch (typeof type === 'string' ? type.toLowerCase() : s.properties !== undefined ? 'object' : 'string') {
    case 'string':
      return `simulated ${name}`;
    case 'integer':
    case 'number':
      return typeof s.minimum === 'number' ? s.minimum : 1;
    case 'boolean':
      return true;
    case 'null':
      return null;
    case 'array': {
      const min = typeof s.minItems === 'number' ? s.minItems : 0;
      const items: unknown[] = [];
      for (let i = 0; i < min; i++) items.push(sampleFromSchema(s.items, depth + 1, name));
      return items;
    }
    default: {
      const out: Record<string, unknown> = {};
      const props = (s.properties ?? {}) as Record<string, unknown>;
      const required = Array.isArray(s.required) ? (s.required as unknown[]) : [];
      for (const key of required) {
        if (typeof key === 'string') out[key] = sampleFromSchema(props[key], depth + 1, key);
      }
      return out;
    }
  }
}
