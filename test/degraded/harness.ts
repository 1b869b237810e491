import type OpenAI from 'openai';
import { SimulatedClock } from 'xstate';
import { DEFAULT_CONFIG } from '../../src/config/default-config.ts';
import type { ConfigFile } from '../../src/config/schema.ts';
import type { ErrorKind } from '../../src/core/error-kinds.ts';
import { stateChanges, type StateChange } from '../../src/events/state-changes.ts';
import type { RunningGateway } from '../../src/gateway.ts';
import type { SimulatorHandle } from '../../src/simulator/types.ts';
import { sdkClient, startTestGateway, until } from '../helpers/gateway.ts';

/**
 * A gateway on a SimulatedClock with the in-process simulator, the degraded-mode actor's
 * state changes as they appear on the event stream, and the upstream bodies the simulator got.
 * Every evaluation of the degraded-mode actor happens when the test steps the clock.
 */
export interface DegradedHarness {
  gw: RunningGateway;
  clock: SimulatedClock;
  sim: SimulatorHandle;
  client: OpenAI;
  /** The degraded-mode actor's state changes (from -> to), in order. */
  changes: Array<Pick<StateChange, 'from' | 'to'>>;
  /** `degraded` or `normal`, and the active reasons. */
  state(): { value: string; reasons: string[] };
  /** Steps the clock one evaluation interval at a time, `n` times. */
  evaluate(n?: number): void;
  /** Client traffic to `model` (the gateway's probes left out), with the body each call received. */
  calls(model?: string): Array<{ model: string; status: number | null; body?: unknown }>;
  close(): Promise<void>;
}

/** The test's degraded_mode block: one-second evaluations over a three-second window. */
export const TEST_DEGRADED_MODE = {
  evaluate_interval_ms: 1_000,
  window_ms: 3_000,
  high_latency: { p95_ttft_ms: 2_000, min_samples: 3 },
  rate_limiting: { share: 0.5, min_requests: 4 },
  quality: { 'gpt-4-turbo-preview': 10, 'gpt-3.5-turbo': 6, 'claude-3-opus': 9, 'gemini-pro': 8 },
  queue: { max_size: 100, release_interval_ms: 1_000 },
};

export async function degradedHarness(overrides: Partial<ConfigFile> = {}): Promise<DegradedHarness> {
  const clock = new SimulatedClock();
  const gw = await startTestGateway(
    {
      ...overrides,
      degraded_mode: { ...TEST_DEGRADED_MODE, ...(overrides.degraded_mode ?? {}) },
      resilience: { ...DEFAULT_CONFIG.resilience, retry: { max_retries: 0 }, ...(overrides.resilience ?? {}) },
    },
    { clock },
  );
  const changes: DegradedHarness['changes'] = [];
  const sub = stateChanges(gw.hub.transitions$).subscribe((c) => {
    if (c.machine === 'degraded') changes.push({ from: c.from, to: c.to });
  });
  const sim = gw.simulator!;
  return {
    gw,
    clock,
    sim,
    client: sdkClient(gw),
    changes,
    state() {
      const s = gw.runtime.degradedState()!;
      return { value: s.value, reasons: [...s.context.reasons] };
    },
    evaluate(n = 1) {
      for (let i = 0; i < n; i++) clock.increment(1_000);
    },
    calls(model) {
      return sim
        .calls({ ...(model !== undefined ? { model } : {}), bodies: true })
        .filter((c) => !c.probe)
        .map((c) => ({ model: c.model, status: c.status, ...(c.body !== undefined ? { body: c.body } : {}) }));
    },
    async close() {
      sub.unsubscribe();
      await gw.close();
    },
  };
}

export const fail = (kind: ErrorKind) => ({ faults: [{ type: 'error' as const, kind }] });

/** Waits (real time) until the simulator has logged `n` client calls in all. */
export function untilCalls(h: DegradedHarness, n: number): Promise<void> {
  return until(() => h.calls().length >= n);
}
