import { describe, expect, it } from 'vitest';
import { parseModelConfig, parseSimulatorFile, SimConfigError, startSimulator } from '../../src/simulator/index.ts';

describe('simulator config validation', () => {
  it('accepts every latency type, fault type and schedule', () => {
    const cfg = {
      latency: { type: 'heavy_tail', p50_ms: 100, p99_ms: 900, max_ms: 5000 },
      tokens_per_second: 50,
      completion_tokens: 32,
      faults: [
        { type: 'error', kind: 'rate_limit', retry_after_s: 3, first_n: 2 },
        { type: 'reset', probability: 0.1 },
        { type: 'hang', for_ms: 1000 },
        { type: 'slow_first_token', delay_ms: 500 },
        { type: 'cut', after_tokens: 3 },
        { type: 'stall', after_tokens: 1 },
        { type: 'malformed' },
        { type: 'no_done' },
        { type: 'in_band_error', kind: 'model_overloaded' },
      ],
    };
    expect(parseModelConfig(cfg)).toEqual(cfg);
  });

  const bad: Array<[string, unknown, string]> = [
    ['an unknown error kind', { faults: [{ type: 'error', kind: 'meltdown' }] }, 'faults[0].kind: Invalid option'],
    ['an unknown fault type', { faults: [{ type: 'explode' }] }, "faults[0].type: Invalid discriminator value. Expected 'error' | 'reset'"],
    ['a probability above 1', { faults: [{ type: 'reset', probability: 1.5 }] }, 'faults[0].probability: Too big'],
    ['a string latency', { latency: { type: 'fixed', ms: '5' } }, 'latency.ms: Invalid input: expected number, received string'],
    ['p99 below p50', { latency: { type: 'heavy_tail', p50_ms: 100, p99_ms: 50 } }, 'latency.p99_ms: p99_ms must be >= p50_ms'],
    ['an unknown field', { latency_ms: 5 }, '(root): Unrecognized key: "latency_ms"'],
    ['a missing kind', { faults: [{ type: 'in_band_error' }] }, 'faults[0].kind: Invalid option'],
  ];
  it.each(bad)('rejects %s, naming the field', (_name, input, message) => {
    expect(() => parseModelConfig(input)).toThrow(SimConfigError);
    expect(() => parseModelConfig(input)).toThrow(message);
  });

  it('startSimulator and setModel reject invalid configs with the model in the path', async () => {
    await expect(startSimulator({ models: { 'gpt-4o': { latency: { type: 'fixed', ms: -1 } } } as never })).rejects.toThrow(
      'models.gpt-4o.latency.ms: Too small',
    );
    const sim = await startSimulator();
    try {
      expect(() => sim.setModel('m', { faults: [{ type: 'cut', after_tokens: 1.5 }] })).toThrow('models.m.faults[0].after_tokens');
    } finally {
      await sim.close();
    }
  });

  it('parses a whole simulate config file and names the bad field inside models', () => {
    expect(parseSimulatorFile({ models: { a: {} }, defaults: { completion_tokens: 3 }, seed: 9, api_keys: ['k'], call_log_limit: 10 })).toEqual({
      models: { a: {} },
      defaults: { completion_tokens: 3 },
      seed: 9,
      api_keys: ['k'],
      call_log_limit: 10,
    });
    expect(() => parseSimulatorFile({ models: { 'claude-3-opus': { faults: [{ type: 'error' }] } } })).toThrow('models.claude-3-opus.faults[0].kind');
    expect(() => parseSimulatorFile({ model: {} })).toThrow('(root): Unrecognized key: "model"');
  });
});
