import type { FlowStep } from '../core/flow.ts';
import { headerError } from '../policy/header-error.ts';
import type { RequestPolicy } from '../policy/types.ts';
import type { RouteStep, RouteTable } from './routes.ts';

/** One step of a request's failover chain (data only: what the failover machine keeps). */
export type PlanStep = FlowStep;

/**
 * The ordered targets a request may be sent to:
 * - X-Failover-Config: its primary, then its fallbacks with their triggers;
 * - failover enabled with a provider list (X-Failover-Providers, or the config's default
 *   chain): the requested route first, then the requested model on each other listed
 *   provider, through the config's equivalents, in the order listed;
 * - otherwise the requested model's route alone.
 * A provider that serves no equivalent of the model is a 400 when the request named it, and
 * left out when it comes from the config's default chain.
 */
export function buildPlan(routes: RouteTable, requested: RouteStep, requestedModel: string, policy: RequestPolicy): PlanStep[] {
  const f = policy.failover;
  if (f.advanced !== undefined) {
    const a = f.advanced;
    const primary = routes.on(a.primary.provider, a.primary.model);
    if (!primary) throw headerError('X-Failover-Config', ['primary', 'model'], `provider "${a.primary.provider}" does not serve model "${a.primary.model}"`);
    const steps: PlanStep[] = [primary.step];
    a.fallbacks.forEach((fb, i) => {
      const route = routes.on(fb.provider, fb.model);
      if (!route) throw headerError('X-Failover-Config', ['fallbacks', i, 'model'], `provider "${fb.provider}" does not serve model "${fb.model}"`);
      steps.push({
        ...route.step,
        trigger: fb.trigger,
        ...(fb.maxLatencyIncreaseMs !== undefined ? { maxLatencyIncreaseMs: fb.maxLatencyIncreaseMs } : {}),
        ...(fb.reduceQuality !== undefined ? { reduceQuality: fb.reduceQuality } : {}),
        ...(fb.reduceMaxTokens !== undefined ? { reduceMaxTokens: fb.reduceMaxTokens } : {}),
      });
    });
    return steps;
  }
  if (!f.enabled || f.providers.length === 0) return [requested.step];

  const steps: PlanStep[] = [requested.step];
  for (const provider of f.providers) {
    if (provider === requested.provider) continue;
    const route = routes.equivalentOn(provider, requestedModel);
    if (route) steps.push(route.step);
    else if (f.explicitProviders) {
      throw headerError('X-Failover-Providers', [], `provider "${provider}" serves no equivalent of model "${requestedModel}" (add one under models: in the config)`);
    }
  }
  return steps;
}
