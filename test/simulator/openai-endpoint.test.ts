import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startSimulator, type SimulatorHandle } from '../../src/simulator/index.ts';
import { dataOf, openaiBody, parseSse, post, json } from './helpers.ts';

let sim: SimulatorHandle;
beforeAll(async () => {
  sim = await startSimulator({ models: { 'gpt-4o': { completion_tokens: 6 } } });
});
afterAll(() => sim.close());
beforeEach(() => sim.reset());

const WEATHER_TOOL = {
  type: 'function',
  function: {
    name: 'get_weather',
    parameters: {
      type: 'object',
      properties: { city: { type: 'string' }, unit: { type: 'string', enum: ['c', 'f'] }, days: { type: 'integer' }, note: { type: 'string' } },
      required: ['city', 'unit', 'days'],
    },
  },
};

describe('OpenAI POST /v1/chat/completions, non-streaming', () => {
  it('answers a chat.completion with usage counted in words', async () => {
    const res = await post(sim.url, '/v1/chat/completions', openaiBody());
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/json');
    expect(res.headers.get('x-request-id')).toMatch(/^req_\w+$/);
    expect(res.headers.get('x-ratelimit-remaining-requests')).toBe('9999');
    const body = await json(res);
    expect(body).toEqual({
      id: expect.stringMatching(/^chatcmpl-\w+$/),
      object: 'chat.completion',
      created: expect.any(Number),
      model: 'gpt-4o',
      choices: [
        {
          index: 0,
          message: { role: 'assistant', content: expect.stringMatching(/^Simulated reply from gpt-4o: \w+ \w+$/), refusal: null, annotations: [] },
          logprobs: null,
          finish_reason: 'stop',
        },
      ],
      usage: {
        prompt_tokens: 5,
        completion_tokens: 6,
        total_tokens: 11,
        prompt_tokens_details: { cached_tokens: 0, audio_tokens: 0 },
        completion_tokens_details: { reasoning_tokens: 0, audio_tokens: 0, accepted_prediction_tokens: 0, rejected_prediction_tokens: 0 },
      },
      service_tier: 'default',
      system_fingerprint: 'fp_sim0000001',
    });
  });

  it('gives the same answer to the same request and a different one to another prompt', async () => {
    const a = await json(await post(sim.url, '/v1/chat/completions', openaiBody({ max_tokens: 100 })));
    const b = await json(await post(sim.url, '/v1/chat/completions', openaiBody({ max_tokens: 100 })));
    sim.setModel('gpt-4o', { completion_tokens: 40 });
    const long1 = await json(await post(sim.url, '/v1/chat/completions', openaiBody()));
    const long2 = await json(await post(sim.url, '/v1/chat/completions', openaiBody({ messages: [{ role: 'user', content: 'Something else entirely' }] })));
    expect(a.choices[0].message.content).toBe(b.choices[0].message.content);
    expect(long1.choices[0].message.content).not.toBe(long2.choices[0].message.content);
    expect(long1.choices[0].message.content.split(' ')).toHaveLength(40);
  });

  it('stops at max_tokens with finish_reason length', async () => {
    const body = await json(await post(sim.url, '/v1/chat/completions', openaiBody({ max_tokens: 3 })));
    expect(body.choices[0].message.content).toBe('Simulated reply from');
    expect(body.choices[0].finish_reason).toBe('length');
    expect(body.usage.completion_tokens).toBe(3);
  });

  it('calls the first offered tool with arguments built from the required properties', async () => {
    const body = await json(await post(sim.url, '/v1/chat/completions', openaiBody({ tools: [WEATHER_TOOL] })));
    expect(body.choices[0].finish_reason).toBe('tool_calls');
    expect(body.choices[0].message.content).toBeNull();
    expect(body.choices[0].message.tool_calls).toEqual([
      { id: expect.stringMatching(/^call_\w+$/), type: 'function', function: { name: 'get_weather', arguments: '{"city":"simulated city","unit":"c","days":1}' } },
    ]);
  });

  it('calls the tool named by tool_choice, and answers text after a tool result or with tool_choice none', async () => {
    const other = { type: 'function', function: { name: 'noop', parameters: { type: 'object', properties: {} } } };
    const named = await json(
      await post(sim.url, '/v1/chat/completions', openaiBody({ tools: [WEATHER_TOOL, other], tool_choice: { type: 'function', function: { name: 'noop' } } }))
    );
    expect(named.choices[0].message.tool_calls[0].function).toEqual({ name: 'noop', arguments: '{}' });

    const none = await json(await post(sim.url, '/v1/chat/completions', openaiBody({ tools: [WEATHER_TOOL], tool_choice: 'none' })));
    expect(none.choices[0].finish_reason).toBe('stop');

    const afterResult = await json(
      await post(sim.url, '/v1/chat/completions', {
        model: 'gpt-4o',
        tools: [WEATHER_TOOL],
        messages: [
          { role: 'user', content: 'weather?' },
          { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{}' } }] },
          { role: 'tool', tool_call_id: 'call_1', content: 'sunny' },
        ],
      })
    );
    expect(afterResult.choices[0].finish_reason).toBe('stop');
    expect(afterResult.choices[0].message.content).toMatch(/^Simulated reply from gpt-4o:/);
  });

  it('answers JSON matching response_format json_schema', async () => {
    const schema = { type: 'object', properties: { name: { type: 'string' }, ok: { type: 'boolean' } }, required: ['name', 'ok'] };
    const body = await json(
      await post(sim.url, '/v1/chat/completions', openaiBody({ response_format: { type: 'json_schema', json_schema: { name: 'x', schema } } }))
    );
    expect(JSON.parse(body.choices[0].message.content)).toEqual({ name: 'simulated name', ok: true });
  });
});

describe('OpenAI POST /v1/chat/completions, streaming', () => {
  it('sends role chunk, one chunk per token, finish chunk, usage chunk, [DONE]', async () => {
    const res = await post(sim.url, '/v1/chat/completions', openaiBody({ stream: true, stream_options: { include_usage: true } }));
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    const events = parseSse(await res.text());
    expect(events.every((e) => e.event === undefined)).toBe(true);
    const data = dataOf(events) as Array<Record<string, any>>;
    expect(data).toHaveLength(1 + 6 + 1 + 1 + 1);
    expect(data.at(-1)).toBe('[DONE]');
    const chunks = data.slice(0, -1);
    const id = chunks[0].id;
    for (const c of chunks) {
      expect(c).toMatchObject({ id, object: 'chat.completion.chunk', model: 'gpt-4o', system_fingerprint: 'fp_sim0000001' });
    }
    expect(chunks[0].choices).toEqual([{ index: 0, delta: { role: 'assistant', content: '', refusal: null }, logprobs: null, finish_reason: null }]);
    expect(chunks[0].usage).toBeNull();
    const text = chunks.slice(1, 7).map((c) => c.choices[0].delta.content).join('');
    expect(text).toMatch(/^Simulated reply from gpt-4o: \w+ \w+$/);
    expect(chunks[7].choices).toEqual([{ index: 0, delta: {}, logprobs: null, finish_reason: 'stop' }]);
    expect(chunks[8].choices).toEqual([]);
    expect(chunks[8].usage).toMatchObject({ prompt_tokens: 5, completion_tokens: 6, total_tokens: 11 });

    const whole = await json(await post(sim.url, '/v1/chat/completions', openaiBody()));
    expect(whole.choices[0].message.content).toBe(text);
  });

  it('has no usage field and no usage chunk without include_usage', async () => {
    const data = dataOf(parseSse(await (await post(sim.url, '/v1/chat/completions', openaiBody({ stream: true }))).text())) as Array<Record<string, any>>;
    expect(data).toHaveLength(1 + 6 + 1 + 1);
    expect(data.slice(0, -1).some((c) => 'usage' in c)).toBe(false);
  });

  it('streams tool calls: id and name first, then argument deltas, finish_reason tool_calls', async () => {
    const data = dataOf(parseSse(await (await post(sim.url, '/v1/chat/completions', openaiBody({ stream: true, tools: [WEATHER_TOOL] }))).text())) as Array<
      Record<string, any>
    >;
    expect(data.at(-1)).toBe('[DONE]');
    expect(data[0].choices[0].delta).toEqual({
      role: 'assistant',
      content: null,
      tool_calls: [{ index: 0, id: expect.stringMatching(/^call_/), type: 'function', function: { name: 'get_weather', arguments: '' } }],
      refusal: null,
    });
    const argDeltas = data.slice(1, -2).map((c) => c.choices[0].delta.tool_calls[0]);
    expect(argDeltas.every((d) => d.index === 0 && d.id === undefined)).toBe(true);
    expect(argDeltas.map((d) => d.function.arguments).join('')).toBe('{"city":"simulated city","unit":"c","days":1}');
    expect(data.at(-2)!.choices[0].finish_reason).toBe('tool_calls');
  });
});

describe('OpenAI request validation', () => {
  const cases: Array<[string, unknown, { message: string; param: string | null; code: string | null }]> = [
    ['invalid JSON', '{"model":', { message: expect.stringContaining('We could not parse the JSON body') as unknown as string, param: null, code: null }],
    ['missing model', { messages: [{ role: 'user', content: 'x' }] }, { message: 'you must provide a model parameter', param: null, code: null }],
    ['missing messages', { model: 'gpt-4o' }, { message: "Missing required parameter: 'messages'.", param: 'messages', code: 'missing_required_parameter' }],
    [
      'empty messages',
      { model: 'gpt-4o', messages: [] },
      { message: "Invalid 'messages': empty array. Expected an array with minimum length 1, but got an empty array instead.", param: 'messages', code: 'empty_array' },
    ],
    [
      'bad role',
      { model: 'gpt-4o', messages: [{ role: 'robot', content: 'x' }] },
      {
        message: "Invalid value: 'robot'. Supported values are: 'system', 'assistant', 'user', 'function', 'tool', and 'developer'.",
        param: 'messages[0].role',
        code: 'invalid_value',
      },
    ],
    ['unknown argument', openaiBody({ max_output_tokens: 5 }), { message: 'Unrecognized request argument supplied: max_output_tokens', param: null, code: null }],
    [
      'tool message without tool_call_id',
      { model: 'gpt-4o', messages: [{ role: 'tool', content: 'x' }] },
      { message: "Missing required parameter: 'messages[0].tool_call_id'.", param: 'messages[0].tool_call_id', code: 'missing_required_parameter' },
    ],
    [
      'stream_options without stream',
      openaiBody({ stream_options: { include_usage: true } }),
      { message: "The 'stream_options' parameter is only allowed when 'stream' is enabled.", param: 'stream_options', code: null },
    ],
    [
      'max_tokens of the wrong type',
      openaiBody({ max_tokens: '5' }),
      { message: "Invalid type for 'max_tokens': expected an integer, but got string instead.", param: 'max_tokens', code: 'invalid_type' },
    ],
  ];
  it.each(cases)('%s is a 400 in OpenAI error shape', async (_name, body, expected) => {
    const res = await post(sim.url, '/v1/chat/completions', body);
    expect(res.status).toBe(400);
    expect(await json(res)).toEqual({ error: { type: 'invalid_request_error', ...expected } });
  });
});

describe('OpenAI other endpoints', () => {
  it('GET /v1/models lists the configured models', async () => {
    const res = await fetch(`${sim.url}/v1/models`);
    expect(await json(res)).toEqual({ object: 'list', data: [{ id: 'gpt-4o', object: 'model', created: expect.any(Number), owned_by: 'simulator' }] });
  });

  it('an unknown path is a 404 in OpenAI shape', async () => {
    const res = await post(sim.url, '/v1/nope', {});
    expect(res.status).toBe(404);
    expect(await json(res)).toEqual({ error: { message: 'Invalid URL (POST /v1/nope)', type: 'invalid_request_error', param: null, code: null } });
  });

  it('accepts any key by default and only the listed keys when api_keys is set', async () => {
    const locked = await startSimulator({ apiKeys: ['sk-good'] });
    try {
      const none = await post(locked.url, '/v1/chat/completions', openaiBody());
      expect(none.status).toBe(401);
      expect((await json(none)).error.message).toMatch(/^You didn't provide an API key/);
      const bad = await post(locked.url, '/v1/chat/completions', openaiBody(), { authorization: 'Bearer sk-wrong-key-123' });
      expect(bad.status).toBe(401);
      expect((await json(bad)).error).toMatchObject({ type: 'invalid_request_error', code: 'invalid_api_key', message: expect.stringContaining('Incorrect API key provided: sk-') });
      const good = await post(locked.url, '/v1/chat/completions', openaiBody(), { authorization: 'Bearer sk-good' });
      expect(good.status).toBe(200);
    } finally {
      await locked.close();
    }
    expect((await post(sim.url, '/v1/chat/completions', openaiBody(), { authorization: 'Bearer anything' })).status).toBe(200);
  });
});

describe('OpenAI prefix continuation (prefill_modes)', () => {
  const asked = { role: 'user', content: 'tell me' };
  const reply = async (body: Record<string, unknown>) => (await json(await post(sim.url, '/v1/chat/completions', body))) as { choices: Array<{ message: { content: string } }> };

  it('a model with the mode continues the final assistant message after its words', async () => {
    sim.setModel('gpt-4o', { completion_tokens: 6, prefill_modes: ['continue_final_message', 'prefix'] });
    const whole = (await reply({ model: 'gpt-4o', messages: [asked] })).choices[0].message.content;
    const start = whole.split(' ').slice(0, 4).join(' ');
    const cfm = await reply({ model: 'gpt-4o', messages: [asked, { role: 'assistant', content: start }], continue_final_message: true, add_generation_prompt: false });
    const prefix = await reply({ model: 'gpt-4o', messages: [asked, { role: 'assistant', content: start, prefix: true }] });
    expect(start + cfm.choices[0].message.content).toBe(whole);
    expect(start + prefix.choices[0].message.content).toBe(whole);
    expect(sim.calls().map((c) => c.prefill)).toEqual([undefined, { mode: 'continue_final_message', assistant: start }, { mode: 'prefix', assistant: start }]);
  });

  it('continue_final_message with add_generation_prompt: true is a 400', async () => {
    sim.setModel('gpt-4o', { prefill_modes: ['continue_final_message'] });
    const res = await post(sim.url, '/v1/chat/completions', { model: 'gpt-4o', messages: [asked, { role: 'assistant', content: 'Once' }], continue_final_message: true, add_generation_prompt: true });
    expect(res.status).toBe(400);
    expect((await json(res)).error.message).toBe('Cannot set both `continue_final_message` and `add_generation_prompt` to True.');
  });

  it('without the mode, the fields are the 400s OpenAI sends', async () => {
    const cfm = await post(sim.url, '/v1/chat/completions', { model: 'gpt-4o', messages: [asked, { role: 'assistant', content: 'Once' }], continue_final_message: true, add_generation_prompt: false });
    expect(cfm.status).toBe(400);
    expect(await json(cfm)).toEqual({ error: { message: 'Unrecognized request argument supplied: continue_final_message', type: 'invalid_request_error', param: null, code: null } });
    const prefix = await post(sim.url, '/v1/chat/completions', { model: 'gpt-4o', messages: [asked, { role: 'assistant', content: 'Once', prefix: true }] });
    expect(prefix.status).toBe(400);
    expect(await json(prefix)).toEqual({ error: { message: "Additional properties are not allowed ('prefix' was unexpected) - 'messages.1'", type: 'invalid_request_error', param: null, code: null } });
  });
});
