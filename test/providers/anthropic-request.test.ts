import { describe, expect, it } from 'vitest';
import { configFromObject } from '../../src/config/load.ts';
import type { ChatRequest } from '../../src/core/openai-types.ts';
import { UpstreamError } from '../../src/core/upstream-error.ts';
import { anthropicAdapter, toMessagesRequest } from '../../src/providers/anthropic.ts';
import type { ProviderTarget, TranslateContext } from '../../src/providers/types.ts';

const target: ProviderTarget = { name: 'anthropic', type: 'anthropic', baseUrl: 'https://api.anthropic.com', apiKey: 'sk-ant-test' };
const ctx = (over: Partial<TranslateContext> = {}): TranslateContext => ({ target, model: 'claude-3-5-sonnet-20241022', stream: false, ...over });
const body = (req: ChatRequest, stream = false) => toMessagesRequest(req, 'claude-3-5-sonnet-20241022', stream);
const user = (content: string) => ({ role: 'user' as const, content });

/**
 * The error thrown for input Anthropic cannot take: an UpstreamError of kind bad_request (a
 * client 400 that neither fails over nor counts against the breaker), not a GatewayError.
 */
function badRequest(fn: () => unknown): UpstreamError {
  try {
    fn();
  } catch (err) {
    if (err instanceof UpstreamError) {
      expect(err.kind).toBe('bad_request');
      return err;
    }
    throw err;
  }
  throw new Error('expected an UpstreamError of kind bad_request');
}

describe('anthropic request: the HTTP call', () => {
  it('posts to {baseUrl}/v1/messages with x-api-key, anthropic-version and content-type', () => {
    const call = anthropicAdapter.buildRequest({ model: 'claude-3-opus', messages: [user('Hello, Claude')] }, ctx());
    expect(call).toEqual({
      method: 'POST',
      url: 'https://api.anthropic.com/v1/messages',
      headers: { 'content-type': 'application/json', 'anthropic-version': '2023-06-01', 'x-api-key': 'sk-ant-test' },
      body: JSON.stringify({
        model: 'claude-3-5-sonnet-20241022',
        max_tokens: 4096,
        messages: [{ role: 'user', content: [{ type: 'text', text: 'Hello, Claude' }] }],
      }),
    });
  });

  it('uses the target anthropicVersion, adds target headers last, and tolerates a trailing slash or /v1', () => {
    const t: ProviderTarget = {
      ...target,
      baseUrl: 'http://127.0.0.1:9999/v1/',
      anthropicVersion: '2024-01-01',
      headers: { 'anthropic-beta': 'prompt-caching-2024-07-31' },
    };
    const call = anthropicAdapter.buildRequest({ model: 'm', messages: [user('hi')] }, ctx({ target: t }));
    expect(call.url).toBe('http://127.0.0.1:9999/v1/messages');
    expect(call.headers).toEqual({
      'content-type': 'application/json',
      'anthropic-version': '2024-01-01',
      'x-api-key': 'sk-ant-test',
      'anthropic-beta': 'prompt-caching-2024-07-31',
    });
  });

  it('sends one x-api-key, the configured key, even when the config also sets an X-Api-Key header', () => {
    const configured = (apiKey: string | undefined) =>
      configFromObject(
        {
          providers: [
            {
              name: 'anthropic',
              type: 'anthropic',
              base_url: 'https://api.anthropic.com',
              ...(apiKey === undefined ? {} : { api_key: apiKey }),
              headers: { 'X-Api-Key': 'sk-ant-spoof', 'Anthropic-Beta': 'prompt-caching-2024-07-31' },
              models: ['claude-3-opus'],
            },
          ],
        },
        { env: {} },
      ).providers[0].target;
    const sent = (t: ProviderTarget) => anthropicAdapter.buildRequest({ model: 'm', messages: [user('hi')] }, ctx({ target: t })).headers;
    const named = (headers: Record<string, string>, name: string) => Object.keys(headers).filter((k) => k.toLowerCase() === name);

    const withKey = sent(configured('sk-ant-test'));
    // One header of that name, whatever its case (undici would send 'x-api-key' and 'X-Api-Key' both), and ours.
    expect(named(withKey, 'x-api-key')).toEqual(['x-api-key']);
    expect(withKey).toEqual({
      'content-type': 'application/json',
      'anthropic-version': '2023-06-01',
      'x-api-key': 'sk-ant-test',
      'anthropic-beta': 'prompt-caching-2024-07-31',
    });
    // Without a configured key, the configured header is the only auth and is sent once.
    const withoutKey = sent(configured(undefined));
    expect(named(withoutKey, 'x-api-key')).toEqual(['x-api-key']);
    expect(withoutKey['x-api-key']).toBe('sk-ant-spoof');
  });

  it('sends stream: true only when the context streams', () => {
    const req: ChatRequest = { model: 'm', messages: [user('hi')], stream: true };
    expect(JSON.parse(anthropicAdapter.buildRequest(req, ctx({ stream: true })).body).stream).toBe(true);
    expect('stream' in JSON.parse(anthropicAdapter.buildRequest(req, ctx({ stream: false })).body)).toBe(false);
  });
});

