import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startSimulator, type SimulatorHandle } from '../../src/simulator/index.ts';
import { ANTHROPIC_HEADERS, anthropicBody, parseSse, post, json } from './helpers.ts';

let sim: SimulatorHandle;
beforeAll(async () => {
  sim = await startSimulator({ models: { 'claude-3-opus': { completion_tokens: 6 } } });
});
afterAll(() => sim.close());
beforeEach(() => sim.reset());

const SEARCH_TOOL = {
  name: 'search',
  description: 'web search',
  input_schema: { type: 'object', properties: { query: { type: 'string' }, limit: { type: 'integer', minimum: 3 } }, required: ['query', 'limit'] },
};

function messages(body: Record<string, unknown>): Promise<Response> {
  return post(sim.url, '/v1/messages', body, ANTHROPIC_HEADERS);
}

describe('Anthropic POST /v1/messages, non-streaming', () => {
  it('answers a message with request-id and usage', async () => {
    const res = await messages(anthropicBody({ system: 'Be brief' }));
    expect(res.status).toBe(200);
    expect(res.headers.get('request-id')).toMatch(/^req_\w+$/);
    expect(await json(res)).toEqual({
      id: expect.stringMatching(/^msg_\w+$/),
      type: 'message',
      role: 'assistant',
      model: 'claude-3-opus',
      content: [{ type: 'text', text: expect.stringMatching(/^Simulated reply from claude-3-opus: \w+ \w+$/) }],
      stop_reason: 'end_turn',
      stop_sequence: null,
      usage: { input_tokens: 7, cache_creation_input_tokens: 0, cache_read_input_tokens: 0, output_tokens: 6, service_tier: 'standard' },
    });
  });

  it('stops at max_tokens with stop_reason max_tokens', async () => {
    const body = await json(await messages(anthropicBody({ max_tokens: 2 })));
    expect(body.content).toEqual([{ type: 'text', text: 'Simulated reply' }]);
    expect(body.stop_reason).toBe('max_tokens');
  });

  it('answers with a tool_use block built from input_schema, then text after the tool_result', async () => {
    const call = await json(await messages(anthropicBody({ tools: [SEARCH_TOOL] })));
    expect(call.stop_reason).toBe('tool_use');
    expect(call.content).toEqual([{ type: 'tool_use', id: expect.stringMatching(/^toolu_\w+$/), name: 'search', input: { query: 'simulated query', limit: 3 } }]);

    const after = await json(
      await messages({
        model: 'claude-3-opus',
        max_tokens: 100,
        tools: [SEARCH_TOOL],
        messages: [
          { role: 'user', content: 'find parrots' },
          { role: 'assistant', content: call.content },
          { role: 'user', content: [{ type: 'tool_result', tool_use_id: call.content[0].id, content: 'many parrots' }] },
        ],
      })
    );
    expect(after.stop_reason).toBe('end_turn');
    expect(after.content[0].type).toBe('text');
  });

  it('honours tool_choice none and tool by name', async () => {
    const other = { name: 'other', input_schema: { type: 'object', properties: {} } };
    const none = await json(await messages(anthropicBody({ tools: [SEARCH_TOOL], tool_choice: { type: 'none' } })));
    expect(none.content[0].type).toBe('text');
    const named = await json(await messages(anthropicBody({ tools: [SEARCH_TOOL, other], tool_choice: { type: 'tool', name: 'other' } })));
    expect(named.content[0]).toMatchObject({ type: 'tool_use', name: 'other', input: {} });
  });
});

