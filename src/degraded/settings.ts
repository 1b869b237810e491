import { z } from 'zod';
import { USER_PRIORITIES } from '../policy/schemas.ts';
import type { DegradedModePolicy, UserPriority } from '../policy/types.ts';

const int = (min: number, max: number) => z.number().int().min(min).max(max);

/**
 * The config file's `degraded_mode` block: when the gateway is degraded (each trigger's
 * threshold over a sliding window of the targets' statistics), what a request without
 * X-Degraded-Mode-Config gets (`policy`, the header's exact shape), how good each model is
 * (`quality`, X-Quality-Score), which keys may claim which X-User-Priority, the queue's bound
 * and how far simplify_prompts cuts a conversation.
 */
export const degradedModeFileSchema = z
  .object({
    /** How often the degraded-mode actor reads the targets' statistics. */
    evaluate_interval_ms: int(10, 600_000).default(1_000),
    /** The sliding window each trigger looks at (a whole number of evaluations, at least one). */
    window_ms: int(10, 3_600_000).default(10_000),
    high_latency: z
      .object({
        /** p95 time to first token (a non-streamed answer: the whole answer) of one target over the window. */
        p95_ttft_ms: int(1, 600_000).default(5_000),
        /** Fewer successful calls than this in the window say nothing. */
        min_samples: int(1, 10_000).default(5),
      })
      .strict()
      .prefault({}),
    rate_limiting: z
      .object({
        /** Share of one target's calls in the window answered 429 (kind rate_limit). */
        share: z.number().min(0).max(1).default(0.2),
        min_requests: int(1, 100_000).default(5),
      })
      .strict()
      .prefault({}),
    /** X-Degraded-Mode-Config's shape: what a request that sends no such header gets. Absent: nothing. */
    policy: z.unknown().optional(),
    /**
     * Model (as clients name it) -> quality 1..10: X-Quality-Score of an answer it served in
     * degraded mode. A model no provider serves is allowed (one table for several deployments).
     */
    quality: z.record(z.string(), int(1, 10)).default({}),
    priorities: z
      .object({
        /** The highest X-User-Priority a key may claim. */
        keys: z.array(z.object({ key: z.string(), max: z.enum(USER_PRIORITIES) }).strict()).default([]),
        /** The highest priority any other key (or, without keys, anyone) may claim. */
        default_max: z.enum(USER_PRIORITIES).default('high'),
      })
      .strict()
      .prefault({}),
    queue: z
      .object({
        /** Requests waiting at once; past it the lowest priority is shed with a 429. */
        max_size: int(1, 100_000).default(100),
        /** While rate limiting lasts, one batch leaves the queue per interval. */
        release_interval_ms: int(1, 600_000).default(1_000),
      })
      .strict()
      .prefault({}),
    simplify_prompts: z
      .object({
        /** Estimated tokens (4 characters each) of conversation kept after the system prompt. */
        max_tokens: int(1, 1_000_000).default(1_000),
      })
      .strict()
      .prefault({}),
  })
  .strict();

/** The config file's `response_cache` block (the entry bound is resilience.cache_entries). */
export const responseCacheFileSchema = z
  .object({
    /** Bytes of answers kept (their JSON length); the least recently used go first. */
    max_bytes: int(0, 4 * 1024 ** 3).default(64 * 1024 * 1024),
    /** A cached answer is fresh this long (multiplied by cache_ttl_multiplier while that strategy applies). */
    ttl_ms: int(1, 30 * 86_400_000).default(300_000),
    /** Where the cache is saved at shutdown and loaded at start-up; absent: not kept across restarts. */
    file: z.string().optional(),
  })
  .strict();

export type DegradedModeFile = z.output<typeof degradedModeFileSchema>;

/** The degraded-mode settings in runtime shape. */
export interface DegradedSettings {
  intervalMs: number;
  windowMs: number;
  highLatency: { p95TtftMs: number; minSamples: number };
  rateLimiting: { share: number; minRequests: number };
  /** The config's policy, validated as the header is; undefined: only requests with the header degrade. */
  policy: DegradedModePolicy | undefined;
  quality: Readonly<Record<string, number>>;
  priorities: { keys: ReadonlyArray<{ key: string; max: UserPriority }>; defaultMax: UserPriority };
  queue: { maxSize: number; releaseIntervalMs: number };
  simplifyMaxTokens: number;
}

export interface ResponseCacheSettings {
  maxEntries: number;
  maxBytes: number;
  ttlMs: number;
  file: string | undefined;
}
