import OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { RunningGateway } from '../../src/gateway.ts';
import { MALFORMED_EVENT_LIMITS } from '../../src/providers/malformed-event.ts';
import { sdkClient, startTestGateway } from '../helpers/gateway.ts';

/**
 * A lone malformed SSE event in an otherwise healthy stream is skipped (counted on the target,
 * logged once), not a broken stream; malformed events in a row break it as before: an in-band
 * error after the commit point, a failover before it. The official SDK -> the gateway (default
 * config: openai, anthropic, google on the in-process simulator) -> the simulator's `malformed`
 * fault, which sends `events` unreadable data events after `after_tokens` content deltas and
 * then the rest of the answer.
 */

let gw: RunningGateway;
const lines: string[] = [];
beforeAll(async () => {
  gw = await startTestGateway({ resilience: { retry: { max_retries: 0 } } }, { log: (l) => lines.push(l) });
});
afterAll(() => gw.close());
beforeEach(() => {
  gw.simulator!.reset();
  lines.length = 0;
});

const TARGETS = [
  { provider: 'openai', model: 'gpt-4-turbo-preview' },
  { provider: 'anthropic', model: 'claude-3-opus' },
  { provider: 'google', model: 'gemini-pro' },
] as const;

type Read = { text: string; finish: string | null; err: unknown; provider: string | null };

/** Streams one request for `model` (no failover unless `chain` names one); what the client got. */
async function stream(model: string, chain?: string): Promise<Read> {
  const { data, response } = await sdkClient(gw)
    .chat.completions.create(
      { model, messages: [{ role: 'user', content: 'tell me a story' }], stream: true },
      { headers: { 'X-Failover-Providers': chain ?? model.split('/')[0] } },
    )
    .withResponse();
  let text = '';
  let finish: string | null = null;
  const err = await (async () => {
    for await (const c of data) {
      text += c.choices[0]?.delta?.content ?? '';
      finish = c.choices[0]?.finish_reason ?? finish;
    }
  })().catch((e: unknown) => e);
  return { text, finish, err, provider: response.headers.get('x-provider') };
}

/** The same request answered without any fault: the whole answer. */
async function whole(model: string): Promise<string> {
  gw.simulator!.setModel(model.split('/')[1], {});
  const r = await stream(model);
  expect(r.err).toBeUndefined();
  return r.text;
}

