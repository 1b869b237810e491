import type { ConfigFile } from './schema.ts';

/**
 * The embedded default: three providers named as the seed names them, each speaking its own
 * wire format, all served by the built-in simulator, with a default failover chain across
 * them. No keys, no network.
 */
export const DEFAULT_CONFIG: ConfigFile = {
  server: { host: '127.0.0.1', port: 8080 },
  simulator: { enabled: true },
  // A local playground: the visualizer's chaos panel works out of the box (loopback only).
  chaos: { enabled: true },
  providers: [
    // Prices (USD per 1,000 tokens, the providers' list prices for these models) feed
    // X-Hedge-Config's max_additional_cost estimate (docs/hedging.md).
    {
      name: 'openai',
      type: 'openai',
      base_url: 'simulator',
      models: [
        { name: 'gpt-4-turbo-preview', price: { input_per_1k: 0.01, output_per_1k: 0.03 } },
        { name: 'gpt-3.5-turbo', price: { input_per_1k: 0.0005, output_per_1k: 0.0015 } },
      ],
    },
    { name: 'anthropic', type: 'anthropic', base_url: 'simulator', models: [{ name: 'claude-3-opus', price: { input_per_1k: 0.015, output_per_1k: 0.075 } }] },
    { name: 'google', type: 'google', base_url: 'simulator', models: [{ name: 'gemini-pro', price: { input_per_1k: 0.0005, output_per_1k: 0.0015 } }] },
  ],
  models: {
    'gpt-4-turbo-preview': { anthropic: 'claude-3-opus', google: 'gemini-pro' },
    'gpt-3.5-turbo': { anthropic: 'claude-3-opus', google: 'gemini-pro' },
    'claude-3-opus': { openai: 'gpt-4-turbo-preview', google: 'gemini-pro' },
    'gemini-pro': { openai: 'gpt-4-turbo-preview', anthropic: 'claude-3-opus' },
  },
  resilience: {
    // Requests without headers still fail over across the three providers.
    failover: { providers: ['openai', 'anthropic', 'google'] },
    degraded: { 'gpt-4-turbo-preview': 'gpt-3.5-turbo', 'claude-3-opus': 'gpt-3.5-turbo', 'gemini-pro': 'gpt-3.5-turbo' },
  },
  // X-Quality-Score of a degraded answer, by the model that served it.
  degraded_mode: { quality: { 'gpt-4-turbo-preview': 10, 'claude-3-opus': 9, 'gemini-pro': 8, 'gpt-3.5-turbo': 6 } },
};
