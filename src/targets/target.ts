import type { AnyActorRef } from 'xstate';
import type { BreakerActor, BreakerStatus } from '../../machines/breaker.machine.ts';
import type { ModelEvent } from '../../machines/model.machine.ts';
import type { BreakerConfig } from '../core/breaker/config.ts';
import { BreakerSet, breakerSystemId } from '../breaker/registry.ts';
import { tryAcquire } from '../breaker/acquire.ts';
import type { ErrorKind } from '../core/error-kinds.ts';
import { DEFAULT_MAX_IN_FLIGHT, LocalLimit } from './local-limit.ts';
import { MalformedEvents } from './malformed-events.ts';
import { RetryBudget, type RetryBudgetSnapshot } from './retry-budget.ts';
import { TargetStats } from './stats.ts';

/** One upstream outcome of a target, as routing reports it. */
export interface TargetOutcome {
  ok: boolean;
  kind?: ErrorKind;
  latencyMs: number;
  /** When it was observed, on the gateway's clock. */
  at: number;
  /** The half-open trial token the attempt held, if it was a trial. */
  token?: string;
}

/** What a target is now, as JSON: for health, metrics, and a shared store. */
export interface TargetSnapshot {
  key: string;
  provider: string;
  model: string;
  /** False while routing skips the target (default breaker open, or active checks hold it down). */
  routable: boolean;
  unhealthy: boolean;
  breakers: Array<{ config: string; status: BreakerStatus; openedAt: number | null; trials: number }>;
  budget: RetryBudgetSnapshot;
  stats: ReturnType<TargetStats['toJSON']>;
  p95LatencyMs: number | null;
  recoveryProbe: boolean;
  local: { inFlight: number; waiting: number; maxInFlight: number; refusedInFlight: number; refusedWait: number; refusedResources: number };
  /** Malformed stream events skipped since start-up (a lone one in a healthy stream). */
  malformedEventsSkipped: number;
}

/**
 * The resilience state of a target that routing reads and writes, one interface so a shared
 * store (Redis, for several replicas) can stand in for the in-process owner.
 */
export interface TargetState {
  readonly key: string;
  /** Whether a request may go to the target now: the breaker for `config` admits it (`token` marks a half-open trial). */
  admit(config: BreakerConfig | undefined, token: string, at: number): BreakerActor | undefined;
  /** One upstream outcome: breakers, statistics, retry budget and health all hear it. */
  observe(outcome: TargetOutcome): void;
  toJSON(): TargetSnapshot;
}

/** How a target reaches the gateway's actor system (provided by the runtime). */
export interface TargetSystem {
  /** Spawns a long-lived actor into the system and returns it. */
  spawn(src: 'breaker' | 'recoveryProbe', id: string, input: unknown): AnyActorRef;
  stop(id: string): void;
  /** The target's model health actor (`model:<provider>/<model>`). */
  health(key: string): AnyActorRef | undefined;
  now(): number;
}

export interface TargetOptions {
  defaultBreaker: BreakerConfig;
  maxBreakersPerTarget: number;
  retryBudget: { maxTokens: number; ratio: number };
  /** While a breaker is open, the recovery probe's interval. */
  probeIntervalMs: number;
  /** A target's providers[].max_in_flight (default DEFAULT_MAX_IN_FLIGHT). */
  maxInFlight?: (key: string) => number | undefined;
  /** Where a target that starts refusing calls at its local limit, or skipping malformed stream events, writes a line. */
  log?: (line: string) => void;
}

/**
 * The one owner of a target's (provider + model) resilience state, shared by every request:
 * its breakers (one per distinct X-Circuit-Breaker config, all fed by the target's one outcome
 * stream), its retry budget, its statistics, its probes (active health checks, and the
 * recovery probe while a breaker is open), and the gateway's own limit on calls to it. Its model health actor is fed from here, so what
 * health shows is what routing does.
 */
export class Target implements TargetState {
  readonly key: string;
  readonly provider: string;
  readonly model: string;
  readonly breakers: BreakerSet;
  readonly budget: RetryBudget;
  readonly stats = new TargetStats();
  /** The gateway's own limit on calls to the target (which no breaker hears of). */
  readonly local: LocalLimit;
  /** Malformed stream events its streams skipped (the transport reports them here). */
  readonly malformedEvents: MalformedEvents;
  readonly #system: TargetSystem;
  readonly #probeIntervalMs: number;
  /** Set by active health checks (X-Failover-Config): true while they find the target down. */
  #unhealthy = false;
  /** Config keys of the breakers now open. */
  readonly #open = new Set<string>();
  #recovery: string | undefined;
  #routable = true;
  #stopped = false;

