import { filter, map, type Observable } from 'rxjs';
import type { TransitionEvent } from './transitions.ts';

/** A long-lived actor moved to another state: a breaker opened, a provider went down, a model recovered. */
export interface StateChange {
  at: string;
  /** `breaker`, `provider`, `model`, `healthProbe`. */
  machine: string;
  /** e.g. `breaker:openai/gpt-4-turbo-preview#5:60000:...`, `provider:openai`. */
  actor: string;
  from: string;
  to: string;
  /** The event that moved it. */
  event: string;
}

/** The watched machines and the state each starts in (their start may precede any subscriber). */
const INITIAL: Record<string, string> = { breaker: 'closed', provider: 'healthy', model: 'healthy', healthProbe: 'healthy', degraded: 'normal' };

/** The top-level state: a probe's healthy.waiting / healthy.probing are both `healthy`. */
function topState(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value !== null && typeof value === 'object') return Object.keys(value)[0] ?? '';
  return String(value);
}

/**
 * The state changes of the long-lived actors, one per change (self-transitions and counter
 * updates dropped): the operator's view of what the gateway is doing, cheap enough to log
 * always because it only fires when something changes.
 *
 * @example
 * stateChanges(hub.transitions$).subscribe((c) => console.error(JSON.stringify(c)));
 * // {"machine":"breaker","actor":"breaker:openai/gpt-4#...","from":"closed","to":"open",...}
 */
export function stateChanges(transitions$: Observable<TransitionEvent>): Observable<StateChange> {
  const last = new Map<string, string>();
  return transitions$.pipe(
    filter((e) => INITIAL[e.machine] !== undefined),
    map((e): StateChange | undefined => {
      const actor = e.systemId ?? e.actorId;
      const to = topState(e.state);
      const from = last.get(actor) ?? INITIAL[e.machine];
      // Bounded by the long-lived actors (targets × configs), which are themselves bounded.
      if (e.status === 'stopped') {
        last.delete(actor);
        return undefined;
      }
      last.set(actor, to);
      if (from === to) return undefined;
      return { at: new Date(e.at).toISOString(), machine: e.machine, actor, from, to, event: e.event };
    }),
    filter((c): c is StateChange => c !== undefined),
  );
}
