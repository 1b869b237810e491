import { describe, expect, it } from 'vitest';
import {
  createTestModel,
  getAdjacencyMap,
  getShortestPaths,
  serializeSnapshot,
  type AdjacencyMap,
  type AdjacencyValue,
} from 'xstate/graph';
import { failuresNow } from '../../src/breaker/status.ts';
import { startBreaker, type BreakerHarness } from './harness.ts';
import {
  breakerSpec,
  specEvents,
  SPEC_CONFIG,
  SPEC_TRIAL_TIMEOUT_MS,
  type SpecEvent,
  type SpecSnapshot,
} from './breaker.spec.ts';

/** Drives the real breaker (on a SimulatedClock) with the spec's abstract events. */
class RealBreakerDriver {
  readonly h: BreakerHarness = startBreaker(SPEC_CONFIG, SPEC_TRIAL_TIMEOUT_MS);
  /** Tokens the real breaker admitted as trials, oldest first, as the caller sees them. */
  inFlight: string[] = [];
  #seq = 0;

  exec(event: SpecEvent | { type: 'xstate.init' }): void {
    const h = this.h;
    switch (event.type) {
      case 'xstate.init':
        return;
      case 'FAIL':
        h.fail('server_error');
        break;
      case 'SLOW_SUCCESS':
        h.succeed(SPEC_CONFIG.latencyThresholdMs + 1);
        break;
      case 'SUCCEED':
        h.succeed(SPEC_CONFIG.latencyThresholdMs);
        break;
      case 'EXCLUDED_FAIL':
        h.fail('rate_limit');
        break;
      case 'ACQUIRE': {
        const token = `r${this.#seq++}`;
        const trial = h.status() === 'half_open';
        if (h.acquire(token) && trial) this.inFlight.push(token);
        break;
      }
      case 'RELEASE':
        h.release(this.#oldestTrial());
        break;
      case 'TRIAL_SUCCESS':
        h.succeed(1, this.#oldestTrial());
        break;
      case 'TRIAL_FAIL':
        h.fail('connection_error', this.#oldestTrial());
        break;
      case 'TRIAL_SLOW':
        h.succeed(SPEC_CONFIG.latencyThresholdMs + 1, this.#oldestTrial());
        break;
      case 'TRIAL_EXCLUDED':
        h.fail('rate_limit', this.#oldestTrial());
        break;
      case 'WINDOW_EXPIRES':
        h.advance(SPEC_CONFIG.errorThresholdWindowMs);
        break;
      case 'OPEN_TIMEOUT':
        h.advance(SPEC_CONFIG.openTimeoutMs);
        break;
      case 'LEASE_EXPIRES':
        h.advance(SPEC_TRIAL_TIMEOUT_MS);
        break;
    }
    if (h.status() !== 'half_open') this.inFlight = [];
  }

  /** The real breaker agrees with the spec on state, window, trials and successes. */
  assertMatches(spec: SpecSnapshot): void {
    const real = this.h.actor.getSnapshot();
    expect({
      value: real.value,
      failures: real.value === 'closed' ? failuresNow(real, this.h.clock.now()) : 0,
      trials: real.context.trials.length,
      successes: real.context.trialSuccesses,
    }).toEqual({ value: spec.value, ...spec.context });
    expect(real.context.trials).toEqual(this.inFlight);
  }

  /** The oldest trial in flight, or a token the breaker never admitted. */
  #oldestTrial(): string {
    return this.inFlight.shift() ?? `stranger${this.#seq++}`;
  }
}

const traversal = { events: specEvents };

describe('breaker model: shortest paths of the spec', () => {
  const model = createTestModel(breakerSpec, traversal);
  // Keep paths that are prefixes of longer ones: each is its own test and names its target.
  const paths = model.getShortestPaths({ allowDuplicatePaths: true });

  it('reaches every spec state', () => {
    const reached = new Set(paths.map((p) => serializeSnapshot(p.state)));
    expect(reached.size).toBe(9);
  });

  for (const path of paths) {
    it(path.description, async () => {
      const driver = new RealBreakerDriver();
      const exec = ({ event }: { event: { type: string } }) => driver.exec(event as SpecEvent);
      await path.test({
        events: Object.fromEntries(specEventTypes().map((t) => [t, exec])),
        states: { '*': (snapshot) => driver.assertMatches(snapshot) },
      });
    });
  }
});

describe('breaker model: every transition of the spec', () => {
  const toState = new Map(
    getShortestPaths(breakerSpec, traversal).map((p) => [serializeSnapshot(p.state), p] as const),
  );
  const adjacency: AdjacencyMap<SpecSnapshot, SpecEvent> = getAdjacencyMap(breakerSpec, traversal);
  // The map is keyed by branded strings, so Object.values cannot infer its value type.
  const vertices = Object.values(adjacency) as Array<AdjacencyValue<SpecSnapshot, SpecEvent>>;
  const transitions = vertices.flatMap(({ state, transitions }) =>
    (Object.values(transitions) as Array<{ event: SpecEvent; state: SpecSnapshot }>).map(
      ({ event, state: next }) => ({ state, event, next }),
    ),
  );

  it('covers the spec: 9 states, 70 transitions', () => {
    expect(Object.keys(adjacency).length).toBe(9);
    expect(transitions.length).toBe(70);
  });

  for (const { state, event, next } of transitions) {
    const name = `${label(state)} --${event.type}--> ${label(next)}`;
    it(name, () => {
      const path = toState.get(serializeSnapshot(state));
      expect(path).toBeDefined();
      const driver = new RealBreakerDriver();
      for (const step of [...path!.steps, { event, state: next }]) {
        driver.exec(step.event);
        driver.assertMatches(step.state);
      }
    });
  }
});

function label(s: SpecSnapshot): string {
  const { failures, trials, successes } = s.context;
  return `${s.value}(f${failures} t${trials} s${successes})`;
}

function specEventTypes(): SpecEvent['type'][] {
  return [
    'FAIL', 'SLOW_SUCCESS', 'SUCCEED', 'EXCLUDED_FAIL', 'ACQUIRE', 'RELEASE', 'TRIAL_SUCCESS',
    'TRIAL_FAIL', 'TRIAL_SLOW', 'TRIAL_EXCLUDED', 'WINDOW_EXPIRES', 'OPEN_TIMEOUT', 'LEASE_EXPIRES',
  ];
}
