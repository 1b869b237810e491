import type { RouteTable } from '../routing/routes.ts';
import { ChaosRegistry, type ResolvedTarget } from './registry.ts';

/**
 * The gateway's chaos registry: targets resolved through the route table, and every fault
 * added, injected and ended written to the gateway's log as one JSON line marked `"chaos"`,
 * so an injected failure is never mistaken for a provider's own.
 */
export function chaosRegistry(routes: RouteTable, now: () => number, log: ((line: string) => void) | undefined): ChaosRegistry {
  const resolve = (target: string): ResolvedTarget | undefined => {
    if (routes.providerNames.has(target)) return { provider: target, upstreamModel: undefined };
    const route = routes.byKey(target);
    return route && { provider: route.provider, upstreamModel: route.upstreamModel };
  };
  const line = (what: string, f: { id: string; target: string; fault: string; injected: number }, extra: Record<string, unknown> = {}): void =>
    log?.(JSON.stringify({ chaos: what, id: f.id, target: f.target, fault: f.fault, injected: f.injected, at: new Date(now()).toISOString(), ...extra }));
  return new ChaosRegistry({
    now,
    resolve,
    events: {
      added: (f) => line('added', f),
      injected: (f) => line('injected', f),
      ended: (f, why) => line('ended', f, { why }),
    },
  });
}
