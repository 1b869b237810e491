import { createActor, SimulatedClock } from 'xstate';
import { breakerMachine, type BreakerActor } from '../../machines/breaker.machine.ts';
import { DEFAULT_BREAKER_CONFIG, type BreakerConfig } from '../../src/core/breaker/config.ts';
import { tryAcquire } from '../../src/breaker/acquire.ts';
import type { ErrorKind } from '../../src/core/error-kinds.ts';

/** A real breaker on a SimulatedClock, with the caller's clock being that same clock. */
export interface BreakerHarness {
  actor: BreakerActor;
  clock: SimulatedClock;
  status(): string;
  /** An upstream failure of `kind` (a non-trial outcome unless `token` is given). */
  fail(kind?: ErrorKind, token?: string): void;
  succeed(latencyMs?: number, token?: string): void;
  acquire(token: string): boolean;
  release(token: string): void;
  advance(ms: number): void;
}

export function startBreaker(
  overrides: Partial<BreakerConfig> = {},
  trialTimeoutMs?: number,
): BreakerHarness {
  const clock = new SimulatedClock();
  const config: BreakerConfig = { ...DEFAULT_BREAKER_CONFIG, ...overrides };
  const actor = createActor(breakerMachine, {
    clock,
    input: trialTimeoutMs === undefined ? { config, target: 'sim/m' } : { config, target: 'sim/m', trialTimeoutMs },
  }).start();
  return {
    actor,
    clock,
    status: () => actor.getSnapshot().value,
    fail: (kind = 'server_error', token) =>
      actor.send({ type: 'OUTCOME', ok: false, kind, latencyMs: 10, at: clock.now(), token }),
    succeed: (latencyMs = 10, token) =>
      actor.send({ type: 'OUTCOME', ok: true, latencyMs, at: clock.now(), token }),
    acquire: (token) => tryAcquire(actor, token, clock.now()),
    release: (token) => actor.send({ type: 'RELEASE', token }),
    advance: (ms) => clock.increment(ms),
  };
}
