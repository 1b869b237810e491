import OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startSimulator, type SimulatorHandle } from '../../src/simulator/index.ts';

let sim: SimulatorHandle;
let client: OpenAI;
beforeAll(async () => {
  sim = await startSimulator({ models: { 'gpt-4o': { completion_tokens: 5 } } });
  client = new OpenAI({ baseURL: `${sim.url}/v1`, apiKey: 'sk-test', maxRetries: 0 });
});
afterAll(() => sim.close());
beforeEach(() => sim.reset());

const messages = [{ role: 'user' as const, content: 'Say hello to the parrot' }];

describe('the official openai SDK against the simulator', () => {
  it('parses a completion and exposes the request id', async () => {
    const { data, request_id } = await client.chat.completions.create({ model: 'gpt-4o', messages }).withResponse();
    expect(data.choices[0].message.content).toMatch(/^Simulated reply from gpt-4o: \w+$/);
    expect(data.usage).toMatchObject({ prompt_tokens: 5, completion_tokens: 5, total_tokens: 10 });
    expect(request_id).toMatch(/^req_/);
  });

  it('streams text and usage', async () => {
    const stream = await client.chat.completions.create({ model: 'gpt-4o', messages, stream: true, stream_options: { include_usage: true } });
    let text = '';
    let usage: unknown = null;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? '';
      if (chunk.usage) usage = chunk.usage;
    }
    expect(text).toMatch(/^Simulated reply from gpt-4o: \w+$/);
    expect(usage).toMatchObject({ completion_tokens: 5 });
  });

  it('assembles a streamed tool call with the SDK helper', async () => {
    const runner = client.chat.completions.stream({
      model: 'gpt-4o',
      messages,
      tools: [{ type: 'function', function: { name: 'greet', parameters: { type: 'object', properties: { who: { type: 'string' } }, required: ['who'] } } }],
    });
    const final = await runner.finalChatCompletion();
    expect(final.choices[0].finish_reason).toBe('tool_calls');
    const call = final.choices[0].message.tool_calls![0];
    expect(call.type === 'function' && call.function).toEqual({ name: 'greet', arguments: '{"who":"simulated who"}' });
  });

  it('maps simulated errors onto the SDK error classes with status, code and headers', async () => {
    sim.setModel('gpt-4o', { faults: [{ type: 'error', kind: 'quota_exceeded', first_n: 1 }, { type: 'error', kind: 'rate_limit', first_n: 2, retry_after_s: 3 }] });
    const quota = await client.chat.completions.create({ model: 'gpt-4o', messages }).catch((e: unknown) => e);
    expect(quota).toBeInstanceOf(OpenAI.RateLimitError);
    expect((quota as InstanceType<typeof OpenAI.RateLimitError>).code).toBe('insufficient_quota');
    const limited = (await client.chat.completions.create({ model: 'gpt-4o', messages }).catch((e: unknown) => e)) as InstanceType<typeof OpenAI.RateLimitError>;
    expect(limited).toBeInstanceOf(OpenAI.RateLimitError);
    expect(limited.code).toBe('rate_limit_exceeded');
    expect(limited.headers?.get('retry-after')).toBe('3');
  });

  it('surfaces an in-band stream error as an APIError while iterating', async () => {
    sim.setModel('gpt-4o', { faults: [{ type: 'in_band_error', kind: 'server_error' }] });
    const stream = await client.chat.completions.create({ model: 'gpt-4o', messages, stream: true });
    const seen: string[] = [];
    const err = await (async () => {
      for await (const chunk of stream) seen.push(chunk.choices[0]?.delta.role ?? '');
    })().catch((e: unknown) => e);
    expect(seen).toEqual(['assistant']);
    expect(err).toBeInstanceOf(OpenAI.APIError);
    expect((err as Error).message).toContain('The server had an error');
  });
});
