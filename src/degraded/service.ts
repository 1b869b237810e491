import { createHash } from 'node:crypto';
import type { DegradedReason } from '../../machines/degraded.machine.ts';
import { cacheKey, type CachedAnswer, type ResponseCache } from '../cache/response-cache.ts';
import type { FlowOutput } from '../core/flow.ts';
import type { ClientSignal } from '../core/client-signal.ts';
import { GatewayError } from '../core/openai-error.ts';
import type { ChatCompletion, ChatRequest } from '../core/openai-types.ts';
import { UpstreamError } from '../core/upstream-error.ts';
import type { DegradedModePolicy, DegradedStrategy, RequestPolicy, UserPriority } from '../policy/types.ts';
import type { ChatOutcome, ServeContext } from '../serve/chat-outcome.ts';
import { disableFeatures, simplifyPrompt } from './features.ts';
import { PriorityQueue, type QueueClock } from './queue.ts';
import type { DegradedSettings } from './settings.ts';

/** The request as it continues after degraded mode: through the failover flow. */
export type ServeNext = (request: ChatRequest, policy: RequestPolicy, ctx: ServeContext) => Promise<ChatOutcome>;

export interface DegradedServiceOptions {
  /** The degraded-mode actor's state now (FlowRuntime.degradedState). */
  state: () => { value: 'normal' | 'degraded'; context: { reasons: DegradedReason[] } } | undefined;
  settings: DegradedSettings;
  cache: ResponseCache;
  /** How long a cached answer is fresh (response_cache.ttl_ms). */
  cacheTtlMs: number;
  clock: QueueClock;
}

/** What the client is told of a degraded answer (the JSON body's `parrot_degraded`, a stream's comment line). */
export interface DegradedNotice {
  status: 'degraded';
  reasons: DegradedReason[];
  message: string;
  quality_score?: number;
  disabled_features?: string[];
}

const DEFAULT_MESSAGE = 'Degraded mode: responses may be simplified.';

/** Only printable ASCII goes into a header as is; anything else is percent-encoded (RFC 3986). */
function headerValue(s: string): string {
  return /^[\x20-\x7e]*$/.test(s) ? s : encodeURIComponent(s);
}

const digest = (s: string): string => createHash('sha256').update(s).digest('base64url');

/**
 * Degraded mode for one request, before and after its failover flow (the one place
 * serveChat calls): which of the system's active triggers the request's policy
 * (X-Degraded-Mode-Config, else the config's) names, and what its strategies do: rewrite the
 * request (reduce_quality, feature_flags), answer from the response cache, hold the request in
 * the priority queue while rate limiting lasts (queue_and_batch), and say so in the answer's
 * headers, body and stream. A request the policy does not touch costs one snapshot read.
 */
export class DegradedService {
  readonly #o: DegradedServiceOptions;
  readonly #queue: PriorityQueue;
  /** Digest of a key -> the highest priority it may claim. */
  readonly #maxByKey: Map<string, UserPriority>;
  #releasing: unknown;
  /** Some key's priority is bound below `high`, or every key's is: every request is checked. */
  readonly #bound: boolean;

  constructor(opts: DegradedServiceOptions) {
    this.#o = opts;
    const q = opts.settings.queue;
    this.#queue = new PriorityQueue({ maxSize: q.maxSize, clock: opts.clock, retryAfterS: Math.max(1, Math.ceil(q.releaseIntervalMs / 1000)) });
    this.#maxByKey = new Map(opts.settings.priorities.keys.map((k) => [digest(k.key), k.max]));
    // Only a key bound to `low` changes a request that claims nothing.
    this.#bound = opts.settings.priorities.defaultMax === 'low' || opts.settings.priorities.keys.some((k) => k.max === 'low');
  }

  /**
   * Whether degraded mode has anything to do with the request: a policy (its header or the
   * config's) or a priority claim. The common request answers false on two reads.
   */
  applies(policy: RequestPolicy): boolean {
    return policy.degradedMode !== undefined || this.#o.settings.policy !== undefined || policy.userPriority !== 'normal' || this.#bound;
  }

