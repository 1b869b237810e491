import { UpstreamError } from '../core/upstream-error.ts';
import type { ProviderType } from './types.ts';

/**
 * The error an adapter's `buildRequest` throws for client input it cannot translate into its
 * provider's format: kind `bad_request` (HTTP 400), naming the offending field in `param`.
 *
 * An UpstreamError, not a GatewayError: the transport builds the request inside the attempt,
 * where the request machine reads every failure as an UpstreamError. `bad_request` fails the
 * request with a 400, is never failed over and is neutral for breakers and health.
 *
 * @example
 * throw invalidRequest('messages[0].role', "Unsupported message role 'function'.");
 */
export function invalidRequest(param: string, message: string): UpstreamError {
  return new UpstreamError({ kind: 'bad_request', status: 400, providerCode: 'invalid_request', param, message });
}

/**
 * Anything else `buildRequest` threw: the request is built from the client's input alone, so
 * a translator that chokes on it (a shape the edge's schema let through that it still cannot
 * read; JSON too deep to serialise) has met the client's input, never the provider's failure.
 * A 400 without `param` (nothing says which field); the thrown error is kept as `cause`, and
 * its text, the translator's internals, is not shown to the client.
 */
export function untranslatable(err: unknown, provider: ProviderType): UpstreamError {
  if (err instanceof UpstreamError) return err;
  return new UpstreamError({
    kind: 'bad_request',
    status: 400,
    providerCode: 'invalid_request',
    message: `The request could not be translated into the ${provider} format.`,
    cause: err,
  });
}
