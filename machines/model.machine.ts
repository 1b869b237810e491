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
 * with the target's running totals: the runtime counts every outcome in place and sends
 * only these, so a healthy model's successes cost no actor step.
 */
export type ModelEvent = {
  type: 'OUTCOME';
  ok: boolean;
  kind?: ErrorKind;
  latencyMs: number;
  at: number;
  requests: number;
  failures: number;
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
  lastOutcomeAt: number | null;
}


export const modelMachine = setup({
  types: {
    context: {} as ModelContext,
    input: {} as ModelInput,
    events: {} as ModelEvent,
  },
  actions: {
    count: assign(({ context, event }) => {
      // A client's own bad request says nothing about the model's health.
      const counts = event.ok || event.kind !== 'bad_request';
      return {
        requests: event.requests,
        failures: event.failures,
        consecutiveFailures: event.ok ? 0 : counts ? context.consecutiveFailures + 1 : context.consecutiveFailures,
        latencyEwmaMs: event.latencyEwmaMs,
        lastErrorKind: event.ok ? context.lastErrorKind : (event.kind ?? null),
        lastOutcomeAt: event.at,
      };
    }),
    tellParent: sendParent(({ context }, params: { healthy: boolean }) => ({
      type: 'MODEL_HEALTH' as const,
      model: context.model,
      healthy: params.healthy,
    })),
  },
  guards: {
    // Guards run before the transition's actions, so they judge the outcome being counted.
    tipsOver: ({ context, event }) =>
      !event.ok && event.kind !== 'bad_request' && context.consecutiveFailures + 1 >= context.failThreshold,
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
    lastOutcomeAt: null,
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
