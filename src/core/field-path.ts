/**
 * A validation issue's path as people write it: `["fallbacks", 0, "trigger", 1]` ->
 * `fallbacks[0].trigger[1]`, after `prefix` when given (`models.gpt-4` + `["faults", 0]` ->
 * `models.gpt-4.faults[0]`). Shared by the config file, the policy headers and the simulator.
 */
export function formatPath(path: readonly PropertyKey[], prefix = ''): string {
  let out = prefix;
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : out === '' ? String(p) : `.${String(p)}`;
  return out;
}
