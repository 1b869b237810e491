import { describe, expect, it } from 'vitest';
import { createActor, SimulatedClock } from 'xstate';
import { startBreaker } from './harness.ts';
import { breakerMachine } from '../../machines/breaker.machine.ts';
import { failuresNow, isAdmitted, retryAfterMs } from '../../src/breaker/status.ts';
import { tryAcquire } from '../../src/breaker/acquire.ts';
import { DEFAULT_BREAKER_CONFIG } from '../../src/core/breaker/config.ts';
import { breakerStatus } from '../../src/breaker/status.ts';

const base = {
  errorThreshold: 3,
  errorThresholdWindowMs: 10_000,
  openTimeoutMs: 5_000,
  halfOpenRequests: 2,
  successThreshold: 2,
};

/** A breaker already tripped and waited out into half_open. */
function halfOpen(overrides = {}, trialTimeoutMs?: number) {
  const b = startBreaker({ ...base, ...overrides }, trialTimeoutMs);
  b.fail();
  b.fail();
  b.fail();
  b.advance(5_000);
  expect(b.status()).toBe('half_open');
  return b;
}

describe('breaker', () => {
  it('opens after error_threshold failures within the window', () => {
    const b = startBreaker(base);
    b.fail();
    b.advance(4_000);
    b.fail();
    expect(b.status()).toBe('closed');
    b.advance(5_999);
    b.fail();
    expect(b.status()).toBe('open');
    expect(b.actor.getSnapshot().context.openedAt).toBe(9_999);
  });

  it('does not open when the failures are spread wider than the window', () => {
    const b = startBreaker(base);
    b.fail();
    b.advance(5_000);
    b.fail();
    b.advance(5_000);
    b.fail(); // the first failure is exactly one window old: it no longer counts
    expect(b.status()).toBe('closed');
    expect(failuresNow(b.actor.getSnapshot(), b.clock.now())).toBe(2);
    b.fail();
    expect(b.status()).toBe('open');
  });

  it('successes in closed do not reset the window', () => {
    const b = startBreaker(base);
    b.fail();
    b.fail();
    for (let i = 0; i < 10; i++) b.succeed();
    b.fail();
    expect(b.status()).toBe('open');
  });

  it('latency over the threshold counts as a failure when monitor_latency', () => {
    const b = startBreaker({ ...base, monitorLatency: true, latencyThresholdMs: 1_000 });
    b.succeed(1_000);
    b.succeed(1_001);
    b.succeed(1_001);
    expect(b.status()).toBe('closed');
    b.succeed(4_000);
    expect(b.status()).toBe('open');
  });

  it('latency is ignored without monitor_latency', () => {
    const b = startBreaker({ ...base, monitorLatency: false, latencyThresholdMs: 1_000 });
    for (let i = 0; i < 5; i++) b.succeed(60_000);
    expect(b.status()).toBe('closed');
    expect(b.actor.getSnapshot().context.failures).toEqual([]);
  });

  it('excluded errors never count', () => {
    const b = startBreaker({ ...base, excludedErrors: ['rate_limit', 'quota_exceeded'] });
    for (let i = 0; i < 10; i++) {
      b.fail('rate_limit');
      b.fail('quota_exceeded');
      b.fail('bad_request');
    }
    expect(b.status()).toBe('closed');
    expect(b.actor.getSnapshot().context.failures).toEqual([]);
  });

  it('refuses every request while open and reports the time left', () => {
    const b = startBreaker(base);
    b.fail();
    b.fail();
    b.fail();
    expect(b.acquire('r1')).toBe(false);
    b.advance(1_200);
    expect(retryAfterMs(b.actor.getSnapshot(), b.clock.now())).toBe(3_800);
    b.advance(3_799);
    expect(b.status()).toBe('open');
    expect(retryAfterMs(b.actor.getSnapshot(), b.clock.now())).toBe(1);
    b.advance(1);
    expect(b.status()).toBe('half_open');
    expect(retryAfterMs(b.actor.getSnapshot(), b.clock.now())).toBe(0);
  });

  it('closed admits without bookkeeping', () => {
    const b = startBreaker(base);
    expect(b.acquire('r1')).toBe(true);
    expect(b.actor.getSnapshot().context.trials).toEqual([]);
    expect(retryAfterMs(b.actor.getSnapshot(), 0)).toBe(0);
  });

  it('half-open admits at most half_open_requests trials', () => {
    const b = halfOpen();
    expect(b.acquire('t1')).toBe(true);
    expect(b.acquire('t2')).toBe(true);
    expect(b.acquire('t3')).toBe(false);
    expect(b.acquire('t1')).toBe(true); // already admitted: no second slot
    expect(b.actor.getSnapshot().context.trials).toEqual(['t1', 't2']);
    b.release('t2');
    expect(b.acquire('t3')).toBe(true);
    expect(isAdmitted(b.actor.getSnapshot(), 't2')).toBe(false);
    expect(b.actor.getSnapshot().context.trials).toEqual(['t1', 't3']);
  });

  it('closes after success_threshold trial successes', () => {
    const b = halfOpen();
    b.acquire('t1');
    b.acquire('t2');
    b.succeed(10, 't1');
    expect(b.status()).toBe('half_open');
    expect(b.actor.getSnapshot().context).toMatchObject({ trials: ['t2'], trialSuccesses: 1 });
    b.succeed(10, 't2');
    expect(b.status()).toBe('closed');
    expect(b.actor.getSnapshot().context).toMatchObject({
      failures: [],
      openedAt: null,
      trials: [],
      trialSuccesses: 0,
    });
    // The window was cleared: it takes a full error_threshold again to trip.
    b.fail();
    b.fail();
    expect(b.status()).toBe('closed');
  });

  it('outcomes of requests that are not trials do not count in half-open', () => {
    const b = halfOpen();
    b.acquire('t1');
    b.succeed(10);
    b.succeed(10, 'stranger');
    b.fail();
    b.fail('server_error', 'stranger');
    expect(b.status()).toBe('half_open');
    expect(b.actor.getSnapshot().context).toMatchObject({ trials: ['t1'], trialSuccesses: 0 });
  });

  it('a failed trial re-opens', () => {
    const b = halfOpen();
    b.acquire('t1');
    b.acquire('t2');
    b.succeed(10, 't1');
    b.advance(700);
    b.fail('timeout', 't2');
    expect(b.status()).toBe('open');
    expect(b.actor.getSnapshot().context).toMatchObject({ openedAt: 5_700, trials: [], trialSuccesses: 0 });
    b.advance(4_999);
    expect(b.status()).toBe('open');
    b.advance(1);
    expect(b.status()).toBe('half_open');
  });

  it('a slow trial is a failed trial when monitor_latency', () => {
    const b = halfOpen({ monitorLatency: true, latencyThresholdMs: 1_000 });
    b.acquire('t1');
    b.succeed(1_500, 't1');
    expect(b.status()).toBe('open');
  });

  it('an excluded error from a trial frees its slot and counts nothing', () => {
    const b = halfOpen({ excludedErrors: ['rate_limit'] });
    b.acquire('t1');
    b.acquire('t2');
    b.fail('rate_limit', 't1');
    expect(b.status()).toBe('half_open');
    expect(b.actor.getSnapshot().context).toMatchObject({ trials: ['t2'], trialSuccesses: 0 });
  });

  it('a hung trial re-opens after the lease', () => {
    const b = halfOpen({}, 2_000);
    b.advance(3_000); // nothing in flight: no lease runs, the breaker waits
    expect(b.status()).toBe('half_open');
    b.acquire('t1');
    b.advance(500);
    b.acquire('t2');
    b.succeed(10, 't2');
    b.advance(1_499);
    expect(b.status()).toBe('half_open');
    b.advance(1);
    expect(b.status()).toBe('open');
    // Opened when the lease ended, on the caller's clock: 5000 + 3000 + 2000.
    expect(b.actor.getSnapshot().context.openedAt).toBe(10_000);
    expect(retryAfterMs(b.actor.getSnapshot(), b.clock.now())).toBe(5_000);
    // The hung trial's late outcome no longer matters.
    b.succeed(10, 't1');
    expect(b.status()).toBe('open');
  });

  it('the lease defaults to the open timeout', () => {
    const b = halfOpen();
    b.acquire('t1');
    b.advance(4_999);
    expect(b.status()).toBe('half_open');
    b.advance(1);
    expect(b.status()).toBe('open');
  });

  it('a round that empties ends its lease; the next trial starts a new one', () => {
    const b = halfOpen({ successThreshold: 3 }, 2_000);
    b.acquire('t1');
    b.advance(1_500);
    b.succeed(10, 't1');
    b.acquire('t2'); // trials went 0 -> 1: a new round, leased until 1500 + 2000
    b.advance(1_999);
    expect(b.status()).toBe('half_open');
    b.advance(1);
    expect(b.status()).toBe('open');
  });

  it('a released trial is not a failure', () => {
    const b = halfOpen();
    b.acquire('t1');
    b.release('t1');
    b.advance(60_000);
    expect(b.status()).toBe('half_open');
    expect(b.actor.getSnapshot().context.trials).toEqual([]);
  });

  it('names every guard, action and delay in its definition', () => {
    const json = JSON.stringify(breakerMachine.toJSON());
    for (const name of [
      'failureTrips',
      'isFailure',
      'isTrialFailure',
      'isClosingTrialSuccess',
      'hasTrialSlot',
      'trialsInFlight',
      'recordFailure',
      'openAtLeaseEnd',
      'openTimeout',
      'trialLease',
    ]) {
      expect(json).toContain(name);
    }
  });

  it('its snapshot survives persistence', () => {
    const b = halfOpen();
    b.acquire('t1');
    const persisted = JSON.parse(JSON.stringify(b.actor.getPersistedSnapshot()));
    expect(persisted.value).toBe('half_open');
    expect(persisted.context).toMatchObject({ trials: ['t1'], openedAt: 0, leaseStartedAt: 5_000 });

    // Restored, as startBreaker creates breakers (same input, a clock at the same time).
    const clock = new SimulatedClock();
    clock.set(b.clock.now());
    const restored = createActor(breakerMachine, {
      snapshot: persisted,
      input: { config: { ...DEFAULT_BREAKER_CONFIG, ...base }, target: 'sim/m' },
      clock,
    }).start();
    const snap = restored.getSnapshot();
    expect(snap.status).toBe('active');
    expect(snap.value).toBe('half_open');
    expect(breakerStatus(snap)).toBe('half_open');
    expect(snap.context).toEqual(b.actor.getSnapshot().context);
    expect(snap.context).toMatchObject({ trials: ['t1'], openedAt: 0, leaseStartedAt: 5_000, trialSuccesses: 0 });
    // And it behaves as the original: t1 still holds its slot, one slot left of two.
    expect(isAdmitted(snap, 't1')).toBe(true);
    expect(tryAcquire(restored, 't2', clock.now())).toBe(true);
    expect(tryAcquire(restored, 't3', clock.now())).toBe(false);
    // Two trial successes (success_threshold 2) close it.
    restored.send({ type: 'OUTCOME', ok: true, latencyMs: 10, at: clock.now(), token: 't1' });
    expect(restored.getSnapshot().value).toBe('half_open');
    restored.send({ type: 'OUTCOME', ok: true, latencyMs: 10, at: clock.now(), token: 't2' });
    expect(restored.getSnapshot().value).toBe('closed');
    restored.stop();
  });
});
