import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { until } from '../helpers/gateway.ts';
import { startSimulator, type SimulatorHandle } from '../../src/simulator/index.ts';
import { ANTHROPIC_HEADERS, anthropicBody, causeCode, openaiBody, post, readThenListen } from './helpers.ts';

let sim: SimulatorHandle;
beforeAll(async () => {
  sim = await startSimulator();
});
afterAll(() => sim.close());
beforeEach(() => sim.reset());

describe('connection-level faults', () => {
  it('reset: the connection is reset before any header (ECONNRESET)', async () => {
    sim.setModel('gpt-4o', { faults: [{ type: 'reset' }] });
    const err = await post(sim.url, '/v1/chat/completions', openaiBody()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TypeError);
    expect(causeCode(err)).toBe('ECONNRESET');
    expect(sim.calls()).toEqual([{ at: expect.any(Number), provider: 'openai', model: 'gpt-4o', stream: false, fault: 'reset', status: null }]);
  });

  it('error connection_error: the socket is closed before any header', async () => {
    sim.setModel('claude-3-opus', { faults: [{ type: 'error', kind: 'connection_error' }] });
    const err = await post(sim.url, '/v1/messages', anthropicBody(), ANTHROPIC_HEADERS).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TypeError);
    expect(causeCode(err)).toBe('UND_ERR_SOCKET');
    expect(sim.calls()[0]).toMatchObject({ fault: 'error', status: null });
  });

  it('hang: no answer until the client aborts', async () => {
    sim.setModel('gpt-4o', { faults: [{ type: 'hang' }] });
    const ctl = new AbortController();
    let settled = false;
    const pending = post(sim.url, '/v1/chat/completions', openaiBody(), {}, ctl.signal)
      .catch((e: unknown) => e)
      .finally(() => (settled = true));
    // The simulator has the request (however busy the machine), and holds it.
    await until(() => sim.calls().length === 1);
    await new Promise((r) => setTimeout(r, 50));
    expect(settled).toBe(false);
    ctl.abort();
    const err = (await pending) as Error;
    expect(err.name).toBe('AbortError');
    // The log says the caller hung up (the server hears the close a moment after the abort).
    while (sim.calls()[0].aborted === undefined) await new Promise((r) => setTimeout(r, 2));
    expect(sim.calls()).toEqual([{ at: expect.any(Number), provider: 'openai', model: 'gpt-4o', stream: false, fault: 'hang', status: null, aborted: true }]);
  });

  it('close() destroys hanging and stalled sockets and resolves', async () => {
    const own = await startSimulator({
      models: { hangs: { faults: [{ type: 'hang' }] }, stalls: { faults: [{ type: 'stall', after_tokens: 1 }] } },
    });
    const hanging = post(own.url, '/v1/chat/completions', openaiBody({ model: 'hangs' })).catch((e: unknown) => e);
    const stalled = await post(own.url, '/v1/chat/completions', openaiBody({ model: 'stalls', stream: true }));
    const reading = readThenListen(stalled, () => false, 0).catch((e: unknown) => e);
    await new Promise((r) => setTimeout(r, 20));
    const t0 = performance.now();
    await own.close();
    expect(performance.now() - t0).toBeLessThan(500);
    expect(causeCode(await hanging)).toBe('UND_ERR_SOCKET');
    const read = await reading;
    expect(read).toBeInstanceOf(TypeError);
    // Idempotent.
    await own.close();
  });

  it('a call abandoned during its latency is logged with no status and never answered', async () => {
    sim.setModel('gpt-4o', { latency: { type: 'fixed', ms: 120 }, faults: [{ type: 'slow_first_token', delay_ms: 10 }] });
    const ctl = new AbortController();
    const pending = post(sim.url, '/v1/chat/completions', openaiBody(), {}, ctl.signal).catch((e: unknown) => e);
    // Abort only once the server has admitted the call, whatever the machine's load.
    while (sim.calls().length === 0) await new Promise((r) => setTimeout(r, 2));
    ctl.abort();
    expect(((await pending) as Error).name).toBe('AbortError');
    await new Promise((r) => setTimeout(r, 180));
    expect(sim.calls()).toEqual([{ at: expect.any(Number), provider: 'openai', model: 'gpt-4o', stream: false, fault: 'slow_first_token', status: null, aborted: true }]);
  });

  it('the connection pool recovers: a healthy call after a reset succeeds', async () => {
    sim.setModel('gpt-4o', { faults: [{ type: 'reset', first_n: 1 }] });
    await post(sim.url, '/v1/chat/completions', openaiBody()).catch(() => undefined);
    expect((await post(sim.url, '/v1/chat/completions', openaiBody())).status).toBe(200);
  });
});
