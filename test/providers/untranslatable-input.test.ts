import { afterEach, describe, expect, it } from 'vitest';
import { breakerStatus } from '../../src/breaker/status.ts';
import type { RunningGateway } from '../../src/gateway.ts';
import { startTestGateway } from '../helpers/gateway.ts';

/**
 * Client input an adapter cannot translate (here: for Anthropic) is the client's fault: a 400
 * naming the field, with no upstream call, no failover, and nothing counted against the
 * provider's breaker. (It used to surface as an adapter bug, a server_error: the request
 * failed over to OpenAI, and enough of them opened Anthropic's breaker.)
 *
 * End to end: HTTP -> the gateway (embedded default config: claude-3-opus on Anthropic, the
 * default failover chain openai, anthropic, google) -> the built-in simulator.
 */

let gw: RunningGateway | undefined;
afterEach(async () => {
  await gw?.close();
  gw = undefined;
});

interface Answer {
  status: number;
  headers: Headers;
  body: { error?: { message: string; type: string; param: string | null; code: string | null } };
}

async function chat(g: RunningGateway, body: Record<string, unknown>): Promise<Answer> {
  const res = await fetch(`${g.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: 'Bearer dev' },
    body: JSON.stringify(body),
  });
  return { status: res.status, headers: res.headers, body: (await res.json()) as Answer['body'] };
}

/** The state of the breaker that guards claude-3-opus on Anthropic (the default config's). */
const anthropicBreaker = (g: RunningGateway) => breakerStatus(g.runtime.targets.get('anthropic', 'claude-3-opus').breakers.default.getSnapshot());

describe('untranslatable client input to Anthropic', () => {
  const cases: Array<[string, Record<string, unknown>, string, string]> = [
    [
      "a 'function' role message (accepted by validation, no Anthropic equivalent)",
      { model: 'claude-3-opus', messages: [{ role: 'function', name: 'f', content: '{}' }] },
      'messages[0].role',
      "Unsupported message role 'function'.",
    ],
    [
      'a content part of an unknown type, streaming',
      { model: 'claude-3-opus', stream: true, messages: [{ role: 'user', content: [{ type: 'weird_part' }] }] },
      'messages[0].content[0].type',
      "Content part type 'weird_part' is not supported by Anthropic.",
    ],
  ];

  it.each(cases)('%s: a 400 with param, no upstream call, no failover, the breaker stays closed', async (_, body, param, message) => {
    gw = await startTestGateway();
    const sim = gw.simulator!;
    // More than the default breaker's 5 failures: had any counted, the breaker would be open.
    for (let i = 0; i < 7; i++) {
      const { status, headers, body: answer } = await chat(gw, body);
      expect(status).toBe(400);
      expect(answer.error).toEqual({ message, type: 'invalid_request_error', param, code: 'bad_request' });
      expect({
        provider: headers.get('x-provider'),
        attempts: headers.get('x-attempts'),
        failover: headers.get('x-failover-used'),
        circuit: headers.get('x-circuit-status'),
      }).toEqual({ provider: 'anthropic', attempts: '1', failover: 'false', circuit: 'closed' });
    }
    // Nothing reached any provider: not Anthropic (the request was never sent), not a fallback.
    expect(sim.calls()).toEqual([]);
    expect(anthropicBreaker(gw)).toBe('closed');

    // Anthropic still serves a request it can translate, on the first attempt.
    const ok = await chat(gw, { model: 'claude-3-opus', messages: [{ role: 'user', content: 'hi' }] });
    expect([ok.status, ok.headers.get('x-provider'), ok.headers.get('x-attempts')]).toEqual([200, 'anthropic', '1']);
    expect(sim.calls({ model: 'claude-3-opus' })).toHaveLength(1);
  });
});
