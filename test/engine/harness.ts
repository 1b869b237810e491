import type { IncomingHttpHeaders } from 'node:http';
import { seededRng } from '../../src/simulator/rng.ts';
import { SimulatedClock } from 'xstate';
import type { BreakerStatus } from '../../machines/breaker.machine.ts';
import { modelSystemId } from '../../machines/provider.machine.ts';
import type { Decision, FlowOutput } from '../../src/core/flow.ts';
import { ResponseCache } from '../../src/cache/response-cache.ts';
import { configFromObject } from '../../src/config/load.ts';
import type { GatewayConfig } from '../../src/config/types.ts';
import type { ErrorKind, ErrorTrigger } from '../../src/core/error-kinds.ts';
import type { ChatCompletion, ChatRequest } from '../../src/core/openai-types.ts';
import { UpstreamError } from '../../src/core/upstream-error.ts';
import type { FailureFacts } from '../../src/decisions/after-failure.ts';
import type { PlanStep } from '../../src/routing/plan.ts';
import { RouteTable } from '../../src/routing/routes.ts';
import { FlowRuntime } from '../../src/serve/flow-runtime.ts';
import { ChatService } from '../../src/serve/serve-chat.ts';
import { TransitionHub } from '../../src/events/transitions.ts';
import { parsePolicy } from '../../src/policy/parse-headers.ts';
import type { PolicyContext, RequestPolicy } from '../../src/policy/types.ts';
import { adapterFor } from '../../src/providers/adapters.ts';
import type { AttemptResult, Transport } from '../../src/providers/transport.ts';
import type { SentStamp } from '../../src/providers/call-tracking.ts';
import type { ProviderAdapter, TranslateContext } from '../../src/providers/types.ts';

/**
 * The real request path (ChatService.serveChat: the plan, the failover machine on the
 * FlowRuntime, breakers, retry budgets, model actors, the policy's decisions; parsePolicy)
 * over a scripted fake transport, on a SimulatedClock that the harness steps timer by timer,
 * so every delay fires at exactly its due time.
 */

/** What the upstream does with one call. `delayMs` 0 settles at once (same clock instant). */
export type Outcome =
  | { type: 'ok'; delayMs: number }
  | { type: 'error'; kind: ErrorKind; delayMs: number; retryAfterMs?: number; fatal?: boolean }
  | { type: 'hang' };

/** One upstream call as the fake transport saw it. */
export interface CallRecord {
  request: number;
  stepIndex: number;
  provider: string;
  /** Clock time the call started. */
  at: number;
  /** State of the breaker this request consulted for this step, at the moment of the call. */
  breaker: BreakerStatus;
  /** The request holds a half-open trial slot in that breaker. */
  holdsTrial: boolean;
  outcome: Outcome;
  /** When the call settled or was aborted; null while in flight. */
  endedAt: number | null;
  /** How it ended: ok, the scripted error kind, or aborted (attempt timeout or deadline). */
  end: 'ok' | ErrorKind | 'aborted' | null;
}

/** One client request as the harness ran it. */
export interface RequestRecord {
  index: number;
  headers: IncomingHttpHeaders;
  policy: RequestPolicy;
  steps: readonly PlanStep[];
  startedAt: number;
  /** Clock time the request's outcome was known; null while it runs. */
  doneAt: number | null;
  out: FlowOutput | null;
  /** Half-open trial slots this request still held in any breaker when it finished. */
  trialsAtDone: string[];
}

export const PROVIDERS = ['p0', 'p1', 'p2', 'p3'] as const;
export const MODEL = 'm';

export interface HarnessOptions {
  attemptTimeoutMs: number;
  /** The config's request timeout (a request without X-Request-Timeout-Ms). */
  requestTimeoutMs: number;
  retryBudget: { maxTokens: number; ratio: number };
  /** The config's default breaker (resilience.breaker, X-Circuit-Breaker fields). */
  breaker?: Record<string, unknown>;
  /** The config's resilience.failover.triggers (default: any_error). */
  chainTriggers?: readonly ErrorTrigger[];
  script: readonly Outcome[];
  /** What the active health probes (X-Failover-Config) get, in order; then success. */
  probeScript?: readonly Outcome[];
  /** Outcome of calls past the end of the script. */
  afterScript?: Outcome;
  seed: number;
  /** Replaces the policy's decision after a failure (to show the checks catch a broken orchestrator). */
  decide?: (facts: FailureFacts) => Decision;
}

/** The decider's jitter source: the simulator's seeded PRNG (mulberry32). */
export { seededRng };