  /** At shutdown: every waiter leaves with a 503 (the gateway will not serve it). */
  stop(): void {
    if (this.#releasing !== undefined) this.#o.clock.clearTimeout(this.#releasing);
    this.#releasing = undefined;
    this.#queue.clear(new GatewayError(503, 'The gateway is shutting down: this request was still waiting in the degraded-mode queue. Retry the request.', { type: 'api_error', code: 'gateway_shutting_down' }));
  }

  /** Requests waiting in the queue now. */
  get queued(): number {
    return this.#queue.size;
  }

  async serve(request: ChatRequest, policy: RequestPolicy, ctx: ServeContext, next: ServeNext): Promise<ChatOutcome> {
    const o = this.#o;
    const priority = this.#priority(policy.userPriority, ctx.tenant);
    const dm: DegradedModePolicy | undefined = policy.degradedMode ?? o.settings.policy;
    const usesCache = dm?.enabled === true && dm.strategies.some(cacheStrategy);
    const key = usesCache ? cacheKey(request, ctx.tenant) : undefined;
    const inner: ServeContext = key === undefined ? ctx : { ...ctx, cacheKey: key };
    const state = o.state();
    const active =
      dm?.enabled === true && state?.value === 'degraded' ? state.context.reasons.filter((r) => dm.triggers.includes(r)) : [];
    if (active.length === 0) return this.#lastResort(await next(request, policy, inner), key, ctx);

    const now = (): number => o.clock.now();
    const strategies = active.map((r) => dm!.strategies.find((s) => s.condition === r)).filter((s): s is DegradedStrategy => s !== undefined);
    // Priority users skip degradation; they still wait in the queue (first) while rate limiting lasts.
    const skip = priority === 'high';
    let req = request;
    let readCache = false;
    let ttlMultiplier = 1;
    let removed: string[] = [];
    let dropped = 0;
    let queue: Extract<DegradedStrategy, { action: 'queue_and_batch' }> | undefined;
    for (const s of strategies) {
      if (s.action === 'queue_and_batch') {
        queue = s;
        continue;
      }
      if (skip) continue;
      if (s.action === 'reduce_quality') {
        const c = s.config;
        if (c.useModel !== undefined) req = { ...req, model: c.useModel };
        if (c.reduceMaxTokens !== undefined) req = reduceMaxTokens(req, c.reduceMaxTokens);
        if (c.disableStreaming === true && req.stream === true) {
          const { stream_options: _so, ...rest } = req;
          req = { ...rest, stream: false };
        }
        if (c.cacheAggressively === true) readCache = true;
      } else {
        const c = s.config;
        if (c.disableFeatures !== undefined && c.disableFeatures.length > 0) {
          const r = disableFeatures(req, c.disableFeatures);
          req = r.request;
          removed = r.removed;
        }
        if (c.simplifyPrompts === true) {
          const r = simplifyPrompt(req, o.settings.simplifyMaxTokens);
          req = r.request;
          dropped = r.dropped;
        }
        if (c.useCachedResponses === true) readCache = true;
        if (c.cacheTtlMultiplier !== undefined) ttlMultiplier = c.cacheTtlMultiplier;
      }
    }
    const affected = !skip || queue !== undefined;
    const reasons = skip ? active.filter((r) => r === queue?.condition) : active;
    const decorate = (out: ChatOutcome, extra: Record<string, string> = {}): ChatOutcome =>
      affected ? this.#decorate(out, dm!, reasons, removed, dropped, extra) : out;

    const cache = key !== undefined && ctx.cacheBypass !== true;
    if (readCache && cache) {
      const hit = o.cache.get(key!);
      if (hit !== undefined && now() - hit.at <= o.cacheTtlMs * ttlMultiplier) return decorate(cachedOutcome(hit, ctx.requestId, 'HIT', now()));
    }
    const extra: Record<string, string> = {};
    if (readCache && cache) extra['x-cache'] = 'MISS';
    if (queue !== undefined) {
      try {
        const waited = await this.#wait(priority, queue, ctx.signal);
        if (queue.config.notifyUsers === true) extra['x-queue-wait-ms'] = String(waited);
      } catch (err) {
        if (!(err instanceof GatewayError)) throw err;
        const failed: FlowOutput = { ok: false, error: new UpstreamError({ kind: 'rate_limit', message: err.message }), attempts: [] };
        return decorate({ type: 'error', headers: { 'x-request-id': ctx.requestId, ...err.headers }, error: err, flow: failed });
      }
    }
    const out = this.#lastResort(await next(req, policy, inner), key, ctx);
    if (out.headers['x-cache'] !== undefined) delete extra['x-cache'];
    return decorate(out, extra);
  }

  /** The priority a request gets: what it claims, within what its key may claim (a claim above that is a 403). */
  #priority(claim: UserPriority, tenant: string | undefined): UserPriority {
    const p = this.#o.settings.priorities;
    if (claim === 'normal' && !this.#bound) return claim;
    const max = (tenant !== undefined && tenant !== '' ? this.#maxByKey.get(digest(tenant)) : undefined) ?? p.defaultMax;
    if (claim === 'high' && max !== 'high') {
      throw new GatewayError(403, `X-User-Priority: this API key may not claim priority "high" (its highest is "${max}").`, {
        param: 'X-User-Priority',
        code: 'priority_not_allowed',
      });
    }
    return max === 'low' ? 'low' : claim;
  }

  async #wait(priority: UserPriority, s: Extract<DegradedStrategy, { action: 'queue_and_batch' }>, signal: ClientSignal | undefined): Promise<number> {
    const c = s.config;
    const waiting = this.#queue.wait({
      priority,
      maxWaitMs: c.maxQueueTimeMs ?? 5_000,
      batchSize: c.batchSize ?? 10,
      byPriority: c.priorityQueue !== false,
      ...(signal !== undefined ? { signal } : {}),
    });
    this.#scheduleRelease();
    return waiting;
  }

  /**
   * One batch leaves the queue per release interval while rate limiting lasts; when it is over,
   * every waiter goes. The timer runs only while someone waits.
   */
  #scheduleRelease(): void {
    if (this.#releasing !== undefined) return;
    const clock = this.#o.clock;
    this.#releasing = clock.setTimeout(() => {
      this.#releasing = undefined;
      const st = this.#o.state();
      if (st?.value === 'degraded' && st.context.reasons.includes('rate_limiting')) this.#queue.release();
      else this.#queue.releaseAll();
      if (this.#queue.size > 0) this.#scheduleRelease();
    }, this.#o.settings.queue.releaseIntervalMs);
  }

  /**
   * The last line of defence: the whole chain failed upstream (not the client's fault, not the
   * gateway's own limit) and the cache holds an answer to this request: serve it, marked stale.
   */
  #lastResort(out: ChatOutcome, key: string | undefined, ctx: ServeContext): ChatOutcome {
    if (out.type !== 'error' || key === undefined || ctx.cacheBypass === true) return out;
    const e = out.error;
    if (!(e.status >= 500 || e.status === 429) || e.code === 'gateway_overloaded') return out;
    const hit = this.#o.cache.get(key);
    if (hit === undefined) return out;
    const served = cachedOutcome(hit, ctx.requestId, 'STALE', this.#o.clock.now());
    served.headers['x-attempts'] = out.headers['x-attempts'] ?? '0';
    if (out.headers['x-circuit-status'] !== undefined) served.headers['x-circuit-status'] = out.headers['x-circuit-status'];
    served.headers['x-cache-reason'] = 'all_providers_down';
    return served;
  }

  #decorate(
    out: ChatOutcome,
    dm: DegradedModePolicy,
    reasons: DegradedReason[],
    removed: string[],
    dropped: number,
    extra: Record<string, string>,
  ): ChatOutcome {
    const h = out.headers;
    Object.assign(h, extra);
    h['x-degraded-mode'] = 'active';
    h['x-degradation-reason'] = reasons.join(', ');
    const model = h['x-model'];
    const score = out.type === 'error' || model === undefined ? undefined : this.#o.settings.quality[model];
    if (score !== undefined) h['x-quality-score'] = String(score);
    if (removed.length > 0) h['x-disabled-features'] = removed.join(', ');
    if (dropped > 0) h['x-prompt-simplified'] = String(dropped);
    const n = dm.userNotification;
    if (n === undefined || !n.enabled) return out;
    const message = n.message ?? DEFAULT_MESSAGE;
    h['x-degradation-message'] = headerValue(message);
    if (n.showStatus !== true) return out;
    h['x-degradation-status'] = `degraded; reasons=${reasons.join(',')}`;
    const notice: DegradedNotice = {
      status: 'degraded',
      reasons,
      message,
      ...(score !== undefined ? { quality_score: score } : {}),
      ...(removed.length > 0 ? { disabled_features: removed } : {}),
    };
    const comment = `parrot_degraded ${JSON.stringify(notice)}`;
    if (out.type === 'completion') {
      const { raw: _raw, ...rest } = out;
      return { ...rest, completion: { ...out.completion, parrot_degraded: notice } as ChatCompletion, comment };
    }
    if (out.type === 'stream') return { ...out, comment };
    return out;
  }
}

