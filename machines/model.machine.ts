import { assign, sendParent, setup } from 'xstate';
import type { ErrorKind } from '../src/core/error-kinds.ts';

/**
 * One model on one provider (a target). Observes every attempt's outcome and keeps the
 * target's running health: `healthy` until `failThreshold` consecutive failures make it
 * `failing`, back on the first success. Its provider (the parent) hears every change.
 * Breakers of the target hang off this actor's outcome stream.
 */

export interface ModelInput {
  provider: string;
  model: string;
  /** Consecutive failures that mark the model failing. */
  failThreshold?: number;
}

/**
 * An outcome that can move the model's state (a failure, or a success after failures),
 * with the target's running totals: the runtime counts every outcome in place
 * (src/engine/target-stats.ts, which also owns the rule that a client's bad request is no
 * failure) and sends only these, so a healthy model's successes cost no actor step.
 */
export type ModelEvent = {
  type: 'OUTCOME';
  ok: boolean;
  kind?: ErrorKind;
  at: number;
  requests: number;
  failures: number;
  consecutiveFailures: number;
  latencyEwmaMs: number | null;
};

export interface ModelContext {
  provider: string;
  model: string;
  failThreshold: number;
  requests: number;
  failures: number;
  consecutiveFailures: number;
  /** Moving average of successful attempts' latency (src/engine/target-stats.ts). */
  latencyEwmaMs: number | null;
  lastErrorKind: ErrorKind | null;
  /** When the last outcome the model heard happened (it hears only state-moving ones). */
  lastHeardAt: number | null;
}


export const modelMachine = setup({
  types: {
    context: {} as ModelContext,
    input: {} as ModelInput,
    events: {} as ModelEvent,
  },
  actions: {
    // The totals are the target's (TargetStats): copied, not counted again.
    count: assign(({ context, event }) => ({
      requests: event.requests,
      failures: event.failures,
      consecutiveFailures: event.consecutiveFailures,
      latencyEwmaMs: event.latencyEwmaMs,
      lastErrorKind: event.ok ? context.lastErrorKind : (event.kind ?? null),
      lastHeardAt: event.at,
    })),
    tellParent: sendParent(({ context }, params: { healthy: boolean }) => ({
      type: 'MODEL_HEALTH' as const,
      model: context.model,
      healthy: params.healthy,
    })),
  },
  guards: {
    tipsOver: ({ context, event }) => !event.ok && event.consecutiveFailures >= context.failThreshold,
    isSuccess: ({ event }) => event.ok,
  },
}).createMachine({
  id: 'model',
  context: ({ input }) => ({
    provider: input.provider,
    model: input.model,
    failThreshold: input.failThreshold ?? 3,
    requests: 0,
    failures: 0,
    consecutiveFailures: 0,
    latencyEwmaMs: null,
    lastErrorKind: null,
    lastHeardAt: null,
  }),
  initial: 'healthy',
  states: {
    healthy: {
      on: {
        OUTCOME: [{ guard: 'tipsOver', target: 'failing', actions: 'count' }, { actions: 'count' }],
      },
    },
    failing: {
      entry: { type: 'tellParent', params: { healthy: false } },
      exit: { type: 'tellParent', params: { healthy: true } },
      on: {
        OUTCOME: [{ guard: 'isSuccess', target: 'healthy', actions: 'count' }, { actions: 'count' }],
      },
    },
  },
});
