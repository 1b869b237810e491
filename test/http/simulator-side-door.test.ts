import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningGateway } from '../../src/gateway.ts';
import { startTestGateway } from '../helpers/gateway.ts';

const FAULT = JSON.stringify({ faults: [{ type: 'error', kind: 'model_overloaded' }] });
const CHAT = JSON.stringify({ model: 'gpt-3.5-turbo', messages: [{ role: 'user', content: 'x' }] });

// The in-process simulator listens on a loopback port of its own. Its control API must not be a
// way around the gateway's admin key: only the gateway (which holds its per-process token) gets
// an answer from it, and its control endpoints are reachable only at /admin/simulator/*.
describe('the in-process simulator has no side door', () => {
  let gw: RunningGateway;
  beforeAll(async () => {
    gw = await startTestGateway({
      auth: { keys: ['client-key'], admin_keys: ['admin-key'] },
      resilience: { retry: { max_retries: 0 }, failover: { enabled: false } },
    });
  });
  afterAll(() => gw.close());

  const chat = () =>
    fetch(`${gw.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Bearer client-key' }, body: CHAT });

  it('refuses a direct PUT to its control API (and changes nothing), with or without a key', async () => {
    for (const headers of [{}, { authorization: 'Bearer admin-key' }, { authorization: 'Bearer client-key' }]) {
      const res = await fetch(`${gw.simulator!.url}/_sim/models/gpt-3.5-turbo`, { method: 'PUT', headers: { 'content-type': 'application/json', ...headers }, body: FAULT });
      expect(res.status).toBe(403);
      expect(await res.json()).toEqual({
        error: {
          message: expect.stringContaining('serves only the gateway that started it'),
          type: 'permission_error',
          param: null,
          code: 'simulator_token_required',
        },
      });
    }
    for (const path of ['/_sim/state', '/_sim/calls']) expect((await fetch(`${gw.simulator!.url}${path}`)).status).toBe(403);
    expect((await fetch(`${gw.simulator!.url}/_sim/reset`, { method: 'POST' })).status).toBe(403);
    // The model still answers: the PUT did nothing.
    expect((await chat()).status).toBe(200);
  });

  it('refuses direct provider calls too', async () => {
    const before = gw.simulator!.calls().length;
    const res = await fetch(`${gw.simulator!.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: CHAT });
    expect(res.status).toBe(403);
    expect(gw.simulator!.calls().length).toBe(before);
  });

  it("is controlled through the gateway's /admin/simulator with an admin key, and only with one", async () => {
    const put = (authorization: string) =>
      fetch(`${gw.url}/admin/simulator/models/gpt-3.5-turbo`, { method: 'PUT', headers: { 'content-type': 'application/json', authorization }, body: FAULT });
    expect((await put('Bearer client-key')).status).toBe(403);
    expect((await chat()).status).toBe(200);
    const ok = await put('Bearer admin-key');
    expect(ok.status).toBe(200);
    expect(await ok.json()).toEqual({ model: 'gpt-3.5-turbo', config: { faults: [{ type: 'error', kind: 'model_overloaded' }] } });
    expect((await chat()).status).toBe(503);
    const reset = await fetch(`${gw.url}/admin/simulator/reset`, { method: 'POST', headers: { authorization: 'Bearer admin-key' } });
    expect(reset.status).toBe(200);
    expect((await chat()).status).toBe(200);
  });
});
