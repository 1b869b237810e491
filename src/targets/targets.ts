import { Target, type TargetOptions, type TargetSystem } from './target.ts';

/** Every configured target's one owner, created once at start-up (bounded by config). */
export class Targets {
  readonly #byKey = new Map<string, Target>();

  constructor(keys: Iterable<string>, opts: TargetOptions, system: TargetSystem) {
    for (const key of keys) this.#byKey.set(key, new Target(key, opts, system));
  }

  get(provider: string, model: string): Target {
    return this.byKey(`${provider}/${model}`);
  }

  /** The target of a step's `key` (the hot path: no key string built per request). */
  byKey(key: string): Target {
    const t = this.#byKey.get(key);
    if (!t) throw new Error(`no target ${key}`);
    return t;
  }

  values(): IterableIterator<Target> {
    return this.#byKey.values();
  }

  stop(): void {
    for (const t of this.#byKey.values()) t.stop();
  }
}
