/**
 * The provider simulator's public vocabulary. Config types are snake_case on purpose: the same
 * object is written in YAML (`parrot simulate --config`), sent as JSON to `PUT /_sim/models/{m}`
 * and passed to `setModel()` in tests, so there is exactly one shape to learn.
 */
import type { ErrorKind } from '../core/error-kinds.ts';

/** Which real API a call spoke. */
export type SimProvider = 'openai' | 'anthropic' | 'google';

/** Time before the response starts (headers for streams, the whole body otherwise). */
export type SimLatency =
  | { type: 'fixed'; ms: number }
  | { type: 'uniform'; min_ms: number; max_ms: number }
  /** Lognormal fitted so that its median is `p50_ms` and its 99th percentile `p99_ms`; `max_ms` caps a draw. */
  | { type: 'heavy_tail'; p50_ms: number; p99_ms: number; max_ms?: number };

/**
 * When a fault applies. Every field given must hold (they AND together); none given means always.
 * `first_n` counts calls to the model since its config was set; `for_ms` is measured from then too.
 */
export interface SimSchedule {
  first_n?: number;
  for_ms?: number;
  /** 0..1, drawn from the simulator's seeded RNG. */
  probability?: number;
}

export type SimFaultSpec =
  /**
   * The provider's real error response for `kind`; `retry_after_s` adds the provider's retry
   * hint; `message` replaces the provider's message text (e.g. one that quotes a key, as some
   * upstreams and proxies do), the rest of the body keeping the provider's shape.
   */
  | { type: 'error'; kind: ErrorKind; retry_after_s?: number; message?: string }
  /** TCP reset before any header. */
  | { type: 'reset' }
  /** Never answers; the socket stays open until the client gives up or the simulator closes. */
  | { type: 'hang' }
  /** Streams: headers at once, first content delta after `delay_ms`. Non-streams: body after `delay_ms`. */
  | { type: 'slow_first_token'; delay_ms: number }
  /** Socket destroyed after `after_tokens` content deltas (non-streams: after half the body). */
  | { type: 'cut'; after_tokens?: number }
  /** Stops sending after `after_tokens` content deltas but keeps the socket open. */
  | { type: 'stall'; after_tokens?: number }
  /**
   * `events` (default 1) data events in a row that are not valid JSON after `after_tokens`
   * deltas, then the stream goes on (non-streams: a truncated body).
   */
  | { type: 'malformed'; after_tokens?: number; events?: number }
  /** Streams only: ends cleanly without [DONE] / message_stop / finishReason. */
  | { type: 'no_done' }
  /**
   * Streams only: a 200 stream whose first event is followed by the provider's in-band error
   * event; with `after_tokens`, the error follows that many content deltas instead (a failure
   * after the answer started). `message` as for `error`.
   */
  | { type: 'in_band_error'; kind: ErrorKind; after_tokens?: number; message?: string };

export type SimFault = SimFaultSpec & SimSchedule;

/** One model's behaviour. Every field is optional; missing fields fall back to the defaults. */
export interface SimModelConfig {
  latency?: SimLatency;
  /** Pace of streamed content deltas; 0 (default) sends them as fast as possible. */
  tokens_per_second?: number;
  /** Length of a text answer in tokens (default 16), further bounded by the request's max tokens. */
  completion_tokens?: number;
  /** Checked in order; the first whose schedule matches applies to the call. */
  faults?: SimFault[];
  /**
   * OpenAI dialect: the prefix modes the model honours, continuing the request's final
   * assistant message instead of answering after it: `continue_final_message` (vLLM's body
   * fields `continue_final_message: true`, `add_generation_prompt: false`) and `prefix`
   * (`"prefix": true` on that message, as DeepSeek and Mistral). Default none: like OpenAI,
   * the fields are a 400.
   */
  prefill_modes?: SimPrefillMode[];
}

export type SimPrefillMode = 'continue_final_message' | 'prefix';

/** One entry of the call log. */
export interface SimCall {
  /** Date.now() when the request arrived. */
  at: number;
  provider: SimProvider;
  model: string;
  stream: boolean;
  /** The fault type applied, or null for a healthy answer. */
  fault: string | null;
  /** HTTP status sent; null when no status line was ever sent (reset, hang, connection error). */
  status: number | null;
  /** The gateway's own probe (an `x-parrot-probe` header), not client traffic. */
  probe?: boolean;
  /** A prefix continuation the model honoured: its mode and the final assistant message it continued. */
  prefill?: { mode: SimPrefillMode; assistant: string };
  /** The request body as received (parsed JSON), kept for the latest calls only, listed only when asked (`bodies`). */
  body?: unknown;
  /** The caller closed the connection before the answer ended. */
  aborted?: boolean;
}

export interface SimCallFilter {
  model?: string;
  provider?: SimProvider;
  /** Include the request bodies still kept (the latest calls' only); left out by default. */
  bodies?: boolean;
}

export interface SimulatorOptions {
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 0 (an ephemeral port). */
  port?: number;
  models?: Record<string, SimModelConfig>;
  defaults?: SimModelConfig;
  /** Seeds the RNG behind `probability` schedules and latency draws (default 1). */
  seed?: number;
  /** Size of the call-log ring (default 10000). */
  callLogLimit?: number;
  /** When set, only these keys are accepted; others get the provider's real auth error. */
  apiKeys?: string[];
  /**
   * When set, the control API (`/_sim/*`) needs one of these as `Authorization: Bearer <key>`
   * or `x-api-key` (401 without a key, 403 with a wrong one). Required to listen beyond loopback.
   */
  adminKeys?: string[];
  /**
   * When set, every request must carry it in the `x-parrot-simulator-token` header (403
   * otherwise). The gateway starts its in-process simulator with a random one, so only the
   * gateway reaches it: its control API is then on the gateway's `/admin/simulator/*`, behind
   * the gateway's admin key.
   */
  token?: string;
  /** Where a failed accept (out of open files) is logged, throttled (default stderr). */
  log?: (line: string) => void;
}

export interface SimulatorHandle {
  /** e.g. http://127.0.0.1:41234 (no trailing slash) */
  url: string;
  port: number;
  /** Closes the server and destroys open sockets (hanging and stalled ones included). */
  close(): Promise<void>;
  /** Replaces one model's behaviour at run time (its first_n / for_ms clocks restart). Throws on an invalid config. */
  setModel(model: string, cfg: SimModelConfig): void;
  /** Replaces the defaults every unconfigured model follows (their clocks restart). */
  setDefaults(cfg: SimModelConfig): void;
  /** Back to the start config; the call log is cleared and the RNG re-seeded. */
  reset(): void;
  /** The call log, oldest first. */
  calls(filter?: SimCallFilter): SimCall[];
}
