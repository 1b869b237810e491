import type { VisualizerFeed } from './feed.ts';

export type OverallStatus = 'operational' | 'degraded' | 'partial_outage' | 'major_outage';

export interface LiveModel {
  /** `provider/model`. */
  key: string;
  name: string;
  /** The model actor's state: healthy, failing, down. */
  status: string;
  /** Each breaker of the target by config, with its state: closed, open, half_open. */
  breakers: Array<{ config: string; state: string }>;
}

export interface LiveProvider {
  name: string;
  /** The provider actor's state: healthy, degraded, down. */
  status: string;
  models: LiveModel[];
}

export interface LiveStatus {
  status: OverallStatus;
  at: string;
  providers: LiveProvider[];
}

function stateName(v: unknown): string {
  if (typeof v === 'string') return v;
  if (v && typeof v === 'object') {
    const [k, inner] = Object.entries(v)[0] ?? ['unknown', undefined];
    return inner === undefined ? k : `${k}.${stateName(inner)}`;
  }
  return 'unknown';
}

/**
 * The live state of every provider and model, from their actors. Overall: operational when
 * every provider is healthy, major_outage when every one is down, partial_outage when some
 * is down, degraded otherwise.
 */
export function liveStatus(feed: VisualizerFeed): LiveStatus {
  const providers = new Map<string, LiveProvider>();
  const models = new Map<string, LiveModel>();
  const breakers: Array<{ key: string; config: string; state: string }> = [];
  for (const a of feed.actors()) {
    const id = a.systemId;
    if (id === null) continue;
    if (id.startsWith('provider:')) {
      const name = id.slice('provider:'.length);
      providers.set(name, { name, status: stateName(a.state), models: [] });
    } else if (id.startsWith('model:')) {
      const key = id.slice('model:'.length);
      models.set(key, { key, name: key.slice(key.indexOf('/') + 1), status: stateName(a.state), breakers: [] });
    } else if (id.startsWith('breaker:')) {
      const rest = id.slice('breaker:'.length);
      const hash = rest.indexOf('#');
      breakers.push({ key: hash === -1 ? rest : rest.slice(0, hash), config: hash === -1 ? 'default' : rest.slice(hash + 1), state: stateName(a.state) });
    }
  }
  for (const b of breakers) models.get(b.key)?.breakers.push({ config: b.config, state: b.state });
  for (const m of models.values()) providers.get(m.key.slice(0, m.key.indexOf('/')))?.models.push(m);
  const list = [...providers.values()].sort((a, b) => a.name.localeCompare(b.name));
  const down = list.filter((p) => p.status === 'down').length;
  const healthy = list.filter((p) => p.status === 'healthy').length;
  const status: OverallStatus = down > 0 && down === list.length ? 'major_outage' : down > 0 ? 'partial_outage' : healthy === list.length ? 'operational' : 'degraded';
  return { status, at: new Date().toISOString(), providers: list };
}
