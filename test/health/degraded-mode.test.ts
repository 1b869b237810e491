import { Subject } from 'rxjs';
import { afterEach, describe, expect, it } from 'vitest';
import { SimulatedClock } from 'xstate';
import type { TransitionEvent } from '../../src/events/transitions.ts';
import type { HealthEvent } from '../../src/health/events.ts';
import { HealthMonitor } from '../../src/health/monitor.ts';
import { WriteQueue } from '../../src/health/write-queue.ts';
import { IncidentRecorder } from '../../src/incidents/recorder.ts';
import { openStore } from '../../src/store/open-store.ts';
import type { Store } from '../../src/store/types.ts';

/**
 * Degraded mode is another module's machine (id `degraded`): its transitions on the stream
 * become degraded_mode_entered / degraded_mode_exited, and a degraded_performance incident.
 */

let store: Store | undefined;
afterEach(async () => {
  await store?.close();
  store = undefined;
});

const T0 = Date.UTC(2025, 8, 14, 3, 0);
const step = (state: unknown, at: number): TransitionEvent => ({ actorId: 'x:1', systemId: 'degraded', machine: 'degraded', state, event: 'E', status: 'active', at, context: {}, payload: {} });

describe('degraded mode on the transition stream', () => {
  it('entering and leaving a degraded state are one event each; the incident is degraded_performance, low, resolved after the quiet period', async () => {
    const clock = new SimulatedClock();
    clock.set(T0);
    store = await openStore({ sqlitePath: ':memory:', env: {}, now: () => clock.now() });
    const writes = new WriteQueue((m) => {
      throw new Error(m);
    });
    const transitions = new Subject<TransitionEvent>();
    const providers = new Map([['openai', ['gpt-4']]]);
    const monitor = new HealthMonitor({ transitions$: transitions, store, writes, failoverOrder: ['openai'], providers, isDefaultBreaker: () => true });
    const events: HealthEvent[] = [];
    monitor.events$.subscribe((e) => events.push(e));
    const recorder = new IncidentRecorder({ monitor, store, writes, now: () => clock.now(), clock, region: 'eu-west-1', resolveAfterMs: 60_000, providers, stateOf: () => 'healthy' });

    transitions.next(step('normal', T0));
    transitions.next(step({ active: 'high_latency' }, T0));
    transitions.next(step({ active: 'partial_outage' }, T0 + 1_000));
    // incident_opened is published once the incident is committed.
    await writes.drain();
    clock.set(T0 + 120_000);
    transitions.next(step('normal', T0 + 120_000));
    await writes.drain();
    expect(recorder.openCount).toBe(1);
    clock.increment(60_000);
    await writes.drain();
    expect(events.map((e) => e.type)).toEqual(['degraded_mode_entered', 'incident_opened', 'degraded_mode_exited', 'incident_resolved']);
    expect(events[0]).toEqual({ type: 'degraded_mode_entered', timestamp: new Date(T0).toISOString(), state: 'active' });
    const [inc] = await store.incidents.list();
    expect(inc).toMatchObject({ status: 'resolved', impact: 'degraded_performance', severity: 'low', region: 'eu-west-1', affectedServices: ['degraded_mode'], startedAt: T0, resolvedAt: T0 + 120_000 });
    await recorder.stop();
    monitor.stop();
  });
});
