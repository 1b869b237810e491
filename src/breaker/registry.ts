import { createActor, type ActorOptions } from 'xstate';
import {
  breakerMachine,
  type BreakerActor,
  type BreakerInput,
  type BreakerMachine,
  type BreakerOutcomeEvent,
} from '../../machines/breaker.machine.ts';
import { breakerConfigKey, DEFAULT_BREAKER_CONFIG, type BreakerConfig } from '../core/breaker/config.ts';
import { classifyOutcome } from '../core/breaker/outcome.ts';

/** An upstream outcome as the registry receives it (the event minus its type). */
export type BreakerOutcome = Omit<BreakerOutcomeEvent, 'type'>;

/** What the caller's options factory learns about the breaker being created. */
export interface BreakerActorContext {
  target: string;
  key: string;
  input: BreakerInput;
}

/** createActor options the caller may set (clock, inspect, systemId, logger...). */
export type BreakerActorOptions = Omit<ActorOptions<BreakerMachine>, 'input'>;

export interface BreakerSetOptions {
  /** provider/model, e.g. `openai/gpt-4o`. */
  target: string;
  /** The config of requests without X-Circuit-Breaker; its breaker is never evicted. */
  defaultConfig?: BreakerConfig;
  /** Bound on distinct configs per target, the default included (default 32). */
  maxConfigs?: number;
  /** Half-open trial lease for every breaker of the set (default: each config's openTimeoutMs). */
  trialTimeoutMs?: number;
  /** Per-actor options: a shared clock, an inspector, a systemId (see breakerSystemId). */
  actorOptions?: (ctx: BreakerActorContext) => BreakerActorOptions;
  /**
   * Creates (and starts) the breaker actor instead of a root of its own: the runtime spawns it
   * into the gateway's actor system. `actorOptions` is not used then.
   */
  spawn?: (ctx: BreakerActorContext) => BreakerActor;
  /** Stops a breaker made by `spawn` (evicted, or the set stopped). */
  despawn?: (actor: BreakerActor) => void;
  /** Called once for every breaker the set creates (e.g. to watch its state). */
  onCreate?: (actor: BreakerActor, key: string) => void;
}

/** The conventional systemId of a breaker actor: `breaker:<provider>/<model>#<config key>`. */
export function breakerSystemId(target: string, key: string): string {
  return `breaker:${target}#${key}`;
}

/**
 * The breakers of one target, one per distinct X-Circuit-Breaker config, all observing the
 * target's single outcome stream.
 *
 * Bounded: at most `maxConfigs` breakers. A new config evicts the least recently used
 * breaker that is `closed` (a closed breaker holds nothing a request depends on but its
 * failure window); an open or half-open one is never evicted, since that would silently
 * re-admit traffic to a failing target. When every other breaker is non-closed, the request
 * gets the default-config breaker instead of a new one.
 *
 * @example
 * const set = new BreakerSet({ target: 'openai/gpt-4o', actorOptions: () => ({ clock }) });
 * const breaker = set.get(policy.breaker);
 * set.observe({ ok: false, kind: 'timeout', latencyMs: 30_000, at: Date.now() });
 */
export class BreakerSet {
  readonly target: string;
  readonly maxConfigs: number;
  /** Insertion order is recency order: the first entry is the least recently used. */
  readonly #breakers = new Map<string, BreakerActor>();
  readonly #defaultKey: string;
  readonly #options: BreakerSetOptions;

  constructor(options: BreakerSetOptions) {
    this.target = options.target;
    this.maxConfigs = Math.max(1, options.maxConfigs ?? 32);
    this.#options = options;
    const config = options.defaultConfig ?? DEFAULT_BREAKER_CONFIG;
    this.#defaultKey = breakerConfigKey(config);
    this.#breakers.set(this.#defaultKey, this.#create(this.#defaultKey, config));
  }

  /** Number of live breakers (the default included). */
  get size(): number {
    return this.#breakers.size;
  }

  /** The breaker for requests without their own config. */
  get default(): BreakerActor {
    return this.#breakers.get(this.#defaultKey)!;
  }

  /**
   * The breaker for `config`, created on first use. May return the default breaker when
   * the set is full of non-closed breakers (see the class doc).
   */
  get(config: BreakerConfig): BreakerActor {
    const key = breakerConfigKey(config);
    const found = this.#breakers.get(key);
    if (found) {
      this.#breakers.delete(key);
      this.#breakers.set(key, found);
      return found;
    }
    if (this.#breakers.size >= this.maxConfigs && !this.#evictOne()) return this.default;
    const actor = this.#create(key, config);
    this.#breakers.set(key, actor);
    return actor;
  }

  /**
   * Fans one upstream outcome of the target out to every breaker. Hot path: a closed breaker
   * only acts on a failure and an open one ignores outcomes, so those are not sent at all
   * (the common success costs one snapshot read per breaker, not an actor step).
   */
  observe(outcome: BreakerOutcome): void {
    let event: BreakerOutcomeEvent | undefined;
    for (const actor of this.#breakers.values()) {
      const snap = actor.getSnapshot();
      if (snap.value === 'open') continue;
      if (snap.value === 'closed' && classifyOutcome(snap.context.config, outcome) !== 'failure') continue;
      actor.send((event ??= { type: 'OUTCOME', ...outcome }));
    }
  }

  /** A trial abandoned without an outcome: frees its slot in whichever breaker admitted it. */
  release(token: string): void {
    for (const actor of this.#breakers.values()) actor.send({ type: 'RELEASE', token });
  }

  /** The live breakers by config key, least recently used first. */
  entries(): IterableIterator<[string, BreakerActor]> {
    return this.#breakers.entries();
  }

  /** Stops every breaker (their systemIds are released). */
  stop(): void {
    for (const actor of this.#breakers.values()) this.#stopActor(actor);
    this.#breakers.clear();
  }

  #stopActor(actor: BreakerActor): void {
    if (this.#options.despawn) this.#options.despawn(actor);
    else actor.stop();
  }

  #evictOne(): boolean {
    for (const [key, actor] of this.#breakers) {
      if (key === this.#defaultKey || actor.getSnapshot().value !== 'closed') continue;
      this.#breakers.delete(key);
      this.#stopActor(actor);
      return true;
    }
    return false;
  }

  #create(key: string, config: BreakerConfig): BreakerActor {
    const input: BreakerInput = { config, target: this.target };
    if (this.#options.trialTimeoutMs !== undefined) input.trialTimeoutMs = this.#options.trialTimeoutMs;
    const ctx = { target: this.target, key, input };
    const actor = this.#options.spawn ? this.#options.spawn(ctx) : createActor(breakerMachine, { ...(this.#options.actorOptions?.(ctx) ?? {}), input }).start();
    this.#options.onCreate?.(actor, key);
    return actor;
  }
}
