import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { createActor, SimulatedClock } from 'xstate';
import { breakerMachine, type BreakerActor } from '../../machines/breaker.machine.ts';
import { isAdmitted } from '../../src/breaker/status.ts';
import type { BreakerConfig } from '../../src/core/breaker/config.ts';
import { ERROR_KINDS, type ErrorKind } from '../../src/core/error-kinds.ts';

/**
 * Properties over random sequences of ACQUIRE / OUTCOME / RELEASE / clock advances.
 * Every duration is a multiple of TICK and the clock advances one TICK at a time, so each
 * XState timer fires exactly when it is due (SimulatedClock fires late timers at the
 * clock's new time, which would blur "at the end of the lease").
 */
const TICK = 10;
const SLOW_MS = 1_000;
const LATENCY_THRESHOLD_MS = 500;

type Cmd =
  | { t: 'acquire'; fresh: boolean; pick: number }
  | { t: 'outcome'; who: 'none' | 'trial' | 'stranger'; pick: number; ok: boolean; kind: ErrorKind; slow: boolean }
  | { t: 'release'; pick: number }
  | { t: 'advance'; ticks: number };

const kindArb = fc.constantFrom(...ERROR_KINDS);
const ticks = (max: number) => fc.integer({ min: 1, max }).map((n) => n * TICK);

const configArb: fc.Arbitrary<{ config: BreakerConfig; trialTimeoutMs: number | undefined }> = fc.record({
  config: fc.record({
    errorThreshold: fc.integer({ min: 1, max: 4 }),
    errorThresholdWindowMs: ticks(30),
    openTimeoutMs: ticks(20),
    halfOpenRequests: fc.integer({ min: 1, max: 3 }),
    successThreshold: fc.integer({ min: 1, max: 3 }),
    excludedErrors: fc.subarray([...ERROR_KINDS]),
    monitorLatency: fc.boolean(),
    latencyThresholdMs: fc.constant(LATENCY_THRESHOLD_MS),
  }),
  trialTimeoutMs: fc.option(ticks(20), { nil: undefined }),
});

const cmdArb: fc.Arbitrary<Cmd> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ t: fc.constant('acquire' as const), fresh: fc.boolean(), pick: fc.nat() }) },
  {
    weight: 4,
    arbitrary: fc.record({
      t: fc.constant('outcome' as const),
      who: fc.constantFrom('none' as const, 'trial' as const, 'stranger' as const),
      pick: fc.nat(),
      ok: fc.boolean(),
      kind: kindArb,
      slow: fc.boolean(),
    }),
  },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('release' as const), pick: fc.nat() }) },
  { weight: 3, arbitrary: fc.record({ t: fc.constant('advance' as const), ticks: fc.integer({ min: 1, max: 25 }) }) },
);

/** What the caller knows: the trials it holds (token -> admitted at) and every token it used. */
class Caller {
  readonly clock = new SimulatedClock();
  readonly actor: BreakerActor;
  readonly lease: number;
  readonly trials = new Map<string, number>();
  readonly used: string[] = [];
  #seq = 0;

  constructor(config: BreakerConfig, trialTimeoutMs: number | undefined) {
    this.lease = trialTimeoutMs ?? config.openTimeoutMs;
    const input = trialTimeoutMs === undefined ? { config, target: 't' } : { config, target: 't', trialTimeoutMs };
    this.actor = createActor(breakerMachine, { clock: this.clock, input }).start();
  }

  status(): string {
    return this.actor.getSnapshot().value;
  }

  /** Runs one command; `onTick` sees the breaker after every TICK of an advance. */
  run(cmd: Cmd, onTick: () => void = () => {}): void {
    const now = this.clock.now();
    switch (cmd.t) {
      case 'acquire': {
        const token = cmd.fresh || this.used.length === 0 ? `r${this.#seq++}` : this.used[cmd.pick % this.used.length];
        if (!this.used.includes(token)) this.used.push(token);
        const before = this.status();
        this.actor.send({ type: 'ACQUIRE', token, at: now });
        const admitted = isAdmitted(this.actor.getSnapshot(), token);
        if (before === 'open') expect(admitted).toBe(false);
        if (admitted && before === 'half_open' && !this.trials.has(token)) this.trials.set(token, now);
        break;
      }
      case 'outcome': {
        const held = [...this.trials.keys()];
        let token: string | undefined;
        if (cmd.who === 'trial' && held.length > 0) token = held[cmd.pick % held.length];
        if (cmd.who === 'stranger') token = `s${this.#seq++}`;
        if (token !== undefined) this.trials.delete(token);
        const latencyMs = cmd.slow ? SLOW_MS : 1;
        this.actor.send(
          cmd.ok
            ? { type: 'OUTCOME', ok: true, latencyMs, at: now, token }
            : { type: 'OUTCOME', ok: false, kind: cmd.kind, latencyMs, at: now, token },
        );
        break;
      }
      case 'release': {
        const held = [...this.trials.keys()];
        const token = held.length > 0 ? held[cmd.pick % held.length] : `s${this.#seq++}`;
        this.trials.delete(token);
        this.actor.send({ type: 'RELEASE', token });
        break;
      }
      case 'advance':
        for (let i = 0; i < cmd.ticks; i++) {
          this.clock.increment(TICK);
          this.#forgetTrialsIfNotHalfOpen();
          onTick();
        }
        return;
    }
    this.#forgetTrialsIfNotHalfOpen();
  }

