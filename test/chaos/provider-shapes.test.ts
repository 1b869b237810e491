import { describe, expect, it } from 'vitest';
import { malformedChunkError, renderedError } from '../../src/chaos/render-fault.ts';
import type { Fault } from '../../src/chaos/faults.ts';
import { ERROR_KINDS } from '../../src/core/error-kinds.ts';
import { UpstreamError } from '../../src/core/upstream-error.ts';
import { anthropicAdapter } from '../../src/providers/anthropic.ts';
import { googleAdapter } from '../../src/providers/google.ts';
import { openaiAdapter } from '../../src/providers/openai.ts';
import type { ProviderAdapter } from '../../src/providers/types.ts';

const fault = (f: Partial<Fault> = {}): Fault => ({ id: 'chaos_t1', target: 'p', fault: 'server_error', createdAt: 0, expiresAt: undefined, injected: 1, ...f });
const ADAPTERS: ProviderAdapter[] = [openaiAdapter, anthropicAdapter, googleAdapter];
const ctx = (a: ProviderAdapter, stream: boolean) => ({ target: { name: 'p', type: a.type, baseUrl: 'http://127.0.0.1:9' }, model: 'm', stream });

function thrown(fn: () => unknown): UpstreamError {
  try {
    fn();
  } catch (err) {
    return err as UpstreamError;
  }
  throw new Error('did not throw');
}

describe("injected errors come from each provider's own shape", () => {
  it('every error kind, rendered by each provider and read back by its adapter, is that kind and marked as injected', () => {
    const seen: string[] = [];
    for (const a of ADAPTERS) {
      for (const stream of [false, true]) {
        for (const kind of ERROR_KINDS) {
          const err = thrown(() => renderedError(kind, fault({ fault: kind }), a, ctx(a, stream)));
          expect(err).toBeInstanceOf(UpstreamError);
          seen.push(`${a.type}/${stream}/${kind}:${err.kind}`);
          expect(err.message).toMatch(/\[injected by parrot chaos chaos_t1\]$/);
        }
      }
    }
    expect(seen.filter((s) => s.split(':')[0].split('/')[2] !== s.split(':')[1])).toEqual([]);
    expect(seen).toHaveLength(ADAPTERS.length * 2 * ERROR_KINDS.length);
  });

  it("keeps each provider's codes and retry hints: OpenAI insufficient_quota, Anthropic overloaded_error, Gemini's retryDelay", () => {
    expect(thrown(() => renderedError('quota_exceeded', fault(), openaiAdapter, ctx(openaiAdapter, false)))).toMatchObject({ kind: 'quota_exceeded', status: 429, providerCode: 'insufficient_quota' });
    expect(thrown(() => renderedError('model_overloaded', fault(), anthropicAdapter, ctx(anthropicAdapter, false)))).toMatchObject({ kind: 'model_overloaded', status: 529, providerCode: 'overloaded_error' });
    const g = thrown(() => renderedError('rate_limit', fault({ retryAfterS: 38 }), googleAdapter, ctx(googleAdapter, false)));
    expect(g).toMatchObject({ kind: 'rate_limit', status: 429, providerCode: 'RESOURCE_EXHAUSTED' });
    expect(g.hints.retryAfterMs).toBe(38_000);
    expect(thrown(() => renderedError('rate_limit', fault({ retryAfterS: 7 }), openaiAdapter, ctx(openaiAdapter, false))).hints.retryAfterMs).toBe(7_000);
  });

  it("a malformed chunk is what each provider's stream translator makes of that provider's broken event", () => {
    for (const a of ADAPTERS) {
      const err = malformedChunkError(fault({ fault: 'malformed_chunk' }), a, ctx(a, true));
      expect(err.kind).toBe('server_error');
      expect(err.message).toMatch(/not (valid )?JSON|malformed|unreadable|could not parse/i);
    }
  });
});
