import OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { RunningGateway } from '../../src/gateway.ts';
import type { ErrorKind } from '../../src/core/error-kinds.ts';
import { sdkClient, startTestGateway } from '../helpers/gateway.ts';

let gw: RunningGateway;
let client: OpenAI;

beforeAll(async () => {
  // The core path alone: no retries, no failover, a breaker that never trips (tests/engine cover those).
  gw = await startTestGateway({ resilience: { retry: { max_retries: 0 }, breaker: { error_threshold: 1000 }, failover: { enabled: false } } });
  client = sdkClient(gw);
});
afterAll(() => gw.close());
beforeEach(() => gw.simulator!.reset());

const MODELS = [
  ['gpt-4-turbo-preview', 'openai'],
  ['claude-3-opus', 'anthropic'],
  ['gemini-pro', 'google'],
] as const;

const weatherTool: OpenAI.Chat.Completions.ChatCompletionTool = {
  type: 'function',
  function: {
    name: 'get_weather',
    description: 'Weather for a city',
    parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
  },
};

describe.each(MODELS)('official SDK -> gateway -> %s (%s wire format)', (model, provider) => {
  it('answers a non-streaming request and says who served it', async () => {
    const { data, response } = await client.chat.completions
      .create({ model, messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'Critical request' }], max_tokens: 40, temperature: 0.2 })
      .withResponse();
    expect(data.object).toBe('chat.completion');
    expect(data.choices[0].message.role).toBe('assistant');
    expect(data.choices[0].message.content).toMatch(/\w+/);
    expect(data.choices[0].finish_reason).toBe('stop');
    expect(data.usage!.total_tokens).toBe(data.usage!.prompt_tokens + data.usage!.completion_tokens);
    expect(data.usage!.completion_tokens).toBeGreaterThan(0);
    expect(response.headers.get('x-provider')).toBe(provider);
    expect(response.headers.get('x-model')).toBe(model);
    expect(response.headers.get('x-attempts')).toBe('1');
    expect(response.headers.get('x-failover-used')).toBe('false');
    expect(response.headers.get('x-request-id')).toMatch(/^req_/);
    expect(gw.simulator!.calls({ model })).toHaveLength(1);
  });

  it('streams the same answer, ending with usage when asked', async () => {
    const messages = [{ role: 'user' as const, content: 'Stream this' }];
    const whole = await client.chat.completions.create({ model, messages });
    const stream = await client.chat.completions.create({ model, messages, stream: true, stream_options: { include_usage: true } });
    let text = '';
    let finish: string | null = null;
    let usage: OpenAI.CompletionUsage | undefined;
    let roles = 0;
    for await (const chunk of stream) {
      if (chunk.usage) usage = chunk.usage;
      for (const c of chunk.choices) {
        text += c.delta.content ?? '';
        if (c.delta.role) roles++;
        if (c.finish_reason) finish = c.finish_reason;
      }
    }
    expect(text).toBe(whole.choices[0].message.content);
    expect(finish).toBe('stop');
    expect(roles).toBe(1);
    // Else the next line degenerates to toEqual(undefined) and passes with no usage anywhere.
    expect(whole.usage).toBeDefined();
    expect(usage).toEqual(whole.usage && expect.objectContaining({ completion_tokens: whole.usage.completion_tokens, prompt_tokens: whole.usage.prompt_tokens }));
  });

  it('streams without a usage chunk when not asked', async () => {
    const stream = await client.chat.completions.create({ model, messages: [{ role: 'user', content: 'hi' }], stream: true });
    const chunks = [];
    for await (const chunk of stream) chunks.push(chunk);
    expect(chunks.some((c) => c.usage)).toBe(false);
    expect(chunks.every((c) => c.choices.length === 1)).toBe(true);
  });

  it('returns tool calls, non-streaming and streamed', async () => {
    const messages = [{ role: 'user' as const, content: 'Weather in Paris?' }];
    const res = await client.chat.completions.create({ model, messages, tools: [weatherTool], tool_choice: 'auto' });
    const call = res.choices[0].message.tool_calls![0] as OpenAI.Chat.Completions.ChatCompletionMessageFunctionToolCall;
    expect(res.choices[0].finish_reason).toBe('tool_calls');
    expect(call.type).toBe('function');
    expect(call.function.name).toBe('get_weather');
    expect(Object.keys(JSON.parse(call.function.arguments))).toEqual(['city']);

    const stream = await client.chat.completions.create({ model, messages, tools: [weatherTool], stream: true });
    const streamed = (await collect(stream)).choices[0].message.tool_calls![0] as OpenAI.Chat.Completions.ChatCompletionMessageFunctionToolCall;
    expect(streamed.function.name).toBe('get_weather');
    expect(JSON.parse(streamed.function.arguments)).toEqual(JSON.parse(call.function.arguments));

    // The tool's answer goes back, and the model answers in text.
    const after = await client.chat.completions.create({
      model,
      tools: [weatherTool],
      messages: [...messages, res.choices[0].message, { role: 'tool', tool_call_id: call.id, content: '{"temp_c": 21}' }],
    });
    expect(after.choices[0].finish_reason).toBe('stop');
    expect(after.choices[0].message.content).toMatch(/\w+/);
  });

  it.each<[ErrorKind, number, abstract new (...args: never[]) => unknown]>([
    ['rate_limit', 429, OpenAI.RateLimitError],
    ['quota_exceeded', 429, OpenAI.RateLimitError],
    ['model_overloaded', 503, OpenAI.InternalServerError],
    ['server_error', 502, OpenAI.InternalServerError],
    ['context_length_exceeded', 400, OpenAI.BadRequestError],
    ['content_filter', 400, OpenAI.BadRequestError],
    ['auth_error', 502, OpenAI.InternalServerError],
    ['bad_request', 400, OpenAI.BadRequestError],
    ['timeout', 504, OpenAI.InternalServerError],
  ])('an upstream %s reaches the client as %i in OpenAI error shape', async (kind, status, ErrorClass) => {
    gw.simulator!.setModel(model, { faults: [{ type: 'error', kind }] });
    const err = await client.chat.completions.create({ model, messages: [{ role: 'user', content: 'x' }] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ErrorClass);
    const e = err as InstanceType<typeof OpenAI.APIError>;
    expect(e.status).toBe(status);
    expect(e.code).toBe(
      ({ rate_limit: 'rate_limit_exceeded', quota_exceeded: 'insufficient_quota', model_overloaded: 'model_overloaded', server_error: 'upstream_server_error', context_length_exceeded: 'context_length_exceeded', content_filter: 'content_filter', auth_error: 'upstream_auth_error', bad_request: 'bad_request', timeout: 'upstream_timeout' } as Record<ErrorKind, string>)[kind],
    );
    expect(e.headers?.get('x-provider')).toBe(provider);
    expect(e.headers?.get('x-attempts')).toBe('1');
    expect(gw.simulator!.calls({ model })).toHaveLength(1);
  });

  it('a connection reset before headers is a 502 connection error', async () => {
    gw.simulator!.setModel(model, { faults: [{ type: 'reset' }] });
    const err = (await client.chat.completions.create({ model, messages: [{ role: 'user', content: 'x' }] }).catch((e: unknown) => e)) as InstanceType<typeof OpenAI.APIError>;
    expect(err.status).toBe(502);
    expect(err.code).toBe('upstream_connection_error');
  });

  it('an in-band error before any content is an error response, not a 200', async () => {
    gw.simulator!.setModel(model, { faults: [{ type: 'in_band_error', kind: 'model_overloaded' }] });
    const err = (await client.chat.completions.create({ model, messages: [{ role: 'user', content: 'x' }], stream: true }).catch((e: unknown) => e)) as InstanceType<typeof OpenAI.APIError>;
    expect(err).toBeInstanceOf(OpenAI.APIError);
    expect(err.status).toBe(503);
  });

  it('a stream cut mid-answer ends with an in-band error and no [DONE]', async () => {
    gw.simulator!.setModel(model, { completion_tokens: 30, faults: [{ type: 'cut', after_tokens: 5 }] });
    const stream = await client.chat.completions.create({ model, messages: [{ role: 'user', content: 'x' }], stream: true });
    let text = '';
    const err = await (async () => {
      for await (const chunk of stream) text += chunk.choices[0]?.delta?.content ?? '';
    })().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.APIError);
    expect(String((err as Error).message)).toMatch(/upstream stream failed after it started/);
    expect(text.length).toBeGreaterThan(0);
  });
});

async function collect(stream: AsyncIterable<OpenAI.Chat.Completions.ChatCompletionChunk>): Promise<OpenAI.Chat.Completions.ChatCompletion> {
  const calls: Array<{ id: string; type: 'function'; function: { name: string; arguments: string } }> = [];
  for await (const chunk of stream) {
    for (const tc of chunk.choices[0]?.delta?.tool_calls ?? []) {
      calls[tc.index] ??= { id: tc.id ?? '', type: 'function', function: { name: '', arguments: '' } };
      if (tc.function?.name) calls[tc.index].function.name += tc.function.name;
      if (tc.function?.arguments) calls[tc.index].function.arguments += tc.function.arguments;
    }
  }
  return { choices: [{ message: { tool_calls: calls } }] } as never;
}
