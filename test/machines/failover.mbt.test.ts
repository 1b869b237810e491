import { describe, expect, it } from 'vitest';
import { getInitialSnapshot, getNextSnapshot } from 'xstate';
import { getAdjacencyMap, getShortestPaths, serializeSnapshot, type AdjacencyValue } from 'xstate/graph';
import { RealFailover } from './failover.driver.ts';
import type { FailoverHarnessOptions } from './failover.harness.ts';
import { eventLabel, failoverSpec, specEvents, SPEC_CONFIGS, type SpecEvent, type SpecInput, type SpecSnapshot } from './failover.spec.ts';

/**
 * The real failover machine against its spec (failover.spec.ts): every shortest path of the
 * spec, then every transition of it (the shortest path to its source, then the transition),
 * for each configuration of the request. After every event the real machine (the runtime's
 * clock provisions on a SimulatedClock) must be in the spec's state with the same step,
 * attempts, reports, servedBy and fellBack (RealFailover.assertMatches).
 */

type Step = { event: SpecEvent | { type: 'xstate.init' }; state: SpecSnapshot };

/** Per configuration: vertices (settled spec states), transitions, and the states they reach. */
const EXPECTED: Record<string, { vertices: number; transitions: number; states: string[] }> = {
  'error/open': { vertices: 140, transitions: 562, states: ['attempting', 'backoff', 'streaming', 'stalling', 'continuing', 'succeeded', 'failed', 'stalled', 'broken'] },
  'error/closed': { vertices: 134, transitions: 562, states: ['attempting', 'backoff', 'streaming', 'stalling', 'continuing', 'succeeded', 'failed', 'stalled', 'broken'] },
  'cache/open': { vertices: 157, transitions: 584, states: ['attempting', 'backoff', 'cacheFallback', 'streaming', 'stalling', 'continuing', 'succeeded', 'failed', 'stalled', 'broken'] },
  'degraded/open': { vertices: 212, transitions: 863, states: ['attempting', 'backoff', 'degradedFallback', 'streaming', 'stalling', 'continuing', 'succeeded', 'failed', 'stalled', 'broken'] },
};

const nameOf = (c: SpecInput) => `${c.fallback}/${c.primaryOpen ? 'open' : 'closed'}`;

async function drive(config: SpecInput, steps: readonly Step[], broken: Pick<FailoverHarnessOptions, 'override'> = {}): Promise<RealFailover> {
  const events = steps.map((s) => s.event).filter((e): e is SpecEvent => e.type !== 'xstate.init');
  const driver = await RealFailover.for(config, events, broken);
  for (const step of steps) {
    await driver.exec(step.event);
    driver.assertMatches(step.state);
  }
  return driver;
}

function label(s: SpecSnapshot): string {
  const c = s.context;
  const extra = [c.waited && 'waited', c.refusedFirst && 'refused', c.late && 'late', c.unrecorded && `lost${c.unrecorded}`].filter(Boolean).join(' ');
  return `${s.value}(step ${c.stepIndex}#${c.stepAttempts}, ${c.attempts} att${extra ? `, ${extra}` : ''})`;
}

const pathName = (steps: readonly Step[]) => steps.slice(1).map((s) => eventLabel(s.event as SpecEvent)).join(' > ') || '(start)';

/**
 * Every state of the real machine the models saw, `deciding` included (from the real
 * microsteps), filled by the shortest-path tests: the coverage test runs after them.
 */
const seen = new Set<string>();

