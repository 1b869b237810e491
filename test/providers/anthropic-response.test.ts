import { readFileSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { UpstreamError } from '../../src/core/upstream-error.ts';
import { anthropicAdapter } from '../../src/providers/anthropic.ts';
import type { TranslateContext } from '../../src/providers/types.ts';

const ctx: TranslateContext = {
  target: { name: 'anthropic', type: 'anthropic', baseUrl: 'https://api.anthropic.com' },
  model: 'claude-3-5-sonnet-20241022',
  stream: false,
};
const fixture = (name: string): unknown => JSON.parse(readFileSync(new URL(`../fixtures/anthropic/${name}`, import.meta.url), 'utf8'));
const NOW = Date.UTC(2025, 0, 2, 3, 4, 5);

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['Date'] });
  vi.setSystemTime(NOW);
});
afterEach(() => {
  vi.useRealTimers();
});

describe('anthropic response → chat.completion', () => {
  it('translates the API reference text message', () => {
    expect(anthropicAdapter.parseResponse(fixture('message.json'), ctx)).toEqual({
      id: 'msg_013Zva2CMHLNnXjNJJKqJ2EF',
      object: 'chat.completion',
      created: NOW / 1000,
      model: 'claude-3-5-sonnet-20241022',
      choices: [
        { index: 0, message: { role: 'assistant', content: 'Hi! My name is Claude.', refusal: null }, finish_reason: 'stop', logprobs: null },
      ],
      usage: { prompt_tokens: 2095, completion_tokens: 503, total_tokens: 2598, prompt_tokens_details: { cached_tokens: 0 } },
    });
  });

  it('translates tool_use blocks to tool_calls with JSON-string arguments', () => {
    const out = anthropicAdapter.parseResponse(fixture('message-tool-use.json'), ctx);
    expect(out.choices).toEqual([
      {
        index: 0,
        message: {
          role: 'assistant',
          content: '<thinking>I need to use the get_weather, and the user wants SF, which is likely San Francisco, CA.</thinking>',
          refusal: null,
          tool_calls: [
            {
              id: 'toolu_01A09q90qw90lq917835lq9',
              type: 'function',
              function: { name: 'get_weather', arguments: '{"location":"San Francisco, CA","unit":"celsius"}' },
            },
          ],
        },
        finish_reason: 'tool_calls',
        logprobs: null,
      },
    ]);
  });

  it('gives null content on a tool-only turn and concatenates several text blocks', () => {
    const toolOnly = anthropicAdapter.parseResponse(
      {
        id: 'msg_1', type: 'message', role: 'assistant', model: 'claude-3-haiku-20240307', stop_reason: 'tool_use',
        content: [{ type: 'tool_use', id: 'toolu_1', name: 'now', input: {} }],
      },
      ctx,
    );
    expect(toolOnly.choices[0].message.content).toBe(null);
    expect(toolOnly.choices[0].message.tool_calls?.[0].function.arguments).toBe('{}');
    const twoTexts = anthropicAdapter.parseResponse(
      {
        id: 'msg_2', type: 'message', role: 'assistant', model: 'claude-3-haiku-20240307', stop_reason: 'end_turn',
        content: [{ type: 'thinking', thinking: 'hmm', signature: 'x' }, { type: 'text', text: 'Hello, ' }, { type: 'text', text: 'world' }],
      },
      ctx,
    );
    expect(twoTexts.choices[0].message.content).toBe('Hello, world');
    expect(twoTexts.usage).toBeUndefined();
  });

  it.each([
    ['end_turn', 'stop'],
    ['stop_sequence', 'stop'],
    ['pause_turn', 'stop'],
    ['max_tokens', 'length'],
    ['model_context_window_exceeded', 'length'],
    ['tool_use', 'tool_calls'],
    ['refusal', 'content_filter'],
  ])('maps stop_reason %s to finish_reason %s', (stopReason, finish) => {
    const out = anthropicAdapter.parseResponse(
      { id: 'msg_3', type: 'message', role: 'assistant', model: 'claude', stop_reason: stopReason, content: [{ type: 'text', text: 'x' }] },
      ctx,
    );
    expect(out.choices[0].finish_reason).toBe(finish);
  });

  it('counts cache writes and reads into prompt_tokens and reports reads as cached_tokens', () => {
    const out = anthropicAdapter.parseResponse(
      {
        id: 'msg_4', type: 'message', role: 'assistant', model: 'claude', stop_reason: 'end_turn', content: [{ type: 'text', text: 'x' }],
        usage: { input_tokens: 21, cache_creation_input_tokens: 188086, cache_read_input_tokens: 1000, output_tokens: 393 },
      },
      ctx,
    );
    expect(out.usage).toEqual({
      prompt_tokens: 189107,
      completion_tokens: 393,
      total_tokens: 189500,
      prompt_tokens_details: { cached_tokens: 1000 },
    });
  });

  it('throws a server_error UpstreamError for a 200 body that is not a Message', () => {
    for (const bad of [null, 'Overloaded', { type: 'message' }, { id: 'msg', content: 'text' }]) {
      let caught: unknown;
      try {
        anthropicAdapter.parseResponse(bad, ctx);
      } catch (err) {
        caught = err;
      }
      expect(caught).toBeInstanceOf(UpstreamError);
      expect([(caught as UpstreamError).kind, (caught as UpstreamError).status]).toEqual(['server_error', 200]);
    }
  });
});
