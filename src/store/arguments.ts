/** Checks of numeric arguments a caller passes to the store, so a bad one fails loudly before SQL. */

export function nonNegativeInt(name: string, n: number): number {
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`${name} must be a non-negative integer, got ${n}`);
  return n;
}

export function positiveInt(name: string, n: number): number {
  if (!Number.isSafeInteger(n) || n < 1) throw new RangeError(`${name} must be a positive integer, got ${n}`);
  return n;
}

/** An epoch-millisecond time: an integer, as the columns hold. */
export function time(name: string, t: number): number {
  if (!Number.isSafeInteger(t)) throw new RangeError(`${name} must be an integer time in ms, got ${t}`);
  return t;
}