/** Four openai-compatible providers on unreachable URLs, each serving model `m`. */
export function testConfig(requestTimeoutMs = 30_000, attemptTimeoutMs = 60_000, breaker?: Record<string, unknown>, chainTriggers?: readonly ErrorTrigger[]): GatewayConfig {
  return configFromObject(
    {
      server: { request_timeout_ms: requestTimeoutMs },
      providers: PROVIDERS.map((name) => ({ name, type: 'openai-compatible', base_url: `http://127.0.0.1:9/${name}/v1`, models: [MODEL] })),
      resilience: {
        failover: { enabled: true, providers: [], ...(chainTriggers ? { triggers: [...chainTriggers] } : {}) },
        attempt_timeout_ms: attemptTimeoutMs,
        ...(breaker ? { breaker } : {}),
      },
    },
    { env: {} },
  );
}

const COMPLETION: ChatCompletion = Object.freeze({
  id: 'chatcmpl-fake',
  object: 'chat.completion',
  created: 0,
  model: MODEL,
  choices: [],
}) as ChatCompletion;

/** The runtime and the chat service, built the way src/gateway.ts builds them, around `transport`. */
export function buildEngine(
  config: GatewayConfig,
  transport: Pick<Transport, 'call' | 'probe'>,
  clock: SimulatedClock,
  retryBudget: { maxTokens: number; ratio: number },
  extra: { rng?: () => number; decide?: (facts: FailureFacts) => Decision } = {},
) {
  const hub = new TransitionHub({ now: () => clock.now() });
  const routes = new RouteTable(config, adapterFor, 0);
  const r = config.resilience;
  const runtime = new FlowRuntime({
    routes,
    transport,
    hub,
    targets: { defaultBreaker: r.policy.breaker, maxBreakersPerTarget: r.maxBreakersPerTarget, retryBudget, probeIntervalMs: r.breakerProbeIntervalMs },
    clock,
    ...(extra.rng ? { rng: extra.rng } : {}),
    ...(extra.decide ? { decide: extra.decide } : {}),
  });
  const chat = new ChatService({
    runtime,
    defaults: r.policy,
    cache: new ResponseCache(0),
    attemptTimeoutMs: r.attemptTimeoutMs,
    ttftTimeoutMs: r.ttftTimeoutMs,
    streamIdleTimeoutMs: r.streamIdleTimeoutMs,
    degraded: {},
  });
  return { hub, routes, runtime, chat };
}

interface PendingTimer {
  start: number;
  timeout: number;
}

/** Runs every microtask (promise settlements inside the actors) before the clock moves again. */
export const flush = (): Promise<void> => new Promise((r) => setImmediate(r));

export class Harness {
  readonly clock = new SimulatedClock();
  readonly calls: CallRecord[] = [];
  /** Health probe calls (target keys), kept apart: probes call unhealthy targets on purpose. */
  readonly probeCalls: string[] = [];
  readonly requests: RequestRecord[] = [];
  readonly engine: FlowRuntime;
  readonly #chat: ChatService;
  readonly #hub: TransitionHub;
  readonly #ctx: PolicyContext;
  readonly #opts: HarnessOptions;
  #next = 0;
  #nextProbe = 0;
  readonly #heard = new Map<string, number>();

  constructor(opts: HarnessOptions) {
    this.#opts = opts;
    const config = testConfig(opts.requestTimeoutMs, opts.attemptTimeoutMs, opts.breaker, opts.chainTriggers);
    const built = buildEngine(
      config,
      { call: (a, r, c, s, _counts, sent) => this.#call(a, r, c, s, sent), probe: (a, r, c, s) => this.#call(a, r, c, s) },
      this.clock,
      opts.retryBudget,
      { rng: seededRng(opts.seed), ...(opts.decide ? { decide: opts.decide } : {}) },
    );
    this.engine = built.runtime;
    this.#chat = built.chat;
    this.#hub = built.hub;
    this.#ctx = { providers: built.routes.providerNames, models: built.routes.modelNames, defaults: config.resilience.policy };
  }

  /** Starts one client request with these policy headers, through the entry point src/http/chat.ts calls. */
  start(headers: IncomingHttpHeaders): RequestRecord {
    const index = this.requests.length;
    const policy = parsePolicy(headers, this.#ctx);
    const request: ChatRequest = { model: MODEL, messages: [{ role: 'user', content: 'hi' }], max_tokens: 100, user: `r${index}` };
    const steps = this.#chat.plan(request, policy).steps;
    const record: RequestRecord = { index, headers, policy, steps, startedAt: this.clock.now(), doneAt: null, out: null, trialsAtDone: [] };
    this.requests.push(record);
    void this.#chat.serveChat(request, policy, { requestId: `r${index}` }).then((outcome) => {
      record.doneAt = this.clock.now();
      record.out = outcome.flow;
      record.trialsAtDone = this.#trialsHeldBy(`r${index}#`);
    });
    return record;
  }

