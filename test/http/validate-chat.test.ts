import { describe, expect, it } from 'vitest';
import { MAX_NESTING, tooDeep } from '../../src/core/json-depth.ts';
import { GatewayError } from '../../src/core/openai-error.ts';
import { validateChatRequest } from '../../src/http/validate-chat.ts';

/**
 * The edge's check of a chat request: what it lets through (everything OpenAI's API
 * reference allows, and the extensions of OpenAI-compatible servers) and how it words what
 * it refuses (OpenAI's own messages and codes, `param` naming the field).
 */

const user = { role: 'user', content: 'Hi' };
const req = (over: Record<string, unknown>) => ({ model: 'gpt-4o', messages: [user], ...over });

function refusal(body: unknown): { message: string; param: string | null; code: string | null } {
  try {
    validateChatRequest(body);
  } catch (err) {
    if (!(err instanceof GatewayError)) throw err;
    expect([err.status, err.type]).toEqual([400, 'invalid_request_error']);
    return { message: err.message, param: err.param, code: err.code };
  }
  throw new Error('expected a 400');
}

describe('validateChatRequest: what passes', () => {
  it.each([
    ['a plain request', req({})],
    [
      'every role, with the content each may have',
      req({
        messages: [
          { role: 'developer', content: [{ type: 'text', text: 'Be brief.' }], name: 'ops' },
          { role: 'system', content: 'Be kind.' },
          {
            role: 'user',
            content: [
              { type: 'text', text: 'Look:' },
              { type: 'image_url', image_url: { url: 'https://example.com/a.png', detail: 'high' } },
              { type: 'input_audio', input_audio: { data: 'UklGRg==', format: 'wav' } },
              { type: 'file', file: { file_id: 'file-abc', filename: 'a.pdf' } },
            ],
          },
          {
            role: 'assistant',
            content: null,
            refusal: null,
            tool_calls: [
              { id: 'call_1', type: 'function', function: { name: 'lookup', arguments: '{}' } },
              { id: 'call_2', type: 'custom', custom: { name: 'grep', input: 'a|b' } },
            ],
          },
          { role: 'tool', tool_call_id: 'call_1', content: [{ type: 'text', text: 'Paris' }] },
          { role: 'function', name: 'lookup', content: null },
          { role: 'assistant', content: [{ type: 'refusal', refusal: 'No.' }], function_call: null, audio: { id: 'audio_1' } },
        ],
      }),
    ],
    [
      'tools, tool_choice, response_format and the numbers',
      req({
        tools: [
          { type: 'function', function: { name: 'lookup', description: 'd', parameters: { type: 'object' }, strict: true } },
          { type: 'custom', custom: { name: 'grep', format: { type: 'grammar', grammar: { syntax: 'lark', definition: 'x' } } } },
        ],
        tool_choice: { type: 'allowed_tools', allowed_tools: { mode: 'required', tools: [{ type: 'function', function: { name: 'lookup' } }] } },
        parallel_tool_calls: false,
        response_format: { type: 'json_schema', json_schema: { name: 'a', schema: { type: 'object' }, strict: null } },
        temperature: 0.2,
        top_p: 1,
        max_completion_tokens: 100,
        n: 1,
        seed: 2 ** 62,
        stop: ['\n', 'END'],
        logit_bias: { '50256': -100 },
        metadata: { team: 'a' },
        stream: true,
        stream_options: { include_usage: true },
        user: 'u1',
        reasoning_effort: 'minimal',
        service_tier: 'a-tier-openai-adds-later',
      }),
    ],
    ['null for the optional fields that take it', req({ stream: null, temperature: null, max_tokens: null, stop: null, stream_options: null, metadata: null })],
    [
      "an OpenAI-compatible server's own fields and types",
      req({
        top_k: 40,
        messages: [{ role: 'user', content: [{ type: 'video_url', video_url: { url: 'https://example.com/a.mp4' } }] }],
        tools: [{ type: 'browser_search' }],
        response_format: { type: 'structural_tag', structures: [] },
      }),
    ],
    ['nesting at the limit', req({ x: JSON.parse('['.repeat(MAX_NESTING - 1) + ']'.repeat(MAX_NESTING - 1)) })],
  ])('%s', (_, body) => {
    expect(validateChatRequest(body)).toBe(body);
  });
});

