import { assign, createActor, type Actor, type InspectionEvent, type Observer, type PromiseActorLogic } from 'xstate';
import { hedgeMachine, losersStopped, timedOutHedge, type HedgeContext, type HedgeEvent, type HedgeInput, type HedgeOutput, type HedgeReport } from '../../machines/hedge.machine.ts';
import { endedWithout, type AttemptInput, type AttemptRecord, type AttemptSuccess, type FlowStep } from '../core/flow.ts';
import type { ClientSignal } from '../core/client-signal.ts';
import type { Targets } from '../targets/targets.ts';
import { FlowRun, type AfterBreak, type FlowClock, type FlowHandle, type LiveRequest } from './flow-handle.ts';

/** What the hedge machine borrows from the FlowRuntime: the same attempt actor, report and clock. */
export interface HedgeDeps {
  attempt: PromiseActorLogic<AttemptSuccess, AttemptInput>;
  /** The failover machine's `report` action: reads only the context's payload and steps. */
  report: (args: { context: { payload: unknown; steps: readonly FlowStep[] } }, params: { record: AttemptRecord }) => void;
  now: () => number;
  liveOf: (payload: unknown) => LiveRequest | undefined;
  targets: Targets;
}

/**
 * The hedge machine with the runtime's I/O and clock, built once at start-up: the attempt
 * actor the failover machine uses, the targets' breakers and retry budgets as guards, and
 * the clock's delays and measurements (each hedge's own stamps in `LiveRequest.activities`).
 */
export function provideHedge(d: HedgeDeps): typeof hedgeMachine {
  const { now, liveOf, targets } = d;
  type Args = { context: HedgeContext };
  /** How long `step`'s attempt has run: since the upstream got it, else since it was started. */
  const ranFor = (c: HedgeContext, live: LiveRequest | undefined, step: number): number => {
    const a = live?.activities?.[c.attemptOf[step]];
    if (a === undefined) return 0;
    return now() - (a.sentAt >= 0 ? a.sentAt : a.attemptStartedAt);
  };
  const streamOf = (live: LiveRequest | undefined, attempt: number) => {
    const r = live?.results[attempt];
    return r?.type === 'stream' ? r : undefined;
  };
  return hedgeMachine.provide({
    actors: { attempt: d.attempt },
    actions: {
      report: ({ context }: Args, params: unknown) => d.report({ context }, params as HedgeReport),
      // The primary's budget pays for hedges: it earns its credit from every request the race
      // starts (the hedged targets see only hedges, so theirs would only ever drain), which
      // keeps hedges within the budget's ratio of the requests.
      spendRetryToken: ({ context }: Args) => {
        targets.byKey(context.steps[0].key).budget.canRetry();
      },
      abortStream: ({ context }: Args) => {
        if (context.result !== undefined) streamOf(liveOf(context.payload), context.result.attempt)?.abort();
      },
      discardResult: ({ context, event }: { context: HedgeContext; event: HedgeEvent }) => {
        const out = (event as unknown as { output?: AttemptSuccess }).output;
        if (out !== undefined) streamOf(liveOf(context.payload), out.result.attempt)?.abort();
      },
      recordTimeout: assign(({ context, event }: { context: HedgeContext; event: HedgeEvent }) => {
        const step = (event as Extract<HedgeEvent, { type: 'ATTEMPT_TIMER' }>).step;
        return timedOutHedge(context, step, ranFor(context, liveOf(context.payload), step));
      }),
      recordCancelled: assign(({ context }: Args) => {
        const live = liveOf(context.payload);
        return losersStopped(context, (s) => ranFor(context, live, s), false);
      }),
      recordCut: assign(({ context }: Args) => {
        const live = liveOf(context.payload);
        return losersStopped(context, (s) => ranFor(context, live, s), true);
      }),
    },
    guards: {
      nextAdmitted: ({ context }: Args) => {
        const target = targets.byKey(context.steps[context.next].key);
        const live = liveOf(context.payload);
        // Half-open: the attempt itself asks for a trial slot (a refusal there is a skip).
        return !target.unhealthy && target.breakerFor(live?.breakerConfig).getSnapshot().value !== 'open';
      },
      nextBudgeted: ({ context }: Args) => targets.byKey(context.steps[0].key).budget.hasToken(),
      silentTooLong: ({ context }: Args) => {
        const live = liveOf(context.payload);
        return live === undefined || now() - live.activity.lastChunkAt >= context.streamIdleTimeoutMs;
      },
    },
    delays: {
      deadline: ({ context }: Args) => {
        const live = liveOf(context.payload);
        return live === undefined ? context.deadlineMs : Math.max(0, context.deadlineMs - (now() - live.startedAt));
      },
      attemptTimer: ({ context }: Args) => {
        const live = liveOf(context.payload);
        return live === undefined ? context.attemptTimeoutMs : Math.max(0, Math.min(context.attemptTimeoutMs, context.deadlineMs - (now() - live.startedAt)));
      },
      streamIdle: ({ context }: Args) => {
        const live = liveOf(context.payload);
        return live === undefined ? context.streamIdleTimeoutMs : Math.max(1, context.streamIdleTimeoutMs - (now() - live.activity.lastChunkAt));
      },
    },
  }) as typeof hedgeMachine;
}

