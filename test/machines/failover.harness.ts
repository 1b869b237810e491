import { assign, createActor, fromPromise, SimulatedClock } from 'xstate';
import { failoverMachine, type FailoverAttemptInput, type FailoverContext, type FailoverInput } from '../../machines/failover.machine.ts';
import { newActivity, type LiveRequest } from '../../src/serve/flow-handle.ts';
import { clockProvisions } from '../../src/serve/flow-runtime.ts';
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
  /** A scratch copy of the machine to run instead (to break the chart on purpose). */
  base?: typeof failoverMachine;
}

/** One run's state, found by its payload (the request id), as the runtime finds its LiveRequest. */
interface Run {
  clock: SimulatedClock;
  live: LiveRequest;
  script: Entry[] | ((input: FailoverAttemptInput) => Entry);
  opts: FailoverHarnessOptions;
  reports: AttemptRecord[];
  started: FailoverAttemptInput[];
  aborted: number[];
  settled: number[];
  answers: Array<() => void>;
  pending: PendingAttempt[];
  cacheLookups: Array<(hit: boolean) => void>;
  streamAborts: number;
}

const runs = new Map<unknown, Run>();
const runOf = (payload: unknown): Run => runs.get(payload)!;

/** The transport's part: the upstream got attempt `attempt` now. */
function sent(run: Run, attempt: number): void {
  run.live.activity.sentAttempt = attempt;
  run.live.activity.sentAt = run.clock.now();
}

function attemptOf(run: Run, input: FailoverAttemptInput, signal: AbortSignal): Promise<AttemptSuccess> {
  const { clock, live, script, opts } = run;
  run.started.push(input);
  const entry = typeof script === 'function' ? script(input) : script[input.attempt - 1];
  signal.addEventListener('abort', () => run.aborted.push(input.attempt));
  if (opts.autoSend !== false) sent(run, input.attempt);
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
      if (!signal.aborted) run.settled.push(input.attempt);
    });
  if (entry === 'hang' || entry === undefined) return new Promise(() => {});
  if (entry === 'manual') {
    return track(
      new Promise((resolve, reject) => {
        run.answers.push(() => resolve(ok()));
        run.pending.push({ input, settle: (e) => outcome(e).then(resolve, reject) });
      }),
    );
  }
  return track(outcome(entry));
}

/**
 * The runtime's clock provisions, once for every run. They read the clock after they find
 * the request (`liveOf`), so finding it selects that run's clock.
 */
let currentClock: SimulatedClock | undefined;
const clocked = clockProvisions(
  () => currentClock!.now(),
  (payload) => {
    const run = runs.get(payload);
    if (run !== undefined) currentClock = run.clock;
    return run?.live;
  },
);

/**
 * The machine every run uses, provided once (as the runtime does): the runtime's clock
 * provisions, and scripted I/O, decisions and breaker state read from the run.
 */
const provisions = {
  actors: {
    attempt: fromPromise<AttemptSuccess, FailoverAttemptInput>(({ input, signal }) => attemptOf(runOf(input.payload), input, signal)),
    cacheLookup: fromPromise<ResultRef, { payload: unknown }>(async ({ input }) => {
      const run = runOf(input.payload);
      const hit = run.opts.cached === 'manual' ? await new Promise<boolean>((r) => run.cacheLookups.push(r)) : run.opts.cached === true;
      if (!hit) throw new Error('miss');
      return { type: 'completion', complete: true, attempt: 99 };
    }),
  },
  actions: {
    ...clocked.actions,
    report: ({ context }, params: { record: AttemptRecord }) => {
      runOf(context.payload).reports.push(params.record);
    },
    decide: assign({
      decision: ({ context }) => {
        const decide = runOf(context.payload).opts.decide;
        // The machine's own default: the next step, else stop.
        if (decide === undefined) return context.stepIndex + 1 < context.steps.length ? { action: 'next' as const } : { action: 'fail' as const };
        return decide(context);
      },
    }),
    abortStream: ({ context }) => {
      runOf(context.payload).streamAborts++;
    },
  },
  guards: {
    ...clocked.guards,
    primaryCircuitOpen: ({ context }) => {
      const open = runOf(context.payload).opts.primaryOpen ?? true;
      return typeof open === 'function' ? open() : open;
    },
  },
  delays: clocked.delays,
} satisfies Parameters<typeof failoverMachine.provide>[0];
const scripted = failoverMachine.provide(provisions);

let seq = 0;

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
  const id = `r${++seq}`;
  const live = { requestId: id, startedAt: 0, activity: newActivity() } as LiveRequest;
  const run: Run = { clock, live, script, opts, reports: [], started: [], aborted: [], settled: [], answers: [], pending: [], cacheLookups: [], streamAborts: 0 };
  runs.set(id, run);
  const microsteps: string[] = [];
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
  const machine = opts.base ? opts.base.provide(provisions) : scripted;
  const actor = createActor(opts.override ? machine.provide(opts.override) : machine, {
    clock,
    input: {
      steps,
      payload: id,
      deadlineMs: opts.deadlineMs ?? 10_000,
      attemptTimeoutMs: opts.attemptTimeoutMs ?? 1_000,
      streamIdleTimeoutMs: opts.streamIdleTimeoutMs ?? 2_000,
      ...(opts.fallback ? { fallback: opts.fallback } : {}),
      ...(opts.degradedStep ? { degradedStep: opts.degradedStep } : {}),
      ...(opts.chainTriggers ? { chainTriggers: opts.chainTriggers } : {}),
    },
    inspect: (e) => {
      if (e.type === '@xstate.microstep' && e.actorRef === actor) microsteps.push(String((e.snapshot as unknown as { value: unknown }).value));
    },
  });
  // A finished run's state goes with it (a run that never finishes is one test's garbage).
  actor.subscribe({ complete: () => runs.delete(id), error: () => runs.delete(id) });
  return {
    clock,
    actor,
    live,
    reports: run.reports,
    started: run.started,
    aborted: run.aborted,
    settled: run.settled,
    pending: run.pending,
    cacheLookups: run.cacheLookups,
    microsteps,
    activity: live.activity,
    send: (attempt: number) => sent(run, attempt),
    answers: run.answers,
    streamAborts: () => run.streamAborts,
    output: () => actor.getSnapshot().output as FlowOutput,
  };
}

export type FailoverHarness = ReturnType<typeof startFailover>;

/** Lets promise actors settle and their results reach the machine. */
export const flush = () => new Promise((r) => setImmediate(r));
