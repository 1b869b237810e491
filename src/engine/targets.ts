import type { InspectionEvent, Observer } from 'xstate';
import type { BreakerConfig } from '../breaker/config.ts';
import { BreakerSet, breakerSystemId } from '../breaker/registry.ts';
import type { BreakerActor } from '../../machines/breaker.machine.ts';
import type { ErrorKind } from '../core/error-kinds.ts';
import { RetryBudget } from '../policy/retry-budget.ts';
import type { EngineClock } from './engine.ts';
import { DEFAULT_MAX_IN_FLIGHT, LocalLimit } from './local-limit.ts';
import { TargetStats } from './target-stats.ts';

/**
 * The resilience state of one target (provider + model), shared by every request: its
 * breakers (one per distinct X-Circuit-Breaker config, all fed by the target's one outcome
 * stream), its retry budget, whether active health checks hold it down, and the gateway's
 * own limit on calls to it (which no breaker hears of).
 */
export class Target {
  readonly key: string;
  readonly breakers: BreakerSet;
  readonly budget: RetryBudget;
  /** Set by the health prober: true while active checks find the target down. */
  unhealthy = false;
  readonly stats = new TargetStats();
  readonly local: LocalLimit;

  constructor(key: string, breakers: BreakerSet, budget: RetryBudget, local: LocalLimit) {
    this.key = key;
    this.breakers = breakers;
    this.budget = budget;
    this.local = local;
  }

  /** One upstream outcome of this target: every breaker hears it; successes refill the budget. */
  observe(outcome: { ok: boolean; kind?: ErrorKind; latencyMs: number; at: number; token?: string }): void {
    this.breakers.observe(outcome);
    if (outcome.ok) this.budget.onSuccess();
  }

  breakerFor(config: BreakerConfig | undefined): BreakerActor {
    return config === undefined ? this.breakers.default : this.breakers.get(config);
  }
}

export interface TargetsOptions {
  defaultBreaker: BreakerConfig;
  maxBreakersPerTarget: number;
  retryBudget: { maxTokens: number; ratio: number };
  /** A target's providers[].max_in_flight (default DEFAULT_MAX_IN_FLIGHT). */
  maxInFlight?: (key: string) => number | undefined;
  /** Where a target that starts refusing calls at its local limit writes a line. */
  log?: (line: string) => void;
  inspect: Observer<InspectionEvent>;
  clock?: EngineClock;
}

/** Every configured target's resilience state, created once at start-up (bounded by config). */
export class Targets {
  readonly #byKey = new Map<string, Target>();

  constructor(keys: Iterable<string>, opts: TargetsOptions) {
    for (const key of keys) {
      const breakers = new BreakerSet({
        target: key,
        defaultConfig: opts.defaultBreaker,
        maxConfigs: opts.maxBreakersPerTarget,
        actorOptions: ({ target, key: cfgKey }) => ({
          id: breakerSystemId(target, cfgKey),
          systemId: breakerSystemId(target, cfgKey),
          inspect: opts.inspect,
          ...(opts.clock ? { clock: opts.clock } : {}),
        }),
      });
      const local = new LocalLimit(key, opts.maxInFlight?.(key) ?? DEFAULT_MAX_IN_FLIGHT, opts.log);
      this.#byKey.set(key, new Target(key, breakers, new RetryBudget(opts.retryBudget), local));
    }
  }

  get(provider: string, model: string): Target {
    return this.byKey(`${provider}/${model}`);
  }

  /** The target of a route step's `key` (the hot path: no key string built per request). */
  byKey(key: string): Target {
    const t = this.#byKey.get(key);
    if (!t) throw new Error(`no target ${key}`);
    return t;
  }

  values(): IterableIterator<Target> {
    return this.#byKey.values();
  }

  stop(): void {
    for (const t of this.#byKey.values()) t.breakers.stop();
  }
}
