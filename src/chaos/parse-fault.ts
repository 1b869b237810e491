import { GatewayError } from '../core/openai-error.ts';
import { FAULT_TYPES, isStreamFault, type FaultSpec, type FaultType } from './faults.ts';

const FIELDS = new Set(['target', 'fault', 'latency_ms', 'after_tokens', 'retry_after_s', 'duration_s', 'requests']);
const MAX_DURATION_S = 24 * 3600;
/** Without duration_s or requests, a fault lapses after this: a forgotten fault must not stay forever. */
export const DEFAULT_DURATION_S = 60;

function invalid(message: string, param: string): GatewayError {
  return new GatewayError(400, message, { code: 'invalid_chaos_fault', param });
}

function int(body: Record<string, unknown>, name: string, min: number, max: number): number | undefined {
  const v = body[name];
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) throw invalid(`${name} must be an integer from ${min} to ${max}.`, name);
  return v;
}

/**
 * `POST /admin/chaos`'s body as a FaultSpec, or a 400 naming the field. `knownTarget` says
 * whether `provider` or `provider/model` is configured.
 *
 * @example
 * parseFault({ target: 'openai', fault: 'rate_limit', duration_s: 30 }, isKnown)
 */
export function parseFault(body: unknown, knownTarget: (target: string) => boolean): FaultSpec {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw invalid('The body must be a JSON object.', 'body');
  const b = body as Record<string, unknown>;
  for (const k of Object.keys(b)) if (!FIELDS.has(k)) throw invalid(`Unknown field "${k}". Known: ${[...FIELDS].join(', ')}.`, k);
  if (typeof b.target !== 'string' || b.target === '') throw invalid('target is required: a provider ("openai") or a provider/model ("openai/gpt-4o").', 'target');
  if (!knownTarget(b.target)) throw invalid(`Unknown target "${b.target}": not a configured provider or provider/model.`, 'target');
  if (typeof b.fault !== 'string' || !(FAULT_TYPES as readonly string[]).includes(b.fault)) {
    throw invalid(`fault must be one of: ${FAULT_TYPES.join(', ')}.`, 'fault');
  }
  const fault = b.fault as FaultType;
  const latencyMs = int(b, 'latency_ms', 1, 600_000);
  const afterTokens = int(b, 'after_tokens', 0, 100_000);
  const retryAfterS = int(b, 'retry_after_s', 0, 86_400);
  const durationS = int(b, 'duration_s', 1, MAX_DURATION_S);
  const requests = int(b, 'requests', 1, 1_000_000);
  if (fault === 'latency' && latencyMs === undefined) throw invalid('latency_ms is required for a latency fault.', 'latency_ms');
  if (fault !== 'latency' && latencyMs !== undefined) throw invalid('latency_ms applies to a latency fault only.', 'latency_ms');
  if (!isStreamFault(fault) && afterTokens !== undefined) throw invalid('after_tokens applies to stream_cut, stream_stall and malformed_chunk only.', 'after_tokens');
  if (retryAfterS !== undefined && (fault === 'latency' || fault === 'no_response' || isStreamFault(fault))) {
    throw invalid('retry_after_s applies to error faults only.', 'retry_after_s');
  }
  return {
    target: b.target,
    fault,
    ...(latencyMs !== undefined ? { latencyMs } : {}),
    ...(isStreamFault(fault) ? { afterTokens: afterTokens ?? 0 } : {}),
    ...(retryAfterS !== undefined ? { retryAfterS } : {}),
    ...(durationS !== undefined || requests === undefined ? { durationMs: (durationS ?? DEFAULT_DURATION_S) * 1000 } : {}),
    ...(requests !== undefined ? { requests } : {}),
  };
}
