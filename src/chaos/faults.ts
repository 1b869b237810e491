import { ERROR_KINDS, type ErrorKind } from '../core/error-kinds.ts';

/** What can be injected: each error kind in the provider's own shape, or a transport fault. */
export const TRANSPORT_FAULTS = ['latency', 'no_response', 'stream_cut', 'stream_stall', 'malformed_chunk'] as const;
export type TransportFault = (typeof TRANSPORT_FAULTS)[number];
export type FaultType = ErrorKind | TransportFault;
export const FAULT_TYPES: readonly FaultType[] = [...ERROR_KINDS, ...TRANSPORT_FAULTS];

/** A fault as an operator asks for it (`POST /admin/chaos`), before it has an id. */
export interface FaultSpec {
  /** `provider` (every model of it) or `provider/model`. */
  target: string;
  fault: FaultType;
  /** `latency`: the added delay. */
  latencyMs?: number;
  /** `stream_cut`, `stream_stall`, `malformed_chunk`: content tokens passed on before the fault (0: before the first). */
  afterTokens?: number;
  /** Error faults: the provider's retry hint (Retry-After, Gemini's retryDelay), in seconds. */
  retryAfterS?: number;
  /** How long the fault stays, on the gateway's clock. */
  durationMs?: number;
  /** How many upstream calls it hits before it is spent. */
  requests?: number;
}

/** A fault in force. */
export interface Fault extends FaultSpec {
  id: string;
  createdAt: number;
  /** When it lapses (ms, the gateway's clock); undefined: only `requests` ends it. */
  expiresAt: number | undefined;
  /** Calls it has hit so far. */
  injected: number;
}

export function isErrorKind(f: FaultType): f is ErrorKind {
  return (ERROR_KINDS as readonly string[]).includes(f);
}

/** Stream faults only touch streamed calls; others hit every call. */
export function isStreamFault(f: FaultType): boolean {
  return f === 'stream_cut' || f === 'stream_stall' || f === 'malformed_chunk';
}

/** The fault as the API shows it (snake_case, like the rest of the gateway's JSON). */
export function faultJson(f: Fault, now: number): Record<string, unknown> {
  return {
    id: f.id,
    target: f.target,
    fault: f.fault,
    ...(f.latencyMs !== undefined ? { latency_ms: f.latencyMs } : {}),
    ...(f.afterTokens !== undefined ? { after_tokens: f.afterTokens } : {}),
    ...(f.retryAfterS !== undefined ? { retry_after_s: f.retryAfterS } : {}),
    ...(f.requests !== undefined ? { requests: f.requests, remaining_requests: Math.max(0, f.requests - f.injected) } : {}),
    created_at: new Date(f.createdAt).toISOString(),
    expires_at: f.expiresAt === undefined ? null : new Date(f.expiresAt).toISOString(),
    remaining_ms: f.expiresAt === undefined ? null : Math.max(0, f.expiresAt - now),
    injected: f.injected,
  };
}