describe('a lone malformed event is skipped', () => {
  for (const { provider, model } of TARGETS) {
    it(`${provider}: mid-answer, the client gets the whole answer; the target counts 1 skipped and a success`, async () => {
      const key = `${provider}/${model}`;
      const target = gw.runtime.targets.byKey(key);
      const expected = await whole(key);
      const before = { skipped: target.malformedEvents.count, stats: target.stats.toJSON() };
      gw.simulator!.reset();
      gw.simulator!.setModel(model, { faults: [{ type: 'malformed', after_tokens: 3 }] });

      const got = await stream(key);

      expect(got).toEqual({ text: expected, finish: 'stop', err: undefined, provider });
      expect(gw.simulator!.calls({ model }).map((c) => c.fault)).toEqual(['malformed']);
      expect(target.malformedEvents.count - before.skipped).toBe(1);
      expect(target.toJSON().malformedEventsSkipped).toBe(target.malformedEvents.count);
      // The breaker and model health heard a success.
      const stats = target.stats.toJSON();
      expect({ requests: stats.requests - before.stats.requests, failures: stats.failures - before.stats.failures }).toEqual({ requests: 1, failures: 0 });
      expect(target.breakers.default.getSnapshot().value).toBe('closed');
      expect(target.breakers.default.getSnapshot().context.failures).toEqual([]);
      expect(gw.runtime.actor(`model:${key}`)!.getSnapshot().value).toBe('healthy');
    });
  }

  it('logs one line per interval, not one per event', async () => {
    // A fresh target's first skip logs; the next ones inside the interval do not.
    const target = gw.runtime.targets.byKey('openai/gpt-3.5-turbo');
    gw.simulator!.setModel('gpt-3.5-turbo', { faults: [{ type: 'malformed', after_tokens: 2 }] });
    for (let i = 0; i < 3; i++) expect((await stream('openai/gpt-3.5-turbo')).err).toBeUndefined();
    expect(target.malformedEvents.count).toBe(3);
    const mine = lines.map((l) => JSON.parse(l)).filter((l) => l.event === 'malformed_event_skipped' && l.target === 'openai/gpt-3.5-turbo');
    expect(mine).toEqual([
      {
        at: expect.any(String),
        event: 'malformed_event_skipped',
        target: 'openai/gpt-3.5-turbo',
        skipped: 1,
        message: expect.stringMatching(/^upstream sent a stream event that is not JSON: \{"id":"chatcmpl-malformed"/),
      },
    ]);
  });

  it('before the first content: skipped too, no failover', async () => {
    gw.simulator!.setModel('gpt-4-turbo-preview', {});
    const expected = (await stream('openai/gpt-4-turbo-preview')).text;
    gw.simulator!.reset();
    gw.simulator!.setModel('gpt-4-turbo-preview', { faults: [{ type: 'malformed', after_tokens: 0 }] });
    const got = await stream('gpt-4-turbo-preview', 'openai,google');
    expect(got).toEqual({ text: expected, finish: 'stop', err: undefined, provider: 'openai' });
    expect(gw.simulator!.calls().map((c) => [c.model, c.fault])).toEqual([['gpt-4-turbo-preview', 'malformed']]);
  });
});

describe('malformed events in a row break the stream', () => {
  it(`mid-answer: ${MALFORMED_EVENT_LIMITS.inARow} in a row end the stream with an in-band error and no [DONE]`, async () => {
    const target = gw.runtime.targets.byKey('openai/gpt-4-turbo-preview');
    const expected = await whole('openai/gpt-4-turbo-preview');
    const before = { skipped: target.malformedEvents.count, failures: target.stats.failures };
    // Paced, so the first content delta commits the stream before the malformed events come.
    gw.simulator!.setModel('gpt-4-turbo-preview', { tokens_per_second: 200, faults: [{ type: 'malformed', after_tokens: 3, events: MALFORMED_EVENT_LIMITS.inARow }] });

    const got = await stream('openai/gpt-4-turbo-preview');

    expect(got.err).toBeInstanceOf(OpenAI.APIError);
    expect((got.err as InstanceType<typeof OpenAI.APIError>).message).toMatch(/^upstream stream failed after it started: upstream sent a stream event that is not JSON: \{"id":"chatcmpl-malformed"/);
    expect(got.finish).toBeNull();
    // The three deltas before the fault (the lead "Simulated reply from"), nothing after.
    expect(got.text).toBe('Simulated reply from');
    expect(expected.startsWith(got.text)).toBe(true);
    expect(target.malformedEvents.count - before.skipped).toBe(MALFORMED_EVENT_LIMITS.inARow - 1);
    expect(target.stats.failures - before.failures).toBe(1);
    expect(gw.runtime.actor('model:openai/gpt-4-turbo-preview')!.getSnapshot().context.lastErrorKind).toBe('server_error');
  });

  it('before the first content: they fail over as before', async () => {
    gw.simulator!.setModel('gpt-4-turbo-preview', { faults: [{ type: 'malformed', after_tokens: 0, events: MALFORMED_EVENT_LIMITS.inARow }] });
    const got = await stream('gpt-4-turbo-preview', 'openai,google');
    expect(got.err).toBeUndefined();
    expect(got.provider).toBe('google');
    expect(got.text).toMatch(/^Simulated reply from gemini-pro:/);
    expect(gw.simulator!.calls().map((c) => [c.model, c.fault])).toEqual([
      ['gpt-4-turbo-preview', 'malformed'],
      ['gemini-pro', null],
    ]);
  });
});
