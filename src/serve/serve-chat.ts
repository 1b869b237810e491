import { cacheKey, type CachedAnswer, type ResponseCache } from '../cache/response-cache.ts';
import { StreamAssembler } from '../cache/assemble-stream.ts';
import type { BreakerActor } from '../../machines/breaker.machine.ts';
import type { FlowOutput, FlowStep } from '../core/flow.ts';
import { GatewayError, modelNotFound } from '../core/openai-error.ts';
import type { ChatCompletion, ChatRequest } from '../core/openai-types.ts';
import { isLocalLimit, UpstreamError } from '../core/upstream-error.ts';
import { LOCAL_RETRY_AFTER_S } from '../targets/local-limit.ts';
import { defaultPolicy } from '../policy/defaults.ts';
import type { PolicyDefaults, RequestPolicy } from '../policy/types.ts';
import { upstreamToGateway } from '../http/errors.ts';
import { buildPlan } from '../routing/plan.ts';
import { ChatStream } from './chat-stream.ts';
import { newActivity, type FlowHandle, type LiveRequest } from './flow-handle.ts';
import type { FlowRuntime } from './flow-runtime.ts';
import type { ChatOutcome, ServeContext } from './chat-outcome.ts';
import { outcomeHeaders } from './outcome-headers.ts';
import type { DegradedService } from '../degraded/service.ts';
import { hedgeCosts, hedgeDelayMs, hedgeSettings, hedgeSteps, latencySavedMs, type HedgeSettings } from './hedge-plan.ts';
import type { FailoverInput } from '../../machines/failover.machine.ts';
import type { HedgeDefaults } from '../config/types.ts';
import { triggersMatch } from '../core/error-kinds.ts';
import type { ClientSignal } from '../core/client-signal.ts';

export interface ChatServiceOptions {
  runtime: FlowRuntime;
  /** The config's policy defaults (a request without policy headers gets exactly these). */
  defaults: PolicyDefaults;
  cache: ResponseCache;
  attemptTimeoutMs: number;
  ttftTimeoutMs: number;
  streamIdleTimeoutMs: number;
  /** model -> the cheaper model served when a breaker is open and the request asked for `degraded`. */
  degraded: Record<string, string>;
  /** Degraded mode (src/degraded/service.ts): strategies before the flow, notices after it. */
  degradedMode?: DegradedService;
  /** Told of every flow's outcome at its commit point (metrics, incidents, unserved minutes); must not throw. */
  onFinished?: (request: ChatRequest, out: FlowOutput) => void;
  /** Floor of the hedge delay when none is given (resilience.hedge_min_delay_ms; default 50). */
  hedgeMinDelayMs?: number;
}

/** A request's chain, and the requested target's breaker when it is known up front. */
interface Plan {
  steps: readonly FlowStep[];
  primary?: BreakerActor;
  /** The requested model's configured hedging (config `hedge`), if any. */
  hedge?: HedgeDefaults;
}

/**
 * Runs chat requests end to end: the chain from the policy, one failover flow per request
 * (machines/failover.machine.ts) on the runtime, and the answer as the client gets it (a
 * completion, a stream, or an error in OpenAI's shape) with the headers that say what
 * happened. The HTTP layer validates, calls `serveChat` and writes; tests call it the same way.
 */
export class ChatService {
  readonly #o: ChatServiceOptions;
  readonly #defaults: RequestPolicy;
  /** The chain of a request without policy headers depends only on the model: bounded by the config. */
  readonly #defaultPlans = new Map<string, Plan>();

  constructor(opts: ChatServiceOptions) {
    this.#o = opts;
    this.#defaults = defaultPolicy(opts.defaults);
  }

