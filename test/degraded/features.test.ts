import { describe, expect, it } from 'vitest';
import type { ChatRequest } from '../../src/core/openai-types.ts';
import { disableFeatures, simplifyPrompt } from '../../src/degraded/features.ts';

/** feature_flags' definitions: which request fields each feature name removes, and simplify_prompts' cut. */

const IMAGE = { type: 'image_url' as const, image_url: { url: 'https://example.com/a.png' } };
const base: ChatRequest = { model: 'm', messages: [{ role: 'user', content: 'hi' }] };

describe('disable_features', () => {
  it('image_generation: image parts and the image modality; a message left empty says what was there', () => {
    const req: ChatRequest = { ...base, modalities: ['text', 'image'], messages: [{ role: 'user', content: [IMAGE] }, { role: 'user', content: [{ type: 'text', text: 'and?' }, IMAGE] }] };
    const { request, removed } = disableFeatures(req, ['image_generation']);
    expect(removed).toEqual(['image_generation']);
    expect(request).toEqual({ model: 'm', modalities: ['text'], messages: [{ role: 'user', content: '[image removed]' }, { role: 'user', content: [{ type: 'text', text: 'and?' }] }] });
    expect(req.messages[0].content).toEqual([IMAGE]);
  });

  it('code_execution: tools, tool_choice and parallel_tool_calls, with past tool turns as text', () => {
    const req: ChatRequest = {
      ...base,
      tools: [{ type: 'function', function: { name: 'run', parameters: {} } }],
      tool_choice: 'auto',
      parallel_tool_calls: true,
      messages: [
        { role: 'user', content: 'compute' },
        { role: 'assistant', content: null, tool_calls: [{ id: 't1', type: 'function', function: { name: 'run', arguments: '{"x":1}' } }] },
        { role: 'tool', tool_call_id: 't1', content: '2' },
      ],
    };
    expect(disableFeatures(req, ['code_execution'])).toEqual({
      removed: ['code_execution'],
      request: {
        model: 'm',
        messages: [
          { role: 'user', content: 'compute' },
          { role: 'assistant', content: '[tool calls] run({"x":1})' },
          { role: 'user', content: '[tool result] 2' },
        ],
      },
    });
  });

  it('structured_output, logprobs, web_search, audio, file_input remove their fields', () => {
    const req: ChatRequest = {
      ...base,
      response_format: { type: 'json_object' },
      logprobs: true,
      top_logprobs: 2,
      web_search_options: {},
      audio: { voice: 'alloy', format: 'wav' },
      modalities: ['text', 'audio'],
      messages: [{ role: 'user', content: [{ type: 'text', text: 'x' }, { type: 'input_audio', input_audio: { data: 'AA', format: 'wav' } }, { type: 'file', file: { file_id: 'f' } }] }],
    };
    const { request, removed } = disableFeatures(req, ['structured_output', 'logprobs', 'web_search', 'audio', 'file_input']);
    expect(removed).toEqual(['structured_output', 'logprobs', 'web_search', 'audio', 'file_input']);
    expect(request).toEqual({ model: 'm', modalities: ['text'], messages: [{ role: 'user', content: [{ type: 'text', text: 'x' }] }] });
  });

  it('a feature the request does not use is not reported, and the request is the same object', () => {
    expect(disableFeatures(base, ['image_generation', 'code_execution'])).toEqual({ request: base, removed: [] });
    expect(disableFeatures(base, ['image_generation']).request).toBe(base);
  });
});

describe('simplify_prompts', () => {
  const turn = (role: 'user' | 'assistant', n: number) => ({ role, content: 'x'.repeat(n) });

  it('keeps the system prompt and the latest turns within the budget, starting at a user message', () => {
    // Each 40-character turn estimates at 14 tokens; a budget of 30 fits two.
    const req: ChatRequest = { ...base, messages: [{ role: 'system', content: 'S' }, turn('user', 40), turn('assistant', 40), turn('user', 40), turn('assistant', 40), turn('user', 40)] };
    const { request, dropped } = simplifyPrompt(req, 30);
    // The two latest are assistant, user: the cut moves forward to the user message.
    expect([dropped, request.messages.map((m) => m.role)]).toEqual([4, ['system', 'user']]);
  });

  it('always keeps the last message, however long', () => {
    const req: ChatRequest = { ...base, messages: [turn('user', 10), turn('assistant', 10), turn('user', 4000)] };
    expect(simplifyPrompt(req, 10).request.messages).toEqual([turn('user', 4000)]);
  });

  it('a conversation within the budget is the same request', () => {
    expect(simplifyPrompt(base, 100)).toEqual({ request: base, dropped: 0 });
  });
});