describe('anthropic request: messages', () => {
  it('extracts system and developer messages into a joined top-level system', () => {
    const out = body({
      model: 'm',
      messages: [
        { role: 'system', content: 'You are a helpful assistant.' },
        { role: 'developer', content: [{ type: 'text', text: 'Answer in French.' }, { type: 'text', text: 'Be brief.' }] },
        user('Hello'),
      ],
    });
    expect(out.system).toBe('You are a helpful assistant.\n\nAnswer in French.\nBe brief.');
    expect(out.messages).toEqual([{ role: 'user', content: [{ type: 'text', text: 'Hello' }] }]);
  });

  it('merges consecutive same-role messages so roles alternate', () => {
    const out = body({
      model: 'm',
      messages: [user('one'), user('two'), { role: 'assistant', content: 'a' }, { role: 'assistant', content: 'b' }, user('three')],
    });
    expect(out.messages).toEqual([
      { role: 'user', content: [{ type: 'text', text: 'one' }, { type: 'text', text: 'two' }] },
      { role: 'assistant', content: [{ type: 'text', text: 'a' }, { type: 'text', text: 'b' }] },
      { role: 'user', content: [{ type: 'text', text: 'three' }] },
    ]);
  });

  it('translates data: image URLs to base64 sources and http(s) URLs to url sources', () => {
    const out = body({
      model: 'm',
      messages: [
        {
          role: 'user',
          content: [
            { type: 'text', text: 'What is in these images?' },
            { type: 'image_url', image_url: { url: 'data:image/jpeg;base64,/9j/4AAQSkZJRg==', detail: 'high' } },
            { type: 'image_url', image_url: { url: 'https://upload.wikimedia.org/wikipedia/commons/a/a7/Camponotus_flavomarginatus_ant.jpg' } },
          ],
        },
      ],
    });
    expect(out.messages[0].content).toEqual([
      { type: 'text', text: 'What is in these images?' },
      { type: 'image', source: { type: 'base64', media_type: 'image/jpeg', data: '/9j/4AAQSkZJRg==' } },
      {
        type: 'image',
        source: { type: 'url', url: 'https://upload.wikimedia.org/wikipedia/commons/a/a7/Camponotus_flavomarginatus_ant.jpg' },
      },
    ]);
  });

  it('translates an inline PDF file part to a document block', () => {
    const out = body({
      model: 'm',
      messages: [{ role: 'user', content: [{ type: 'file', file: { filename: 'a.pdf', file_data: 'data:application/pdf;base64,JVBERi0=' } }] }],
    });
    expect(out.messages[0].content).toEqual([
      { type: 'document', source: { type: 'base64', media_type: 'application/pdf', data: 'JVBERi0=' } },
    ]);
  });

  it('rejects parts Anthropic cannot take with a 400 naming the param', () => {
    const audio = badRequest(() =>
      body({ model: 'm', messages: [{ role: 'user', content: [{ type: 'input_audio', input_audio: { data: 'x', format: 'wav' } }] }] }),
    );
    expect([audio.status, audio.param]).toEqual([400, 'messages[0].content[0].type']);
    const notBase64 = badRequest(() =>
      body({ model: 'm', messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'data:image/png,%89PNG' } }] }] }),
    );
    expect([notBase64.status, notBase64.param]).toEqual([400, 'messages[0].content[0].image_url.url']);
  });

  it('turns assistant tool_calls into tool_use blocks and tool messages into one user turn of tool_result blocks', () => {
    const out = body({
      model: 'm',
      messages: [
        user("What's the weather like in San Francisco and Paris?"),
        {
          role: 'assistant',
          content: null,
          tool_calls: [
            { id: 'toolu_01A', type: 'function', function: { name: 'get_weather', arguments: '{"location":"San Francisco, CA"}' } },
            { id: 'toolu_01B', type: 'function', function: { name: 'get_weather', arguments: '{"location":"Paris"}' } },
          ],
        },
        { role: 'tool', tool_call_id: 'toolu_01A', content: '15 degrees' },
        { role: 'tool', tool_call_id: 'toolu_01B', content: [{ type: 'text', text: '12 degrees' }] },
        user('Thanks'),
      ],
    });
    expect(out.messages).toEqual([
      { role: 'user', content: [{ type: 'text', text: "What's the weather like in San Francisco and Paris?" }] },
      {
        role: 'assistant',
        content: [
          { type: 'tool_use', id: 'toolu_01A', name: 'get_weather', input: { location: 'San Francisco, CA' } },
          { type: 'tool_use', id: 'toolu_01B', name: 'get_weather', input: { location: 'Paris' } },
        ],
      },
      {
        role: 'user',
        content: [
          { type: 'tool_result', tool_use_id: 'toolu_01A', content: '15 degrees' },
          { type: 'tool_result', tool_use_id: 'toolu_01B', content: [{ type: 'text', text: '12 degrees' }] },
          { type: 'text', text: 'Thanks' },
        ],
      },
    ]);
  });

  it('keeps assistant text before its tool_use blocks and reads empty arguments as {}', () => {
    const out = body({
      model: 'm',
      messages: [
        user('Time?'),
        { role: 'assistant', content: 'Let me check.', tool_calls: [{ id: 't1', type: 'function', function: { name: 'now', arguments: '' } }] },
      ],
    });
    expect(out.messages[1]).toEqual({
      role: 'assistant',
      content: [{ type: 'text', text: 'Let me check.' }, { type: 'tool_use', id: 't1', name: 'now', input: {} }],
    });
  });

  it('rejects tool call arguments that are not JSON with a 400 naming the param', () => {
    const err = badRequest(() =>
      body({
        model: 'm',
        messages: [user('x'), { role: 'assistant', tool_calls: [{ id: 't', type: 'function', function: { name: 'f', arguments: '{oops' } }] }],
      }),
    );
    expect([err.status, err.param]).toEqual([400, 'messages[1].tool_calls[0].function.arguments']);
  });
});

