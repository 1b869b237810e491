import { describe, expect, it } from 'vitest';
import { configFromObject } from '../../src/config/load.ts';
import { DEFAULT_CONFIG } from '../../src/config/default-config.ts';
import { RouteTable } from '../../src/routing/routes.ts';
import { buildPlan } from '../../src/routing/plan.ts';
import { adapterFor } from '../../src/providers/adapters.ts';
import { parsePolicy } from '../../src/policy/parse-headers.ts';
import { GatewayError } from '../../src/core/openai-error.ts';

const config = configFromObject({ ...DEFAULT_CONFIG, providers: [...DEFAULT_CONFIG.providers!, { name: 'local', type: 'openai-compatible', base_url: 'http://127.0.0.1:1/v1', models: ['llama3'] }] }, { env: {} });
const routes = new RouteTable(config, adapterFor);
const ctx = { providers: routes.providerNames, models: routes.modelNames, defaults: config.resilience.policy };
const plan = (model: string, headers: Record<string, string> = {}) =>
  buildPlan(routes, routes.resolve(model)!, model, parsePolicy(headers, ctx)).map((s) => `${s.provider}/${s.model}`);

describe('the failover chain', () => {
  it('follows the config default chain through the equivalents', () => {
    expect(plan('gpt-4-turbo-preview')).toEqual(['openai/gpt-4-turbo-preview', 'anthropic/claude-3-opus', 'google/gemini-pro']);
    expect(plan('claude-3-opus')).toEqual(['anthropic/claude-3-opus', 'openai/gpt-4-turbo-preview', 'google/gemini-pro']);
  });

  it('leaves out default-chain providers with no equivalent', () => {
    expect(plan('llama3')).toEqual(['local/llama3']);
  });

  it('X-Failover-Providers: the requested route first, then the others as listed', () => {
    expect(plan('gpt-4-turbo-preview', { 'x-failover-providers': 'google,openai' })).toEqual(['openai/gpt-4-turbo-preview', 'google/gemini-pro']);
  });

  it('X-Failover-Providers naming a provider without an equivalent is a 400', () => {
    expect(() => plan('gpt-4-turbo-preview', { 'x-failover-providers': 'openai,local' })).toThrow(GatewayError);
    expect(() => plan('gpt-4-turbo-preview', { 'x-failover-providers': 'openai,local' })).toThrow(
      'X-Failover-Providers: provider "local" serves no equivalent of model "gpt-4-turbo-preview" (add one under models: in the config)',
    );
  });

  it('X-Failover-Enabled: false means the requested route alone', () => {
    expect(plan('gpt-4-turbo-preview', { 'x-failover-enabled': 'false' })).toEqual(['openai/gpt-4-turbo-preview']);
  });

  it('X-Failover-Config: primary then fallbacks, carrying their rules', () => {
    const cfg = {
      primary: { provider: 'openai', model: 'gpt-4-turbo-preview' },
      fallbacks: [
        { trigger: ['timeout', 'rate_limit'], provider: 'anthropic', model: 'claude-3-opus', max_latency_increase: 500 },
        { trigger: 'any_error', provider: 'openai', model: 'gpt-3.5-turbo', reduce_max_tokens: 0.5 },
      ],
    };
    const steps = buildPlan(routes, routes.resolve('gpt-4-turbo-preview')!, 'gpt-4-turbo-preview', parsePolicy({ 'x-failover-config': JSON.stringify(cfg) }, ctx));
    expect(steps.map((s) => [s.provider, s.model, s.trigger, s.maxLatencyIncreaseMs, s.reduceMaxTokens])).toEqual([
      ['openai', 'gpt-4-turbo-preview', undefined, undefined, undefined],
      ['anthropic', 'claude-3-opus', ['timeout', 'rate_limit'], 500, undefined],
      ['openai', 'gpt-3.5-turbo', ['any_error'], undefined, 0.5],
    ]);
  });

  it('X-Failover-Config naming a model the provider does not serve is a 400 naming the field', () => {
    const cfg = { primary: { provider: 'openai', model: 'gpt-4-turbo-preview' }, fallbacks: [{ trigger: 'any_error', provider: 'google', model: 'gemini-ultra' }] };
    expect(() => plan('gpt-4-turbo-preview', { 'x-failover-config': JSON.stringify(cfg) })).toThrow(
      'X-Failover-Config: field "fallbacks[0].model": provider "google" does not serve model "gemini-ultra"',
    );
  });
});
