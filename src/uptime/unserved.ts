import type { ErrorKind } from '../core/error-kinds.ts';

/**
 * Why a client request ended without an answer, as far as availability is concerned: the
 * last upstream failure's kind, or the gateway's own refusals for lack of a target.
 */
export type RequestFailure = ErrorKind | 'circuit_open' | 'no_available_target';

/**
 * Kinds that are the client's own doing: another provider would refuse the same request, so
 * they say nothing about whether the gateway could serve. (The gateway's own 4xx answers
 * (validation, the client's key, an unknown model, an oversized body) never reach a provider
 * and are never recorded at all.)
 */
const CLIENT_CAUSED: ReadonlySet<RequestFailure> = new Set<RequestFailure>(['bad_request', 'context_length_exceeded', 'content_filter']);

/**
 * Does a request that failed this way count against the gateway's availability (its minute
 * becomes a down minute)? True for every failure of the providers or of the gateway's access
 * to them (timeouts, 5xx, overload, rate limits and quota on the gateway's keys, the
 * gateway's provider key refused, every breaker open, no target left); false for what the
 * client caused.
 *
 * @example
 * if (!served && countsAsUnserved(failure)) store.availability.recordUnserved(model, now);
 */
export function countsAsUnserved(failure: RequestFailure): boolean {
  return !CLIENT_CAUSED.has(failure);
}
