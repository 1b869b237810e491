import type { ChatMessage, ChatRequest, ContentPart } from '../core/openai-types.ts';

/**
 * The names feature_flags' `disable_features` accepts, and the request fields each one removes.
 * A name outside this table is a 400 naming the field (nothing is silently ignored).
 */
export const FEATURES = {
  /** Image parts (`image_url`) of every message, and "image" from `modalities`. */
  image_generation: ['image_parts', 'image_modality'],
  /** Same as image_generation, by what the client sends rather than what it wants. */
  vision: ['image_parts'],
  /** `tools`, `tool_choice`, `parallel_tool_calls`; past tool calls and tool results become text. */
  code_execution: ['tools'],
  function_calling: ['tools'],
  /** `response_format` (json_schema, json_object): the model answers in plain text. */
  structured_output: ['response_format'],
  /** `input_audio` parts, the `audio` output field and "audio" from `modalities`. */
  audio: ['audio_parts', 'audio_output'],
  /** `file` parts. */
  file_input: ['file_parts'],
  /** `web_search_options`. */
  web_search: ['web_search'],
  /** `logprobs` and `top_logprobs`. */
  logprobs: ['logprobs'],
} as const satisfies Record<string, readonly string[]>;

export type Feature = keyof typeof FEATURES;
export const FEATURE_NAMES = Object.keys(FEATURES) as Feature[];

const PART_OF: Record<string, string> = { image_parts: 'image_url', audio_parts: 'input_audio', file_parts: 'file' };

/**
 * The request without the disabled features' fields, and the features it actually used (the
 * client is told those, not the ones it never sent). The request is copied, never changed.
 */
export function disableFeatures(req: ChatRequest, features: readonly string[]): { request: ChatRequest; removed: string[] } {
  const removed: string[] = [];
  let out: ChatRequest = req;
  const copy = (): ChatRequest => (out === req ? (out = { ...req }) : out);
  for (const f of features) {
    let used = false;
    for (const field of FEATURES[f as Feature] ?? []) {
      const part = PART_OF[field];
      if (part !== undefined) {
        const messages = withoutParts(out.messages, part);
        if (messages !== out.messages) {
          copy().messages = messages;
          used = true;
        }
        continue;
      }
      switch (field) {
        case 'image_modality':
        case 'audio_output': {
          const drop = field === 'image_modality' ? 'image' : 'audio';
          if (field === 'audio_output' && out.audio !== undefined) {
            delete copy().audio;
            used = true;
          }
          const mods = out.modalities;
          if (Array.isArray(mods) && mods.includes(drop)) {
            copy().modalities = mods.filter((m) => m !== drop);
            used = true;
          }
          break;
        }
        case 'tools':
          if (out.tools !== undefined || out.tool_choice !== undefined || out.parallel_tool_calls !== undefined || out.messages.some(hasToolTurn)) {
            const r = copy();
            delete r.tools;
            delete r.tool_choice;
            delete r.parallel_tool_calls;
            r.messages = r.messages.map(toolTurnAsText);
            used = true;
          }
          break;
        case 'response_format':
          if (out.response_format !== undefined) {
            delete copy().response_format;
            used = true;
          }
          break;
        case 'web_search':
          if (out.web_search_options !== undefined) {
            delete copy().web_search_options;
            used = true;
          }
          break;
        case 'logprobs':
          if (out.logprobs !== undefined || out.top_logprobs !== undefined) {
            const r = copy();
            delete r.logprobs;
            delete r.top_logprobs;
            used = true;
          }
          break;
      }
    }
    if (used) removed.push(f);
  }
  return { request: out, removed };
}

/** The messages without content parts of `type`; the same array when none had one. */
function withoutParts(messages: ChatMessage[], type: string): ChatMessage[] {
  let changed = false;
  const out = messages.map((m) => {
    if (!Array.isArray(m.content) || !m.content.some((p) => p.type === type)) return m;
    changed = true;
    const kept: ContentPart[] = m.content.filter((p) => p.type !== type);
    // A message cannot be empty: say what was there.
    return { ...m, content: kept.length > 0 ? kept : `[${type.replace('_url', '')} removed]` };
  });
  return changed ? out : messages;
}

const hasToolTurn = (m: ChatMessage): boolean => m.role === 'tool' || (m.tool_calls?.length ?? 0) > 0;

/**
 * Without tools, providers refuse tool calls and tool results in the history: a call becomes
 * the assistant's text naming it, a result becomes a user message quoting it.
 */
function toolTurnAsText(m: ChatMessage): ChatMessage {
  if (m.role === 'tool') {
    return { role: 'user', content: `[tool result] ${typeof m.content === 'string' ? m.content : JSON.stringify(m.content ?? '')}` };
  }
  if (m.tool_calls === undefined || m.tool_calls.length === 0) return m;
  const calls = m.tool_calls.map((c) => (c.type === 'function' ? `${c.function.name}(${c.function.arguments})` : `${c.custom.name}(${c.custom.input})`)).join('; ');
  const { tool_calls: _drop, ...rest } = m;
  const text = typeof m.content === 'string' && m.content !== '' ? `${m.content}\n` : '';
  return { ...rest, content: `${text}[tool calls] ${calls}` };
}

/** Estimated tokens of a message's text (4 characters a token; non-text parts count as 85, a low-detail image). */
export function estimateTokens(m: ChatMessage): number {
  const c = m.content;
  let chars = 0;
  let extra = 0;
  if (typeof c === 'string') chars = c.length;
  else if (Array.isArray(c)) for (const p of c) p.type === 'text' ? (chars += (p as { text: string }).text.length) : (extra += 85);
  for (const t of m.tool_calls ?? []) chars += JSON.stringify(t).length;
  return Math.ceil(chars / 4) + extra + 4;
}

/**
 * simplify_prompts: the system and developer messages, and the latest turns that fit in
 * `maxTokens` (estimated), starting at a user message so no tool result loses its call. The
 * last message is always kept. Returns how many messages were dropped.
 */
export function simplifyPrompt(req: ChatRequest, maxTokens: number): { request: ChatRequest; dropped: number } {
  const msgs = req.messages;
  const isSystem = (m: ChatMessage): boolean => m.role === 'system' || m.role === 'developer';
  let budget = maxTokens;
  let start = msgs.length - 1;
  // Walk back from the end while the turns fit.
  for (let i = msgs.length - 1; i >= 0; i--) {
    if (isSystem(msgs[i])) continue;
    const cost = estimateTokens(msgs[i]);
    if (i !== msgs.length - 1 && cost > budget) break;
    budget -= cost;
    start = i;
  }
  // Begin at a user message (a dropped assistant call would orphan its results).
  while (start < msgs.length - 1 && msgs[start].role !== 'user') start++;
  const kept = msgs.filter((m, i) => isSystem(m) || i >= start);
  const dropped = msgs.length - kept.length;
  return dropped === 0 ? { request: req, dropped } : { request: { ...req, messages: kept }, dropped };
}
