import type { GatewayConfig, HedgeDefaults, ModelRoute } from '../config/types.ts';
import type { FlowStep } from '../core/flow.ts';
import type { ModelObject } from '../core/openai-types.ts';
import type { PrefillMode, ProviderAdapter, ProviderTarget } from '../providers/types.ts';

/**
 * Where one attempt goes: a provider and one of its models, with the adapter that speaks to
 * it. `step` is the data-only view the orchestration machines keep (no adapter in a machine's
 * context); the runtime finds the route again by `step.key`.
 */
export interface RouteStep {
  /** The configured provider name. */
  provider: string;
  /** The configured model name (what clients call it). */
  model: string;
  /** The provider's own model id. */
  upstreamModel: string;
  target: ProviderTarget;
  adapter: ProviderAdapter;
  /** `provider/model`: the key of this step's Target, built once here, not per request. */
  key: string;
  /** This route as a plain step of a chain. */
  step: FlowStep;
  /** The fields a continuation on this route needs (an OpenAI-compatible server's prefill mode). */
  prefillMode?: PrefillMode;
  /** USD per 1,000 tokens (hedging's cost estimate), when configured. */
  price?: ModelRoute['price'];
  /** Hedging on by config for this model (X-Request-Hedging still decides per request). */
  hedge?: HedgeDefaults;
}

/**
 * The routing table, built once from config: which provider serves a model name, and each
 * model's equivalent on every other provider (for failover by provider name).
 */
export class RouteTable {
  readonly #byModel = new Map<string, RouteStep[]>();
  readonly #byProviderModel = new Map<string, RouteStep>();
  readonly #providers = new Map<string, ProviderTarget>();
  readonly #equivalents: GatewayConfig['equivalents'];
  readonly #models: ModelObject[];

  constructor(config: GatewayConfig, adapterFor: (target: ProviderTarget) => ProviderAdapter, created = Math.floor(Date.now() / 1000)) {
    this.#equivalents = config.equivalents;
    this.#models = [];
    for (const p of config.providers) {
      this.#providers.set(p.target.name, p.target);
      const adapter = adapterFor(p.target);
      for (const m of p.models) {
        const key = `${p.target.name}/${m.name}`;
        const step: FlowStep = Object.freeze({ provider: p.target.name, model: m.name, key, queueTimeoutMs: p.queueTimeoutMs, ...(m.prefill ? { prefill: true } : {}) });
        const route: RouteStep = { provider: p.target.name, model: m.name, upstreamModel: m.upstream, target: p.target, adapter, key, step, ...(m.prefillMode ? { prefillMode: m.prefillMode } : {}), ...(m.price ? { price: m.price } : {}), ...(m.hedge ? { hedge: m.hedge } : {}) };
        this.#byProviderModel.set(key, route);
        const list = this.#byModel.get(m.name);
        if (list) list.push(route);
        else this.#byModel.set(m.name, [route]);
        this.#models.push({ id: m.name, object: 'model', created, owned_by: p.target.name });
      }
    }
  }

  /** Provider names in config order. */
  get providerNames(): ReadonlySet<string> {
    return new Set(this.#providers.keys());
  }

  /** Every name `resolve` accepts: configured model names and `provider/model`. */
  get modelNames(): ReadonlySet<string> {
    return new Set([...this.#byModel.keys(), ...this.#byProviderModel.keys()]);
  }

  /**
   * The route for a requested model: `model` (first provider serving it) or
   * `provider/model`. Undefined when nothing serves it.
   */
  resolve(model: string): RouteStep | undefined {
    const direct = this.#byModel.get(model);
    if (direct) return direct[0];
    return this.#byProviderModel.get(model);
  }

  /** `model` on `provider` exactly, or undefined. */
  on(provider: string, model: string): RouteStep | undefined {
    return this.#byProviderModel.get(`${provider}/${model}`);
  }

  /** The route of a target key (`provider/model`, a step's `key`). */
  byKey(key: string): RouteStep | undefined {
    return this.#byProviderModel.get(key);
  }

  /**
   * The requested model as served by `provider`: itself if the provider serves it, else its
   * configured equivalent there.
   */
  equivalentOn(provider: string, model: string): RouteStep | undefined {
    const same = this.#byProviderModel.get(`${provider}/${model}`);
    if (same) return same;
    const eq = this.#equivalents[model]?.[provider];
    return eq === undefined ? undefined : this.#byProviderModel.get(`${provider}/${eq}`);
  }

  /** Every route, in config order. */
  routes(): IterableIterator<RouteStep> {
    return this.#byProviderModel.values();
  }

  /** Every model reachable through the configured providers (GET /v1/models). */
  models(): readonly ModelObject[] {
    return this.#models;
  }
}
