import { describe, expect, it } from 'vitest';
import { createActor, raise, SimulatedClock } from 'xstate';
import { degradedMachine, type DegradedReading } from '../../machines/degraded.machine.ts';

/** The degraded-mode actor alone: each transition, driven by scripted readings on a simulated clock. */

const reading = (...reasons: DegradedReading['reasons']): DegradedReading => ({ reasons, details: Object.fromEntries(reasons.map((r) => [r, `${r} detail`])) });

function start(script: DegradedReading[]) {
  const clock = new SimulatedClock();
  let i = 0;
  const machine = degradedMachine.provide({
    actions: { evaluate: raise(() => ({ type: 'EVALUATED' as const, reading: script[Math.min(i++, script.length - 1)], at: clock.now() })) },
  });
  const seen: string[] = [];
  const actor = createActor(machine, { input: { intervalMs: 100 }, clock });
  actor.subscribe((s) => seen.push(`${String(s.value)}:${s.context.reasons.join('+')}`));
  actor.start();
  return { actor, clock, seen, evaluated: () => i };
}

describe('degradedMachine', () => {
  it('evaluates once per interval, and only then', () => {
    const { clock, evaluated } = start([reading()]);
    clock.increment(99);
    expect(evaluated()).toBe(0);
    clock.increment(1);
    expect(evaluated()).toBe(1);
    clock.increment(100);
    expect(evaluated()).toBe(2);
  });

  it('normal -> degraded on a reading with reasons, records them and when; degraded -> normal on an empty one', () => {
    const { actor, clock } = start([reading('rate_limiting'), reading('rate_limiting'), reading()]);
    clock.increment(100);
    expect([actor.getSnapshot().value, actor.getSnapshot().context]).toEqual([
      'degraded',
      { intervalMs: 100, reasons: ['rate_limiting'], details: { rate_limiting: 'rate_limiting detail' }, since: 100 },
    ]);
    clock.increment(100);
    expect(actor.getSnapshot().context.since).toBe(100);
    clock.increment(100);
    expect([actor.getSnapshot().value, actor.getSnapshot().context]).toEqual(['normal', { intervalMs: 100, reasons: [], details: {}, since: null }]);
  });

  it('changed reasons while degraded update the context in the same state', () => {
    const { actor, clock, seen } = start([reading('high_latency'), reading('high_latency', 'partial_outage'), reading('partial_outage')]);
    for (let t = 0; t < 3; t++) clock.increment(100);
    expect(actor.getSnapshot().value).toBe('degraded');
    expect([...new Set(seen)]).toEqual(['normal:', 'degraded:high_latency', 'degraded:high_latency+partial_outage', 'degraded:partial_outage']);
  });
});
