import type { ErrorKind } from './error-kinds.ts';

/** OpenAI's error body: `{"error": {"message", "type", "param", "code"}}`. */
export interface OpenAIErrorBody {
  error: { message: string; type: string; param: string | null; code: string | null };
}

/**
 * An error the gateway answers with. Thrown anywhere on the request path; the HTTP layer
 * renders it in OpenAI's shape with `status` and any extra `headers`.
 */
export class GatewayError extends Error {
  readonly status: number;
  readonly type: string;
  readonly param: string | null;
  readonly code: string | null;
  readonly headers: Record<string, string>;

  constructor(
    status: number,
    message: string,
    opts: { type?: string; param?: string | null; code?: string | null; headers?: Record<string, string> } = {},
  ) {
    super(message);
    this.name = 'GatewayError';
    this.status = status;
    this.type = opts.type ?? defaultType(status);
    this.param = opts.param ?? null;
    this.code = opts.code ?? null;
    this.headers = opts.headers ?? {};
  }

  toJSON(): OpenAIErrorBody {
    return { error: { message: this.message, type: this.type, param: this.param, code: this.code } };
  }
}

/** OpenAI's 404 for a model the gateway does not serve. */
export function modelNotFound(model: string): GatewayError {
  return new GatewayError(404, `The model \`${model}\` does not exist or you do not have access to it.`, { code: 'model_not_found', param: 'model' });
}

function defaultType(status: number): string {
  if (status === 401) return 'authentication_error';
  if (status === 403) return 'permission_error';
  if (status === 404) return 'not_found_error';
  if (status === 429) return 'rate_limit_error';
  if (status >= 500) return 'api_error';
  return 'invalid_request_error';
}

/** The status and OpenAI error type the gateway answers with when an upstream failure of `kind` is final. */
export const KIND_TO_CLIENT: Record<ErrorKind, { status: number; type: string; code: string }> = {
  timeout: { status: 504, type: 'timeout_error', code: 'upstream_timeout' },
  rate_limit: { status: 429, type: 'rate_limit_error', code: 'rate_limit_exceeded' },
  quota_exceeded: { status: 429, type: 'insufficient_quota', code: 'insufficient_quota' },
  model_overloaded: { status: 503, type: 'overloaded_error', code: 'model_overloaded' },
  server_error: { status: 502, type: 'api_error', code: 'upstream_server_error' },
  connection_error: { status: 502, type: 'api_error', code: 'upstream_connection_error' },
  context_length_exceeded: { status: 400, type: 'invalid_request_error', code: 'context_length_exceeded' },
  content_filter: { status: 400, type: 'invalid_request_error', code: 'content_filter' },
  auth_error: { status: 502, type: 'api_error', code: 'upstream_auth_error' },
  bad_request: { status: 400, type: 'invalid_request_error', code: 'bad_request' },
};
