import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Transport } from '../../src/providers/transport.ts';
import { openaiAdapter } from '../../src/providers/openai.ts';
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
});
