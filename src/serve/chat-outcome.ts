/**
 * What serveChat takes besides the request and its policy, and what it gives back: the types
 * the HTTP handler and degraded mode share with it (kept apart so degraded mode, which
 * serveChat calls, does not import serveChat's module).
 */
import type { FlowOutput } from '../core/flow.ts';
import type { GatewayError } from '../core/openai-error.ts';
import type { ChatCompletion } from '../core/openai-types.ts';
import type { ChatStream } from './chat-stream.ts';
import type { ClientSignal } from '../core/client-signal.ts';

/**
 * What one chat request came to: what the HTTP layer writes, and the flow's own record of it
 * (attempts, which step served) for logs, metrics and tests.
 */
export type ChatOutcome = (
  | { type: 'completion'; headers: Record<string, string>; completion: ChatCompletion; raw?: Uint8Array; comment?: string }
  /** `comment`: an SSE comment line written before the first event of a stream (degraded mode's notice). */
  | { type: 'stream'; headers: Record<string, string>; stream: ChatStream; comment?: string }
  | { type: 'error'; headers: Record<string, string>; error: GatewayError }
) & { flow: FlowOutput };

/** What serveChat needs besides the request and its policy. */
export interface ServeContext {
  requestId: string;
  /**
   * Aborted when the client goes away before the answer: the flow is cancelled (an AbortSignal
   * will do). A stream returned is the caller's to cancel from then on.
   */
  signal?: ClientSignal;
  /** The client's API key: answers are cached per key, never across tenants. */
  tenant?: string;
  /** X-Cache-Bypass: true: no cached answer is served (a fresh one is still stored). */
  cacheBypass?: boolean;
  /** Set by degraded mode: the answer is stored under this key (the request as the client sent it). */
  cacheKey?: string;
  /** Degraded mode has run for this request. */
  degradedDone?: boolean;
}
