import type { BreakerActor } from '../../machines/breaker.machine.ts';
import { isAdmitted } from './status.ts';

/**
 * Asks `actor` to let the request `token` pass at `at`; true when admitted.
 *
 * Closed admits without an event (no bookkeeping, nothing for the inspection stream) and
 * open refuses without one; only half-open needs the machine to hand out a trial slot.
 * A caller admitted in half_open must later report the outcome with the same token, or
 * send RELEASE if the request is abandoned.
 *
 * @example
 * if (!tryAcquire(breaker, requestId, Date.now())) return fallback();
 */
export function tryAcquire(actor: BreakerActor, token: string, at: number): boolean {
  const before = actor.getSnapshot();
  if (before.value !== 'half_open') return before.value === 'closed';
  actor.send({ type: 'ACQUIRE', token, at });
  return isAdmitted(actor.getSnapshot(), token);
}
