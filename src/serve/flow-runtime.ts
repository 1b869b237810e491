import { assign, createActor, fromPromise, raise, type Actor, type AnyActorRef } from 'xstate';
import { degradedMachine, type DegradedReading, type DegradedContext } from '../../machines/degraded.machine.ts';
import { cutAtDeadline, failoverMachine, timedOut, waitLimited, type FailoverContext, type FailoverEvent, type FailoverInput } from '../../machines/failover.machine.ts';
import { gatewayMachine } from '../../machines/gateway.machine.ts';
import { healthProbeMachine } from '../../machines/health-probe.machine.ts';
import type { hedgeMachine, HedgeInput } from '../../machines/hedge.machine.ts';
import { recoveryProbeMachine } from '../../machines/recovery-probe.machine.ts';
import { tryAcquire } from '../breaker/acquire.ts';
import { retryAfterMs } from '../breaker/status.ts';
import { AttemptFailure, endedWithout, type AttemptInput, type AttemptRecord, type AttemptSuccess, type Decision, type FlowOutput, type FlowStep, type ResultRef, type StreamEvent } from '../core/flow.ts';
import type { ClientSignal } from '../core/client-signal.ts';
import type { ChatRequest } from '../core/openai-types.ts';
import { isLocalLimit, toUpstreamError, UpstreamError } from '../core/upstream-error.ts';
import { decideAfterFailure, type FailureFacts } from '../decisions/after-failure.ts';
import type { TransitionHub } from '../events/transitions.ts';
import type { AttemptResult, Transport } from '../providers/transport.ts';
import type { TranslateContext } from '../providers/types.ts';
import type { RouteTable } from '../routing/routes.ts';
import type { TargetOptions } from '../targets/target.ts';
import { Targets } from '../targets/targets.ts';
import { FlowRun, newActivity, sentStamp, type Activity, type AfterBreak, type FlowClock, type FlowHandle, type LiveRequest } from './flow-handle.ts';
import { provideHedge, runHedgeActor, type HedgeDeps, type HedgeHandle } from './hedge-runtime.ts';

/** An attempt cut by its request's deadline sooner than this is not held against the target. */
export const MIN_CUT_TO_COUNT_MS = 1_000;

export interface FlowRuntimeOptions {
  routes: RouteTable;
  transport: Pick<Transport, 'call' | 'probe'>;
  hub: TransitionHub;
  targets: TargetOptions;
  clock?: FlowClock;
  /** Jitter for retry delays (default Math.random). */
  rng?: () => number;
  /** What follows a failed attempt (default: the policy's decision, decideAfterFailure). A seam for tests. */
  decide?: (facts: FailureFacts, rng: () => number) => Decision;
  /** The degraded-mode actor (systemId `degraded`): its interval and its reading of the targets. */
  degraded?: { intervalMs: number; evaluate: (targets: Targets) => DegradedReading };
}

/**
 * Everything of the failover machine that reads the clock, for `failoverMachine.provide`: the
 * attempt timer (the attempt limit counts from when the upstream got the request; the wait
 * before it is bounded by the step's queue timeout), the retry delay and the stream idle
 * watchdog, each cut at the request's deadline; the guards that tell which limit was reached;
 * and the actions that stamp an attempt's start and record how long it took.
 */
