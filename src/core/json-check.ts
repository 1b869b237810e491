/**
 * Small composable checks of parsed JSON, for a schema on the hot path: a check returns
 * `undefined` for a good value and allocates nothing, or a Problem whose path is filled in
 * on the way out (innermost key first, reversed by the caller). Objects are loose: keys a
 * check does not name are not looked at.
 *
 * zod says the same things, but on the hot path its per-parse and per-declared-field work (an
 * output copy; every field OpenAI defines visited, sent or not) cost five times these for a
 * typical chat request (docs/performance.md, "Checking a request at the edge").
 *
 * @example
 * const point = object({ x: number, y: optional(number) });
 * point({ x: 1 }); // undefined
 * point({ x: 'a' }); // { kind: 'type', expected: 'a number', path: ['x'] }
 */

/** What is wrong with a value, and where (reversed: the innermost key first). */
export type Problem =
  | { kind: 'missing'; path: PropertyKey[] }
  | { kind: 'type'; expected: string; path: PropertyKey[] }
  | { kind: 'value'; values: readonly string[]; path: PropertyKey[] }
  | { kind: 'empty'; of: 'array' | 'string'; path: PropertyKey[] }
  | { kind: 'too_long'; max: number; path: PropertyKey[] };

export type Check = (value: unknown) => Problem | undefined;

/** A missing value when `value` is undefined, else one of the wrong type. */
function wrong(value: unknown, expected: string): Problem {
  return value === undefined ? { kind: 'missing', path: [] } : { kind: 'type', expected, path: [] };
}

function under(problem: Problem | undefined, key: PropertyKey): Problem | undefined {
  problem?.path.push(key);
  return problem;
}

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export const string: Check = (v) => (typeof v === 'string' ? undefined : wrong(v, 'a string'));
export const nonEmptyString: Check = (v) =>
  typeof v !== 'string' ? wrong(v, 'a string') : v === '' ? { kind: 'empty', of: 'string', path: [] } : undefined;
export const number: Check = (v) => (typeof v === 'number' ? undefined : wrong(v, 'a number'));
export const integer: Check = (v) => (typeof v === 'number' && Number.isInteger(v) ? undefined : wrong(v, 'an integer'));
export const boolean: Check = (v) => (typeof v === 'boolean' ? undefined : wrong(v, 'a boolean'));
/** Any JSON object (its depth is bounded elsewhere). */
export const anyObject: Check = (v) => (isPlainObject(v) ? undefined : wrong(v, 'an object'));

export const optional =
  (check: Check): Check =>
  (v) =>
    v === undefined ? undefined : check(v);

/** Present, and null or passing `check` (a `function` message's content). */
export const nullable =
  (check: Check): Check =>
  (v) =>
    v === null ? undefined : check(v);

/** Absent or null: OpenAI's optional fields that also take an explicit null. */
export const nullish =
  (check: Check): Check =>
  (v) =>
    v === undefined || v === null ? undefined : check(v);

export function oneOf(values: readonly string[]): Check {
  const set = new Set(values);
  return (v) => (typeof v !== 'string' ? wrong(v, 'a string') : set.has(v) ? undefined : { kind: 'value', values, path: [] });
}

export function arrayOf(item: Check, bounds: { min?: number; max?: number } = {}): Check {
  const { min = 0, max = Infinity } = bounds;
  return (v) => {
    if (!Array.isArray(v)) return wrong(v, 'an array');
    if (v.length < min) return { kind: 'empty', of: 'array', path: [] };
    if (v.length > max) return { kind: 'too_long', max, path: [] };
    for (let i = 0; i < v.length; i++) {
      const p = item(v[i]);
      if (p !== undefined) return under(p, i);
    }
    return undefined;
  };
}

/** An object whose every value passes `value` (metadata, logit_bias). */
export function recordOf(value: Check): Check {
  return (v) => {
    if (!isPlainObject(v)) return wrong(v, 'an object');
    for (const k in v) {
      const p = value(v[k]);
      if (p !== undefined) return under(p, k);
    }
    return undefined;
  };
}

/**
 * An object with these fields; other fields pass. The object's own keys are walked (in its
 * order), not the schema's: a request names a few of the forty fields OpenAI defines, and
 * looking up each absent one cost more than all the checks together. Required fields (those
 * whose check refuses undefined) are then checked for presence.
 */
export function object(fields: Record<string, Check>): Check {
  const byKey = new Map(Object.entries(fields));
  const required = Object.keys(fields).filter((k) => fields[k](undefined) !== undefined);
  return (v) => {
    if (!isPlainObject(v)) return wrong(v, 'an object');
    for (const k in v) {
      const check = byKey.get(k);
      if (check === undefined) continue;
      const p = check(v[k]);
      if (p !== undefined) return under(p, k);
    }
    for (let i = 0; i < required.length; i++) {
      if (v[required[i]] === undefined) return { kind: 'missing', path: [required[i]] };
    }
    return undefined;
  };
}

/**
 * A value that may be of several JSON kinds (a string or an array of parts), each with its own
 * check; `expected` names them all for a value of another kind.
 */
export function byKind(kinds: { string?: Check; array?: Check; object?: Check }, expected: string): Check {
  return (v) => {
    const check = typeof v === 'string' ? kinds.string : Array.isArray(v) ? kinds.array : isPlainObject(v) ? kinds.object : undefined;
    return check === undefined ? wrong(v, expected) : check(v);
  };
}

/**
 * An object tagged by a string field (`type`, `role`): a known tag picks the check of the
 * rest of the object. An unknown tag is a problem, unless `others` lets it pass as it is (an
 * OpenAI-compatible server's own extension).
 */
export function tagged(tag: string, variants: Record<string, Check>, opts: { others: boolean }): Check {
  const known = new Map(Object.entries(variants));
  const values = [...known.keys()];
  return (v) => {
    if (!isPlainObject(v)) return wrong(v, 'an object');
    const t = v[tag];
    if (typeof t !== 'string') return under(wrong(t, 'a string'), tag);
    const check = known.get(t);
    if (check !== undefined) return check(v);
    return opts.others ? undefined : { kind: 'value', values, path: [tag] };
  };
}
