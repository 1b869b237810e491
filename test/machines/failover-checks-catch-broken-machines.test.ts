import { describe, expect, it } from 'vitest';
import { assign, createMachine, spawnChild } from 'xstate';
import { failoverMachine, timedOut, type FailoverContext } from '../../machines/failover.machine.ts';
import { checkDeadline, checkDecisions, checkNoLeaks, checkRecords, checkReports, simulate, TICK, type AttemptPlan, type FlowRun, type Scenario, type ScriptedDecision } from './failover.checks.ts';
import type { FailoverHarnessOptions } from './failover.harness.ts';

/**
 * The property checks (failover.checks.ts) are only worth something if they fail on a wrong
 * machine: each test runs one flow on the real machine, where the check passes, then the same
 * flow on a machine broken on purpose (a provision replaced, or a scratch copy of the chart),
 * and expects the check to say what went wrong.
 */

const steps = (n: number, queueTimeoutMs?: number) =>
  Array.from({ length: n }, (_, i) => ({ provider: `p${i}`, model: `m${i}`, key: `p${i}/m${i}`, ...(queueTimeoutMs !== undefined ? { queueTimeoutMs } : {}) }));

const sentAtOnce = (fate: AttemptPlan['fate'], endAfter = 0): AttemptPlan => ({ sendAfter: 0, endAfter, fate });

function flow(plans: AttemptPlan[], decisions: ScriptedDecision[], extra: Partial<Scenario> = {}): Scenario {
  return {
    steps: steps(2),
    deadlineMs: 5_000,
    attemptTimeoutMs: 1_000,
    streamIdleTimeoutMs: 1_000,
    fallback: 'error',
    degraded: false,
    primaryOpen: false,
    cached: false,
    plans,
    decisions,
    ...extra,
  };
}

/** The check passes on the real machine and throws `message` on the broken one. */
async function catches(check: (r: FlowRun) => void, s: Scenario, broken: Pick<FailoverHarnessOptions, 'override' | 'base'>, message: string | RegExp): Promise<FlowRun> {
  check(await simulate(s));
  const r = await simulate(s, broken);
  expect(() => check(r)).toThrow(message);
  return r;
}

/** A scratch copy of the chart whose attempt is spawned on entry instead of invoked, so leaving `attempting` no longer stops it. */
function spawningCopy(): typeof failoverMachine {
  const config = failoverMachine.config;
  const attempting = config.states!.attempting!;
  const invoke = attempting.invoke as { input: unknown; onDone: unknown; onError: unknown };
  return createMachine(
    {
      ...config,
      states: {
        ...config.states,
        attempting: {
          entry: [...(attempting.entry as unknown[]), spawnChild('attempt', { input: invoke.input as never })],
          exit: attempting.exit,
          on: { ...attempting.on, 'xstate.done.actor.*': invoke.onDone, 'xstate.error.actor.*': invoke.onError },
        },
      },
    } as never,
    failoverMachine.implementations as never,
  ) as unknown as typeof failoverMachine;
}

const fail = { t: 'fail', kind: 'server_error' } as const;

describe('the failover checks catch a broken machine', () => {
  it('deadline: a retry delay not cut at the deadline', async () => {
    const s = flow([sentAtOnce(fail), sentAtOnce({ t: 'ok' })], [{ action: 'retry', delayTicks: 1_000 / TICK }], { deadlineMs: 500 });
    await catches(
      checkDeadline,
      s,
      {
        override: {
          delays: { retryDelay: ({ context }: { context: FailoverContext }) => (context.decision?.action === 'retry' ? context.decision.delayMs : 0) },
          guards: { retryReachesDeadline: () => false },
        },
      },
      'attempt 2 started at 1000, at or after the deadline 500',
    );
  });

  it('deadline: an attempt timer not cut at the deadline', async () => {
    const s = flow([sentAtOnce({ t: 'hang' })], [], { deadlineMs: 500, steps: steps(1) });
    await catches(checkDeadline, s, { override: { delays: { attemptTimer: ({ context }: { context: FailoverContext }) => context.attemptTimeoutMs } } }, 'finished at 1000, after the deadline 500');
  });

  it('decisions: a `next` back to a step already tried is taken', async () => {
    const s = flow([sentAtOnce(fail), sentAtOnce({ t: 'ok' })], [{ action: 'next', to: 0 }]);
    const moveOnAnywhere = { shouldMoveOn: ({ context }: { context: FailoverContext }) => context.decision?.action === 'next' };
    await catches(checkDecisions, s, { override: { guards: moveOnAnywhere } }, 'after next to step 0 from step 0, attempt 2 went to step 0');
  });

  it('decisions: a retry without the policy asking for one', async () => {
    const s = flow([sentAtOnce(fail), sentAtOnce({ t: 'ok' })], [{ action: 'fail' }]);
    await catches(checkDecisions, s, { override: { guards: { shouldRetry: ({ context }: { context: FailoverContext }) => context.stepAttempts < 2 } } }, 'after a fail decision, attempt 2 went to step 0');
  });

  it('no leaks: an attempt spawned instead of invoked keeps running after its timer moved the flow on', async () => {
    const s = flow([sentAtOnce({ t: 'hang' }), sentAtOnce({ t: 'ok' })], [{ action: 'next' }], { attemptTimeoutMs: 100 });
    const r = await catches(checkNoLeaks, s, { base: spawningCopy() }, 'attempt 2 started while attempt 1 still ran');
    expect(r.h.aborted).not.toContain(1);
  });

  it('records: skipped attempts left out of the record', async () => {
    const s = flow([{ sendAfter: null, endAfter: 0, fate: { t: 'skip', skipped: 'circuit_open' } }, sentAtOnce({ t: 'ok' })], [{ action: 'next' }]);
    const dropSkips = assign(({ context, event }: { context: FailoverContext; event: unknown }) => {
      const { error } = (event as { error: { error: FailoverContext['lastError'] } }).error;
      if (error?.skipped !== undefined) return { lastError: error };
      const step = context.steps[context.stepIndex];
      const record = { attempt: context.attempts.length + 1, step: context.stepIndex, provider: step.provider, model: step.model, ok: false, kind: error!.kind, latencyMs: 0 };
      return { lastError: error, attempts: [...context.attempts, record] };
    });
    await catches(checkRecords, s, { override: { actions: { recordFailure: dropSkips as never } } }, /are not the attempts started/);
  });

  it('records and reports: a wait for a local connection recorded as the target timing out', async () => {
    const s = flow([{ sendAfter: null, endAfter: 0, fate: fail }, sentAtOnce({ t: 'ok' })], [{ action: 'next' }], { steps: steps(2, 300) });
    const waitAsTimeout = { recordWaitLimit: assign(({ context }: { context: FailoverContext }) => timedOut(context, 300)) as never };
    await catches(checkRecords, s, { override: { actions: waitAsTimeout } }, 'attempt 1 recorded {"ok":false,"kind":"timeout"}, expected {"ok":false,"kind":"server_error","skipped":"wait_limit"}');
    await catches(checkReports, s, { override: { actions: waitAsTimeout } }, 'attempt 1 never reached its upstream but was reported as timeout');
  });
});
