import { createActor, fromPromise, SimulatedClock, type Actor } from 'xstate';
import { hedgeMachine, type HedgeInput, type HedgeOutput } from '../../machines/hedge.machine.ts';
import { AttemptFailure, type AttemptInput, type AttemptSuccess, type FlowStep } from '../../src/core/flow.ts';
import type { ErrorKind } from '../../src/core/error-kinds.ts';
import { UpstreamError } from '../../src/core/upstream-error.ts';

/**
 * The real hedge machine on a SimulatedClock, with attempt actors the test settles by hand
 * (or by a script of latencies on the same clock), each recording when it was sent and when
 * its AbortSignal fired.
 */

export interface HedgeCall {
  step: number;
  attempt: number;
  sentAt: number;
  settledAt?: number;
  abortedAt?: number;
  resolve(stream?: boolean): void;
  reject(kind: ErrorKind, skipped?: 'circuit_open'): void;
}

/** What a scripted attempt does, `afterMs` after it is sent. */
export interface ScriptedOutcome {
  afterMs: number;
  ok: boolean;
  kind?: ErrorKind;
}

export interface HedgeHarnessOptions {
  /** Steps whose breaker refuses a hedge (nextAdmitted false). */
  refused?: ReadonlySet<number>;
  /** Steps whose retry budget is empty (nextBudgeted false). */
  noBudget?: ReadonlySet<number>;
  /** Settle attempts on the clock by themselves. */
  script?: readonly ScriptedOutcome[];
}

export const step = (provider: string, model = 'm'): FlowStep => ({ provider, model, key: `${provider}/${model}` });

export class HedgeHarness {
  readonly clock = new SimulatedClock();
  readonly calls: HedgeCall[] = [];
  readonly reports: Array<{ attempt: number; ok: boolean; cancelled?: boolean; at: number }> = [];
  /** Hedge budget tokens spent, by step. */
  readonly spent: number[] = [];
  readonly actor: Actor<typeof hedgeMachine>;
  /** Most attempts in flight at once (sent, neither settled nor aborted). */
  maxInFlight = 0;

  constructor(input: HedgeInput, opts: HedgeHarnessOptions = {}) {
    const clock = this.clock;
    const calls = this.calls;
    const attempt = fromPromise<AttemptSuccess, AttemptInput>(
      ({ input: a, signal }) =>
        new Promise<AttemptSuccess>((resolve, reject) => {
          const call: HedgeCall = {
            step: a.stepIndex,
            attempt: a.attempt,
            sentAt: clock.now(),
            resolve: (stream = false) => {
              if (call.settledAt !== undefined || call.abortedAt !== undefined) return;
              call.settledAt = clock.now();
              resolve({ result: { type: stream ? 'stream' : 'completion', complete: !stream, attempt: a.attempt }, latencyMs: clock.now() - call.sentAt });
            },
            reject: (kind, skipped) => {
              if (call.settledAt !== undefined || call.abortedAt !== undefined) return;
              call.settledAt = clock.now();
              reject(new AttemptFailure(new UpstreamError({ kind, message: kind, ...(skipped ? { skipped } : {}) }), clock.now() - call.sentAt));
            },
          };
          calls.push(call);
          this.maxInFlight = Math.max(this.maxInFlight, this.inFlight().length);
          signal.addEventListener('abort', () => {
            if (call.settledAt === undefined) call.abortedAt = clock.now();
          });
          const s = opts.script?.[a.stepIndex];
          if (s !== undefined) clock.setTimeout(() => (s.ok ? call.resolve() : call.reject(s.kind ?? 'server_error')), s.afterMs);
        }),
    );
    const machine = hedgeMachine.provide({
      actors: { attempt },
      actions: {
        report: ({ context }, params) => {
          const r = (params as { record: { attempt: number; ok: boolean; cancelled?: boolean } }).record;
          void context;
          this.reports.push({ attempt: r.attempt, ok: r.ok, ...(r.cancelled ? { cancelled: true } : {}), at: clock.now() });
        },
        spendRetryToken: ({ context }) => {
          this.spent.push(context.next);
        },
      },
      guards: {
        nextAdmitted: ({ context }) => !(opts.refused?.has(context.next) ?? false),
        nextBudgeted: ({ context }) => !(opts.noBudget?.has(context.next) ?? false),
      },
    });
    this.actor = createActor(machine, { input, clock });
    this.actor.start();
  }

  /** Calls sent and neither settled nor aborted. */
  inFlight(): HedgeCall[] {
    return this.calls.filter((c) => c.settledAt === undefined && c.abortedAt === undefined);
  }

  call(step: number): HedgeCall {
    const c = this.calls.find((x) => x.step === step);
    if (c === undefined) throw new Error(`step ${step} was never sent`);
    return c;
  }

  /** Lets promise settlements reach the machine. */
  async flush(): Promise<void> {
    for (let i = 0; i < 6; i++) await Promise.resolve();
  }

  async advance(ms: number): Promise<void> {
    this.clock.increment(ms);
    await this.flush();
  }

  get snapshot() {
    return this.actor.getSnapshot();
  }

  get output(): HedgeOutput | undefined {
    return this.snapshot.output;
  }
}
