import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { ChatCompletion, ChatRequest } from '../core/openai-types.ts';

/** Request fields that do not change the answer and so are left out of the cache key. */
const IGNORED = new Set(['stream', 'stream_options', 'user', 'metadata', 'store']);

/**
 * The key of a normalised request: the model and every field that shapes the answer, with
 * object keys sorted so field order does not matter. `tenant` (the client's API key) is hashed
 * in, so one tenant never reads another's answers; the key itself is never stored.
 */
export function cacheKey(req: ChatRequest, tenant = ''): string {
  const h = createHash('sha256');
  h.update(tenant);
  h.update('\0');
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

export interface ResponseCacheOptions {
  maxEntries: number;
  /** Bound on the answers' JSON bytes held; default unbounded (the entry bound still holds). */
  maxBytes?: number;
}

/** The saved form of the cache: entries oldest first. */
interface SavedCache {
  version: 1;
  entries: Array<[string, CachedAnswer]>;
}

/**
 * The last good response per normalised request (and tenant), for `X-Circuit-Breaker-Fallback:
 * cache` and degraded mode's cache strategies. A bounded LRU (Map insertion order), bounded by
 * entries and by the answers' bytes; only requests that use the cache write to it, so others
 * pay nothing. Freshness (a TTL, multiplied under cache_ttl_multiplier) is the reader's call:
 * the `at` of each answer says how old it is.
 */
export class ResponseCache {
  readonly #entries = new Map<string, { answer: CachedAnswer; bytes: number }>();
  readonly #max: number;
  readonly #maxBytes: number;
  #bytes = 0;

  constructor(opts: number | ResponseCacheOptions) {
    const o = typeof opts === 'number' ? { maxEntries: opts } : opts;
    this.#max = o.maxEntries;
    this.#maxBytes = o.maxBytes ?? Number.POSITIVE_INFINITY;
  }

  get size(): number {
    return this.#entries.size;
  }

  /** The answers' JSON bytes now held. */
  get bytes(): number {
    return this.#bytes;
  }

  set(key: string, answer: CachedAnswer): void {
    if (this.#max === 0) return;
    const bytes = JSON.stringify(answer.completion).length;
    // An answer larger than the whole budget would only evict everything else.
    if (bytes > this.#maxBytes) return;
    this.delete(key);
    this.#entries.set(key, { answer, bytes });
    this.#bytes += bytes;
    while (this.#entries.size > this.#max || this.#bytes > this.#maxBytes) this.delete(this.#entries.keys().next().value!);
  }

  get(key: string): CachedAnswer | undefined {
    const e = this.#entries.get(key);
    if (e) {
      this.#entries.delete(key);
      this.#entries.set(key, e);
    }
    return e?.answer;
  }

  delete(key: string): void {
    const e = this.#entries.get(key);
    if (e === undefined) return;
    this.#entries.delete(key);
    this.#bytes -= e.bytes;
  }

  /**
   * Writes the cache to `file` (a temporary file renamed over it, so a crash never leaves half a
   * file). Only the keys' hashes are written, never a tenant's key.
   */
  save(file: string): void {
    const saved: SavedCache = { version: 1, entries: [...this.#entries].map(([k, e]) => [k, e.answer]) };
    mkdirSync(dirname(file), { recursive: true });
    const tmp = `${file}.${process.pid}.tmp`;
    writeFileSync(tmp, JSON.stringify(saved), { mode: 0o600 });
    renameSync(tmp, file);
  }

  /** Loads what `save` wrote (a missing file is an empty cache); returns the entries loaded. */
  load(file: string): number {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 0;
      throw err;
    }
    const saved = JSON.parse(text) as SavedCache;
    if (saved.version !== 1 || !Array.isArray(saved.entries)) throw new Error(`${file}: not a saved response cache`);
    for (const [k, a] of saved.entries) this.set(k, a);
    return saved.entries.length;
  }
}