describe('anthropic request: tools and parameters', () => {
  const tools: ChatRequest['tools'] = [
    {
      type: 'function',
      function: {
        name: 'get_weather',
        description: 'Get the current weather in a given location',
        parameters: { type: 'object', properties: { location: { type: 'string' } }, required: ['location'] },
      },
    },
    { type: 'function', function: { name: 'get_time' } },
  ];

  it('translates tools to name/description/input_schema (an empty object schema when none)', () => {
    expect(body({ model: 'm', messages: [user('x')], tools }).tools).toEqual([
      {
        name: 'get_weather',
        description: 'Get the current weather in a given location',
        input_schema: { type: 'object', properties: { location: { type: 'string' } }, required: ['location'] },
      },
      { name: 'get_time', input_schema: { type: 'object', properties: {} } },
    ]);
  });

  it.each([
    ['auto', { type: 'auto' }],
    ['none', { type: 'none' }],
    ['required', { type: 'any' }],
    [{ type: 'function', function: { name: 'get_weather' } }, { type: 'tool', name: 'get_weather' }],
  ] as const)('maps tool_choice %j to %j', (choice, expected) => {
    expect(body({ model: 'm', messages: [user('x')], tools, tool_choice: choice }).tool_choice).toEqual(expected);
  });

  it('maps parallel_tool_calls false to disable_parallel_tool_use, with or without a tool_choice', () => {
    expect(body({ model: 'm', messages: [user('x')], tools, parallel_tool_calls: false }).tool_choice).toEqual({
      type: 'auto',
      disable_parallel_tool_use: true,
    });
    expect(body({ model: 'm', messages: [user('x')], tools, tool_choice: 'required', parallel_tool_calls: false }).tool_choice).toEqual({
      type: 'any',
      disable_parallel_tool_use: true,
    });
  });

  it('sends no tools or tool_choice when the request has no tools', () => {
    const out = body({ model: 'm', messages: [user('x')], tool_choice: 'auto' });
    expect(['tools' in out, 'tool_choice' in out]).toEqual([false, false]);
  });

  it('takes max_tokens from max_completion_tokens, then max_tokens, then 4096', () => {
    expect(body({ model: 'm', messages: [user('x')], max_completion_tokens: 100, max_tokens: 200 }).max_tokens).toBe(100);
    expect(body({ model: 'm', messages: [user('x')], max_tokens: 200 }).max_tokens).toBe(200);
    expect(body({ model: 'm', messages: [user('x')], max_tokens: null }).max_tokens).toBe(4096);
  });

  it('maps temperature (clamped to 0..1), top_p, stop and user; drops seed', () => {
    const out = body({ model: 'm', messages: [user('x')], temperature: 0.7, top_p: 0.9, stop: 'END', user: 'user-42', seed: 7 });
    expect(out).toEqual({
      model: 'claude-3-5-sonnet-20241022',
      max_tokens: 4096,
      messages: [{ role: 'user', content: [{ type: 'text', text: 'x' }] }],
      temperature: 0.7,
      top_p: 0.9,
      stop_sequences: ['END'],
      metadata: { user_id: 'user-42' },
    });
    expect(body({ model: 'm', messages: [user('x')], temperature: 1.6, stop: ['a', 'b'] })).toMatchObject({
      temperature: 1,
      stop_sequences: ['a', 'b'],
    });
  });

  it('asks for JSON in the system prompt for response_format json_object', () => {
    const out = body({ model: 'm', messages: [{ role: 'system', content: 'Be terse.' }, user('x')], response_format: { type: 'json_object' } });
    expect(out.system).toBe(
      'Be terse.\n\nRespond only with a single valid JSON object. Do not wrap it in Markdown code fences and do not add any text before or after it.',
    );
  });

  it('puts the json_schema schema into the system instruction', () => {
    const schema = { type: 'object', properties: { answer: { type: 'string' } }, required: ['answer'] };
    const out = body({ model: 'm', messages: [user('x')], response_format: { type: 'json_schema', json_schema: { name: 'reply', schema } } });
    expect(out.system).toBe(
      'Respond only with a single valid JSON value that conforms to the JSON Schema named "reply":\n' +
        '{"type":"object","properties":{"answer":{"type":"string"}},"required":["answer"]}\n' +
        'Do not wrap it in Markdown code fences and do not add any text before or after it.',
    );
  });

  it('adds no system for response_format text', () => {
    expect('system' in body({ model: 'm', messages: [user('x')], response_format: { type: 'text' } })).toBe(false);
  });
});

