import { describe, expect, it } from 'vitest';
import { createTestModel, getAdjacencyMap, getShortestPaths, serializeSnapshot, type AdjacencyMap, type AdjacencyValue } from 'xstate/graph';
import type { HedgeStrategy } from '../../machines/hedge.machine.ts';
import { HedgeHarness, step } from './hedge-harness.ts';
import { hedgeSpec, hedgeSpecEvents, SPEC_DEADLINE_MS, SPEC_DELAY_MS, SPEC_STEPS, type HedgeSpecEvent, type HedgeSpecSnapshot } from './hedge.spec.ts';

/** Drives the real hedge machine (SimulatedClock, hand-settled attempts) with the spec's abstract events. */
class RealHedgeDriver {
  readonly h: HedgeHarness;

  constructor(strategy: HedgeStrategy) {
    this.h = new HedgeHarness({
      steps: ['openai', 'anthropic', 'google'].slice(0, SPEC_STEPS).map((p) => step(p)),
      strategy,
      delayMs: SPEC_DELAY_MS,
      cancelSlower: true,
      costs: [0, 0.01, 0.01],
      deadlineMs: SPEC_DEADLINE_MS,
      attemptTimeoutMs: 10_000,
    });
  }

  async exec(event: HedgeSpecEvent | { type: 'xstate.init' }): Promise<void> {
    const h = this.h;
    switch (event.type) {
      case 'xstate.init':
        return h.flush();
      case 'HEDGE_DELAY':
        return h.advance(SPEC_DELAY_MS);
      case 'DEADLINE':
        // The spec's deadline comes only once every hedge is sent (see hedge.spec.ts).
        if (h.snapshot.status === 'active' && h.snapshot.context.next < SPEC_STEPS) return;
        return h.advance(SPEC_DEADLINE_MS - h.clock.now());
      default: {
        // An attempt never sent, or already settled or stopped, cannot answer: nothing happens.
        const call = h.calls.find((c) => c.step === Number(event.type.slice(-1)));
        if (event.type.startsWith('SUCCEED')) call?.resolve();
        else call?.reject('server_error');
        return h.flush();
      }
    }
  }

  /** The real race agrees with the spec: state, what was sent, what is in flight (machine and upstream), the winner. */
  assertMatches(spec: HedgeSpecSnapshot): void {
    const real = this.h.snapshot;
    const value = { racing: 'racing', won: 'succeeded', lost: 'failed' }[spec.value as string];
    expect({ value: real.value, next: real.context.next, inFlight: real.context.inFlight, winner: real.context.winner }).toEqual({ value, ...spec.context });
    expect(this.h.inFlight().map((c) => c.step)).toEqual(spec.context.inFlight);
    expect(this.h.calls.map((c) => c.step)).toEqual([...Array(spec.context.next).keys()]);
    expect(Object.keys(real.children).sort()).toEqual(spec.context.inFlight.map((s) => `hedge-${s}`).sort());
  }
}

const traversal = { events: hedgeSpecEvents };
const eventTypes = hedgeSpecEvents.map((e) => e.type);

function label(s: HedgeSpecSnapshot): string {
  return `${String(s.value)}(next ${s.context.next}, in flight [${s.context.inFlight.join(',')}]${s.context.winner === null ? '' : `, winner ${s.context.winner}`})`;
}

for (const strategy of ['latency', 'first-success'] as const) {
  const spec = hedgeSpec(strategy);

  describe(`hedge model (${strategy}): shortest paths of the spec`, () => {
    const paths = createTestModel(spec, traversal).getShortestPaths({ allowDuplicatePaths: true });
    for (const path of paths) {
      it(path.description, async () => {
        const driver = new RealHedgeDriver(strategy);
        await driver.exec({ type: 'xstate.init' });
        const exec = async ({ event }: { event: { type: string } }) => driver.exec(event as HedgeSpecEvent);
        await path.test({
          events: Object.fromEntries(eventTypes.map((t) => [t, exec])),
          states: { '*': (snapshot) => driver.assertMatches(snapshot as HedgeSpecSnapshot) },
        });
      });
    }
  });

  describe(`hedge model (${strategy}): every transition of the spec`, () => {
    const toState = new Map(getShortestPaths(spec, traversal).map((p) => [serializeSnapshot(p.state), p] as const));
    const adjacency: AdjacencyMap<HedgeSpecSnapshot, HedgeSpecEvent> = getAdjacencyMap(spec, traversal);
    const vertices = Object.values(adjacency) as Array<AdjacencyValue<HedgeSpecSnapshot, HedgeSpecEvent>>;
    const transitions = vertices.flatMap(({ state, transitions }) =>
      (Object.values(transitions) as Array<{ event: HedgeSpecEvent; state: HedgeSpecSnapshot }>).map(({ event, state: next }) => ({ state, event, next })),
    );

    it('covers the spec', () => {
      expect(transitions.length).toBeGreaterThan(20);
    });

    for (const { state, event, next } of transitions) {
      it(`${label(state)} --${event.type}--> ${label(next)}`, async () => {
        const path = toState.get(serializeSnapshot(state));
        expect(path).toBeDefined();
        const driver = new RealHedgeDriver(strategy);
        await driver.exec({ type: 'xstate.init' });
        for (const s of [...path!.steps, { event, state: next }]) {
          await driver.exec(s.event);
          driver.assertMatches(s.state);
        }
      });
    }
  });
}