describe('validateChatRequest: what is refused, in OpenAI words', () => {
  it.each([
    ['not an object', [], null, null, 'The request body must be a JSON object.'],
    ['no model', { messages: [user] }, 'model', 'missing_required_parameter', "Missing required parameter: 'model'."],
    ['an empty model', req({ model: '' }), 'model', 'empty_string', "Invalid 'model': empty string. Expected a string with minimum length 1, but got an empty string instead."],
    ['messages not an array', req({ messages: 'Hi' }), 'messages', 'invalid_type', "Invalid type for 'messages': expected an array, but got a string instead."],
    ['no messages', req({ messages: [] }), 'messages', 'empty_array', "Invalid 'messages': empty array. Expected an array with minimum length 1, but got an empty array instead."],
    [
      'an unknown role',
      req({ messages: [{ role: 'wizard', content: 'x' }] }),
      'messages[0].role',
      'invalid_value',
      "Invalid value: 'wizard'. Supported values are: 'system', 'developer', 'user', 'assistant', 'tool', and 'function'.",
    ],
    ['a user message without content', req({ messages: [{ role: 'user' }] }), 'messages[0].content', 'missing_required_parameter', "Missing required parameter: 'messages[0].content'."],
    [
      'content of another type',
      req({ messages: [{ role: 'user', content: 5 }] }),
      'messages[0].content',
      'invalid_type',
      "Invalid type for 'messages[0].content': expected one of a string or an array of content parts, but got an integer instead.",
    ],
    [
      'a part without a type',
      req({ messages: [{ role: 'user', content: [{ text: 'x' }] }] }),
      'messages[0].content[0].type',
      'missing_required_parameter',
      "Missing required parameter: 'messages[0].content[0].type'.",
    ],
    [
      'a known part of the wrong shape',
      req({ messages: [{ role: 'user', content: [{ type: 'image_url', image_url: 'https://x/a.png' }] }] }),
      'messages[0].content[0].image_url',
      'invalid_type',
      "Invalid type for 'messages[0].content[0].image_url': expected an object, but got a string instead.",
    ],
    [
      'a tool message without tool_call_id',
      req({ messages: [{ role: 'tool', content: 'x' }] }),
      'messages[0].tool_call_id',
      'missing_required_parameter',
      "Missing required parameter: 'messages[0].tool_call_id'.",
    ],
    [
      'a tool call of an unknown type',
      req({ messages: [{ role: 'assistant', tool_calls: [{ id: 'a', type: 'magic' }] }] }),
      'messages[0].tool_calls[0].type',
      'invalid_value',
      "Invalid value: 'magic'. Supported values are: 'function' and 'custom'.",
    ],
    [
      'tool arguments that are not a string',
      req({ messages: [{ role: 'assistant', tool_calls: [{ id: 'a', type: 'function', function: { name: 'f', arguments: {} } }] }] }),
      'messages[0].tool_calls[0].function.arguments',
      'invalid_type',
      "Invalid type for 'messages[0].tool_calls[0].function.arguments': expected a string, but got an object instead.",
    ],
    [
      'tool parameters that are not an object',
      req({ tools: [{ type: 'function', function: { name: 'f', parameters: [] } }] }),
      'tools[0].function.parameters',
      'invalid_type',
      "Invalid type for 'tools[0].function.parameters': expected an object, but got an array instead.",
    ],
    [
      'more tools than OpenAI takes',
      req({ tools: Array.from({ length: 129 }, () => ({ type: 'function', function: { name: 'f' } })) }),
      'tools',
      'array_above_max_length',
      "Invalid 'tools': array too long. Expected an array with maximum length 128, but got an array with length 129 instead.",
    ],
    ['an unknown tool_choice', req({ tool_choice: 'sometimes' }), 'tool_choice', 'invalid_value', "Invalid value: 'sometimes'. Supported values are: 'none', 'auto', and 'required'."],
    [
      'a tool_choice of another type',
      req({ tool_choice: 1 }),
      'tool_choice',
      'invalid_type',
      "Invalid type for 'tool_choice': expected one of a string or an object, but got an integer instead.",
    ],
    ['a decimal max_tokens', req({ max_tokens: 1.5 }), 'max_tokens', 'invalid_type', "Invalid type for 'max_tokens': expected an integer, but got a decimal number instead."],
    ['a stop of numbers', req({ stop: [1] }), 'stop[0]', 'invalid_type', "Invalid type for 'stop[0]': expected a string, but got an integer instead."],
    ['a string stream flag', req({ stream: 'yes' }), 'stream', 'invalid_type', "Invalid type for 'stream': expected a boolean, but got a string instead."],
    [
      'a long unknown value, cut in the message',
      req({ messages: [{ role: 'x'.repeat(100), content: 'x' }] }),
      'messages[0].role',
      'invalid_value',
      `Invalid value: '${'x'.repeat(64)}...'. Supported values are: 'system', 'developer', 'user', 'assistant', 'tool', and 'function'.`,
    ],
  ])('%s', (_, body, param, code, message) => {
    expect(refusal(body)).toEqual({ message, param, code });
  });

  it('refuses nesting past the limit, naming where, without recursing into it', () => {
    const deep = JSON.parse(`{"model":"m","messages":[{"role":"user","content":"x"}],"tools":[{"type":"function","function":{"name":"f","parameters":${'{"a":'.repeat(200_000)}1${'}'.repeat(200_000)}}}]}`) as unknown;
    const at = `tools[0].function.parameters${'.a'.repeat(MAX_NESTING - 4)}`;
    expect(refusal(deep)).toEqual({ message: `The request is nested too deeply at '${at}': at most ${MAX_NESTING} levels are allowed.`, param: at, code: null });
  });
});

describe('tooDeep', () => {
  it('counts containers, not scalars, and names the first one past the limit', () => {
    expect(tooDeep([[1]], 2)).toBeUndefined();
    expect(tooDeep([[[1]]], 2)).toEqual([0, 0]);
    expect(tooDeep({ a: 1, b: [{ c: [] }] }, 3)).toEqual(['b', 0, 'c']);
    expect(tooDeep('scalar', 0)).toBeUndefined();
  });
});
