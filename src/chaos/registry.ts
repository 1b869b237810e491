import { uniqueId } from '../core/ids.ts';
import { isStreamFault, type Fault, type FaultSpec } from './faults.ts';

/** Where a fault's target sends its calls: the provider's name and, for one model, its upstream name. */
export interface ResolvedTarget {
  provider: string;
  /** The upstream model name; undefined targets every model of the provider. */
  upstreamModel: string | undefined;
}

/** Why a fault left the registry. */
export type FaultEnd = 'deleted' | 'expired' | 'spent';

export interface ChaosEvents {
  added?(fault: Fault): void;
  /** One call was hit by `fault` (already counted in `fault.injected`). */
  injected?(fault: Fault): void;
  ended?(fault: Fault, why: FaultEnd): void;
}

/** Faults kept at once: chaos is a test tool, not a second config. */
export const MAX_FAULTS = 64;

interface Entry {
  fault: Fault;
  at: ResolvedTarget;
}

/**
 * The faults in force and what they have done. The transport asks `pick()` on every call
 * while at least one fault is in force (`size > 0`); with none it costs one property read.
 * Injections are counted per target and fault (`counts()`), for metrics.
 */
export class ChaosRegistry {
  readonly #entries: Entry[] = [];
  readonly #counts = new Map<string, number>();
  readonly #now: () => number;
  readonly #resolve: (target: string) => ResolvedTarget | undefined;
  readonly #events: ChaosEvents;

  constructor(opts: { now: () => number; resolve: (target: string) => ResolvedTarget | undefined; events?: ChaosEvents }) {
    this.#now = opts.now;
    this.#resolve = opts.resolve;
    this.#events = opts.events ?? {};
  }

  get size(): number {
    return this.#entries.length;
  }

  get now(): number {
    return this.#now();
  }

  /** Whether `target` names a configured provider or provider/model. */
  knows(target: string): boolean {
    return this.#resolve(target) !== undefined;
  }

  /** @throws RangeError when MAX_FAULTS are in force. */
  add(spec: FaultSpec): Fault {
    const at = this.#resolve(spec.target);
    if (at === undefined) throw new RangeError(`unknown target ${spec.target}`);
    this.#sweep();
    if (this.#entries.length >= MAX_FAULTS) throw new RangeError(`at most ${MAX_FAULTS} faults at once`);
    const now = this.#now();
    const fault: Fault = { ...spec, id: `chaos_${uniqueId()}`, createdAt: now, expiresAt: spec.durationMs === undefined ? undefined : now + spec.durationMs, injected: 0 };
    this.#entries.push({ fault, at });
    this.#events.added?.(fault);
    return fault;
  }

  list(): Fault[] {
    this.#sweep();
    return this.#entries.map((e) => e.fault);
  }

  remove(id: string): Fault | undefined {
    const i = this.#entries.findIndex((e) => e.fault.id === id);
    if (i === -1) return undefined;
    const [{ fault }] = this.#entries.splice(i, 1);
    this.#events.ended?.(fault, 'deleted');
    return fault;
  }

  /**
   * The fault that hits this call, counted, or undefined. Stream faults hit streamed calls only.
   * The first matching fault in the order they were added wins.
   */
  pick(provider: string, upstreamModel: string, stream: boolean): Fault | undefined {
    this.#sweep();
    for (let i = 0; i < this.#entries.length; i++) {
      const { fault, at } = this.#entries[i];
      if (at.provider !== provider || (at.upstreamModel !== undefined && at.upstreamModel !== upstreamModel)) continue;
      if (!stream && isStreamFault(fault.fault)) continue;
      fault.injected++;
      const key = `${fault.target}\u0000${fault.fault}`;
      this.#counts.set(key, (this.#counts.get(key) ?? 0) + 1);
      this.#events.injected?.(fault);
      if (fault.requests !== undefined && fault.injected >= fault.requests) {
        this.#entries.splice(i, 1);
        this.#events.ended?.(fault, 'spent');
      }
      return fault;
    }
    return undefined;
  }

  /** Every injection so far, per target and fault type (faults since removed included). */
  counts(): Array<{ target: string; fault: string; injected: number }> {
    return [...this.#counts].map(([k, injected]) => {
      const [target, fault] = k.split('\u0000');
      return { target, fault, injected };
    });
  }

  #sweep(): void {
    if (this.#entries.length === 0) return;
    const now = this.#now();
    for (let i = this.#entries.length - 1; i >= 0; i--) {
      const { fault } = this.#entries[i];
      if (fault.expiresAt !== undefined && now >= fault.expiresAt) {
        this.#entries.splice(i, 1);
        this.#events.ended?.(fault, 'expired');
      }
    }
  }
}
