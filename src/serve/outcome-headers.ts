import type { BreakerActor } from '../../machines/breaker.machine.ts';
import { breakerStatus, retryAfterMs } from '../breaker/status.ts';
import type { FlowOutput } from '../core/flow.ts';

/**
 * The headers that say what happened to a request: who served it (X-Provider, X-Model), how
 * many upstream attempts it took (X-Attempts; skipped targets are not attempts), whether it
 * failed over, and the state of the requested target's breaker (X-Circuit-Status, and
 * X-Retry-After in seconds while it is open).
 */
export function outcomeHeaders(out: FlowOutput, requestId: string, primaryBreaker: BreakerActor, now: number): Record<string, string> {
  let attempts = 0;
  for (const a of out.attempts) if (!a.skipped) attempts++;
  const h: Record<string, string> = { 'x-request-id': requestId, 'x-attempts': String(attempts) };
  if (out.ok) {
    h['x-provider'] = out.step.provider;
    h['x-model'] = out.step.model;
    h['x-failover-used'] = out.stepIndex > 0 && out.servedBy === 'upstream' ? 'true' : 'false';
    if (out.step.reduceQuality) h['x-quality-reduced'] = 'true';
  } else {
    const last = out.attempts[out.attempts.length - 1];
    if (last) {
      h['x-provider'] = last.provider;
      h['x-model'] = last.model;
    }
    h['x-failover-used'] = out.attempts.some((a) => a.step > 0) ? 'true' : 'false';
  }
  const snap = primaryBreaker.getSnapshot();
  const status = breakerStatus(snap);
  h['x-circuit-status'] = status;
  if (status === 'open') h['x-retry-after'] = String(Math.ceil(retryAfterMs(snap, now) / 1000));
  return h;
}