  /**
   * Moves the clock forward by `ms`, stopping at every pending timer's due time so it fires
   * with now() equal to that time (SimulatedClock alone would fire late timers at the end
   * time), and letting the actors react before the next one.
   */
  async advance(ms: number): Promise<void> {
    const target = this.clock.now() + ms;
    await flush();
    for (;;) {
      const due = this.#nextDue();
      if (due === undefined || due > target) break;
      this.clock.set(Math.max(due, this.clock.now()));
      await flush();
    }
    this.clock.set(target);
    await flush();
  }

  /** Outcomes the target's model actor has counted (every reported attempt on provider/m). */
  modelRequests(provider: string): number {
    const kept = this.#heard.get(provider);
    if (kept !== undefined) return kept;
    // Every outcome is counted on the target; the model actor hears only state-moving ones.
    return this.engine.targets.get(provider, MODEL).stats.requests;
  }

  /** Stops every actor; what the model actors heard is kept for the checks. */
  stop(): void {
    for (const p of PROVIDERS) this.#heard.set(p, this.modelRequests(p));
    this.engine.stop();
    this.#hub.complete();
  }

  #trialsHeldBy(prefix: string): string[] {
    const held: string[] = [];
    for (const t of this.engine.targets.values()) {
      for (const [, b] of t.breakers.entries()) for (const tok of b.getSnapshot().context.trials) if (tok.startsWith(prefix)) held.push(`${t.key}:${tok}`);
    }
    return held;
  }

  #nextDue(): number | undefined {
    const timers = (this.clock as unknown as { timeouts: Map<number, PendingTimer> }).timeouts;
    let min: number | undefined;
    for (const t of timers.values()) {
      const due = t.start + t.timeout;
      if (min === undefined || due < min) min = due;
    }
    return min;
  }

  #call(_adapter: ProviderAdapter, req: ChatRequest, ctx: TranslateContext, signal: AbortSignal, sent?: SentStamp): Promise<AttemptResult> {
    // This upstream has every request at once: no local wait.
    if (sent !== undefined) sent.sentAt = this.clock.now();
    if (req.user === undefined) {
      this.probeCalls.push(`${ctx.target.name}/${ctx.model}`);
      const probe = this.#opts.probeScript?.[this.#nextProbe++] ?? { type: 'ok', delayMs: 0 };
      return this.#settleLater(probe, signal, null);
    }
    const index = Number(req.user.slice(1));
    const rec = this.requests[index];
    const stepIndex = rec.steps.findIndex((s) => s.provider === ctx.target.name && s.model === ctx.model);
    if (stepIndex === -1) throw new Error(`call of request ${index} to ${ctx.target.name}/${ctx.model}, which is not in its plan`);
    // The breaker the engine consults: the target's breaker for this request's config.
    const step = rec.steps[stepIndex];
    const snap = this.engine.targets.get(step.provider, step.model).breakerFor(rec.policy.breaker).getSnapshot();
    const outcome = this.#opts.script[this.#next++] ?? this.#opts.afterScript ?? { type: 'ok', delayMs: 0 };
    const call: CallRecord = {
      request: index,
      stepIndex,
      provider: ctx.target.name,
      at: this.clock.now(),
      breaker: snap.value as BreakerStatus,
      holdsTrial: snap.context.trials.some((t) => t.startsWith(`r${index}#`)),
      outcome,
      endedAt: null,
      end: null,
    };
    this.calls.push(call);
    return this.#settleLater(outcome, signal, call);
  }

  /** Settles as `outcome` says, on the simulated clock; `call` (when given) records how it ended. */
  #settleLater(outcome: Outcome, signal: AbortSignal, call: CallRecord | null): Promise<AttemptResult> {
    const state = call ?? { end: null as CallRecord['end'], endedAt: null as number | null };
    return new Promise<AttemptResult>((resolve, reject) => {
      let timer: number | undefined;
      const settle = (): void => {
        if (state.end !== null) return;
        signal.removeEventListener('abort', onAbort);
        state.endedAt = this.clock.now();
        if (outcome.type === 'ok') {
          state.end = 'ok';
          resolve({ type: 'completion', completion: COMPLETION });
        } else if (outcome.type === 'error') {
          state.end = outcome.kind;
          reject(
            new UpstreamError({
              kind: outcome.kind,
              message: `scripted ${outcome.kind}`,
              ...(outcome.retryAfterMs !== undefined ? { hints: { retryAfterMs: outcome.retryAfterMs } } : {}),
              ...(outcome.fatal ? { fatal: true } : {}),
            }),
          );
        }
      };
      const onAbort = (): void => {
        if (state.end !== null) return;
        if (timer !== undefined) this.clock.clearTimeout(timer);
        state.end = 'aborted';
        state.endedAt = this.clock.now();
        reject(new UpstreamError({ kind: 'connection_error', message: 'aborted' }));
      };
      signal.addEventListener('abort', onAbort, { once: true });
      if (outcome.type === 'hang') return;
      if (outcome.delayMs === 0) settle();
      else timer = this.clock.setTimeout(settle, outcome.delayMs);
    });
  }
}