/** A strategy that reads the response cache. */
function cacheStrategy(s: DegradedStrategy): boolean {
  return (s.action === 'reduce_quality' && s.config.cacheAggressively === true) || (s.action === 'feature_flags' && s.config.useCachedResponses === true);
}

/** reduce_max_tokens on the request's own limit (a request without one keeps the provider's default). */
function reduceMaxTokens(req: ChatRequest, factor: number): ChatRequest {
  const out = { ...req };
  if (typeof req.max_tokens === 'number') out.max_tokens = Math.max(1, Math.floor(req.max_tokens * factor));
  if (typeof req.max_completion_tokens === 'number') out.max_completion_tokens = Math.max(1, Math.floor(req.max_completion_tokens * factor));
  return out;
}

/** A cached answer as the client gets it, with who wrote it and how old it is. */
function cachedOutcome(hit: CachedAnswer, requestId: string, status: 'HIT' | 'STALE', now: number): Extract<ChatOutcome, { type: 'completion' }> {
  const headers: Record<string, string> = {
    'x-request-id': requestId,
    'x-attempts': '0',
    'x-provider': hit.provider,
    'x-model': hit.model,
    'x-failover-used': 'false',
    'x-cache': status,
    'x-cache-age': String(Math.max(0, Math.round((now - hit.at) / 1000))),
  };
  if (hit.qualityReduced) headers['x-quality-reduced'] = 'true';
  const step = { provider: hit.provider, model: hit.model, key: `${hit.provider}/${hit.model}` };
  const flow: FlowOutput = { ok: true, result: { type: 'completion', complete: true, attempt: 0 }, step, stepIndex: 0, attempts: [], servedBy: 'cache' };
  return { type: 'completion', headers, completion: hit.completion, flow };
}
