import { describe, expect, it } from 'vitest';
import { chartOf, charts, VISUALIZED_MACHINES, type ChartEdge, type ChartNode } from '../../src/visualizer/charts.ts';
import { breakerMachine } from '../../machines/breaker.machine.ts';

const states = (n: ChartNode): string[] => [n.id, ...n.children.flatMap(states)];
const edges = (n: ChartNode): ChartEdge[] => [...n.edges, ...n.children.flatMap(edges)];

describe('statecharts from the machine definitions', () => {
  it("the breaker's chart has its states and every transition with its guard and delay by name", () => {
    const c = chartOf(breakerMachine);
    expect(states(c.root)).toEqual(['breaker', 'breaker.closed', 'breaker.open', 'breaker.half_open']);
    expect(c.root.initial).toBe('breaker.closed');
    const e = edges(c.root).map((x) => `${x.source} -${x.label}${x.guard ? ` [${x.guard}]` : ''}-> ${x.target}`);
    expect(e).toContain('breaker.closed -OUTCOME [failureTrips]-> breaker.open');
    expect(e).toContain('breaker.open -after openTimeout-> breaker.half_open');
    expect(e).toContain('breaker.half_open -OUTCOME [isTrialFailure]-> breaker.open');
    expect(edges(c.root).find((x) => x.label === 'after openTimeout')?.delay).toBe('openTimeout');
    // As many edges as the definition has transitions.
    const defined = breakerMachine.root.transitions ? [...Object.values(breakerMachine.states)].reduce((n, s) => n + [...s.transitions.values()].flat().length, 0) : 0;
    expect(edges(c.root)).toHaveLength(defined);
  });

  it('every listed machine is drawn, each chart is plain JSON, and each machine id appears once', () => {
    const all = charts();
    expect(all.map((c) => c.machine)).toEqual(VISUALIZED_MACHINES.map((m) => m.machine.id));
    expect(new Set(all.map((c) => c.machine)).size).toBe(all.length);
    expect(JSON.parse(JSON.stringify(all))).toEqual(all);
    const failover = all.find((c) => c.machine === 'failover')!;
    expect(states(failover.root)).toEqual(expect.arrayContaining(['failover.attempting', 'failover.deciding', 'failover.backoff', 'failover.streaming', 'failover.succeeded', 'failover.failed']));
  });
});
