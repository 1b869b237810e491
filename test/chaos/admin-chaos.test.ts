import { SimulatedClock } from 'xstate';
import { afterEach, describe, expect, it } from 'vitest';
import type { RunningGateway } from '../../src/gateway.ts';
import { startTestGateway } from '../helpers/gateway.ts';

let gw: RunningGateway | undefined;
afterEach(async () => {
  await gw?.close();
  gw = undefined;
});

const post = (body: unknown, headers: Record<string, string> = {}) =>
  fetch(`${gw!.url}/admin/chaos`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: typeof body === 'string' ? body : JSON.stringify(body) });

describe('/admin/chaos', () => {
  it('adds, lists and removes faults; each body field is checked with a 400 naming it', async () => {
    const lines: string[] = [];
    gw = await startTestGateway({ chaos: { enabled: true } }, { log: (l) => lines.push(l) });
    const res = await post({ target: 'openai/gpt-4-turbo-preview', fault: 'rate_limit', duration_s: 30, retry_after_s: 2 });
    expect(res.status).toBe(201);
    const added = (await res.json()) as Record<string, unknown>;
    expect(added).toMatchObject({ target: 'openai/gpt-4-turbo-preview', fault: 'rate_limit', retry_after_s: 2, remaining_ms: 30_000, injected: 0 });
    expect(added.id).toMatch(/^chaos_/);

    const bad: Array<[unknown, number, string | null]> = [
      [{ target: 'nope', fault: 'rate_limit' }, 400, 'target'],
      [{ target: 'openai/unknown-model', fault: 'rate_limit' }, 400, 'target'],
      [{ target: 'openai', fault: 'meltdown' }, 400, 'fault'],
      [{ target: 'openai', fault: 'latency' }, 400, 'latency_ms'],
      [{ target: 'openai', fault: 'rate_limit', after_tokens: 3 }, 400, 'after_tokens'],
      [{ target: 'openai', fault: 'stream_cut', retry_after_s: 3 }, 400, 'retry_after_s'],
      [{ target: 'openai', fault: 'rate_limit', duration_s: 0 }, 400, 'duration_s'],
      [{ target: 'openai', fault: 'rate_limit', colour: 'red' }, 400, 'colour'],
      [[1], 400, 'body'],
      ['{not json', 400, null],
    ];
    for (const [body, status, param] of bad) {
      const r = await post(body);
      expect(r.status, JSON.stringify(body)).toBe(status);
      const e = (await r.json()) as { error: { message: string; type: string; param: string | null; code: string } };
      expect(Object.keys(e.error).sort()).toEqual(['code', 'message', 'param', 'type']);
      expect(e.error.param).toBe(param);
    }

    const list = (await (await fetch(`${gw.url}/admin/chaos`)).json()) as { data: Array<{ id: string }> };
    expect(list.data.map((f) => f.id)).toEqual([added.id]);
    const del = await fetch(`${gw.url}/admin/chaos/${String(added.id)}`, { method: 'DELETE' });
    expect(await del.json()).toEqual({ id: added.id, object: 'chaos.fault', deleted: true, injected: 0 });
    expect((await fetch(`${gw.url}/admin/chaos/${String(added.id)}`, { method: 'DELETE' })).status).toBe(404);
    expect(((await (await fetch(`${gw.url}/admin/chaos`)).json()) as { data: unknown[] }).data).toEqual([]);
    expect(lines.filter((l) => l.includes('"chaos"')).map((l) => [JSON.parse(l).chaos, JSON.parse(l).why])).toEqual([
      ['added', undefined],
      ['ended', 'deleted'],
    ]);
  });

  it('is off unless the config enables it: 404 chaos_disabled, and nothing wraps the transport', async () => {
    gw = await startTestGateway({ chaos: { enabled: false } });
    const r = await post({ target: 'openai', fault: 'rate_limit' });
    expect(r.status).toBe(404);
    expect(((await r.json()) as { error: { code: string } }).error.code).toBe('chaos_disabled');
    expect(gw.chaos).toBeUndefined();
  });

  it('needs an admin key when keys are configured', async () => {
    gw = await startTestGateway({ chaos: { enabled: true }, auth: { keys: ['user-key'], admin_keys: ['admin-key'] } });
    expect((await post({ target: 'openai', fault: 'rate_limit' }, { authorization: 'Bearer user-key' })).status).toBe(403);
    expect((await post({ target: 'openai', fault: 'rate_limit' }, { authorization: 'Bearer admin-key' })).status).toBe(201);
  });

  it("a fault lapses after its duration on the gateway's clock", async () => {
    const clock = new SimulatedClock();
    clock.set(Date.parse('2026-01-01T00:00:00Z'));
    const lines: string[] = [];
    gw = await startTestGateway({ chaos: { enabled: true } }, { clock, log: (l) => lines.push(l) });
    await post({ target: 'google', fault: 'server_error', duration_s: 5 });
    clock.increment(4_999);
    expect(((await (await fetch(`${gw.url}/admin/chaos`)).json()) as { data: Array<{ remaining_ms: number }> }).data.map((f) => f.remaining_ms)).toEqual([1]);
    clock.increment(1);
    expect(((await (await fetch(`${gw.url}/admin/chaos`)).json()) as { data: unknown[] }).data).toEqual([]);
    expect(lines.map((l) => JSON.parse(l)).filter((l) => l.chaos === 'ended')).toMatchObject([{ why: 'expired', target: 'google', fault: 'server_error' }]);
  });
});