export function clockProvisions(now: () => number, liveOf: (payload: unknown) => LiveRequest | undefined) {
  const attemptNo = (c: FailoverContext): number => c.attempts.length + 1;
  /** When the upstream got the current attempt; -1 while it waits for a local connection. */
  const sentAt = (c: FailoverContext, live: LiveRequest): number => sentStamp(live.activity, attemptNo(c));
  const remaining = (c: FailoverContext, live: LiveRequest): number => c.deadlineMs - (now() - live.startedAt);
  /**
   * When the current attempt started, stamped the first time anything asks (XState resolves
   * the timer's delay before it runs the state's entry actions, so either may come first).
   */
  const startOf = (c: FailoverContext, live: LiveRequest): number => {
    const a = live.activity;
    const n = attemptNo(c);
    if (a.startedAttempt !== n) {
      a.startedAttempt = n;
      a.attemptStartedAt = now();
    }
    return a.attemptStartedAt;
  };
  type Args = { context: FailoverContext };
  const set = (fn: (c: FailoverContext) => Partial<FailoverContext>) =>
    assign<FailoverContext, FailoverEvent, unknown, FailoverEvent, never>(({ context }) => fn(context));
  const timeGuard = (fn: (c: FailoverContext, live: LiveRequest) => boolean) => ({ context }: Args): boolean => {
    const live = liveOf(context.payload);
    return live !== undefined && fn(context, live);
  };
  return {
    actions: {
      // Only the start: a `sent` stamp counts for the attempt it names (the transport may
      // stamp before this entry action runs), so nothing needs resetting.
      startAttempt: ({ context }: Args) => {
        const live = liveOf(context.payload);
        if (live !== undefined) startOf(context, live);
      },
      recordTimeout: set((context) => {
        const live = liveOf(context.payload);
        const at = live === undefined ? -1 : sentAt(context, live);
        return timedOut(context, at < 0 ? context.attemptTimeoutMs : now() - at);
      }),
      recordCut: set((context) => {
        const live = liveOf(context.payload);
        if (live === undefined) return cutAtDeadline(context, 0);
        const at = sentAt(context, live);
        return cutAtDeadline(context, now() - (at < 0 ? startOf(context, live) : at));
      }),
      recordWaitLimit: set((context) => {
        const live = liveOf(context.payload);
        return waitLimited(context, live === undefined ? 0 : now() - startOf(context, live), false);
      }),
      recordDeadlineWaiting: set((context) => {
        const live = liveOf(context.payload);
        return waitLimited(context, live === undefined ? 0 : now() - startOf(context, live), true);
      }),
    },
    guards: {
      pastDeadlineWaiting: timeGuard((c, live) => remaining(c, live) <= 0 && sentAt(c, live) < 0),
      pastDeadline: timeGuard((c, live) => remaining(c, live) <= 0),
      waitedTooLong: timeGuard((c, live) => {
        const limit = c.steps[c.stepIndex].queueTimeoutMs;
        return limit !== undefined && sentAt(c, live) < 0 && now() - startOf(c, live) >= limit;
      }),
      attemptTimedOut: timeGuard((c, live) => {
        const at = sentAt(c, live);
        return at >= 0 && now() - at >= c.attemptTimeoutMs;
      }),
      retryReachesDeadline: timeGuard((c, live) => remaining(c, live) <= 0),
      silentTooLong: ({ context }: Args) => {
        const live = liveOf(context.payload);
        return live === undefined || now() - live.activity.lastChunkAt >= context.streamIdleTimeoutMs;
      },
    },
    delays: {
      attemptTimer: ({ context }: Args) => {
        const live = liveOf(context.payload);
        if (live === undefined) return context.attemptTimeoutMs;
        const t = now();
        const at = sentAt(context, live);
        // A continuation runs past the commit point, where the deadline no longer applies: cut
        // at a deadline already gone, its timer would fire at once and re-arm on every tick.
        const left = context.result === undefined ? remaining(context, live) : Number.POSITIVE_INFINITY;
        if (at < 0) {
          // Not sent yet: check again at the sooner of the wait limit and one attempt limit from now.
          const wait = (context.steps[context.stepIndex].queueTimeoutMs ?? Number.POSITIVE_INFINITY) - (t - startOf(context, live));
          return Math.max(0, Math.min(context.attemptTimeoutMs, wait, left));
        }
        return Math.max(0, Math.min(context.attemptTimeoutMs - (t - at), left));
      },
      retryDelay: ({ context }: Args) => {
        const live = liveOf(context.payload);
        const delay = context.decision?.action === 'retry' ? context.decision.delayMs : 0;
        return live === undefined ? delay : Math.max(0, Math.min(delay, remaining(context, live)));
      },
      /** What is left of the idle limit since the last chunk. */
      streamIdle: ({ context }: Args) => {
        const live = liveOf(context.payload);
        return live === undefined ? context.streamIdleTimeoutMs : Math.max(1, context.streamIdleTimeoutMs - (now() - live.activity.lastChunkAt));
      },
    },
  };
}

/**
 * The actor runtime around the machines: the gateway's actor system (provider and model
 * health actors, and the targets' breakers and probes, each by systemId), one owner per
 * target, and a failover flow per client request whose I/O it provides: attempts through the
 * transport, outcomes to the targets, the policy's decisions, the clock.
 */
export class FlowRuntime {
  readonly routes: RouteTable;
  readonly targets: Targets;
  readonly now: () => number;
  readonly #root: Actor<typeof gatewayMachine>;
  readonly #hub: TransitionHub;
  readonly #clock: FlowClock | undefined;
  readonly #live = new Map<string, LiveRequest>();
  readonly #probes = new Set<string>();
  readonly failover: typeof failoverMachine;
  readonly hedge: typeof hedgeMachine;

