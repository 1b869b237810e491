/**
 * Cheap unique ids for response objects and request-id headers: a per-process random stem plus
 * a counter (no crypto call per request).
 */
const ALPHABET = 'ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz123456789';

function randomStem(n: number): string {
  let s = '';
  for (let i = 0; i < n; i++) s += ALPHABET[Math.floor(Math.random() * ALPHABET.length)];
  return s;
}

const STEM = randomStem(10);
let counter = 0;

/** 20 url-safe characters, unique within the process. */
export function uniqueId(): string {
  counter = (counter + 1) % 0x7fffffff;
  return STEM + counter.toString(36).padStart(10, '0');
}

/** Unix seconds, as every provider's `created` field. */
export function unixSeconds(): number {
  return Math.floor(Date.now() / 1000);
}
