import { createActor, fromPromise, type Actor, type AnyActorRef } from 'xstate';
import { gatewayMachine } from '../../machines/gateway.machine.ts';
import { healthProbeMachine } from '../../machines/health-probe.machine.ts';
import { modelSystemId } from '../../machines/provider.machine.ts';
import {
  requestMachine,
  type AttemptInput,
  type AttemptRecord,
  type DecideInput,
  type Decision,
  type RequestEvent,
  type RequestOutput,
} from '../../machines/request.machine.ts';
import type { BreakerActor } from '../../machines/breaker.machine.ts';
import type { BreakerConfig } from '../breaker/config.ts';
import { tryAcquire } from '../breaker/acquire.ts';
import { retryAfterMs } from '../breaker/status.ts';
import type { ChatRequest } from '../core/openai-types.ts';
import { isLocalLimit, UpstreamError } from '../core/upstream-error.ts';
import type { TransitionHub } from '../events/transitions.ts';
import type { AttemptResult, Transport } from '../providers/transport.ts';
import type { PlanStep } from './plan.ts';
import type { RouteTable } from './routes.ts';
import { Targets, type TargetsOptions } from './targets.ts';

/** XState's clock (not exported by xstate) plus now(): SimulatedClock fits it. */
export interface EngineClock {
  setTimeout(fn: (...args: unknown[]) => void, timeout: number): unknown;
  clearTimeout(id: unknown): void;
  now(): number;
}

/** What one request hands every attempt: the client's request and the request's own bookkeeping. */
export interface AttemptPayload {
  request: ChatRequest;
  stream: boolean;
  requestId: string;
  /** The request's X-Circuit-Breaker config (undefined: the target's default breaker). */
  breakerConfig: BreakerConfig | undefined;
  /**
   * The half-open trial slots this request holds, token -> the breaker that admitted it;
   * released if the request is abandoned. Created on the first trial (rare): a request
   * through closed breakers allocates nothing for it.
   */
  trials?: Map<string, BreakerActor>;
  /**
   * Stamps the request machine reads when its delays fire (no event per stamp): the stream
   * pump's last chunk (the idle watchdog), and when the upstream got each attempt (the
   * attempt limit counts from then; the wait before it is the gateway's own).
   */
  activity: { lastChunkAt: number; sentAttempt: number; sentAt: number };
}

export interface RunOptions {
  steps: readonly PlanStep[];
  deadlineMs: number;
  attemptTimeoutMs: number;
  streamIdleTimeoutMs: number;
  decide?: (d: DecideInput<PlanStep>) => Decision;
}

export type RunOutput = RequestOutput<AttemptResult, PlanStep>;

/** A running request. */
export interface RunHandle {
  /** Resolves at the commit point: the final outcome, or an open stream's result. */
  readonly done: Promise<RunOutput>;
  readonly payload: AttemptPayload;
  /** The engine's clock. */
  readonly now: () => number;
  /** Tell the request what the stream pump saw (CHUNK, END, BROKEN). */
  notify(event: RequestEvent): void;
  /** Called once if the committed stream goes idle past its limit. */
  onStall(fn: () => void): void;
  /** Abandon the request (client gone): stops the actor, aborting the attempt in flight. */
  cancel(): void;
}

/** An attempt cut by its request's deadline sooner than this is not held against the target. */
export const MIN_CUT_TO_COUNT_MS = 1_000;

/** No retry, no failover: what a request gets when it asked for nothing. */
const failFast = (): Decision => ({ action: 'fail' });

export interface EngineOptions {
  routes: RouteTable;
  transport: Transport;
  hub: TransitionHub;
  /** `maxInFlight`: the provider's max_in_flight, for each of its models (default DEFAULT_MAX_IN_FLIGHT). */
  providers: ReadonlyArray<{ name: string; models: readonly string[]; maxInFlight?: number }>;
  targets: Omit<TargetsOptions, 'inspect' | 'clock' | 'maxInFlight' | 'log'>;
  clock?: EngineClock;
  /** Where a target that starts refusing calls at its local limit writes a JSON line (rate-limited). */
  log?: (line: string) => void;
}

/**
 * The actor engine: the long-lived provider/model actors (one system, inspected into the
 * transition stream), each target's breakers and retry budget, and a request actor per
 * client request whose attempts go through the transport.
 */
