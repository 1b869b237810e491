import { UpstreamError } from '../core/upstream-error.ts';

/**
 * The error an adapter's `buildRequest` throws for client input it cannot translate into its
 * provider's format: kind `bad_request` (HTTP 400), naming the offending field in `param`.
 *
 * It must be an UpstreamError, not a GatewayError: the transport builds the request inside the
 * attempt, and anything else thrown there is taken for an adapter bug (`server_error`), which
 * fails over and counts against the provider's breaker. `bad_request` does neither: it fails
 * the request with a 400 and is neutral for the breaker.
 *
 * @example
 * throw invalidRequest('messages[0].role', "Unsupported message role 'function'.");
 */
export function invalidRequest(param: string, message: string): UpstreamError {
  return new UpstreamError({ kind: 'bad_request', status: 400, providerCode: 'invalid_request', param, message });
}