for (const config of SPEC_CONFIGS) {
  const name = nameOf(config);
  const traversal = { events: specEvents, input: config };
  const paths = getShortestPaths(failoverSpec, traversal);
  const adjacency = getAdjacencyMap(failoverSpec, traversal);
  const vertices = Object.values(adjacency) as Array<AdjacencyValue<SpecSnapshot, SpecEvent>>;
  const transitions = vertices.flatMap(({ state, transitions }) =>
    (Object.values(transitions) as Array<{ event: SpecEvent; state: SpecSnapshot }>).map(({ event, state: next }) => ({ state, event, next })),
  );
  const toState = new Map(paths.map((p) => [serializeSnapshot(p.state), p] as const));

  describe(`failover model (${name}): shortest paths of the spec`, () => {
    it(`covers ${EXPECTED[name].vertices} spec states over ${EXPECTED[name].states.length} state values`, () => {
      expect(paths.length).toBe(EXPECTED[name].vertices);
      expect([...new Set(paths.map((p) => String(p.state.value)))].sort()).toEqual([...EXPECTED[name].states].sort());
    });

    for (const path of paths) {
      it(`${label(path.state)}: ${pathName(path.steps)}`, async () => {
        const driver = await drive(config, path.steps);
        for (const v of driver.h.microsteps) seen.add(v);
      });
    }
  });

  describe(`failover model (${name}): every transition of the spec`, () => {
    it(`covers ${EXPECTED[name].transitions} transitions`, () => {
      expect(vertices.length).toBe(EXPECTED[name].vertices);
      expect(transitions.length).toBe(EXPECTED[name].transitions);
    });

    for (const { state, event, next } of transitions) {
      it(`${label(state)} --${eventLabel(event)}--> ${label(next)}`, async () => {
        const path = toState.get(serializeSnapshot(state));
        expect(path).toBeDefined();
        await drive(config, [...path!.steps, { event, state: next }]);
      });
    }
  });
}

describe('failover model: coverage across configurations', () => {
  it('the real machine passed through every one of its states, the transient `deciding` included', () => {
    expect([...seen].sort()).toEqual(
      ['attempting', 'backoff', 'broken', 'cacheFallback', 'continuing', 'deciding', 'degradedFallback', 'failed', 'stalled', 'stalling', 'streaming', 'succeeded'].sort(),
    );
  });
});

describe('failover model: the comparison catches a broken machine', () => {
  /** The comparison's failure: what the real machine had, and what the spec expected. */
  type Mismatch = { message: string; actual: Record<string, unknown>; expected: Record<string, unknown> };
  async function mismatch(run: Promise<unknown>): Promise<Mismatch> {
    return run.then(
      () => expect.fail('the broken machine matched the spec'),
      (e: unknown) => e as Mismatch,
    );
  }

  /** The spec's steps along `events` from the start. */
  function pathOf(config: SpecInput, events: SpecEvent[]): Step[] {
    let state = getInitialSnapshot(failoverSpec, config);
    const steps: Step[] = [{ event: { type: 'xstate.init' }, state }];
    for (const event of events) steps.push({ event, state: (state = getNextSnapshot(failoverSpec, state, event)) });
    return steps;
  }

  it('a breaker fallback taken while the requested breaker is closed', async () => {
    const config: SpecInput = { fallback: 'error', primaryOpen: false };
    const steps = pathOf(config, [{ type: 'FAIL', failure: 'circuit_open', decision: 'fail' }]);
    await drive(config, steps);
    const err = await mismatch(drive(config, steps, { override: { guards: { primaryCircuitOpen: () => true } } }));
    expect([err.actual.fellBack, err.expected.fellBack]).toEqual(['error', null]);
  });

  it('a wait for a connection that never hits its queue timeout', async () => {
    const config: SpecInput = { fallback: 'error', primaryOpen: true };
    const steps = pathOf(config, [{ type: 'WAIT_LIMIT', decision: 'next' }]);
    await drive(config, steps);
    // The attempt waits on: the real flow never decides where the spec does.
    const err = await mismatch(drive(config, steps, { override: { guards: { waitedTooLong: () => false } } }));
    expect([err.message, err.actual, err.expected]).toEqual([expect.stringMatching(/^microsteps /), false, true]);
  });

  it('a retry that does not count its step attempt', async () => {
    const config: SpecInput = { fallback: 'error', primaryOpen: true };
    const steps = pathOf(config, [{ type: 'FAIL', failure: 'upstream', decision: 'retry' }, { type: 'BACKOFF_ELAPSES' }]);
    await drive(config, steps);
    const err = await mismatch(drive(config, steps, { override: { actions: { waitedRetry: () => {} } } }));
    expect([err.actual.stepAttempts, err.expected.stepAttempts]).toEqual([1, 2]);
  });
});