export class Engine {
  readonly #root: Actor<typeof gatewayMachine>;
  readonly #machine: typeof requestMachine;
  readonly #hub: TransitionHub;
  readonly #clock: EngineClock | undefined;
  readonly now: () => number;
  readonly routes: RouteTable;
  readonly targets: Targets;
  readonly #probeMachine: typeof healthProbeMachine;
  readonly #probes = new Map<string, Actor<typeof healthProbeMachine>>();

  constructor(opts: EngineOptions) {
    this.routes = opts.routes;
    this.#hub = opts.hub;
    this.#clock = opts.clock;
    const clock = opts.clock;
    const now = (this.now = clock ? () => clock.now() : Date.now);
    this.#root = createActor(gatewayMachine, { input: { providers: opts.providers }, inspect: opts.hub.inspect, ...(clock ? { clock } : {}) });
    this.#root.start();
    const system = this.#root.system;
    const maxInFlight = new Map<string, number>();
    for (const p of opts.providers) for (const m of p.models) if (p.maxInFlight !== undefined) maxInFlight.set(`${p.name}/${m}`, p.maxInFlight);
    this.targets = new Targets(
      opts.providers.flatMap((p) => p.models.map((m) => `${p.name}/${m}`)),
      {
        ...opts.targets,
        maxInFlight: (key) => maxInFlight.get(key),
        ...(opts.log ? { log: opts.log } : {}),
        inspect: opts.hub.inspect,
        ...(clock ? { clock } : {}),
      },
    );
    const targets = this.targets;
    const transport = opts.transport;

    const routes = opts.routes;
    this.#probeMachine = healthProbeMachine.provide({
      actors: {
        probe: fromPromise<void, { target: string }>(async ({ input, signal }) => {
          const step = routes.byKey(input.target);
          if (!step) throw new Error(`unknown target ${input.target}`);
          const probe: ChatRequest = { model: step.upstreamModel, messages: [{ role: 'user', content: 'ping' }], max_tokens: 1 };
          await transport.probe(step.adapter, probe, { target: step.target, model: step.upstreamModel, stream: false }, signal);
        }),
      },
      actions: {
        setHealthy: ({ context }, params: { healthy: boolean }) => {
          targets.byKey(context.target).unhealthy = !params.healthy;
        },
      },
    });

    // Provided once: the per-request cost is only the actor itself.
    this.#machine = requestMachine.provide({
      actors: {
        attempt: fromPromise<AttemptResult, AttemptInput<PlanStep>>(({ input, signal }) => {
          const p = input.payload as AttemptPayload;
          const step = input.step;
          const target = targets.byKey(step.key);
          if (target.unhealthy) {
            throw new UpstreamError({ kind: 'server_error', skipped: 'unhealthy', message: `${target.key} is down (active health checks)` });
          }
          const local = target.local;
          if (local.full) {
            // Before the breaker: a refusal here takes no half-open trial slot.
            throw new UpstreamError({
              kind: 'server_error',
              skipped: 'in_flight_limit',
              message: `${target.key} is at its max_in_flight of ${local.maxInFlight} calls`,
            });
          }
          const breaker = target.breakerFor(p.breakerConfig);
          // Only a half-open breaker tracks who it admitted: the token is built for it alone.
          const halfOpen = breaker.getSnapshot().value === 'half_open';
          const token = halfOpen ? trialToken(p.requestId, input.attempt) : '';
          if (!tryAcquire(breaker, token, now())) {
            const wait = retryAfterMs(breaker.getSnapshot(), now());
            throw new UpstreamError({
              kind: 'server_error',
              skipped: 'circuit_open',
              message: `circuit open for ${target.key}${wait > 0 ? `; half-open in ${Math.ceil(wait / 1000)} s` : ''}`,
            });
          }
          if (halfOpen) (p.trials ??= new Map()).set(token, breaker);
          if (input.stepAttempt === 1) target.budget.onRequest();
          const request = step.reduceMaxTokens !== undefined ? reduceMaxTokens(p.request, step.reduceMaxTokens) : p.request;
          // This attempt waits for a local connection until the transport stamps it sent.
          const a = p.activity;
          a.sentAttempt = input.attempt;
          a.sentAt = -1;
          const call = transport.call(step.adapter, request, { target: step.target, model: step.upstreamModel, stream: p.stream }, signal, local, a);
          if (!p.stream) return call;
          // The commit point: the idle watchdog counts from here.
          return call.then((r) => {
            p.activity.lastChunkAt = now();
            return r;
          });
        }) as never,
      },
      actions: {
        report: ({ context }, params: { record: AttemptRecord }) => {
          const r = params.record;
          const p = context.payload as AttemptPayload;
          const at = now();
          const token = p.trials?.size ? trialToken(p.requestId, r.attempt) : undefined;
          const trial = token === undefined ? undefined : p.trials!.get(token);
          if (trial) p.trials!.delete(token!);
          if (r.skipped) {
            // No upstream call was made: nothing to count against the target. A local limit is
            // the gateway's own saturation (counted for metrics); a half-open trial that waited
            // for a connection in vain is freed for another request.
            if (isLocalLimit(r.skipped)) targets.byKey((context.steps[r.step] as PlanStep).key).local.refused(r.skipped, at);
            trial?.send({ type: 'RELEASE', token: token! });
            return;
          }
          if (r.cut && r.latencyMs < MIN_CUT_TO_COUNT_MS) {
            // A client's own very short deadline says nothing about the provider: free the
            // trial slot, count nothing (else X-Request-Timeout-Ms: 1 could open a shared breaker).
            trial?.send({ type: 'RELEASE', token: token! });
            return;
          }
          const target = targets.byKey((context.steps[r.step] as PlanStep).key);
          const st = target.stats;
          if (st.record(r.ok, r.kind, r.latencyMs)) {
            (system.get(modelSystemId(r.provider, r.model)) as AnyActorRef | undefined)?.send({
              type: 'OUTCOME',
              ok: r.ok,
              kind: r.kind,
              at,
              requests: st.requests,
              failures: st.failures,
              consecutiveFailures: st.consecutiveFailures,
              latencyEwmaMs: st.latencyEwmaMs,
            });
          }
          target.observe({ ok: r.ok, ...(r.kind ? { kind: r.kind } : {}), latencyMs: r.latencyMs, at, ...(trial ? { token } : {}) });
        },
      },
    });
  }

  /**
   * Active health checks for these steps' targets (X-Failover-Config), started on first use:
   * one probe actor per target at most, so the count is bounded by the configured targets.
   */
  ensureProbes(steps: readonly PlanStep[], opts: { intervalMs: number; failureThreshold: number; successThreshold: number }): void {
    for (const step of steps) {
      const key = step.key;
      if (this.#probes.has(key)) continue;
      const actor = createActor(this.#probeMachine, {
        input: { target: key, ...opts },
        inspect: this.#hub.inspect,
        ...(this.#clock ? { clock: this.#clock } : {}),
      });
      this.#probes.set(key, actor);
      actor.start();
    }
  }

  /** Start a request actor. */
  run(payload: AttemptPayload, opts: RunOptions): RunHandle {
    const actor = createActor(this.#machine, {
      input: {
        steps: opts.steps,
        payload,
        deadlineMs: opts.deadlineMs,
        attemptTimeoutMs: opts.attemptTimeoutMs,
        streamIdleTimeoutMs: opts.streamIdleTimeoutMs,
        activity: payload.activity,
        sent: payload.activity,
        decide: (opts.decide ?? failFast) as (d: DecideInput) => Decision,
        now: this.now,
      },
      inspect: this.#hub.requestInspector,
      ...(this.#clock ? { clock: this.#clock } : {}),
    });
    let onStall: (() => void) | undefined;
    // Trials still held when the request ends (it was cut or abandoned) must not wait for their lease.
    const releaseTrials = (): void => {
      if (!payload.trials?.size) return;
      for (const [token, breaker] of payload.trials) breaker.send({ type: 'RELEASE', token });
      payload.trials.clear();
    };
    const done = new Promise<RunOutput>((resolve, reject) => {
      let settled = false;
      actor.subscribe({
        next: (snap) => {
          if (!settled && snap.value === 'streaming') {
            settled = true;
            resolve({ ok: true, result: snap.context.result as AttemptResult, step: snap.context.steps[snap.context.stepIndex] as PlanStep, stepIndex: snap.context.stepIndex, attempts: snap.context.attempts });
          } else if (snap.value === 'stalled') {
            onStall?.();
          }
        },
        complete: () => {
          releaseTrials();
          if (!settled) {
            settled = true;
            resolve(actor.getSnapshot().output as RunOutput);
          }
        },
        error: reject,
      });
    });
    actor.start();
    return {
      done,
      payload,
      now: this.now,
      notify: (event) => {
        if (actor.getSnapshot().status === 'active') actor.send(event);
      },
      onStall: (fn) => {
        onStall = fn;
      },
      cancel: () => {
        actor.stop();
        releaseTrials();
      },
    };
  }

  stop(): void {
    this.#root.stop();
    this.targets.stop();
    for (const p of this.#probes.values()) p.stop();
  }
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
