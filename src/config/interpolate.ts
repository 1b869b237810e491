/**
 * `${VAR}` and `${VAR:-default}` interpolation over every string of a parsed YAML tree.
 * An unset variable with no default becomes the empty string, and is reported so start-up
 * can say which one (an empty API key is a common, silent misconfiguration).
 */
export function interpolateEnv(
  value: unknown,
  env: NodeJS.ProcessEnv,
  missing: Set<string> = new Set(),
): unknown {
  if (typeof value === 'string') {
    return value.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g, (_, name: string, fallback: string | undefined) => {
      const v = env[name];
      if (v !== undefined && v !== '') return v;
      if (fallback !== undefined) return fallback;
      missing.add(name);
      return '';
    });
  }
  if (Array.isArray(value)) return value.map((v) => interpolateEnv(v, env, missing));
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = interpolateEnv(v, env, missing);
    return out;
  }
  return value;
}
