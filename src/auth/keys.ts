import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';

/**
 * Checks client keys in constant time. Keys are kept only as SHA-256 digests, so neither
 * the comparison time nor a heap dump reveals them, and every configured key is compared
 * (no early exit) so timing does not tell which matched.
 */
export class KeyChecker {
  readonly #digests: Buffer[];

  constructor(keys: readonly string[]) {
    this.#digests = keys.map(digest);
  }

  /** True when no key is configured: open development mode. */
  get open(): boolean {
    return this.#digests.length === 0;
  }

  check(presented: string | undefined): boolean {
    if (presented === undefined || presented === '') return false;
    const d = digest(presented);
    let ok = false;
    for (const k of this.#digests) ok = timingSafeEqual(k, d) || ok;
    return ok;
  }
}

function digest(key: string): Buffer {
  return createHash('sha256').update(key).digest();
}

/** The key a client presented: `Authorization: Bearer <key>` or `x-api-key: <key>`. */
export function presentedKey(headers: IncomingHttpHeaders): string | undefined {
  const auth = headers.authorization;
  if (auth !== undefined) {
    return auth.length > 7 && auth.slice(0, 7).toLowerCase() === 'bearer ' ? auth.slice(7).trim() : undefined;
  }
  const k = headers['x-api-key'];
  return Array.isArray(k) ? k[0] : k;
}