  /** The request's chain (a 404 for a model nothing serves; a 400 for a chain its headers cannot build). */
  plan(request: ChatRequest, policy: RequestPolicy): Plan {
    const rt = this.#o.runtime;
    const route = rt.routes.resolve(request.model);
    if (!route) throw modelNotFound(request.model);
    if (policy === this.#defaults) {
      let plan = this.#defaultPlans.get(request.model);
      if (plan === undefined) {
        const steps = buildPlan(rt.routes, route, request.model, policy);
        // The default breaker of a target is never evicted: one lookup per model, not per request.
        plan = { steps, primary: rt.targets.byKey(steps[0].key).breakerFor(undefined), ...(route.hedge ? { hedge: route.hedge } : {}) };
        this.#defaultPlans.set(request.model, plan);
      }
      return plan;
    }
    const steps = buildPlan(rt.routes, route, request.model, policy);
    const adv = policy.failover.advanced;
    if (adv !== undefined) {
      rt.ensureProbes(steps, { intervalMs: adv.healthCheckIntervalMs, failureThreshold: adv.failureThreshold, successThreshold: adv.successThreshold });
    }
    return { steps, ...(route.hedge ? { hedge: route.hedge } : {}) };
  }

  /**
   * Serves one validated chat request under its policy.
   *
   * @throws GatewayError for a request that cannot be planned (unknown model, a chain the
   *   headers name but the config cannot build).
   */
  async serveChat(request: ChatRequest, policy: RequestPolicy, ctx: ServeContext): Promise<ChatOutcome> {
    const o = this.#o;
    if (o.degradedMode !== undefined && ctx.degradedDone !== true && o.degradedMode.applies(policy)) {
      return o.degradedMode.serve(request, policy, ctx, (r, p, c) => this.serveChat(r, p, { ...c, degradedDone: true }));
    }
    const rt = o.runtime;
    const plan = this.plan(request, policy);
    const stream = request.stream === true;
    const key = ctx.cacheKey ?? (policy.breakerFallback === 'cache' ? cacheKey(request, ctx.tenant) : undefined);
    const live: LiveRequest = {
      requestId: ctx.requestId,
      request,
      stream,
      breakerConfig: policy.breaker,
      retry: policy.retry,
      chainTriggers: policy.failover.triggers,
      results: [],
      startedAt: rt.now(),
      activity: newActivity(),
    };
    let hit: CachedAnswer | undefined;
    if (key !== undefined && ctx.cacheBypass !== true) {
      live.cached = () => {
        hit = o.cache.get(key);
        return hit === undefined ? undefined : { type: 'completion', completion: hit.completion };
      };
    }
    const degradedModel = policy.breakerFallback === 'degraded' ? o.degraded[request.model] : undefined;
    const degradedRoute = degradedModel === undefined ? undefined : rt.routes.resolve(degradedModel);
    const flowInput = {
      steps: plan.steps,
      deadlineMs: policy.requestTimeoutMs,
      attemptTimeoutMs: stream ? o.ttftTimeoutMs : o.attemptTimeoutMs,
      streamIdleTimeoutMs: o.streamIdleTimeoutMs,
      fallback: policy.breakerFallback,
      chainTriggers: policy.failover.triggers,
      ...(degradedRoute ? { degradedStep: degradedRoute.step } : {}),
    };
    // Hedging off (the common path): exactly one failover flow, nothing else. The answer is
    // made in a continuation, so no async frame of this method waits out the upstream call.
    const hedging = policy.hedging === undefined && plan.hedge === undefined ? undefined : hedgeSettings(policy.hedging, plan.hedge);
    const answer = (handle: FlowHandle, out: FlowOutput, hedgeHeaders: Record<string, string> | undefined): ChatOutcome =>
      this.#answer({ request, policy, ctx, plan, key, hit }, handle, out, hedgeHeaders);
    if (hedging === undefined) {
      const handle = rt.run(live, flowInput, ctx.signal);
      return handle.done.then((out) => answer(handle, out, undefined));
    }
    return this.#hedged(request, live, hedging, plan.steps, flowInput, ctx.signal).then((h) => answer(h.handle, h.out, h.hedgeHeaders));
  }

