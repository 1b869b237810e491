import OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { RunningGateway } from '../../src/gateway.ts';
import { sdkClient, startTestGateway } from '../helpers/gateway.ts';

/**
 * Continuation is capability-aware per provider and model: a stream cut mid-answer on openai is
 * continued on an OpenAI-compatible provider declared prefill-capable in config, in that
 * provider's mode (vLLM's continue_final_message, DeepSeek's and Mistral's prefix), so the
 * client gets one whole stream; a provider not declared so is never sent a prefill; and a
 * fallback that rejects the prefill leaves the client with the original break's error.
 *
 * The official SDK -> the gateway -> the in-process simulator. Every provider serves the
 * client's model name; the simulator model behind each decides what its server does with the
 * prefix fields: `gpt-4-turbo-preview` honours both modes (and, being the same model with the
 * same prompt, continues exactly the answer the cut stream was writing), `strict-model` is
 * OpenAI-like and answers the fields with a 400, `plain-model` would answer anything.
 */

const MODEL = 'gpt-4-turbo-preview';
let gw: RunningGateway;
beforeAll(async () => {
  gw = await startTestGateway({
    providers: [
      { name: 'openai', type: 'openai', base_url: 'simulator', models: [MODEL] },
      { name: 'vllm', type: 'openai-compatible', base_url: 'simulator', prefill: 'continue_final_message', models: [MODEL] },
      { name: 'deepseek', type: 'openai-compatible', base_url: 'simulator', models: [{ name: MODEL, prefill: 'prefix' }] },
      { name: 'strict', type: 'openai-compatible', base_url: 'simulator', prefill: 'continue_final_message', models: [{ name: MODEL, upstream: 'strict-model' }] },
      { name: 'plain', type: 'openai-compatible', base_url: 'simulator', models: [{ name: MODEL, upstream: 'plain-model' }] },
    ],
    models: {},
    // Every test cuts openai's stream once: its breaker must not open halfway through the file.
    resilience: { retry: { max_retries: 0 }, breaker: { error_threshold: 1000 } },
  });
});
afterAll(() => gw.close());
beforeEach(() => gw.simulator!.reset());

type Read = { text: string; finish: string | null; roles: number; ids: Set<string>; err: unknown };

async function stream(chain: string): Promise<Read> {
  const s = await sdkClient(gw).chat.completions.create(
    { model: MODEL, messages: [{ role: 'user', content: 'tell me a long story' }], stream: true },
    { headers: { 'X-Failover-Providers': chain } },
  );
  const got: Read = { text: '', finish: null, roles: 0, ids: new Set(), err: undefined };
  got.err = await (async () => {
    for await (const c of s) {
      got.ids.add(c.id);
      const ch = c.choices[0];
      if (!ch) continue;
      if (ch.delta.role) got.roles++;
      got.text += ch.delta.content ?? '';
      got.finish = ch.finish_reason ?? got.finish;
    }
  })().catch((e: unknown) => e);
  return got;
}

/** The answer the model writes without a cut. */
async function uncut(): Promise<string> {
  gw.simulator!.setModel(MODEL, { completion_tokens: 30 });
  const r = await stream('openai');
  expect(r.err).toBeUndefined();
  gw.simulator!.reset();
  return r.text;
}

/** The first call to MODEL is cut after 6 content deltas; later calls are whole. */
function cutOnce(extra: Record<string, unknown> = {}): void {
  gw.simulator!.setModel(MODEL, { completion_tokens: 30, prefill_modes: ['continue_final_message', 'prefix'], faults: [{ type: 'cut', after_tokens: 6, first_n: 1 }], ...extra });
}

const PARTIAL = 'Simulated reply from gpt-4-turbo-preview:';

describe('continuing on an OpenAI-compatible provider declared prefill-capable', () => {
  for (const [provider, mode] of [
    ['vllm', 'continue_final_message'],
    ['deepseek', 'prefix'],
  ] as const) {
    it(`${provider} (${mode}): the client gets the whole answer as one stream`, async () => {
      const whole = await uncut();
      cutOnce();
      const got = await stream(`openai,${provider}`);

      expect(got.err).toBeUndefined();
      expect(got.text).toBe(whole);
      expect({ finish: got.finish, roles: got.roles, ids: got.ids.size }).toEqual({ finish: 'stop', roles: 1, ids: 1 });
      // The second call was the continuation, in the declared mode, of exactly what the client had.
      const calls = gw.simulator!.calls({ model: MODEL });
      expect(calls.map((c) => [c.fault, c.status])).toEqual([
        ['cut', 200],
        [null, 200],
      ]);
      const partial = whole.split(' ').slice(0, 6).join(' ');
      expect(partial.startsWith(PARTIAL)).toBe(true);
      expect(calls[1].prefill).toEqual({ mode, assistant: partial });
    });
  }
});

describe('not continued', () => {
  it('on a provider not declared prefill-capable: no prefill is sent, the stream ends with an in-band error', async () => {
    cutOnce();
    const got = await stream('openai,plain');
    expect(got.err).toBeInstanceOf(OpenAI.APIError);
    expect(got.finish).toBeNull();
    expect(got.text.startsWith(PARTIAL)).toBe(true);
    expect(gw.simulator!.calls({ model: 'plain-model' })).toEqual([]);
  });

  it('a fallback that rejects the prefill: the client gets the original break, not the 400', async () => {
    cutOnce();
    const plain = (await stream('openai,plain')).err as InstanceType<typeof OpenAI.APIError>;
    gw.simulator!.reset();
    cutOnce();

    const got = await stream('openai,strict');

    expect(got.err).toBeInstanceOf(OpenAI.APIError);
    const err = got.err as InstanceType<typeof OpenAI.APIError>;
    // The same in-band error as when nothing could continue: the cut, not the fallback's refusal.
    expect({ message: err.message, code: err.code, type: err.type }).toEqual({ message: plain.message, code: plain.code, type: plain.type });
    expect(err.message).not.toMatch(/continue_final_message|Unrecognized/);
    expect(got.text.startsWith(PARTIAL)).toBe(true);
    // The continuation was tried, in the declared mode, and refused as OpenAI refuses the field.
    expect(gw.simulator!.calls({ model: 'strict-model' }).map((c) => c.status)).toEqual([400]);
  });
});