describe('Anthropic streaming', () => {
  it('sends message_start, content_block_start, ping, deltas, content_block_stop, message_delta, message_stop', async () => {
    const res = await messages(anthropicBody({ stream: true }));
    expect(res.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    const events = parseSse(await res.text());
    expect(events.map((e) => e.event)).toEqual([
      'message_start',
      'content_block_start',
      'ping',
      ...Array(6).fill('content_block_delta'),
      'content_block_stop',
      'message_delta',
      'message_stop',
    ]);
    const data = events.map((e) => JSON.parse(e.data));
    for (let i = 0; i < events.length; i++) expect(data[i].type).toBe(events[i].event);
    expect(data[0].message).toEqual({
      id: expect.stringMatching(/^msg_/),
      type: 'message',
      role: 'assistant',
      model: 'claude-3-opus',
      content: [],
      stop_reason: null,
      stop_sequence: null,
      usage: { input_tokens: 5, cache_creation_input_tokens: 0, cache_read_input_tokens: 0, output_tokens: 1, service_tier: 'standard' },
    });
    expect(data[1]).toEqual({ type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } });
    const text = data.slice(3, 9).map((d) => {
      expect(d.delta.type).toBe('text_delta');
      return d.delta.text;
    });
    expect(text.join('')).toMatch(/^Simulated reply from claude-3-opus:/);
    expect(data[9]).toEqual({ type: 'content_block_stop', index: 0 });
    expect(data[10]).toEqual({ type: 'message_delta', delta: { stop_reason: 'end_turn', stop_sequence: null }, usage: { output_tokens: 6 } });
  });

  it('streams tool_use with input_json_delta and stop_reason tool_use', async () => {
    const events = parseSse(await (await messages(anthropicBody({ stream: true, tools: [SEARCH_TOOL] }))).text());
    const data = events.map((e) => JSON.parse(e.data));
    expect(data[1].content_block).toEqual({ type: 'tool_use', id: expect.stringMatching(/^toolu_/), name: 'search', input: {} });
    const deltas = data.filter((d) => d.type === 'content_block_delta');
    expect(deltas.every((d) => d.delta.type === 'input_json_delta')).toBe(true);
    expect(JSON.parse(deltas.map((d) => d.delta.partial_json).join(''))).toEqual({ query: 'simulated query', limit: 3 });
    expect(data.at(-2).delta.stop_reason).toBe('tool_use');
    expect(events.at(-1)!.event).toBe('message_stop');
  });
});

describe('Anthropic request validation', () => {
  const cases: Array<[string, Record<string, unknown>, string]> = [
    ['missing max_tokens', { model: 'claude-3-opus', messages: [{ role: 'user', content: 'x' }] }, 'max_tokens: Field required'],
    ['missing model', { max_tokens: 5, messages: [{ role: 'user', content: 'x' }] }, 'model: Field required'],
    ['an OpenAI-only field', anthropicBody({ n: 2 }), 'n: Extra inputs are not permitted'],
    ['a system role inside messages', anthropicBody({ messages: [{ role: 'system', content: 'x' }] }), "messages.0.role: Input should be 'user' or 'assistant'"],
    ['empty messages', anthropicBody({ messages: [] }), 'messages: at least one message is required'],
    [
      'a tool_use left without tool_result',
      anthropicBody({
        messages: [
          { role: 'user', content: 'x' },
          { role: 'assistant', content: [{ type: 'tool_use', id: 'toolu_1', name: 'search', input: {} }] },
          { role: 'user', content: 'never mind' },
        ],
      }),
      'messages.2: `tool_use` ids were found without `tool_result` blocks immediately after: toolu_1. Each `tool_use` block must have a corresponding `tool_result` block in the next message.',
    ],
  ];
  it.each(cases)('%s is a 400 invalid_request_error', async (_name, body, message) => {
    const res = await messages(body);
    expect(res.status).toBe(400);
    expect(await json(res)).toEqual({ type: 'error', error: { type: 'invalid_request_error', message }, request_id: res.headers.get('request-id') });
  });

  it('requires the anthropic-version header', async () => {
    const res = await post(sim.url, '/v1/messages', anthropicBody(), { 'x-api-key': 'k' });
    expect(res.status).toBe(400);
    expect((await json(res)).error).toEqual({ type: 'invalid_request_error', message: 'anthropic-version: header is required' });
  });

  it('restricted keys: missing and wrong x-api-key are 401 authentication_error', async () => {
    const locked = await startSimulator({ apiKeys: ['sk-ant-good'] });
    try {
      const none = await post(locked.url, '/v1/messages', anthropicBody(), { 'anthropic-version': '2023-06-01' });
      expect(none.status).toBe(401);
      expect((await json(none)).error).toEqual({ type: 'authentication_error', message: 'x-api-key header is required' });
      const bad = await post(locked.url, '/v1/messages', anthropicBody(), { 'anthropic-version': '2023-06-01', 'x-api-key': 'nope' });
      expect((await json(bad)).error).toEqual({ type: 'authentication_error', message: 'invalid x-api-key' });
      const good = await post(locked.url, '/v1/messages', anthropicBody(), { 'anthropic-version': '2023-06-01', 'x-api-key': 'sk-ant-good' });
      expect(good.status).toBe(200);
    } finally {
      await locked.close();
    }
  });

  it('GET /v1/models with anthropic-version answers in Anthropic list shape', async () => {
    const res = await fetch(`${sim.url}/v1/models`, { headers: ANTHROPIC_HEADERS });
    expect(await json(res)).toEqual({
      data: [{ type: 'model', id: 'claude-3-opus', display_name: 'claude-3-opus', created_at: '2025-01-01T00:00:00Z' }],
      has_more: false,
      first_id: 'claude-3-opus',
      last_id: 'claude-3-opus',
    });
  });
});