  /** What the client gets once the flow's outcome is known: the completion, the stream or the error, with its headers. */
  #answer(r: Answering, handle: FlowHandle, out: FlowOutput, hedgeHeaders: Record<string, string> | undefined): ChatOutcome {
    const o = this.#o;
    const rt = o.runtime;
    const { request, policy, ctx, plan, key, hit } = r;
    o.onFinished?.(request, out);
    // The requested target's breaker for this request's config: the one its first attempt asked.
    const primary = plan.primary ?? rt.targets.byKey(plan.steps[0].key).breakerFor(policy.breaker);
    const headers = outcomeHeaders(out, ctx.requestId, primary, rt.now());
    if (hedgeHeaders !== undefined) Object.assign(headers, hedgeHeaders);
    if (!out.ok) {
      const error = out.fellBack !== undefined ? circuitOpenError(plan.steps[0], headers) : finalError(out);
      return { type: 'error', headers, error, flow: out };
    }
    if (out.servedBy === 'cache' && hit !== undefined) {
      // Who wrote the body, not this request's route: the headers and the body agree.
      headers['x-provider'] = hit.provider;
      headers['x-model'] = hit.model;
      if (hit.qualityReduced) headers['x-quality-reduced'] = 'true';
      headers['x-cache'] = 'STALE';
      headers['x-cache-age'] = String(Math.max(0, Math.round((rt.now() - hit.at) / 1000)));
    } else if (out.servedBy === 'degraded') {
      headers['x-degraded-model'] = out.step.model;
    }
    const result = handle.resultOf(out.result);
    if (result.type === 'completion') {
      if (key !== undefined && out.servedBy !== 'cache') o.cache.set(key, cachedAnswer(out.step, result.completion, rt.now()));
      return { type: 'completion', headers, completion: result.completion, ...(result.raw !== undefined ? { raw: result.raw } : {}), flow: out };
    }
    const assembler = key !== undefined ? new StreamAssembler() : undefined;
    const chat = new ChatStream(handle, out.result, rt.now, {
      // Capability-aware: only a later prefill-capable step can resume a broken stream; without
      // one, the stream keeps no copy of the answer.
      continuable: hedgeHeaders?.['x-hedge-winner'] === undefined && plan.steps.some((s, i) => i > out.stepIndex && s.prefill === true),
      ...(assembler
        ? {
            observe: (batch) => assembler.push(batch),
            onComplete: () => {
              const whole = assembler.completion();
              if (whole !== undefined) o.cache.set(key!, cachedAnswer(out.step, whole, rt.now()));
            },
          }
        : {}),
    });
    // Past the outcome the client's leaving is the stream pipe's to hear (it cancels the stream).
    return { type: 'stream', headers, stream: chat, flow: out };
  }

  /**
   * Races the request across its hedge steps (machines/hedge.machine.ts); when every hedge
   * failed, the rest of its failover chain (the steps the race did not use) takes over with the
   * attempts so far. docs/hedging.md.
   */
  async #hedged(
    request: ChatRequest,
    live: LiveRequest,
    s: HedgeSettings,
    chain: readonly FlowStep[],
    flowInput: Omit<FailoverInput, 'payload'>,
    signal: ClientSignal | undefined,
  ): Promise<Hedged> {
    const rt = this.#o.runtime;
    const steps = hedgeSteps(rt.routes, chain, request.model, s);
    const primaryStats = rt.targets.byKey(steps[0].key).stats;
    const race = rt.runHedge(live, {
      steps,
      strategy: s.strategy,
      delayMs: hedgeDelayMs(s.delayMs, primaryStats, this.#o.hedgeMinDelayMs ?? 50),
      cancelSlower: s.cancelSlower,
      costs: hedgeCosts(rt.routes, steps, request, s.maxAdditionalCost !== undefined),
      ...(s.maxAdditionalCost !== undefined ? { maxAdditionalCost: s.maxAdditionalCost } : {}),
      deadlineMs: flowInput.deadlineMs,
      attemptTimeoutMs: flowInput.attemptTimeoutMs,
      ...(flowInput.streamIdleTimeoutMs !== undefined ? { streamIdleTimeoutMs: flowInput.streamIdleTimeoutMs } : {}),
    }, signal);
    const out = await race.done;
    if (out.ok) {
      const saved = latencySavedMs(out, primaryStats, rt.now() - live.startedAt);
      // A hedge that wins is not a failover.
      return { handle: race, out, hedgeHeaders: { 'x-hedge-winner': out.step.provider, 'x-hedge-latency-saved': String(saved), 'x-failover-used': 'false' } };
    }
    const rest = chain.filter((c) => !steps.some((h) => h.key === c.key));
    // The client's own bad request goes nowhere else; other failures as the chain's triggers say.
    const kind = out.error.kind;
    const onward = rest.length > 0 && kind !== 'bad_request' && triggersMatch(rest[0].trigger ?? flowInput.chainTriggers ?? ['any_error'], kind);
    if (!onward || signal?.aborted === true) return { handle: race, out, hedgeHeaders: {} };
    const handle = rt.run(live, { ...flowInput, steps: rest, attempts: out.attempts }, signal);
    const after = await handle.done;
    // Served by the chain past the race: that is a failover.
    return { handle, out: after, hedgeHeaders: after.ok ? { 'x-failover-used': 'true' } : {} };
  }
}

