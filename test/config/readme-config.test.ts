import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { configFromObject } from '../../src/config/load.ts';

describe('the README configuration reference', () => {
  it('is a valid configuration, field by field', () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    const section = readme.slice(readme.indexOf('## Configuration'));
    const yaml = /```yaml\n([\s\S]*?)```/.exec(section)?.[1];
    expect(yaml).toBeDefined();
    const env = { PARROT_API_KEY: 'k', PARROT_ADMIN_KEY: 'a', OPENAI_API_KEY: 'o', ANTHROPIC_API_KEY: 'n', GEMINI_API_KEY: 'g', AZURE_OPENAI_KEY: 'z' };
    const config = configFromObject(parse(yaml!), { env, source: 'README.md' });
    expect(config.providers.map((p) => [p.target.name, p.target.type])).toEqual([
      ['openai', 'openai'],
      ['anthropic', 'anthropic'],
      ['google', 'google'],
      ['local', 'openai-compatible'],
      ['vllm', 'openai-compatible'],
      ['azure', 'openai-compatible'],
    ]);
    expect(config.providers[1].models).toEqual([{ name: 'claude-3-opus', upstream: 'claude-3-opus-20240229', prefill: true }]);
    expect(config.providers[4].models).toEqual([
      { name: 'llama-3.1-70b', upstream: 'llama-3.1-70b', prefill: true, prefillMode: 'continue_final_message' },
      { name: 'llama-3.1-8b', upstream: 'llama-3.1-8b', prefill: false },
    ]);
    expect(config.providers.map((p) => [p.target.name, p.connections, p.maxInFlight, p.queueTimeoutMs])).toEqual([
      ['openai', undefined, 10_000, 30_000],
      ['anthropic', undefined, 10_000, 30_000],
      ['google', undefined, 10_000, 30_000],
      ['local', 16, 64, 10_000],
      ['vllm', undefined, 10_000, 30_000],
      ['azure', undefined, 10_000, 30_000],
    ]);
    expect(config.server.maxInFlight).toBe(10_000);
    expect(config.resilience.policy.failover.providers).toEqual(['openai', 'anthropic', 'google']);
    expect(config.resilience.policy.failover.triggers).toEqual(['any_error']);
    expect(config.resilience.degraded).toEqual({ 'gpt-4-turbo-preview': 'gpt-3.5-turbo' });
    expect([config.degradedMode.quality, config.degradedMode.priorities, config.responseCache]).toEqual([
      { 'gpt-4-turbo-preview': 10, 'gpt-3.5-turbo': 6 },
      { keys: [{ key: 'k', max: 'high' }], default_max: 'normal' },
      { ttlMs: 300_000, maxBytes: 67_108_864, file: '.parrot/response-cache.json' },
    ]);
    expect(config.missingEnv).toEqual([]);
  });
});