describe('anthropic request: OpenAI shapes Anthropic has no equivalent for', () => {
  // Each of these passes the gateway's edge (OpenAI accepts it, or an OpenAI-compatible
  // server may); before, most made the translator throw a TypeError, and an unknown
  // response_format was silently dropped.
  const fn = { type: 'function' as const, function: { name: 'f' } };
  it.each([
    [
      'a custom tool call',
      { messages: [user('x'), { role: 'assistant', tool_calls: [{ id: 't', type: 'custom', custom: { name: 'grep', input: 'a' } }] }] },
      'messages[1].tool_calls[0].type',
      "Anthropic takes function tool calls only, not 'custom'.",
    ],
    ['a custom tool', { tools: [fn, { type: 'custom', custom: { name: 'grep' } }] }, 'tools[1].type', "Anthropic takes function tools only, not 'custom'."],
    ['a tool of another type', { tools: [{ type: 'browser_search' }] }, 'tools[0].type', "Anthropic takes function tools only, not 'browser_search'."],
    [
      'an allowed_tools tool_choice',
      { tools: [fn], tool_choice: { type: 'allowed_tools', allowed_tools: { mode: 'auto', tools: [fn] } } },
      'tool_choice.type',
      "Anthropic cannot take a tool_choice of type 'allowed_tools'.",
    ],
    [
      'a custom tool_choice',
      { tools: [fn], tool_choice: { type: 'custom', custom: { name: 'grep' } } },
      'tool_choice.type',
      "Anthropic cannot take a tool_choice of type 'custom'.",
    ],
    [
      'a response_format of another type',
      { response_format: { type: 'structural_tag' } },
      'response_format.type',
      "Anthropic cannot take a response_format of type 'structural_tag'.",
    ],
    [
      'tool call arguments nested deeper than a request may be',
      {
        messages: [
          user('x'),
          { role: 'assistant', tool_calls: [{ id: 't', type: 'function', function: { name: 'f', arguments: '['.repeat(100_000) + ']'.repeat(100_000) } }] },
        ],
      },
      'messages[1].tool_calls[0].function.arguments',
      'Tool call arguments may nest at most 64 levels.',
    ],
  ])('%s: a 400 naming the field', (_, over, param, message) => {
    const err = badRequest(() => body({ model: 'm', messages: [user('x')], ...over } as ChatRequest));
    expect([err.status, err.param, err.message]).toEqual([400, param, message]);
  });
});
