/**
 * The vocabulary of upstream failure. Every upstream outcome is classified once, in the
 * provider adapter, into exactly one kind; triggers, `retry_on` and `excluded_errors` speak it.
 */
export const ERROR_KINDS = [
  'timeout',
  'rate_limit',
  'quota_exceeded',
  'model_overloaded',
  'server_error',
  'connection_error',
  'context_length_exceeded',
  'content_filter',
  'auth_error',
  'bad_request',
] as const;

export type ErrorKind = (typeof ERROR_KINDS)[number];

/**
 * A kind, or `any_error`: every kind but `bad_request` (the client's own fault, which no
 * provider can fix) and `content_filter` (routing a safety refusal to another provider
 * launders it: it fails over only when a trigger names it).
 */
export type ErrorTrigger = ErrorKind | 'any_error';

/**
 * Whether a failure of `kind` matches `trigger`.
 *
 * @example
 * triggerMatches('any_error', 'timeout')        // true
 * triggerMatches('any_error', 'content_filter') // false: only 'content_filter' itself matches it
 */
export function triggerMatches(trigger: ErrorTrigger, kind: ErrorKind): boolean {
  return trigger === 'any_error' ? kind !== 'bad_request' && kind !== 'content_filter' : trigger === kind;
}

/** Whether any of `triggers` matches a failure of `kind`. */
export function triggersMatch(triggers: readonly ErrorTrigger[], kind: ErrorKind): boolean {
  for (const t of triggers) if (triggerMatches(t, kind)) return true;
  return false;
}
