import type { ServerResponse } from 'node:http';
import { GatewayError, KIND_TO_CLIENT } from '../core/openai-error.ts';
import type { UpstreamError } from '../core/upstream-error.ts';

/**
 * The client-facing error for a final upstream failure: OpenAI's shape, the provider's
 * message kept (the transport has scrubbed it of key material), except for a provider's
 * auth error: that one is about the operator's credentials, not the client's request, so
 * the client gets a fixed message and none of the upstream's text.
 */
export function upstreamToGateway(err: UpstreamError): GatewayError {
  const c = KIND_TO_CLIENT[err.kind];
  const headers: Record<string, string> = {};
  if (err.hints.retryAfterMs !== undefined && (err.kind === 'rate_limit' || err.kind === 'model_overloaded')) {
    headers['retry-after'] = String(Math.ceil(err.hints.retryAfterMs / 1000));
  }
  const message = err.kind === 'auth_error' ? upstreamAuthMessage(err.status) : err.message;
  return new GatewayError(c.status, message, { type: c.type, code: c.code, param: err.kind === 'auth_error' ? null : err.param, headers });
}

function upstreamAuthMessage(status: number): string {
  const http = status > 0 && status !== 200 ? ` (HTTP ${status})` : '';
  return `The upstream provider rejected the gateway's credentials${http}: the gateway's configuration needs fixing, not your request.`;
}

/** Write an error in OpenAI's shape, unless the response has already started. */
export function sendError(res: ServerResponse, err: GatewayError, headers: Record<string, string> = {}): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const body = JSON.stringify(err.toJSON());
  res.writeHead(err.status, {
    ...headers,
    ...err.headers,
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
  });
  res.end(body);
}

/** Anything thrown that is not a GatewayError is a bug: answer 500 without leaking details. */
export function toGatewayError(err: unknown): GatewayError {
  if (err instanceof GatewayError) return err;
  // Errors express raises itself (a malformed URI, say) carry a 4xx status.
  const status = (err as { status?: number; statusCode?: number }).status ?? (err as { statusCode?: number }).statusCode;
  if (typeof status === 'number' && status >= 400 && status < 500) {
    return new GatewayError(status, (err as Error).message || 'Bad request.');
  }
  return new GatewayError(500, 'The gateway had an internal error processing the request.', { type: 'api_error', code: 'internal_error' });
}
