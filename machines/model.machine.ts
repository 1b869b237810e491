import { assign, sendParent, setup } from 'xstate';
import type { ErrorKind } from '../src/core/error-kinds.ts';

/**
 * One model on one provider (a target), as health reports it. Fed by the target's one owner
 * (src/targets/target.ts), so what it shows is what routing does: `down` while routing skips
 * the target (its default breaker is open, or active health checks hold it down); else
 * `failing` after `failThreshold` consecutive failures, back to `healthy` on the first success.
 * Its provider (the parent) hears every change.
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
export type ModelEvent = ModelOutcomeEvent | ModelRoutingEvent;

/** Whether routing sends traffic to the target now, and why not. */
export interface ModelRoutingEvent {
  type: 'ROUTING';
  routable: boolean;
  /** e.g. `circuit_open`, `health_check`; null when routable. */
  reason: string | null;
  at: number;
}

export type ModelOutcomeEvent = {
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
  /** False while routing skips the target. */
  routable: boolean;
  /** Why routing skips it (`circuit_open`, `health_check`), null while routable. */
  downReason: string | null;
}


export const modelMachine = setup({
  types: {
    context: {} as ModelContext,
    input: {} as ModelInput,
    events: {} as ModelEvent,
  },
  actions: {
    // The totals are the target's (TargetStats): copied, not counted again.
    count: assign(({ context, event }) => event.type !== 'OUTCOME' ? {} : ({
      requests: event.requests,
      failures: event.failures,
      consecutiveFailures: event.consecutiveFailures,
      latencyEwmaMs: event.latencyEwmaMs,
      lastErrorKind: event.ok ? context.lastErrorKind : (event.kind ?? null),
      lastHeardAt: event.at,
    })),
    route: assign(({ event }) => (event.type === 'ROUTING' ? { routable: event.routable, downReason: event.reason } : {})),
    tellParent: sendParent(({ context }, params: { healthy: boolean }) => ({
      type: 'MODEL_HEALTH' as const,
      model: context.model,
      healthy: params.healthy,
    })),
  },
  guards: {
    tipsOver: ({ context, event }) => event.type === 'OUTCOME' && !event.ok && event.consecutiveFailures >= context.failThreshold,
    isSuccess: ({ event }) => event.type === 'OUTCOME' && event.ok,
    unroutable: ({ context }) => !context.routable,
    stillFailing: ({ context }) => context.consecutiveFailures >= context.failThreshold,
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
    routable: true,
    downReason: null,
  }),
  initial: 'healthy',
  on: {
    ROUTING: { target: '.evaluate', actions: 'route' },
  },
  states: {
    // Where a routing change leaves the model; the provider hears its health either way (it
    // ignores what it already knows), so failing -> down is no flap through healthy.
    evaluate: {
      always: [
        { guard: 'unroutable', target: 'down', actions: { type: 'tellParent', params: { healthy: false } } },
        { guard: 'stillFailing', target: 'failing', actions: { type: 'tellParent', params: { healthy: false } } },
        { target: 'healthy', actions: { type: 'tellParent', params: { healthy: true } } },
      ],
    },
    healthy: {
      on: {
        OUTCOME: [{ guard: 'tipsOver', target: 'failing', actions: ['count', { type: 'tellParent', params: { healthy: false } }] }, { actions: 'count' }],
      },
    },
    failing: {
      on: {
        OUTCOME: [{ guard: 'isSuccess', target: 'healthy', actions: ['count', { type: 'tellParent', params: { healthy: true } }] }, { actions: 'count' }],
      },
    },
    /** Routing skips the target: its outcomes still count; only ROUTING moves it on. */
    down: {
      on: {
        OUTCOME: { actions: 'count' },
      },
    },
  },
});
