/**
 * Webhook signatures in the Standard Webhooks scheme: headers `webhook-id`,
 * `webhook-timestamp` (unix seconds) and `webhook-signature: v1,<base64 HMAC-SHA256>` over
 * `${id}.${timestamp}.${body}`, keyed with the base64 bytes after a `whsec_` secret's prefix.
 * Receivers check the signature, a timestamp window (replays of an old message fail) and
 * that an id was not seen before (replays inside the window fail).
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

const PREFIX = 'whsec_';
const SECRET_BYTES = 24;

/** Five minutes either side of the receiver's clock. */
export const DEFAULT_TOLERANCE_SECONDS = 300;

/** A new signing secret: `whsec_` + 24 random bytes in base64. */
export function generateSecret(): string {
  return PREFIX + randomBytes(SECRET_BYTES).toString('base64');
}

function keyOf(secret: string): Buffer {
  const key = Buffer.from(secret.startsWith(PREFIX) ? secret.slice(PREFIX.length) : secret, 'base64');
  if (key.length === 0) throw new TypeError('empty webhook secret');
  return key;
}

function hmac(key: Buffer, id: string, timestamp: number, body: string | Uint8Array): Buffer {
  const h = createHmac('sha256', key).update(`${id}.${timestamp}.`);
  h.update(body);
  return h.digest();
}

/**
 * The three headers for one attempt. `timestamp` is the attempt's time in unix seconds (a
 * retry is signed anew, so it passes the receiver's window); `id` stays the same across retries.
 *
 * @example
 * signatureHeaders('whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', 'msg_p5jXN8AQM9LWM0D4loKWxJek', 1614265330, '{"test": 2432232314}')
 * // { 'webhook-id': 'msg_p5jXN8AQM9LWM0D4loKWxJek', 'webhook-timestamp': '1614265330',
 * //   'webhook-signature': 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=' }
 */
export function signatureHeaders(secret: string, id: string, timestamp: number, body: string | Uint8Array): Record<string, string> {
  return {
    'webhook-id': id,
    'webhook-timestamp': String(timestamp),
    'webhook-signature': `v1,${hmac(keyOf(secret), id, timestamp, body).toString('base64')}`,
  };
}

/** Ids already accepted, kept until their timestamps leave the window (then the timestamp check refuses a replay). */
export interface ReplayStore {
  /** True when `id` was new and is now recorded until `expiresAt` (ms); false when it was seen. */
  claim(id: string, expiresAt: number): boolean;
}

/**
 * A ReplayStore in memory, bounded: at most `capacity` ids; when full, the one expiring
 * soonest is forgotten first (the caller's rate, not an attacker's, fills it: ids are only
 * claimed after a valid signature).
 */
export class MemoryReplayStore implements ReplayStore {
  readonly #seen = new Map<string, number>();
  readonly #capacity: number;
  readonly #now: () => number;

  constructor(opts: { capacity?: number; now?: () => number } = {}) {
    this.#capacity = opts.capacity ?? 100_000;
    this.#now = opts.now ?? Date.now;
  }

  claim(id: string, expiresAt: number): boolean {
    const now = this.#now();
    const known = this.#seen.get(id);
    if (known !== undefined && known > now) return false;
    // Insertion order is roughly expiry order: drop expired ids from the front.
    for (const [k, exp] of this.#seen) {
      if (exp > now && this.#seen.size < this.#capacity) break;
      this.#seen.delete(k);
    }
    this.#seen.delete(id);
    this.#seen.set(id, expiresAt);
    return true;
  }

  get size(): number {
    return this.#seen.size;
  }
}

export type VerifyFailure = 'missing_headers' | 'bad_timestamp' | 'timestamp_out_of_window' | 'bad_signature' | 'replayed';
export type VerifyResult = { ok: true; id: string; timestamp: number } | { ok: false; reason: VerifyFailure };

export interface VerifyOptions {
  /** Seconds a timestamp may be off the receiver's clock, either way (default 300). */
  toleranceSeconds?: number;
  /** The receiver's clock, ms (default Date.now). */
  now?: () => number;
  /** When given, an id accepted before is refused. */
  replay?: ReplayStore;
}

type HeaderBag = Headers | Record<string, string | string[] | undefined>;

function header(headers: HeaderBag, name: string): string | undefined {
  if (headers instanceof Headers) return headers.get(name) ?? undefined;
  const v = headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/**
 * Checks a received webhook: the signature over the raw body (as received, before any JSON
 * parsing), the timestamp window, and replays. Header names are lower-case as Node gives them.
 *
 * @example
 * const result = verifyWebhook(secret, req.headers, rawBody, { replay });
 * if (!result.ok) return res.status(401).end();
 */
export function verifyWebhook(secret: string, headers: HeaderBag, body: string | Uint8Array, opts: VerifyOptions = {}): VerifyResult {
  const id = header(headers, 'webhook-id');
  const ts = header(headers, 'webhook-timestamp');
  const sigs = header(headers, 'webhook-signature');
  if (!id || !ts || !sigs) return { ok: false, reason: 'missing_headers' };
  if (!/^\d{1,15}$/.test(ts)) return { ok: false, reason: 'bad_timestamp' };
  const timestamp = Number(ts);
  const tolerance = opts.toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS;
  const nowSeconds = Math.floor((opts.now ?? Date.now)() / 1000);
  if (Math.abs(nowSeconds - timestamp) > tolerance) return { ok: false, reason: 'timestamp_out_of_window' };
  const expected = hmac(keyOf(secret), id, timestamp, body);
  let matched = false;
  for (const part of sigs.split(' ')) {
    const comma = part.indexOf(',');
    if (comma < 0 || part.slice(0, comma) !== 'v1') continue;
    const given = Buffer.from(part.slice(comma + 1), 'base64');
    if (given.length === expected.length && timingSafeEqual(given, expected)) matched = true;
  }
  if (!matched) return { ok: false, reason: 'bad_signature' };
  if (opts.replay && !opts.replay.claim(id, (timestamp + tolerance) * 1000)) return { ok: false, reason: 'replayed' };
  return { ok: true, id, timestamp };
}
