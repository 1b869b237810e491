/**
 * How deeply parsed JSON nests, checked without ever recursing deeper than the limit.
 *
 * `JSON.parse` builds 100,000 nested arrays without complaint, but every recursive walker
 * after it (JSON.stringify of an upstream body, the cache key, a provider's own parser)
 * overflows the stack on them. This walk recurses at most `maxDepth` frames, so it is safe on
 * anything JSON.parse returns.
 */

/**
 * Objects and arrays nested in one request, the body itself included: the limit of the
 * gateway's edge, and of the JSON a translator parses out of a client's strings (tool call
 * arguments). A tool's JSON Schema 25 levels of `properties` deep still fits; 100,000
 * nested arrays do not.
 */
export const MAX_NESTING = 64;

/**
 * The path of the first object or array nested more than `maxDepth` containers deep (the value
 * itself being the first), or undefined when none is. Scalars do not count: `[[1]]` is 2 deep.
 *
 * @example
 * tooDeep({ a: [[1]] }, 3); // undefined
 * tooDeep({ a: [[[1]]] }, 3); // ['a', 0, 0]
 */
export function tooDeep(value: unknown, maxDepth: number): PropertyKey[] | undefined {
  const path = walk(value, maxDepth);
  return path?.reverse();
}

/** The reversed path of the first container over `left` levels (built only on the way out of a failure). */
function walk(value: unknown, left: number): PropertyKey[] | undefined {
  if (value === null || typeof value !== 'object') return undefined;
  if (left === 0) return [];
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const v = value[i];
      if (v === null || typeof v !== 'object') continue;
      const found = walk(v, left - 1);
      if (found !== undefined) {
        found.push(i);
        return found;
      }
    }
    return undefined;
  }
  for (const k in value) {
    const v = (value as Record<string, unknown>)[k];
    if (v === null || typeof v !== 'object') continue;
    const found = walk(v, left - 1);
    if (found !== undefined) {
      found.push(k);
      return found;
    }
  }
  return undefined;
}
