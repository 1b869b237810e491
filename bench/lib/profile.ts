/**
 * Reads a V8 .cpuprofile (written by `node --cpu-prof`) and ranks self time: per function,
 * and per origin (a package under node_modules, a file of ours, node's internals, GC).
 */
import { readFileSync } from 'node:fs';

interface CpuProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}

interface CpuProfile {
  startTime: number;
  nodes: CpuProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

export interface SelfTime {
  name: string;
  /** Self time, ms. */
  ms: number;
  /** Share of busy (non-idle) time, %. */
  pct: number;
  /** Self time per request, µs (when the request count is known). */
  usPerRequest: number;
}

export interface ProfileSummary {
  /** Sampled time not idle, ms. */
  busyMs: number;
  idleMs: number;
  topFunctions: SelfTime[];
  byOrigin: SelfTime[];
}

/** Where a frame's code comes from: `xstate`, `undici`, `src/http/chat.ts`, `node:internal`, `(garbage collector)`. */
export function originOf(url: string, functionName: string): string {
  if (url === '') return functionName.startsWith('(') ? functionName : '(native)';
  const nm = url.lastIndexOf('/node_modules/');
  if (nm >= 0) {
    const rest = url.slice(nm + '/node_modules/'.length).split('/');
    return rest[0].startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0];
  }
  if (url.startsWith('node:')) return url.startsWith('node:internal/') ? `node:internal/${url.slice('node:internal/'.length).split('/')[0]}` : url;
  const m = /\/(src|machines|bench|bin)\/(.*)$/.exec(url);
  return m ? `${m[1]}/${m[2]}` : url;
}

function rank(map: Map<string, number>, busyMs: number, n: number, requests: number): SelfTime[] {
  return [...map]
    .sort((a, b) => b[1] - a[1])
    .slice(0, n)
    .map(([name, us]) => ({ name, ms: us / 1000, pct: (100 * us) / 1000 / busyMs, usPerRequest: us / requests }));
}

/**
 * Self-time ranking of a profile file; `top` rows per list. `window` ([from, to] in µs of
 * the monotonic clock, `process.hrtime.bigint() / 1000n` in any process of this machine,
 * which is the clock V8 stamps samples with) keeps only samples taken under measured load,
 * leaving out start-up and shutdown. `requests` (completed in that window) turns self time
 * into µs per request; NaN without it.
 */
export function summarizeProfile(path: string, top = 15, window?: readonly [number, number], requests = Number.NaN): ProfileSummary {
  const profile = JSON.parse(readFileSync(path, 'utf8')) as CpuProfile;
  const byId = new Map<number, CpuProfileNode>();
  for (const n of profile.nodes) byId.set(n.id, n);
  const selfUs = new Map<number, number>();
  let t = profile.startTime;
  for (let i = 0; i < profile.samples.length; i++) {
    // timeDeltas[i] is the time since the previous sample: attribute it to this sample's frame.
    const d = profile.timeDeltas[i] ?? 0;
    t += d;
    if (window !== undefined && (t < window[0] || t > window[1])) continue;
    selfUs.set(profile.samples[i], (selfUs.get(profile.samples[i]) ?? 0) + d);
  }
  const fn = new Map<string, number>();
  const origin = new Map<string, number>();
  let idleUs = 0;
  let busyUs = 0;
  for (const [id, us] of selfUs) {
    const { functionName, url, lineNumber } = byId.get(id)!.callFrame;
    if (functionName === '(idle)') {
      idleUs += us;
      continue;
    }
    busyUs += us;
    const o = originOf(url, functionName);
    const name = `${functionName || '(anonymous)'} ${url === '' ? '' : `${o}:${lineNumber + 1}`}`.trim();
    fn.set(name, (fn.get(name) ?? 0) + us);
    origin.set(o, (origin.get(o) ?? 0) + us);
  }
  const busyMs = busyUs / 1000;
  return { busyMs, idleMs: idleUs / 1000, topFunctions: rank(fn, busyMs, top, requests), byOrigin: rank(origin, busyMs, top, requests) };
}
