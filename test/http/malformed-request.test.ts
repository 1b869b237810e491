import { afterEach, describe, expect, it } from 'vitest';
import { breakerStatus, failuresNow } from '../../src/breaker/status.ts';
import type { RunningGateway } from '../../src/gateway.ts';
import { startTestGateway } from '../helpers/gateway.ts';

/**
 * Malformed client input is rejected at the edge: a 400 naming the field, before any upstream
 * call, so it never counts against a provider. (These inputs used to reach the translators,
 * which threw; the throw became an upstream server_error: retried, failed over, answered 200
 * by another model, and five of them opened the provider's breaker for everyone.)
 *
 * End to end: HTTP -> the gateway (embedded default config: failover chain openai, anthropic,
 * google) -> the built-in simulator, once per provider.
 */

let gw: RunningGateway | undefined;
afterEach(async () => {
  await gw?.close();
  gw = undefined;
});

/** One model per adapter of the default config. */
const MODELS = [
  ['openai', 'gpt-3.5-turbo'],
  ['anthropic', 'claude-3-opus'],
  ['google', 'gemini-pro'],
] as const;

const user = { role: 'user', content: 'What is the weather?' };
const nested = (depth: number): string => '['.repeat(depth) + ']'.repeat(depth);

/** name, the body after `model` (JSON text, so a 100,000-deep array needs no recursion to build), param, message, code */
const CASES: Array<[string, string, string, string, string | null]> = [
  [
    'a null content part',
    `"messages": [{"role": "user", "content": [null]}]`,
    'messages[0].content[0]',
    "Invalid type for 'messages[0].content[0]': expected an object, but got null instead.",
    'invalid_type',
  ],
  [
    'a number as a tool call',
    `"messages": [${JSON.stringify(user)}, {"role": "assistant", "tool_calls": [5]}]`,
    'messages[1].tool_calls[0]',
    "Invalid type for 'messages[1].tool_calls[0]': expected an object, but got an integer instead.",
    'invalid_type',
  ],
  [
    'a tool call whose function is null',
    `"messages": [${JSON.stringify(user)}, {"role": "assistant", "tool_calls": [{"id": "call_1", "type": "function", "function": null}]}]`,
    'messages[1].tool_calls[0].function',
    "Invalid type for 'messages[1].tool_calls[0].function': expected an object, but got null instead.",
    'invalid_type',
  ],
  [
    'a tool call with nothing but a null function',
    `"messages": [${JSON.stringify(user)}, {"role": "assistant", "tool_calls": [{"function": null}]}]`,
    'messages[1].tool_calls[0].type',
    "Missing required parameter: 'messages[1].tool_calls[0].type'.",
    'missing_required_parameter',
  ],
  [
    'a json_schema response format without its json_schema',
    `"messages": [${JSON.stringify(user)}], "response_format": {"type": "json_schema", "json_schema": null}`,
    'response_format.json_schema',
    "Invalid type for 'response_format.json_schema': expected an object, but got null instead.",
    'invalid_type',
  ],
  [
    '100,000 nested arrays as a message content',
    `"messages": [{"role": "user", "content": ${nested(100_000)}}]`,
    `messages[0].content${'[0]'.repeat(61)}`,
    `The request is nested too deeply at 'messages[0].content${'[0]'.repeat(61)}': at most 64 levels are allowed.`,
    null,
  ],
  [
    '100,000 nested arrays in a field the gateway passes through',
    `"messages": [${JSON.stringify(user)}], "x_extension": ${nested(100_000)}`,
    `x_extension${'[0]'.repeat(63)}`,
    `The request is nested too deeply at 'x_extension${'[0]'.repeat(63)}': at most 64 levels are allowed.`,
    null,
  ],
];

describe.each(MODELS)('malformed requests for %s (%s)', (provider, model) => {
  it.each(CASES)('%s: a 400 naming the field, no upstream call, nothing counted against any provider', async (_, rest, param, message, code) => {
    gw = await startTestGateway();
    const g = gw;
    // More than the default breaker's 5 failures: had any counted, the breaker would be open.
    for (let i = 0; i < 6; i++) {
      const res = await fetch(`${g.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: 'Bearer dev' },
        body: `{"model": ${JSON.stringify(model)}, ${rest}}`,
      });
      expect(res.status).toBe(400);
      expect(await res.json()).toEqual({ error: { message, type: 'invalid_request_error', param, code } });
      // Rejected before any routing: nothing says a provider was involved.
      expect(res.headers.get('x-provider')).toBeNull();
    }
    expect(g.simulator!.calls()).toEqual([]);
    const now = g.runtime.now();
    for (const target of g.runtime.targets.values()) {
      const breaker = target.breakers.default.getSnapshot();
      expect({ target: target.key, status: breakerStatus(breaker), failures: failuresNow(breaker, now), recorded: target.stats.failures, requests: target.stats.requests }).toEqual({
        target: target.key,
        status: 'closed',
        failures: 0,
        recorded: 0,
        requests: 0,
      });
    }
    // The provider still serves a well-formed request at once.
    const ok = await fetch(`${g.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model, messages: [user] }),
    });
    expect([ok.status, ok.headers.get('x-provider'), ok.headers.get('x-attempts')]).toEqual([200, provider, '1']);
  });
});
