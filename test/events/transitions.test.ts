import { afterEach, describe, expect, it } from 'vitest';
import { filter, map, toArray, take, firstValueFrom, type Observable } from 'rxjs';
import type { RunningGateway } from '../../src/gateway.ts';
import type { TransitionEvent } from '../../src/events/transitions.ts';
import { sdkClient, startTestGateway } from '../helpers/gateway.ts';

let gw: RunningGateway | undefined;
afterEach(async () => {
  await gw?.close();
  gw = undefined;
});

/** Plain, comparable view of a transition (as XState's own inspect tests do). */
const view = (e: TransitionEvent) => ({ machine: e.machine, systemId: e.systemId, state: e.state, event: e.event });

function collect(stream: Observable<TransitionEvent>, pred: (e: TransitionEvent) => boolean): TransitionEvent[] {
  const out: TransitionEvent[] = [];
  stream.pipe(filter(pred)).subscribe((e) => out.push(e));
  return out;
}

describe('the transition stream', () => {
  it('publishes model and provider actor transitions as a target fails and recovers', async () => {
    gw = await startTestGateway({ resilience: { retry: { max_retries: 0 }, failover: { enabled: false } } });
    const events = collect(gw.hub.transitions$, (e) => e.systemId === 'model:google/gemini-pro' || e.systemId === 'provider:google');
    const client = sdkClient(gw);
    gw.simulator!.setModel('gemini-pro', { faults: [{ type: 'error', kind: 'server_error', first_n: 3 }] });
    for (let i = 0; i < 4; i++) {
      await client.chat.completions.create({ model: 'gemini-pro', messages: [{ role: 'user', content: 'x' }] }).catch(() => {});
    }
    expect(events.map(view)).toEqual([
      { machine: 'model', systemId: 'model:google/gemini-pro', state: 'healthy', event: 'OUTCOME' },
      { machine: 'model', systemId: 'model:google/gemini-pro', state: 'healthy', event: 'OUTCOME' },
      { machine: 'provider', systemId: 'provider:google', state: 'down', event: 'MODEL_HEALTH' },
      { machine: 'model', systemId: 'model:google/gemini-pro', state: 'failing', event: 'OUTCOME' },
      { machine: 'provider', systemId: 'provider:google', state: 'healthy', event: 'MODEL_HEALTH' },
      { machine: 'model', systemId: 'model:google/gemini-pro', state: 'healthy', event: 'OUTCOME' },
    ]);
    expect((events.at(-1)!.context as { requests: number; failures: number }).requests).toBe(4);
  });

  it('includes request actors only while someone watches them', async () => {
    gw = await startTestGateway();
    const requests = collect(gw.hub.transitions$, (e) => e.machine === 'failover');
    const client = sdkClient(gw);
    await client.chat.completions.create({ model: 'gpt-3.5-turbo', messages: [{ role: 'user', content: 'x' }] });
    expect(requests).toHaveLength(0);

    const stop = gw.hub.watchRequests();
    await client.chat.completions.create({ model: 'gpt-3.5-turbo', messages: [{ role: 'user', content: 'x' }] });
    stop();
    await client.chat.completions.create({ model: 'gpt-3.5-turbo', messages: [{ role: 'user', content: 'x' }] });
    expect(requests.map((e) => [e.state, e.status])).toEqual([
      ['attempting', 'active'],
      ['succeeded', 'done'],
    ]);
    expect(new Set(requests.map((e) => e.actorId)).size).toBe(1);
  });

  it('breaker transitions reach the stream with their systemId-like id', async () => {
    gw = await startTestGateway({ resilience: { retry: { max_retries: 0 }, failover: { enabled: false }, breaker: { error_threshold: 2 } } });
    const states = firstValueFrom(
      gw.hub.transitions$.pipe(
        filter((e) => e.machine === 'breaker'),
        map((e) => e.state),
        take(2),
        toArray(),
      ),
    );
    gw.simulator!.setModel('claude-3-opus', { faults: [{ type: 'error', kind: 'server_error' }] });
    const client = sdkClient(gw);
    for (let i = 0; i < 2; i++) await client.chat.completions.create({ model: 'claude-3-opus', messages: [{ role: 'user', content: 'x' }] }).catch(() => {});
    expect(await states).toEqual(['closed', 'open']);
  });
});

describe('the state-change log', () => {
  it('writes one JSON line per breaker, model and provider state change, and nothing for healthy traffic', async () => {
    const lines: string[] = [];
    const { startGateway } = await import('../../src/gateway.ts');
    const { configFromObject } = await import('../../src/config/load.ts');
    const { DEFAULT_CONFIG } = await import('../../src/config/default-config.ts');
    gw = await startGateway(
      configFromObject({ ...DEFAULT_CONFIG, server: { port: 0 }, store: { path: ':memory:' }, resilience: { retry: { max_retries: 0 }, failover: { enabled: false }, breaker: { error_threshold: 3 } } }, { env: {} }),
      { log: (l) => lines.push(l) },
    );
    const client = sdkClient(gw);
    await client.chat.completions.create({ model: 'gemini-pro', messages: [{ role: 'user', content: 'x' }] });
    expect(lines).toEqual([]);
    gw.simulator!.setModel('gemini-pro', { faults: [{ type: 'error', kind: 'server_error' }] });
    for (let i = 0; i < 3; i++) await client.chat.completions.create({ model: 'gemini-pro', messages: [{ role: 'user', content: 'x' }] }).catch(() => {});
    const changes = lines.map((l) => JSON.parse(l) as { machine: string; actor: string; from: string; to: string });
    expect(changes.map((c) => [c.machine, c.actor.replace(/#.*/, ''), c.from, c.to])).toEqual([
      ['provider', 'provider:google', 'healthy', 'down'],
      ['model', 'model:google/gemini-pro', 'healthy', 'failing'],
      ['breaker', 'breaker:google/gemini-pro', 'closed', 'open'],
      // Routing skips the target while its default breaker is open: health says so.
      ['model', 'model:google/gemini-pro', 'failing', 'down'],
    ]);
  });
});
