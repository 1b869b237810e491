import { assign, createActor, fromPromise, SimulatedClock } from 'xstate';
import { failoverMachine, type FailoverAttemptInput, type FailoverContext, type FailoverInput } from '../../machines/failover.machine.ts';
import { clockProvisions, newActivity, type LiveRequest } from '../../src/serve/flow-runtime.ts';
import { AttemptFailure, type AttemptRecord, type AttemptSuccess, type Decision, type FlowOutput, type FlowStep, type ResultRef } from '../../src/core/flow.ts';
import type { ErrorKind } from '../../src/core/error-kinds.ts';
import { UpstreamError, type SkipReason } from '../../src/core/upstream-error.ts';

/** How one attempt ends: at once, never, or when the test settles it (`manual`). */
export type Entry =
  | { ok: true; result?: Partial<ResultRef>; latencyMs?: number }
  | { ok: false; kind: ErrorKind; skipped?: SkipReason; latencyMs?: number }
  | 'hang'
  | 'manual';

/** An attempt whose outcome the test gives later (a `manual` entry). */
export interface PendingAttempt {
  input: FailoverAttemptInput;
  settle(outcome: Exclude<Entry, 'hang' | 'manual'>): void;
}

export interface FailoverHarnessOptions extends Partial<Omit<FailoverInput, 'steps'>> {
  /** How many steps (p0/m0, p1/m1, ...), or the steps themselves. */
  steps?: number | FlowStep[];
  /** Steps from this index on continue a prefill. */
  prefillFrom?: number;
  queueTimeoutMs?: number;
  /** Stamp every attempt sent the moment it starts (default); false: the test stamps it. */
  autoSend?: boolean;
  /** The decision after a failure (default: the machine's own, the next step or fail). */
  decide?: (c: FailoverContext) => Decision;
  /** Whether the requested target's breaker is open when the flow decides (default true). */
  primaryOpen?: boolean | (() => boolean);
  /** The cache fallback's lookup: a hit, a miss, or settled by the test (`manual`). */
  cached?: boolean | 'manual';
  /** Extra `failoverMachine.provide` overrides, applied last (to break a provision on purpose). */
  override?: Parameters<typeof failoverMachine.provide>[0];
}

/**
 * The failover machine with scripted attempts (one entry per attempt, by attempt number, or
 * a function of the attempt's input), provided with the runtime's own clock provisions
 * (src/serve/flow-runtime.ts) on a simulated clock. An attempt is sent to its upstream at
 * once unless `autoSend` is false (then the test stamps it with `send`, as the transport
 * does when a local connection frees up). Records what the runtime would see: the attempts
 * started and aborted, the reports, the stream aborts, and the machine's microsteps (which
 * show the transient `deciding` state too).
 */
