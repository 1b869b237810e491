import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Transport } from '../../src/providers/transport.ts';
import { anthropicAdapter } from '../../src/providers/anthropic.ts';
import { openaiAdapter } from '../../src/providers/openai.ts';
import type { ChatRequest } from '../../src/core/openai-types.ts';
import { UpstreamError } from '../../src/core/upstream-error.ts';
import { startSimulator, type SimulatorHandle } from '../../src/simulator/index.ts';
import { until } from '../helpers/gateway.ts';

let sim: SimulatorHandle;
const transport = new Transport();
beforeAll(async () => {
  sim = await startSimulator();
});
afterAll(async () => {
  await transport.close();
  await sim.close();
});

const ctx = () => ({ target: { name: 'openai', type: 'openai' as const, baseUrl: `${sim.url}/v1` }, model: 'gpt-4o', stream: false });
const req = { model: 'gpt-4o', messages: [{ role: 'user' as const, content: 'hi' }] };

describe('Transport', () => {
  it('returns the completion and the upstream bytes when untranslated', async () => {
    const r = await transport.call(openaiAdapter, req, ctx(), new AbortController().signal);
    expect(r.type).toBe('completion');
    if (r.type !== 'completion') return;
    expect(JSON.parse(Buffer.from(r.raw!).toString('utf8'))).toEqual(r.completion);
  });

  it('classifies a failure with its Retry-After', async () => {
    sim.setModel('gpt-4o', { faults: [{ type: 'error', kind: 'rate_limit', retry_after_s: 2, first_n: 1 }] });
    const err = await transport.call(openaiAdapter, req, ctx(), new AbortController().signal).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UpstreamError);
    expect([(err as UpstreamError).kind, (err as UpstreamError).hints.retryAfterMs]).toEqual(['rate_limit', 2000]);
  });

  it('an aborted signal aborts the call as a connection error', async () => {
    sim.setModel('gpt-4o', { faults: [{ type: 'hang' }] });
    const c = new AbortController();
    const pending = transport.call(openaiAdapter, req, ctx(), c.signal);
    await until(() => sim.calls({ model: 'gpt-4o' }).some((x) => x.fault === 'hang'));
    c.abort();
    const err = (await pending.catch((e: unknown) => e)) as UpstreamError;
    expect([err.kind, err.message]).toEqual(['connection_error', 'attempt aborted']);
  });

  // The gateway's edge rejects both requests (src/http/validate-chat.ts); a translator that
  // still met one must fail the attempt as the client's error, not as the provider's.
  it.each([
    ['openai', openaiAdapter, { ...req, x_extension: JSON.parse('['.repeat(100_000) + ']'.repeat(100_000)) as unknown }, RangeError],
    ['anthropic', anthropicAdapter, { ...req, messages: [{ role: 'user', content: [null] }] } as unknown as ChatRequest, TypeError],
  ] as const)('whatever the %s translator throws on a request is a bad_request without an upstream call', async (name, adapter, request, cause) => {
    const before = sim.calls().length;
    const target = { name, type: name, baseUrl: name === 'openai' ? `${sim.url}/v1` : sim.url };
    const err = (await transport.call(adapter, request, { target, model: 'm', stream: false }, new AbortController().signal).catch((e: unknown) => e)) as UpstreamError;
    expect(err).toBeInstanceOf(UpstreamError);
    expect({ kind: err.kind, status: err.status, param: err.param, message: err.message }).toEqual({
      kind: 'bad_request',
      status: 400,
      param: null,
      message: `The request could not be translated into the ${name} format.`,
    });
    expect(err.cause).toBeInstanceOf(cause);
    expect(sim.calls().length).toBe(before);
  });
});
