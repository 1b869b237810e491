import type { Store } from '../store/types.ts';
import type { Targets } from '../targets/targets.ts';

/**
 * A target that was down when the gateway stopped (its model was `down`, or its default
 * breaker was not closed: src/health/monitor.ts writes both as they change) starts down: its
 * default breaker opens again with its old `openedAt`, so no client request goes to it, and
 * the recovery probe brings it back as soon as it answers. Its down interval, still open in
 * the store, goes on counting. Returns the keys restored down.
 */
export async function restoreTargets(store: Store, targets: Targets): Promise<string[]> {
  const [health, breakers] = await Promise.all([store.snapshots.list('health:'), store.snapshots.list('breaker:')]);
  const byKey = new Map<string, number>();
  for (const s of health) {
    const v = s.value as { state?: string; at?: number } | null;
    if (v?.state === 'down') byKey.set(s.key.slice('health:'.length), typeof v.at === 'number' ? v.at : s.updatedAt);
  }
  const defaults = new Map<string, string>();
  for (const t of targets.values()) defaults.set(t.breakers.default.id, t.key);
  for (const s of breakers) {
    const key = defaults.get(s.key);
    const v = s.value as { status?: string; openedAt?: number | null } | null;
    if (key === undefined || v === null || v.status === undefined || v.status === 'closed') continue;
    const at = typeof v.openedAt === 'number' ? v.openedAt : s.updatedAt;
    byKey.set(key, Math.min(byKey.get(key) ?? at, at));
  }
  const restored: string[] = [];
  for (const t of targets.values()) {
    const at = byKey.get(t.key);
    if (at === undefined) continue;
    t.restoreDown(at);
    restored.push(t.key);
  }
  return restored;
}