  /** Once the breaker leaves half_open, nothing the caller holds is a trial any more. */
  #forgetTrialsIfNotHalfOpen(): void {
    if (this.status() !== 'half_open') this.trials.clear();
  }
}

// BREAKER_PROPERTY_RUNS raises the count for a soak run; 300 keeps the suite under a second or two.
const runs = { numRuns: Number(process.env.BREAKER_PROPERTY_RUNS ?? 300) };
const program = fc.tuple(configArb, fc.array(cmdArb, { minLength: 1, maxLength: 80 }));

describe('breaker properties', () => {
  it('never has more than half_open_requests trials in flight, and trials only in half_open', () => {
    fc.assert(
      fc.property(program, ([{ config, trialTimeoutMs }, cmds]) => {
        const c = new Caller(config, trialTimeoutMs);
        const check = () => {
          const { value, context } = c.actor.getSnapshot();
          expect(['closed', 'open', 'half_open']).toContain(value);
          expect(context.trials.length).toBeLessThanOrEqual(config.halfOpenRequests);
          expect(new Set(context.trials).size).toBe(context.trials.length);
          if (value !== 'half_open') expect(context.trials).toEqual([]);
          // The breaker's trials are exactly the ones the caller holds.
          expect([...context.trials].sort()).toEqual([...c.trials.keys()].sort());
        };
        for (const cmd of cmds) {
          c.run(cmd, check);
          check();
        }
      }),
      runs,
    );
  });

  it('an open breaker never admits', () => {
    fc.assert(
      fc.property(program, ([{ config, trialTimeoutMs }, cmds]) => {
        const c = new Caller(config, trialTimeoutMs);
        for (const cmd of cmds) {
          const wasOpen = c.status() === 'open';
          c.run(cmd); // run() asserts isAdmitted is false for an ACQUIRE sent while open
          if (wasOpen && cmd.t === 'acquire') {
            expect(c.status()).toBe('open');
            expect(c.actor.getSnapshot().context.trials).toEqual([]);
          }
        }
      }),
      runs,
    );
  });

  it('opens exactly when error_threshold counted failures fall within the window', () => {
    fc.assert(
      fc.property(program, ([{ config, trialTimeoutMs }, cmds]) => {
        const c = new Caller(config, trialTimeoutMs);
        let counted: number[] = []; // the caller's own record of counted failures while closed
        for (const cmd of cmds) {
          const before = c.status();
          c.run(cmd);
          if (before !== 'closed') {
            if (c.status() === 'closed') counted = [];
            continue;
          }
          if (cmd.t === 'outcome') {
            const failure = cmd.ok
              ? config.monitorLatency && cmd.slow
              : cmd.kind !== 'bad_request' && !config.excludedErrors.includes(cmd.kind);
            if (failure) counted.push(c.clock.now());
          }
          const now = c.clock.now();
          const inWindow = counted.filter((t) => t > now - config.errorThresholdWindowMs).length;
          const tripped = cmd.t === 'outcome' && inWindow >= config.errorThreshold;
          expect(c.status()).toBe(tripped ? 'open' : 'closed');
        }
      }),
      runs,
    );
  });

  it('with excluded kinds only, it never opens', () => {
    const onlyExcluded = fc
      .tuple(configArb, fc.array(cmdArb, { minLength: 1, maxLength: 80 }), fc.subarray([...ERROR_KINDS], { minLength: 1 }))
      .map(([{ config, trialTimeoutMs }, cmds, excluded]) => {
        const kinds = [...excluded, 'bad_request' as const];
        return {
          config: { ...config, excludedErrors: excluded },
          trialTimeoutMs,
          // Every error is of an excluded kind (or bad_request); successes are never slow.
          cmds: cmds.map((cmd, i): Cmd =>
            cmd.t === 'outcome' ? { ...cmd, ok: cmd.ok, kind: kinds[i % kinds.length], slow: false } : cmd,
          ),
        };
      });
    fc.assert(
      fc.property(onlyExcluded, ({ config, trialTimeoutMs, cmds }) => {
        const c = new Caller(config, trialTimeoutMs);
        for (const cmd of cmds) {
          c.run(cmd, () => expect(c.status()).toBe('closed'));
          expect(c.status()).toBe('closed');
        }
        expect(c.actor.getSnapshot().context.failures).toEqual([]);
      }),
      runs,
    );
  });

  it('a hung trial never leaves it in half_open past the lease', () => {
    fc.assert(
      fc.property(program, ([{ config, trialTimeoutMs }, cmds]) => {
        const c = new Caller(config, trialTimeoutMs);
        const check = () => {
          if (c.status() !== 'half_open') return;
          const now = c.clock.now();
          for (const admittedAt of c.trials.values()) expect(now).toBeLessThan(admittedAt + c.lease);
        };
        for (const cmd of cmds) {
          c.run(cmd, check);
          check();
        }
        // And once the caller goes silent, the breaker leaves half_open within one lease.
        // (It may be half_open again by then, in a new period, if the open timeout is shorter.)
        if (c.trials.size > 0) {
          let left = false;
          c.run({ t: 'advance', ticks: c.lease / TICK }, () => {
            left ||= c.status() !== 'half_open';
          });
          expect(left).toBe(true);
        }
      }),
      runs,
    );
  });
});
