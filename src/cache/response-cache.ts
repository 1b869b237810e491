import { createHash } from 'node:crypto';
import type { ChatCompletion, ChatRequest } from '../core/openai-types.ts';

/** Request fields that do not change the answer and so are left out of the cache key. */
const IGNORED = new Set(['stream', 'stream_options', 'user', 'metadata', 'store']);

/**
 * The key of a normalised request: the model and every field that shapes the answer, with
 * object keys sorted so field order does not matter.
 */
export function cacheKey(req: ChatRequest): string {
  const h = createHash('sha256');
  h.update(stableStringify(req, true));
  return h.digest('base64url');
}

function stableStringify(value: unknown, top = false): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map((v) => stableStringify(v)).join(',')}]`;
  const keys = Object.keys(value)
    .filter((k) => !(top && IGNORED.has(k)) && (value as Record<string, unknown>)[k] !== undefined)
    .sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${stableStringify((value as Record<string, unknown>)[k])}`).join(',')}}`;
}

/**
 * A cached answer and what produced it. A stale hit is served with the provider and model
 * that wrote the body, not the route of the request that reads it (which, with failover,
 * may be another provider altogether).
 */
export interface CachedAnswer {
  completion: ChatCompletion;
  /** The provider and (configured) model that answered: the hit's X-Provider and X-Model. */
  provider: string;
  model: string;
  /** The answer came from a fallback declared `reduce_quality`: the hit says X-Quality-Reduced too. */
  qualityReduced: boolean;
  /** The gateway's clock when the answer was stored (X-Cache-Age counts from it). */
  at: number;
}

/**
 * The last good response per normalised request, for `X-Circuit-Breaker-Fallback: cache`.
 * A bounded LRU (Map insertion order); only requests that ask for the cache fallback write
 * to it, so others pay nothing.
 */
export class ResponseCache {
  readonly #entries = new Map<string, CachedAnswer>();
  readonly #max: number;

  constructor(maxEntries: number) {
    this.#max = maxEntries;
  }

  set(key: string, answer: CachedAnswer): void {
    if (this.#max === 0) return;
    this.#entries.delete(key);
    this.#entries.set(key, answer);
    if (this.#entries.size > this.#max) this.#entries.delete(this.#entries.keys().next().value!);
  }

  get(key: string): CachedAnswer | undefined {
    const e = this.#entries.get(key);
    if (e) {
      this.#entries.delete(key);
      this.#entries.set(key, e);
    }
    return e;
  }
}