/** What #answer needs of the request besides the flow's outcome. */
interface Answering {
  request: ChatRequest;
  policy: RequestPolicy;
  ctx: ServeContext;
  plan: Plan;
  key: string | undefined;
  /** The cached answer the `cache` fallback served, if it did. */
  hit: CachedAnswer | undefined;
}

/** What a hedged request came to: the handle that served it, its outcome, and the hedge headers. */
interface Hedged {
  handle: FlowHandle;
  out: FlowOutput;
  hedgeHeaders: Record<string, string>;
}

/** What the cache keeps of an answer: who produced it, so a stale copy says so. */
function cachedAnswer(step: FlowStep, completion: ChatCompletion, at: number): CachedAnswer {
  return { completion, provider: step.provider, model: step.model, qualityReduced: step.reduceQuality === true, at };
}

/**
 * The error for a request that failed. When its last step was skipped (a fallback's open
 * breaker, an unhealthy target), the last real upstream failure says more; when nothing was
 * attempted at all, a local limit (the gateway's own saturation) stopped it (503
 * gateway_overloaded, Retry-After), else no target was available.
 */
function finalError(out: Extract<FlowOutput, { ok: false }>): GatewayError {
  if (out.error.skipped === undefined) return upstreamToGateway(out.error);
  let local: string | undefined;
  for (let i = out.attempts.length - 1; i >= 0; i--) {
    const a = out.attempts[i];
    if (!a.skipped && a.kind !== undefined) {
      return upstreamToGateway(new UpstreamError({ kind: a.kind, message: `${a.provider}/${a.model} failed (${a.kind}); then ${out.error.message}` }));
    }
    if (local === undefined && isLocalLimit(a.skipped)) local = `${a.provider}/${a.model}`;
  }
  if (local !== undefined) {
    const why = isLocalLimit(out.error.skipped) ? out.error.message : `${local} is at the gateway's limit`;
    return new GatewayError(503, `The gateway is overloaded: ${why}. Retry after ${LOCAL_RETRY_AFTER_S} s.`, {
      type: 'api_error',
      code: 'gateway_overloaded',
      headers: { 'retry-after': String(LOCAL_RETRY_AFTER_S) },
    });
  }
  return new GatewayError(503, `No target could take the request: ${out.error.message}.`, { type: 'api_error', code: 'no_available_target' });
}

function circuitOpenError(primary: FlowStep, headers: Record<string, string>): GatewayError {
  const retryAfter = headers['x-retry-after'];
  const extra: Record<string, string> = retryAfter !== undefined ? { 'retry-after': retryAfter } : {};
  return new GatewayError(
    503,
    `The circuit breaker for ${primary.provider}/${primary.model} is ${headers['x-circuit-status']} and no fallback could serve the request.` +
      (retryAfter !== undefined ? ` Retry after ${retryAfter} s.` : ''),
    { type: 'api_error', code: 'circuit_open', headers: extra },
  );
}
