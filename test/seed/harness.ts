import type OpenAI from 'openai';
import { SimulatedClock } from 'xstate';
import { DEFAULT_CONFIG } from '../../src/config/default-config.ts';
import type { ConfigFile } from '../../src/config/schema.ts';
import type { RunningGateway } from '../../src/gateway.ts';
import type { SimulatorHandle } from '../../src/simulator/types.ts';
import { sdkClient, startTestGateway, until } from '../helpers/gateway.ts';

/**
 * A gateway on a SimulatedClock with the in-process simulator, plus a log of every upstream
 * attempt's start time on that clock, read from the request actors' own transitions. The log
 * is what makes backoff gaps exact: a retry timer fires synchronously inside
 * `clock.increment`, so stepping the clock one millisecond at a time and watching the log
 * finds the exact millisecond each retry left.
 */

/** One attempt as the request actor started it. */
export interface AttemptStart {
  /** Request actor session id (one per client request). */
  request: string;
  /** 1-based attempt number within the request. */
  n: number;
  /** The gateway's clock when the attempt started. */
  t: number;
  provider: string;
  model: string;
}

interface RequestContextView {
  attempts: unknown[];
  stepIndex: number;
  steps: ReadonlyArray<{ provider: string; model: string }>;
}

export interface SeedHarness {
  gw: RunningGateway;
  clock: SimulatedClock;
  sim: SimulatorHandle;
  client: OpenAI;
  /** Every attempt started so far, in order. */
  starts: AttemptStart[];
  /** Resolves once the latest request is waiting out a retry delay (rejects after 5 s real time). */
  backoff(): Promise<void>;
  /**
   * Steps the clock (0 ms first, then 1 ms at a time) until attempt number `count` (counted
   * over the whole log) has started; returns the milliseconds stepped. Throws past `limitMs`.
   */
  stepUntilAttempt(count: number, limitMs: number): number;
  close(): Promise<void>;
}

function isState(value: unknown, inner: string): boolean {
  return value === inner;
}

/**
 * Starts the default config's gateway on a fresh SimulatedClock, watching request actors.
 * `resilience` replaces top-level fields of the default resilience block (e.g. `failover`).
 */
export async function seedHarness(resilience: ConfigFile['resilience'] = {}): Promise<SeedHarness> {
  const clock = new SimulatedClock();
  const gw = await startTestGateway({ resilience: { ...DEFAULT_CONFIG.resilience, ...resilience } }, { clock });
  const starts: AttemptStart[] = [];
  let lastState: unknown;
  const unwatch = gw.hub.watchRequests();
  const sub = gw.hub.transitions$.subscribe((ev) => {
    if (ev.machine !== 'failover') return;
    lastState = ev.state;
    if (!isState(ev.state, 'attempting')) return;
    const ctx = ev.context as RequestContextView;
    const n = ctx.attempts.length + 1;
    if (starts.some((s) => s.request === ev.actorId && s.n === n)) return;
    const step = ctx.steps[ctx.stepIndex];
    // Transitions are published synchronously, so the clock reads the attempt's start.
    starts.push({ request: ev.actorId, n, t: clock.now(), provider: step.provider, model: step.model });
  });
  return {
    gw,
    clock,
    sim: gw.simulator!,
    client: sdkClient(gw),
    starts,
    backoff: () => until(() => isState(lastState, 'backoff')),
    stepUntilAttempt(count, limitMs) {
      for (let ms = 0; ms <= limitMs; ms++) {
        clock.increment(ms === 0 ? 0 : 1);
        if (starts.length >= count) return ms;
      }
      throw new Error(`attempt ${count} did not start within ${limitMs} ms of simulated time`);
    },
    async close() {
      sub.unsubscribe();
      unwatch();
      await gw.close();
    },
  };
}

/** Gaps between consecutive attempt starts, on the gateway's clock. */
export function gaps(starts: readonly AttemptStart[]): number[] {
  return starts.slice(1).map((s, i) => s.t - starts[i].t);
}

/** The seed's response headers, as one comparable object (null when absent). */
export function seedHeaders(h: Headers): Record<string, string | null> {
  const names = ['x-provider', 'x-model', 'x-attempts', 'x-failover-used', 'x-circuit-status', 'x-retry-after', 'x-cache'] as const;
  return Object.fromEntries(names.map((n) => [n, h.get(n)]));
}