  constructor(opts: FlowRuntimeOptions) {
    const { routes, transport } = opts;
    this.routes = routes;
    this.#hub = opts.hub;
    const clock = (this.#clock = opts.clock);
    const now = (this.now = clock ? () => clock.now() : Date.now);
    const rng = opts.rng ?? Math.random;
    const decide = opts.decide ?? decideAfterFailure;
    const live = this.#live;

    const probe = fromPromise<void, { target: string; kind: string }>(async ({ input, signal }) => {
      const route = routes.byKey(input.target);
      if (!route) throw new Error(`unknown target ${input.target}`);
      const ping: ChatRequest = { model: route.upstreamModel, messages: [{ role: 'user', content: 'ping' }], max_tokens: 1 };
      // Marked, so the provider's logs (and the simulator's) tell probes from client traffic.
      const target = { ...route.target, headers: { ...route.target.headers, 'x-parrot-probe': input.kind } };
      await transport.probe(route.adapter, ping, { target, model: route.upstreamModel, stream: false }, signal);
    });
    let targets!: Targets;
    const root = createActor(
      gatewayMachine.provide({
        actors: {
          healthProbe: healthProbeMachine.provide({
            actors: { probe },
            actions: { setHealthy: ({ context }, params: { healthy: boolean }) => targets.byKey(context.target).setProbeHealth(params.healthy) },
          }),
          recoveryProbe: recoveryProbeMachine.provide({
            actors: { probe },
            actions: { recovered: ({ context }) => targets.byKey(context.target).recovered() },
          }),
          degraded: degradedMachine.provide({
            actions: { evaluate: raise(() => ({ type: 'EVALUATED' as const, reading: opts.degraded!.evaluate(targets), at: now() })) },
          }),
        },
      }),
      {
        input: { providers: providersOf(routes), ...(opts.degraded ? { degraded: { intervalMs: opts.degraded.intervalMs } } : {}) },
        inspect: opts.hub.inspect,
        ...(clock ? { clock } : {}),
      },
    );
    this.#root = root;
    root.start();
    const system = root.system;
    targets = this.targets = new Targets([...routes.routes()].map((r) => r.key), opts.targets, {
      spawn: (src, id, input) => {
        root.send({ type: 'SPAWN', src, id, systemId: id, input });
        return system.get(id) as AnyActorRef;
      },
      stop: (id) => root.send({ type: 'STOP', id }),
      health: (key) => system.get(`model:${key}`) as AnyActorRef | undefined,
      now,
    });

    const liveOf = (id: unknown): LiveRequest | undefined => live.get(id as string);

    const clocked = clockProvisions(now, liveOf);
    this.failover = failoverMachine.provide({
      actors: {
        attempt: fromPromise<AttemptSuccess, AttemptInput>(({ input, signal }) => {
          const req = liveOf(input.payload);
          if (req === undefined) return Promise.reject(new AttemptFailure(new UpstreamError({ kind: 'connection_error', message: 'request abandoned' }), 0));
          const step = input.step;
          const target = targets.byKey(step.key);
          if (target.unhealthy) {
            return Promise.reject(new AttemptFailure(new UpstreamError({ kind: 'server_error', skipped: 'unhealthy', message: `${target.key} is down (active health checks)` }), 0));
          }
          const local = target.local;
          if (local.full) {
            // Before the breaker: a refusal here takes no half-open trial slot.
            const error = new UpstreamError({ kind: 'server_error', skipped: 'in_flight_limit', message: `${target.key} is at its max_in_flight of ${local.maxInFlight} calls` });
            return Promise.reject(new AttemptFailure(error, 0));
          }
          const started = now();
          const breaker = target.breakerFor(req.breakerConfig);
          // Only a half-open breaker tracks who it admitted: the token is built for it alone.
          const halfOpen = breaker.getSnapshot().value === 'half_open';
          const token = halfOpen ? trialToken(req.requestId, input.attempt) : '';
          if (!tryAcquire(breaker, token, started)) {
            const wait = retryAfterMs(breaker.getSnapshot(), started);
            const error = new UpstreamError({
              kind: 'server_error',
              skipped: 'circuit_open',
              message: `circuit open for ${target.key}${wait > 0 ? `; half-open in ${Math.ceil(wait / 1000)} s` : ''}`,
            });
            return Promise.reject(new AttemptFailure(error, 0));
          }
          if (halfOpen) (req.trials ??= new Map()).set(token, breaker);
          if (input.stepAttempt === 1) target.budget.onRequest();
          const route = routes.byKey(step.key)!;
          let request = req.request;
          if (step.reduceMaxTokens !== undefined) request = reduceMaxTokens(request, step.reduceMaxTokens);
          let ctx: TranslateContext = { target: route.target, model: route.upstreamModel, stream: req.stream };
          if (input.prefill !== undefined) {
            request = { ...request, messages: [...request.messages, { role: 'assistant', content: input.prefill.trimEnd() }] };
            // A continuation: the adapter adds the fields the route's server needs to continue it.
            if (route.prefillMode !== undefined) ctx = { ...ctx, prefill: route.prefillMode };
          }
          let a = req.activity;
          if (req.activities !== undefined) {
            // A hedge: its own stamps, beside the other attempts in flight.
            a = req.activities[input.attempt] = newActivity();
            a.attemptStartedAt = started;
          }
          // This attempt waits for a local connection until the transport stamps it sent. The
          // target's latency counts from then; the wait before is the gateway's own.
          a.sentAttempt = input.attempt;
          a.sentAt = -1;
          return callAttempt(transport.call(route.adapter, request, ctx, signal, local, a, target.malformedEvents), req, a, input.attempt, started, now);
        }),
        cacheLookup: fromPromise<ResultRef, { payload: unknown }>(async ({ input }) => {
          const req = liveOf(input.payload);
          const hit = req?.cached?.();
          if (req === undefined || hit === undefined) throw new UpstreamError({ kind: 'server_error', message: 'no cached answer' });
          const attempt = Math.max(1, req.results.length);
          req.results[attempt] = hit;
          return { type: 'completion', complete: true, attempt };
        }),
      },
      actions: {
        ...clocked.actions,
        report: ({ context }, params: { record: AttemptRecord }) => {
          const r = params.record;
          const req = liveOf(context.payload);
          const at = now();
          const token = req?.trials?.size ? trialToken(req.requestId, r.attempt) : undefined;
          const trial = token === undefined ? undefined : req!.trials!.get(token);
          if (trial) req!.trials!.delete(token!);
          if (r.skipped) {
            // No upstream call was made: nothing to count against the target. A local limit is
            // the gateway's own saturation (counted for metrics); a half-open trial that waited
            // for a connection in vain is freed for another request.
            if (isLocalLimit(r.skipped)) targets.byKey(context.steps[r.step].key).local.refused(r.skipped, at);
            trial?.send({ type: 'RELEASE', token: token! });
            return;
          }
          if (r.cancelled || (r.cut && r.latencyMs < MIN_CUT_TO_COUNT_MS)) {
            // A hedge stopped because another won says nothing about its target; nor does a
            // client's own very short deadline (else X-Request-Timeout-Ms: 1 could open a shared
            // breaker). Free the trial slot, count nothing.
            trial?.send({ type: 'RELEASE', token: token! });
            return;
          }
          targets.byKey(context.steps[r.step].key).observe({ ok: r.ok, ...(r.kind ? { kind: r.kind } : {}), latencyMs: r.latencyMs, at, ...(trial ? { token } : {}) });
        },
        decide: assign({
          decision: ({ context }) => {
            const req = liveOf(context.payload)!;
            const target = targets.byKey(context.steps[context.stepIndex].key);
            return decide(
              {
                error: context.lastError!,
                steps: context.steps,
                stepIndex: context.stepIndex,
                stepAttempts: context.stepAttempts,
                remainingMs: context.deadlineMs - (now() - req.startedAt),
                retry: req.retry,
                chainTriggers: req.chainTriggers,
                latencyOf: (i) => targets.byKey(context.steps[i].key).stats.latencyEwmaMs,
                budgetLeft: target.budget.hasToken(),
                breakerOpen: target.breakerFor(req.breakerConfig).getSnapshot().value === 'open',
              },
              rng,
            );
          },
        }),
        spendRetryToken: ({ context }) => {
          targets.byKey(context.steps[context.stepIndex].key).budget.canRetry();
        },
        abortStream: ({ context }) => {
          const ref = context.result;
          const r = ref === undefined ? undefined : liveOf(context.payload)?.results[ref.attempt];
          if (r?.type === 'stream') r.abort();
        },
      },
      guards: {
        ...clocked.guards,
        primaryCircuitOpen: ({ context }) => {
          const req = liveOf(context.payload);
          return targets.byKey(context.steps[0].key).breakerFor(req?.breakerConfig).getSnapshot().value !== 'closed';
        },
      },
      delays: clocked.delays,
    });
    // The hedge machine shares the failover machine's attempt actor and report (both read only
    // the context's payload and steps).
    const shared = this.failover.implementations;
    this.hedge = provideHedge({ attempt: shared.actors.attempt as HedgeDeps['attempt'], report: shared.actions.report as HedgeDeps['report'], now, liveOf, targets });
  }

  /**
   * The degraded-mode actor's state now (`normal`, or `degraded` with its reasons); undefined
   * when the runtime has none. One snapshot read: cheap enough per request.
   */
  degradedState(): { value: 'normal' | 'degraded'; context: DegradedContext } | undefined {
    const actor = this.#root.system.get('degraded') as AnyActorRef | undefined;
    return actor?.getSnapshot() as { value: 'normal' | 'degraded'; context: DegradedContext } | undefined;
  }

  /**
   * Active health checks for these steps' targets (X-Failover-Config), started on first use:
   * one probe actor per target at most, so the count is bounded by the configured targets.
   */
  ensureProbes(steps: readonly FlowStep[], opts: { intervalMs: number; failureThreshold: number; successThreshold: number }): void {
    for (const step of steps) {
      const id = `probe:${step.key}`;
      if (this.#probes.has(id)) continue;
      this.#probes.add(id);
      this.#root.send({ type: 'SPAWN', src: 'healthProbe', id, systemId: id, input: { target: step.key, ...opts } });
    }
  }

  /** A long-lived actor of the gateway's system by its systemId (`breaker:...`, `model:...`, `probe:...`). */
  actor(systemId: string): AnyActorRef | undefined {
    return this.#root.system.get(systemId) as AnyActorRef | undefined;
  }

  /** Every long-lived actor of the gateway's system, by systemId (the visualizer's first look). */
  actors(): Array<[string, AnyActorRef]> {
    return Object.entries(this.#root.system.getAll()) as Array<[string, AnyActorRef]>;
  }

  /** Start a failover flow for `live`; `signal` (the client leaving) cancels it until its outcome is known. */
  run(live: LiveRequest, input: Omit<FailoverInput, 'payload'>, signal?: ClientSignal): FlowHandle {
    this.#live.set(live.requestId, live);
    const actor = createActor(this.failover, {
      input: { ...input, payload: live.requestId },
      inspect: this.#hub.requestInspector,
      ...(this.#clock ? { clock: this.#clock } : {}),
    });
    return new FailoverRun(actor, live, this.#forgetFn, signal).start();
  }

  /** #forget for a FailoverRun, made once. */
  readonly #forgetFn = (live: LiveRequest): void => void this.#forget(live);

  /** Start a hedge race for `live` (machines/hedge.machine.ts; src/serve/hedge-runtime.ts); `signal` as for `run`. */
  runHedge(live: LiveRequest, input: Omit<HedgeInput, 'payload'>, signal?: ClientSignal): HedgeHandle {
    live.activities = [];
    this.#live.set(live.requestId, live);
    return runHedgeActor(this.hedge, live, input, {
      inspect: this.#hub.requestInspector,
      ...(this.#clock ? { clock: this.#clock } : {}),
      finish: () => {
        if (this.#forget(live)) live.activities = undefined;
      },
      ...(signal ? { signal } : {}),
    });
  }

  /**
   * Drop `live` from the live table once its flow has ended; false when it was dropped already
   * (or its id was taken by a later request). Trials it still holds (it was cut or abandoned)
   * are released now rather than waiting out their lease.
   */
  #forget(live: LiveRequest): boolean {
    if (this.#live.get(live.requestId) !== live) return false;
    this.#live.delete(live.requestId);
    if (live.trials?.size) {
      for (const [token, breaker] of live.trials) breaker.send({ type: 'RELEASE', token });
      live.trials.clear();
    }
    return true;
  }

  stop(): void {
    this.targets.stop();
    this.#root.stop();
  }
}

type FailoverActor = Actor<typeof failoverMachine>;
type FailoverSnapshot = ReturnType<FailoverActor['getSnapshot']>;

/**
 * One failover flow (FlowRun): `done` resolves at the commit point, with the outcome or an open
 * stream's reference; after a break, `afterBreak` resolves with the continuation's stream or
 * the final error.
 */
class FailoverRun extends FlowRun<FlowOutput, FailoverActor> {
  readonly #forget: (live: LiveRequest) => void;
  /** The result the client has (the first stream, then each continuation's). */
  #lastRef: ResultRef | undefined;

  constructor(actor: FailoverActor, live: LiveRequest, forget: (live: LiveRequest) => void, signal: ClientSignal | undefined) {
    super(actor, live, signal);
    this.#forget = forget;
  }

  /** Observer: a stream's commit point, then each continuation taking over. */
  next(snap: FailoverSnapshot): void {
    if (snap.value !== 'streaming') return;
    const ctx = snap.context;
    if (!this.settled) {
      this.#lastRef = ctx.result;
      this.settle({ ok: true, result: ctx.result!, step: ctx.steps[ctx.stepIndex], stepIndex: ctx.stepIndex, attempts: ctx.attempts, servedBy: ctx.servedBy });
    } else if (this.waiting && ctx.result !== this.#lastRef) {
      this.#lastRef = ctx.result;
      this.wake({ ref: ctx.result! });
    }
  }

  /** Observer: the flow ended (its output is the outcome, or what a waiting pump hears). */
  complete(): void {
    const out = this.actor.getSnapshot().output as FlowOutput;
    if (!this.settled) this.settle(out);
    else if (this.waiting) this.wake(this.#afterEnd(out));
    this.#forget(this.live);
  }

  error(err: unknown): void {
    this.#forget(this.live);
    this.fail(err);
  }

  afterBreak(): Promise<AfterBreak> {
    return new Promise((resolve) => {
      const snap = this.actor.getSnapshot();
      if (snap.status === 'done') {
        resolve(this.#afterEnd(snap.output as FlowOutput));
        return;
      }
      if (snap.value === 'streaming' && snap.context.result !== this.#lastRef) {
        this.#lastRef = snap.context.result;
        resolve({ ref: snap.context.result! });
        return;
      }
      this.waitForBreak(resolve);
    });
  }

  cancel(): void {
    this.actor.stop();
    this.#forget(this.live);
  }

  /** What a pump waiting after a break hears once the flow has ended: a continuation it has not had yet, or the end. */
  #afterEnd(out: FlowOutput): AfterBreak {
    return out.ok && out.result !== this.#lastRef ? { ref: out.result } : endedWithout(out);
  }
}

/** Provider -> its models, in config order: the health actors the gateway system starts with. */
function providersOf(routes: RouteTable): Array<{ name: string; models: string[] }> {
  const byProvider = new Map<string, string[]>();
  for (const r of routes.routes()) {
    const list = byProvider.get(r.provider);
    if (list) list.push(r.model);
    else byProvider.set(r.provider, [r.model]);
  }
  return [...byProvider].map(([name, models]) => ({ name, models }));
}

/**
 * What an attempt's upstream call came to: its result, kept in the live request, or an
 * AttemptFailure; either with its latency counted from when the upstream got the call. Two
 * handlers on one shared context: an async frame would stay suspended (with its registers)
 * for as long as the call is in flight.
 */
function callAttempt(call: Promise<AttemptResult>, req: LiveRequest, a: Activity, attempt: number, started: number, now: () => number): Promise<AttemptSuccess> {
  return call.then(
    (r) => {
      const t = now();
      // The commit point: the idle watchdog counts from here.
      if (req.stream) req.activity.lastChunkAt = t;
      req.results[attempt] = r;
      return { result: { type: r.type, complete: r.type === 'completion' || r.complete, attempt }, latencyMs: t - countedFrom(a, attempt, started) };
    },
    (err: unknown) => {
      throw new AttemptFailure(toUpstreamError(err), now() - countedFrom(a, attempt, started));
    },
  );
}

/** Where an attempt's latency counts from: when the upstream got it, else when it started. */
function countedFrom(a: Activity, attempt: number, started: number): number {
  const sent = sentStamp(a, attempt);
  return sent >= 0 ? sent : started;
}

/** A half-open trial's token: the request and its attempt (unique while the request lives). */
function trialToken(requestId: string, attempt: number): string {
  return `${requestId}#${attempt}`;
}

/** max_tokens / max_completion_tokens scaled by a fallback's reduce_max_tokens (at least 1). */
function reduceMaxTokens(req: ChatRequest, factor: number): ChatRequest {
  const out = { ...req };
  if (typeof req.max_tokens === 'number') out.max_tokens = Math.max(1, Math.floor(req.max_tokens * factor));
  if (typeof req.max_completion_tokens === 'number') out.max_completion_tokens = Math.max(1, Math.floor(req.max_completion_tokens * factor));
  return out;
}
