/**
 * Per-model run-time state: the compiled behaviour plus the clocks its fault schedules read
 * (calls since the config was set, and when it was set).
 */
import { compileBehaviour, type Behaviour } from './behaviour.ts';
import type { Rng } from './rng.ts';
import type { SimFault, SimModelConfig } from './types.ts';

export interface ModelSlot {
  behaviour: Behaviour;
  /** Date.now() when this model's config (or the defaults it follows) was set. */
  setAt: number;
  /** Calls admitted since then. */
  calls: number;
}

/** Unconfigured models get a slot on first call; clients may send any name, so those are bounded. */
const IMPLICIT_LIMIT = 10_000;

export class ModelRegistry {
  #defaults: SimModelConfig = {};
  #defaultBehaviour: Behaviour = compileBehaviour(undefined, {});
  #defaultsSetAt = 0;
  #configured = new Map<string, SimModelConfig>();
  #explicit = new Map<string, ModelSlot>();
  #implicit = new Map<string, ModelSlot>();

  constructor(models: Record<string, SimModelConfig>, defaults: SimModelConfig, now: number) {
    this.load(models, defaults, now);
  }

  /** Replaces everything: start config, fresh clocks. */
  load(models: Record<string, SimModelConfig>, defaults: SimModelConfig, now: number): void {
    this.#configured = new Map(Object.entries(models));
    this.setDefaults(defaults, now);
  }

  /** New defaults: every model's clocks restart, configured models re-merge over them. */
  setDefaults(defaults: SimModelConfig, now: number): void {
    this.#defaults = defaults;
    this.#defaultBehaviour = compileBehaviour(undefined, defaults);
    this.#defaultsSetAt = now;
    this.#implicit.clear();
    this.#explicit.clear();
    for (const [model, cfg] of this.#configured) {
      this.#explicit.set(model, { behaviour: compileBehaviour(cfg, defaults), setAt: now, calls: 0 });
    }
  }

  /** One model's new config; its clocks restart. */
  set(model: string, cfg: SimModelConfig, now: number): void {
    this.#configured.set(model, cfg);
    this.#implicit.delete(model);
    this.#explicit.set(model, { behaviour: compileBehaviour(cfg, this.#defaults), setAt: now, calls: 0 });
  }

  /** Back to the defaults for this model. Returns false if it had no config of its own. */
  unset(model: string): boolean {
    this.#explicit.delete(model);
    return this.#configured.delete(model);
  }

  slot(model: string): ModelSlot {
    const s = this.#explicit.get(model) ?? this.#implicit.get(model);
    if (s !== undefined) return s;
    if (this.#implicit.size >= IMPLICIT_LIMIT) {
      // Map iteration is insertion order: drop the oldest.
      const oldest = this.#implicit.keys().next().value;
      if (oldest !== undefined) this.#implicit.delete(oldest);
    }
    const fresh: ModelSlot = { behaviour: this.#defaultBehaviour, setAt: this.#defaultsSetAt, calls: 0 };
    this.#implicit.set(model, fresh);
    return fresh;
  }

  /** Names with a config of their own (what `GET /v1/models` lists). */
  configuredModels(): string[] {
    return [...this.#configured.keys()];
  }

  /** A plain, JSON-ready view for `GET /_sim/state`. */
  toJSON(): { defaults: SimModelConfig; models: Record<string, { config: SimModelConfig; calls: number; set_at: number; configured: boolean }> } {
    const models: Record<string, { config: SimModelConfig; calls: number; set_at: number; configured: boolean }> = {};
    for (const [name, s] of this.#explicit) models[name] = { config: s.behaviour.config, calls: s.calls, set_at: s.setAt, configured: true };
    for (const [name, s] of this.#implicit) models[name] = { config: s.behaviour.config, calls: s.calls, set_at: s.setAt, configured: false };
    return { defaults: this.#defaults, models };
  }
}

/** Faults that only mean something inside a stream; a non-stream call skips them. */
function streamOnly(f: SimFault): boolean {
  return f.type === 'no_done' || f.type === 'in_band_error';
}

/**
 * Admits one call to `slot` and returns the fault that applies to it: the first whose schedule
 * matches (first_n, for_ms and probability AND together; none means always). The RNG is drawn
 * only for a fault whose other conditions hold, so unrelated faults do not shift the sequence.
 */
export function admitCall(slot: ModelSlot, stream: boolean, now: number, rng: Rng): SimFault | null {
  const index = slot.calls++;
  const faults = slot.behaviour.faults;
  for (let i = 0; i < faults.length; i++) {
    const f = faults[i];
    if (!stream && streamOnly(f)) continue;
    if (f.first_n !== undefined && index >= f.first_n) continue;
    if (f.for_ms !== undefined && now - slot.setAt >= f.for_ms) continue;
    if (f.probability !== undefined && !(rng() < f.probability)) continue;
    return f;
  }
  return null;
}
