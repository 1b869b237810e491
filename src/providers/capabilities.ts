import type { ProviderType } from './types.ts';

/**
 * Providers whose API continues a final assistant message ("prefill") instead of starting a
 * new one: Anthropic's Messages API does. OpenAI's Chat Completions treats a trailing
 * assistant message as context and writes a new answer, and Gemini's behaviour varies by
 * model, so neither is ever sent a continuation.
 */
const PREFILL: ReadonlySet<ProviderType> = new Set<ProviderType>(['anthropic']);

export function continuesPrefill(type: ProviderType): boolean {
  return PREFILL.has(type);
}
