import type { BreakerConfig } from './config.ts';
import type { ErrorKind } from '../error-kinds.ts';

/** What one upstream outcome means to a breaker. */
export type OutcomeVerdict = 'failure' | 'success' | 'neutral';

/** The fields of an upstream outcome a breaker judges. */
export interface OutcomeFacts {
  ok: boolean;
  kind?: ErrorKind;
  latencyMs: number;
}

/**
 * Classifies one upstream outcome for a breaker with `config`.
 *
 * - `failure`: an error whose kind is not excluded (an error with no kind is a failure), or,
 *   with `monitorLatency`, a success slower than `latencyThresholdMs`.
 * - `neutral`: an excluded error, or `bad_request` (the client's own fault: no provider can
 *   fix it). It is evidence of neither health nor sickness, so it never counts either way.
 * - `success`: everything else.
 *
 * @example
 * classifyOutcome(cfg, { ok: false, kind: 'server_error', latencyMs: 20 }); // 'failure'
 */
export function classifyOutcome(config: BreakerConfig, outcome: OutcomeFacts): OutcomeVerdict {
  if (!outcome.ok) {
    const kind = outcome.kind;
    if (kind === 'bad_request') return 'neutral';
    if (kind !== undefined && config.excludedErrors.includes(kind)) return 'neutral';
    return 'failure';
  }
  if (config.monitorLatency && outcome.latencyMs > config.latencyThresholdMs) return 'failure';
  return 'success';
}
