import { createActor, fromPromise, type Actor, type AnyActorRef } from 'xstate';
import { gatewayMachine } from '../../machines/gateway.machine.ts';
import { modelSystemId } from '../../machines/provider.machine.ts';
import {
  requestMachine,
  type AttemptInput,
  type AttemptRecord,
  type DecideInput,
  type Decision,
  type RequestOutput,
} from '../../machines/request.machine.ts';
import type { ChatRequest } from '../core/openai-types.ts';
import type { UpstreamError } from '../core/upstream-error.ts';
import type { TransitionHub } from '../events/transitions.ts';
import type { AttemptResult, Transport } from '../providers/transport.ts';
import type { RouteStep, RouteTable } from './routes.ts';

/** What one attempt is handed by the request machine. */
export interface AttemptPayload {
  request: ChatRequest;
  stream: boolean;
}

export interface RunOptions {
  steps: readonly RouteStep[];
  deadlineMs: number;
  attemptTimeoutMs?: number;
  decide?: (d: DecideInput<RouteStep>) => Decision;
}

export type RunOutput = RequestOutput<AttemptResult, RouteStep>;

/** A running request: its outcome, and a way to abandon it (client disconnected). */
export interface RunHandle {
  readonly done: Promise<RunOutput>;
  cancel(): void;
}

/** XState's clock (not exported by xstate) plus now(): SimulatedClock fits it. */
export interface EngineClock {
  setTimeout(fn: (...args: unknown[]) => void, timeout: number): unknown;
  clearTimeout(id: unknown): void;
  now(): number;
}

/** No retry, no failover: what a request gets when it asked for nothing. */
const failFast = (): Decision => ({ action: 'fail' });

/**
 * The actor engine: the long-lived provider/model actors (one system, inspected into the
 * transition stream) and a request actor per client request, whose attempts go through
 * the transport.
 */
export class Engine {
  readonly #root: Actor<typeof gatewayMachine>;
  readonly #machine: typeof requestMachine;
  readonly #hub: TransitionHub;
  readonly #clock: EngineClock | undefined;
  readonly #now: () => number;
  readonly routes: RouteTable;

  constructor(opts: { routes: RouteTable; transport: Transport; hub: TransitionHub; providers: ReadonlyArray<{ name: string; models: readonly string[] }>; clock?: EngineClock }) {
    this.routes = opts.routes;
    this.#hub = opts.hub;
    this.#clock = opts.clock;
    const clock = opts.clock;
    this.#now = clock ? () => clock.now() : Date.now;
    this.#root = createActor(gatewayMachine, { input: { providers: opts.providers }, inspect: opts.hub.inspect, ...(opts.clock ? { clock: opts.clock } : {}) });
    this.#root.start();
    const system = this.#root.system;
    const transport = opts.transport;
    const now = this.#now;
    // Provided once: the per-request cost is only the actor itself.
    this.#machine = requestMachine.provide({
      actors: {
        attempt: fromPromise<AttemptResult, AttemptInput<RouteStep>>(({ input, signal }) => {
          const { request, stream } = input.payload as AttemptPayload;
          return transport.call(input.step.adapter, request, { target: input.step.target, model: input.step.upstreamModel, stream }, signal);
        }) as never,
      },
      actions: {
        report: (_, params: { record: AttemptRecord; error: UpstreamError | null }) => {
          const ref = system.get(modelSystemId(params.record.provider, params.record.model)) as AnyActorRef | undefined;
          ref?.send({ type: 'OUTCOME', ok: params.record.ok, kind: params.record.kind, latencyMs: params.record.latencyMs, at: now() });
        },
      },
    });
  }

  /** Start a request actor. */
  run(payload: AttemptPayload, opts: RunOptions): RunHandle {
    const actor = createActor(this.#machine, {
      input: {
        steps: opts.steps,
        payload,
        deadlineMs: opts.deadlineMs,
        attemptTimeoutMs: opts.attemptTimeoutMs ?? opts.deadlineMs,
        decide: (opts.decide ?? failFast) as (d: DecideInput) => Decision,
        now: this.#now,
      },
      inspect: this.#hub.requestInspector,
      ...(this.#clock ? { clock: this.#clock } : {}),
    });
    const done = new Promise<RunOutput>((resolve, reject) => {
      actor.subscribe({
        complete: () => resolve(actor.getSnapshot().output as RunOutput),
        error: reject,
      });
    });
    actor.start();
    return { done, cancel: () => actor.stop() };
  }

  /** The long-lived actor system (providers, models). */
  get system(): Actor<typeof gatewayMachine>['system'] {
    return this.#root.system;
  }

  stop(): void {
    this.#root.stop();
  }
}
