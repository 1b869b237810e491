import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PromptDigest } from '../../src/simulator/answer.ts';
import { startSimulator, type SimulatorHandle } from '../../src/simulator/index.ts';
import { ANTHROPIC_HEADERS, json, post } from './helpers.ts';

function digestOf(...contents: unknown[]): PromptDigest {
  const d = new PromptDigest();
  for (const c of contents) d.addContent(c);
  return d;
}

describe('PromptDigest.addContent', () => {
  it('counts strings, text parts and text nested in tool_result blocks alike', () => {
    const plain = digestOf('Be brief', 'look it up', 'found it');
    const parts = digestOf([{ type: 'text', text: 'Be brief' }], [{ text: 'look it up' }], [{ type: 'tool_result', tool_use_id: 't', content: [{ type: 'text', text: 'found it' }] }]);
    expect(parts.hash).toBe(plain.hash);
    expect(parts.words).toBe(plain.words);
    expect(digestOf([{ type: 'tool_result', tool_use_id: 't', content: 'found it' }]).hash).toBe(digestOf('found it').hash);
  });

  it('ignores parts without text (images, function calls, nulls)', () => {
    const d = digestOf([null, 3, { type: 'image_url', image_url: { url: 'x' } }, { functionCall: { name: 'f' } }, { text: 'hi' }], undefined, null);
    expect(d.hash).toBe(digestOf('hi').hash);
  });

  it('tokens is the word count, at least 1', () => {
    expect(new PromptDigest().tokens).toBe(1);
    expect(digestOf('one two  three\nfour').tokens).toBe(4);
  });
});

describe('the same prompt gets the same answer and token count from every dialect', () => {
  let sim: SimulatorHandle;
  beforeAll(async () => {
    sim = await startSimulator();
  });
  afterAll(() => sim.close());

  it('system prompt, user text and structured parts', async () => {
    const openai = await json(
      await post(sim.url, '/v1/chat/completions', {
        model: 'm',
        messages: [
          { role: 'system', content: 'Be brief' },
          { role: 'user', content: [{ type: 'text', text: 'Say hello' }, { type: 'text', text: 'to the parrot' }] },
        ],
      }),
    );
    const anthropic = await json(
      await post(
        sim.url,
        '/v1/messages',
        { model: 'm', max_tokens: 100, system: [{ type: 'text', text: 'Be brief' }], messages: [{ role: 'user', content: [{ type: 'text', text: 'Say hello' }, { type: 'text', text: 'to the parrot' }] }] },
        ANTHROPIC_HEADERS,
      ),
    );
    const google = await json(
      await post(sim.url, '/v1beta/models/m:generateContent', {
        systemInstruction: { parts: [{ text: 'Be brief' }] },
        contents: [{ role: 'user', parts: [{ text: 'Say hello' }, { text: 'to the parrot' }] }],
      }),
    );
    const text = openai.choices[0].message.content as string;
    expect(text).toMatch(/^Simulated reply from m:/);
    expect(anthropic.content[0].text).toBe(text);
    expect(google.candidates[0].content.parts[0].text).toBe(text);
    expect(openai.usage.prompt_tokens).toBe(7);
    expect(anthropic.usage.input_tokens).toBe(7);
    expect(google.usageMetadata.promptTokenCount).toBe(7);
    expect(openai.usage.completion_tokens).toBe(16);
    expect(anthropic.usage.output_tokens).toBe(16);
    expect(google.usageMetadata.candidatesTokenCount).toBe(16);
  });
});