export function startFailover(script: Entry[] | ((input: FailoverAttemptInput) => Entry), opts: FailoverHarnessOptions = {}) {
  const clock = new SimulatedClock();
  const reports: AttemptRecord[] = [];
  const started: FailoverAttemptInput[] = [];
  const aborted: number[] = [];
  /** Attempt numbers whose actor settled (resolved or rejected) before it was stopped. */
  const settled: number[] = [];
  const answers: Array<() => void> = [];
  const pending: PendingAttempt[] = [];
  const cacheLookups: Array<(hit: boolean) => void> = [];
  const microsteps: string[] = [];
  let streamAborts = 0;
  const live = { requestId: 'r1', startedAt: 0, activity: newActivity() } as LiveRequest;
  const clocked = clockProvisions(() => clock.now(), () => live);
  const primaryOpen = opts.primaryOpen ?? true;
  const machine = failoverMachine
    .provide({
      actors: {
        attempt: fromPromise<AttemptSuccess, FailoverAttemptInput>(({ input, signal }) => {
          started.push(input);
          const entry = typeof script === 'function' ? script(input) : script[input.attempt - 1];
          signal.addEventListener('abort', () => aborted.push(input.attempt));
          if (opts.autoSend !== false) send(input.attempt);
          const since = () => clock.now() - (live.activity.sentAt >= 0 ? live.activity.sentAt : live.activity.attemptStartedAt);
          const ok = (result: Partial<ResultRef> = {}, latencyMs?: number): AttemptSuccess => {
            live.activity.lastChunkAt = clock.now();
            return { result: { type: 'completion', complete: true, attempt: input.attempt, ...result }, latencyMs: latencyMs ?? since() };
          };
          const outcome = (e: Exclude<Entry, 'hang' | 'manual'>): Promise<AttemptSuccess> => {
            if (e.ok) return Promise.resolve(ok(e.result, e.latencyMs));
            const error = new UpstreamError({ kind: e.kind, message: e.kind, ...(e.skipped ? { skipped: e.skipped } : {}) });
            return Promise.reject(new AttemptFailure(error, e.latencyMs ?? since()));
          };
          const track = (p: Promise<AttemptSuccess>) =>
            p.finally(() => {
              if (!signal.aborted) settled.push(input.attempt);
            });
          if (entry === 'hang' || entry === undefined) return new Promise(() => {});
          if (entry === 'manual') {
            return track(
              new Promise((resolve, reject) => {
                answers.push(() => resolve(ok()));
                pending.push({ input, settle: (e) => outcome(e).then(resolve, reject) });
              }),
            );
          }
          return track(outcome(entry));
        }),
        cacheLookup: fromPromise<ResultRef, { payload: unknown }>(async () => {
          const hit = opts.cached === 'manual' ? await new Promise<boolean>((r) => cacheLookups.push(r)) : opts.cached === true;
          if (!hit) throw new Error('miss');
          return { type: 'completion', complete: true, attempt: 99 };
        }),
      },
      actions: {
        ...clocked.actions,
        report: (_, params: { record: AttemptRecord }) => {
          reports.push(params.record);
        },
        ...(opts.decide ? { decide: assign({ decision: ({ context }) => opts.decide!(context) }) } : {}),
        abortStream: () => {
          streamAborts++;
        },
      },
      guards: { ...clocked.guards, primaryCircuitOpen: () => (typeof primaryOpen === 'function' ? primaryOpen() : primaryOpen) },
      delays: clocked.delays,
    })
    .provide(opts.override ?? {});
  const steps =
    typeof opts.steps === 'object'
      ? opts.steps
      : Array.from({ length: opts.steps ?? 2 }, (_, i) => ({
          provider: `p${i}`,
          model: `m${i}`,
          key: `p${i}/m${i}`,
          ...(opts.prefillFrom !== undefined && i >= opts.prefillFrom ? { prefill: true } : {}),
          ...(opts.queueTimeoutMs !== undefined ? { queueTimeoutMs: opts.queueTimeoutMs } : {}),
        }));
  const actor = createActor(machine, {
    clock,
    input: {
      steps,
      payload: 'r1',
      deadlineMs: opts.deadlineMs ?? 10_000,
      attemptTimeoutMs: opts.attemptTimeoutMs ?? 1_000,
      streamIdleTimeoutMs: opts.streamIdleTimeoutMs ?? 2_000,
      ...(opts.fallback ? { fallback: opts.fallback } : {}),
      ...(opts.degradedStep ? { degradedStep: opts.degradedStep } : {}),
      ...(opts.chainTriggers ? { chainTriggers: opts.chainTriggers } : {}),
    },
    inspect: (e) => {
      if (e.type === '@xstate.microstep' && e.actorRef === actor) microsteps.push(String((e.snapshot as { value: unknown }).value));
    },
  });
  /** The transport's part: the upstream got attempt `attempt` now. */
  function send(attempt: number): void {
    live.activity.sentAttempt = attempt;
    live.activity.sentAt = clock.now();
  }
  return {
    clock,
    actor,
    live,
    reports,
    started,
    aborted,
    settled,
    pending,
    cacheLookups,
    microsteps,
    activity: live.activity,
    send,
    answers,
    streamAborts: () => streamAborts,
    output: () => actor.getSnapshot().output as FlowOutput,
  };
}

export type FailoverHarness = ReturnType<typeof startFailover>;

/** Lets promise actors settle and their results reach the machine. */
export const flush = () => new Promise((r) => setImmediate(r));