/** A running hedge race: a FlowHandle (so ChatStream serves its winning stream), plus how the race went. */
export interface HedgeHandle extends FlowHandle {
  readonly done: Promise<HedgeOutput>;
  /** The hedge race's context right now (data only): attempts, declined hedges, the winner. */
  context(): HedgeContext;
}

export interface RunHedgeOptions {
  inspect?: Observer<InspectionEvent> | ((ev: InspectionEvent) => void);
  clock?: FlowClock;
  /** Called once when the race's actor ends (the runtime forgets the request). */
  finish(): void;
  /** The client leaving: cancels the race until its outcome is known (as a failover flow's). */
  signal?: ClientSignal;
}

/** Starts the hedge machine for `live`; resolves `done` at the win (a stream's commit point) or the failure. */
export function runHedgeActor(machine: typeof hedgeMachine, live: LiveRequest, input: Omit<HedgeInput, 'payload'>, opts: RunHedgeOptions): HedgeHandle {
  const actor = createActor(machine, {
    input: { ...input, payload: live.requestId },
    ...(opts.inspect ? { inspect: opts.inspect } : {}),
    ...(opts.clock ? { clock: opts.clock } : {}),
  });
  return new HedgeRun(actor, live, opts.finish, opts.signal).start();
}

type HedgeActor = Actor<typeof hedgeMachine>;
type HedgeSnapshot = ReturnType<HedgeActor['getSnapshot']>;

/** One hedge race (FlowRun): `done` resolves at the win or the failure; losers are aborted. */
class HedgeRun extends FlowRun<HedgeOutput, HedgeActor> implements HedgeHandle {
  readonly #finish: () => void;
  #winner: number | undefined;

  constructor(actor: HedgeActor, live: LiveRequest, finish: () => void, signal: ClientSignal | undefined) {
    super(actor, live, signal);
    this.#finish = finish;
  }

  /** Observer: the first win settles the race (and stops the slower ones when asked to). */
  next(snap: HedgeSnapshot): void {
    const ctx = snap.context;
    if (this.settled || ctx.winner === null || ctx.result === undefined || snap.status !== 'active') return;
    this.#winner = ctx.result.attempt;
    if (ctx.cancelSlower) this.#abortOthers(this.#winner);
    this.settle({ ok: true, result: ctx.result, step: ctx.steps[ctx.winner], stepIndex: ctx.winner, attempts: ctx.attempts, servedBy: 'upstream', declined: ctx.declined, winner: ctx.winner });
  }

  complete(): void {
    const out = this.actor.getSnapshot().output as HedgeOutput;
    this.#abortOthers(out.ok ? out.result.attempt : this.#winner);
    if (!this.settled) this.settle(out);
    else if (this.waiting) this.wake(endedWithout(out));
    this.#finish();
  }

  error(err: unknown): void {
    this.#finish();
    this.fail(err);
  }

  /** A hedged stream is not continued after a break: the break is final. */
  afterBreak(): Promise<AfterBreak> {
    return new Promise((resolve) => {
      const snap = this.actor.getSnapshot();
      if (snap.status === 'done') resolve(endedWithout(snap.output as HedgeOutput));
      else this.waitForBreak(resolve);
    });
  }

  context(): HedgeContext {
    return this.actor.getSnapshot().context;
  }

  cancel(): void {
    this.actor.stop();
    this.#abortOthers(undefined);
    this.#finish();
  }

  /** Every stream but the one served is aborted (a loser whose result came as it was stopped). */
  #abortOthers(keep: number | undefined): void {
    const results = this.live.results;
    for (let i = 0; i < results.length; i++) {
      const r = results[i];
      if (i !== keep && r?.type === 'stream') r.abort();
    }
  }
}
