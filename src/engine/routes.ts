import type { GatewayConfig } from '../config/types.ts';
import type { ModelObject } from '../core/openai-types.ts';
import type { ProviderAdapter, ProviderTarget } from '../providers/types.ts';
import type { RequestStep } from '../../machines/request.machine.ts';

/** Where one attempt goes: a provider and one of its models, with the adapter that speaks to it. */
export interface RouteStep extends RequestStep {
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
  /** The provider's queue_timeout_ms: how long an attempt here may wait for a local connection. */
  queueTimeoutMs: number;
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
        const step: RouteStep = { provider: p.target.name, model: m.name, upstreamModel: m.upstream, target: p.target, adapter, key, queueTimeoutMs: p.queueTimeoutMs };
        this.#byProviderModel.set(key, step);
        const list = this.#byModel.get(m.name);
        if (list) list.push(step);
        else {
          this.#byModel.set(m.name, [step]);
        }
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

  /** The step of a target key (`provider/model`, a RouteStep's `key`). */
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

  /** Every model reachable through the configured providers (GET /v1/models). */
  models(): readonly ModelObject[] {
    return this.#models;
  }
}
