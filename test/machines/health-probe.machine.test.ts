import { describe, expect, it } from 'vitest';
import { createActor, fromPromise, SimulatedClock } from 'xstate';
import { healthProbeMachine } from '../../machines/health-probe.machine.ts';

const flush = () => new Promise((r) => setImmediate(r));

function harness(results: boolean[]) {
  const clock = new SimulatedClock();
  const flips: boolean[] = [];
  let i = 0;
  const machine = healthProbeMachine.provide({
    actors: { probe: fromPromise(async () => { if (!results[i++]) throw new Error('down'); }) },
    actions: { setHealthy: (_, p) => flips.push(p.healthy) },
  });
  const actor = createActor(machine, { clock, input: { target: 'openai/gpt-4', intervalMs: 30_000, failureThreshold: 3, successThreshold: 2 } }).start();
  const tick = async () => {
    clock.increment(30_000);
    await flush();
  };
  return { actor, flips, tick, probes: () => i };
}

describe('health probe machine', () => {
  it('probes once per interval', async () => {
    const h = harness([true, true, true]);
    expect(h.probes()).toBe(0);
    await h.tick();
    await h.tick();
    expect(h.probes()).toBe(2);
    expect(h.actor.getSnapshot().value).toEqual({ healthy: 'waiting' });
  });

  it('goes unhealthy after failure_threshold consecutive failures, not before', async () => {
    const h = harness([false, false, true, false, false, false]);
    for (let k = 0; k < 5; k++) await h.tick();
    // f, f, s (resets), f, f: never three in a row
    expect(h.actor.getSnapshot().value).toEqual({ healthy: 'waiting' });
    await h.tick();
    expect(h.actor.getSnapshot().value).toEqual({ unhealthy: 'waiting' });
    expect(h.flips).toEqual([false]);
  });

  it('recovers after success_threshold consecutive successes', async () => {
    const h = harness([false, false, false, true, false, true, true]);
    for (let k = 0; k < 3; k++) await h.tick();
    expect(h.flips).toEqual([false]);
    for (let k = 0; k < 3; k++) await h.tick();
    expect(h.actor.getSnapshot().value).toEqual({ unhealthy: 'waiting' });
    await h.tick();
    expect(h.actor.getSnapshot().value).toEqual({ healthy: 'waiting' });
    expect(h.flips).toEqual([false, true]);
  });
});