  constructor(key: string, opts: TargetOptions, system: TargetSystem) {
    this.key = key;
    const slash = key.indexOf('/');
    this.provider = key.slice(0, slash);
    this.model = key.slice(slash + 1);
    this.#system = system;
    this.#probeIntervalMs = opts.probeIntervalMs;
    this.budget = new RetryBudget(opts.retryBudget);
    this.local = new LocalLimit(key, opts.maxInFlight?.(key) ?? DEFAULT_MAX_IN_FLIGHT, opts.log);
    this.malformedEvents = new MalformedEvents(key, () => system.now(), opts.log);
    this.breakers = new BreakerSet({
      target: key,
      defaultConfig: opts.defaultBreaker,
      maxConfigs: opts.maxBreakersPerTarget,
      spawn: ({ key: cfg, input }) => system.spawn('breaker', breakerSystemId(key, cfg), input) as BreakerActor,
      // Only closed breakers are evicted, so none of them is in #open.
      despawn: (actor) => system.stop(actor.id),
      onCreate: (actor, cfg) => {
        let last: BreakerStatus = 'closed';
        actor.subscribe((snap) => {
          const status = snap.value as BreakerStatus;
          if (status === last) return;
          last = status;
          this.#breakerMoved(cfg, status);
        });
      },
    });
  }

  /** False while routing skips the target (its default breaker is open, or active checks hold it down). */
  get routable(): boolean {
    return this.#routable;
  }

  get unhealthy(): boolean {
    return this.#unhealthy;
  }

  breakerFor(config: BreakerConfig | undefined): BreakerActor {
    return config === undefined ? this.breakers.default : this.breakers.get(config);
  }

  admit(config: BreakerConfig | undefined, token: string, at: number): BreakerActor | undefined {
    const breaker = this.breakerFor(config);
    return tryAcquire(breaker, token, at) ? breaker : undefined;
  }

  observe(outcome: TargetOutcome): void {
    const st = this.stats;
    if (st.record(outcome.ok, outcome.kind, outcome.latencyMs)) {
      const event: ModelEvent = {
        type: 'OUTCOME',
        ok: outcome.ok,
        ...(outcome.kind ? { kind: outcome.kind } : {}),
        at: outcome.at,
        requests: st.requests,
        failures: st.failures,
        consecutiveFailures: st.consecutiveFailures,
        latencyEwmaMs: st.latencyEwmaMs,
      };
      this.#system.health(this.key)?.send(event);
    }
    this.breakers.observe(outcome);
    if (outcome.ok) this.budget.onSuccess();
  }

  /** Active health checks found the target up or down. */
  setProbeHealth(healthy: boolean): void {
    this.#unhealthy = !healthy;
    this.#updateRouting();
  }

  toJSON(): TargetSnapshot {
    const breakers: TargetSnapshot['breakers'] = [];
    for (const [config, actor] of this.breakers.entries()) {
      const s = actor.getSnapshot();
      breakers.push({ config, status: s.value as BreakerStatus, openedAt: s.context.openedAt, trials: s.context.trials.length });
    }
    return {
      key: this.key,
      provider: this.provider,
      model: this.model,
      routable: this.#routable,
      unhealthy: this.#unhealthy,
      breakers,
      budget: this.budget.toJSON(),
      stats: this.stats.toJSON(),
      p95LatencyMs: this.stats.latencyQuantile(0.95),
      recoveryProbe: this.#recovery !== undefined,
      local: {
        inFlight: this.local.inFlight,
        waiting: this.local.waiting,
        maxInFlight: this.local.maxInFlight,
        refusedInFlight: this.local.refusedInFlight,
        refusedWait: this.local.refusedWait,
        refusedResources: this.local.refusedResources,
      },
      malformedEventsSkipped: this.malformedEvents.count,
    };
  }

  /**
   * The target was down when the gateway last stopped: its default breaker starts open, so
   * no client request goes to it until the recovery probe finds it answering.
   */
  restoreDown(openedAt: number): void {
    const breaker = this.breakers.default;
    if (breaker.getSnapshot().value === 'closed') breaker.send({ type: 'RESTORE', openedAt });
  }

  /** The recovery probe found the target answering: every open breaker half-opens now. */
  recovered(): void {
    for (const [, actor] of this.breakers.entries()) if (actor.getSnapshot().value === 'open') actor.send({ type: 'PROBE_SUCCEEDED' });
  }

  stop(): void {
    this.#stopped = true;
    this.#stopRecovery();
    this.breakers.stop();
  }

  #breakerMoved(config: string, status: BreakerStatus): void {
    if (status === 'open') this.#open.add(config);
    else this.#open.delete(config);
    // After the breaker's own transition is published (health follows its cause), and outside
    // the action that reported the outcome (an actor system must not spawn from inside another
    // actor's action): at most one recovery probe per target, only while some breaker is open.
    queueMicrotask(() => {
      if (this.#stopped) return;
      if (this.#open.size > 0 && this.#recovery === undefined) {
        this.#recovery = `recovery:${this.key}`;
        this.#system.spawn('recoveryProbe', this.#recovery, { target: this.key, intervalMs: this.#probeIntervalMs });
      } else if (this.#open.size === 0) {
        this.#stopRecovery();
      }
      this.#updateRouting();
    });
  }

  #stopRecovery(): void {
    if (this.#recovery === undefined) return;
    this.#system.stop(this.#recovery);
    this.#recovery = undefined;
  }

  #updateRouting(): void {
    const defaultOpen = this.breakers.default.getSnapshot().value === 'open';
    const routable = !defaultOpen && !this.#unhealthy;
    if (routable === this.#routable) return;
    this.#routable = routable;
    this.#system.health(this.key)?.send({
      type: 'ROUTING',
      routable,
      reason: routable ? null : this.#unhealthy ? 'health_check' : 'circuit_open',
      at: this.#system.now(),
    });
  }
}
