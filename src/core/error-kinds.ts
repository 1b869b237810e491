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

/** `any_error` matches every kind but `bad_request` (the client's own fault). */
export type ErrorTrigger = ErrorKind | 'any_error';

export function triggerMatches(trigger: ErrorTrigger, kind: ErrorKind): boolean {
  return trigger === 'any_error' ? kind !== 'bad_request' : trigger === kind;
}
