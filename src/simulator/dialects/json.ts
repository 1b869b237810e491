/** Small JSON helpers shared by the dialects' validators. */

export type Json = Record<string, unknown>;

export function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The JSON type name providers use in messages: "string", "array", "null"... */
export function jsonType(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  return typeof v;
}

/** The first key of `obj` not in `known`, or undefined. */
export function firstUnknownKey(obj: Json, known: ReadonlySet<string>): string | undefined {
  for (const k in obj) if (!known.has(k)) return k;
  return undefined;
}

export function isPositiveInt(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= 1;
}
