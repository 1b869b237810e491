import { anthropicAdapter } from './anthropic.ts';
import { googleAdapter } from './google.ts';
import { openaiAdapter, openaiCompatibleAdapter } from './openai.ts';
import type { ProviderAdapter, ProviderTarget } from './types.ts';

const ADAPTERS: Record<ProviderTarget['type'], ProviderAdapter> = {
  openai: openaiAdapter,
  'openai-compatible': openaiCompatibleAdapter,
  anthropic: anthropicAdapter,
  google: googleAdapter,
};

/** The adapter that speaks `target`'s wire format. */
export function adapterFor(target: ProviderTarget): ProviderAdapter {
  return ADAPTERS[target.type];
}
