/**
 * Validation of simulator configs (YAML file, admin PUT bodies, `setModel()` arguments). Strict:
 * an unknown key is an error, so a typo never silently means "healthy".
 */
import { z } from 'zod';
import { formatPath } from '../core/field-path.ts';
import { ERROR_KINDS } from '../core/error-kinds.ts';
import type { SimModelConfig } from './types.ts';

const ms = z.number().finite().nonnegative();
const count = z.number().int().nonnegative();
const kind = z.enum(ERROR_KINDS);

const latency = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('fixed'), ms }),
  z
    .strictObject({ type: z.literal('uniform'), min_ms: ms, max_ms: ms })
    .refine((l) => l.max_ms >= l.min_ms, { message: 'max_ms must be >= min_ms', path: ['max_ms'] }),
  z
    .strictObject({ type: z.literal('heavy_tail'), p50_ms: z.number().finite().positive(), p99_ms: z.number().finite().positive(), max_ms: ms.optional() })
    .refine((l) => l.p99_ms >= l.p50_ms, { message: 'p99_ms must be >= p50_ms', path: ['p99_ms'] }),
]);

const schedule = {
  first_n: count.optional(),
  for_ms: ms.optional(),
  probability: z.number().min(0).max(1).optional(),
};

const fault = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('error'), kind, retry_after_s: ms.optional(), message: z.string().min(1).optional(), ...schedule }),
  z.strictObject({ type: z.literal('reset'), ...schedule }),
  z.strictObject({ type: z.literal('hang'), ...schedule }),
  z.strictObject({ type: z.literal('slow_first_token'), delay_ms: ms, ...schedule }),
  z.strictObject({ type: z.literal('cut'), after_tokens: count.optional(), ...schedule }),
  z.strictObject({ type: z.literal('stall'), after_tokens: count.optional(), ...schedule }),
  z.strictObject({ type: z.literal('malformed'), after_tokens: count.optional(), events: z.number().int().min(1).max(1000).optional(), ...schedule }),
  z.strictObject({ type: z.literal('no_done'), ...schedule }),
  z.strictObject({ type: z.literal('in_band_error'), kind, after_tokens: count.optional(), message: z.string().min(1).optional(), ...schedule }),
]);

/** Zod schema of one model's behaviour. */
const modelConfigSchema = z.strictObject({
  latency: latency.optional(),
  tokens_per_second: z.number().finite().nonnegative().optional(),
  completion_tokens: z.number().int().min(1).max(100_000).optional(),
  faults: z.array(fault).optional(),
  prefill_modes: z.array(z.enum(['continue_final_message', 'prefix'])).max(2).optional(),
});

/** A config file's own fields (beside `models` and `defaults`). */
const fileFields = {
  seed: z.number().int().optional(),
  call_log_limit: z.number().int().min(1).optional(),
  api_keys: z.array(z.string().min(1)).optional(),
  /** Keys the control API (`/_sim/*`) requires, as `Authorization: Bearer` or `x-api-key`. */
  admin_keys: z.array(z.string().min(1)).optional(),
};
const modelName = z.string().min(1);

/** Zod schema of a `parrot simulate --config` file. */
const simulatorFileSchema = z.strictObject({
  models: z.record(modelName, modelConfigSchema).optional(),
  defaults: modelConfigSchema.optional(),
  ...fileFields,
});

/** The same file with `models` / `defaults` left unchecked: startSimulator validates those itself. */
const simulatorFileEnvelopeSchema = z.strictObject({
  models: z.record(modelName, z.unknown()).optional(),
  defaults: z.unknown().optional(),
  ...fileFields,
});

export type SimulatorFile = z.infer<typeof simulatorFileSchema>;
export type SimulatorFileEnvelope = z.infer<typeof simulatorFileEnvelopeSchema>;

/** Thrown for an invalid config; the message names every bad field, e.g. `faults[0].kind: Invalid option...`. */
export class SimConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SimConfigError';
  }
}

function formatIssues(error: z.ZodError, prefix: string): string {
  return error.issues.map((i) => `${formatPath(i.path, prefix) || '(root)'}: ${i.message}`).join('; ');
}

/**
 * Validates one model's config.
 * @param where prefixes field names in the error message, e.g. `models.gpt-4o`.
 * @throws SimConfigError naming the bad field(s).
 * @example parseModelConfig({ faults: [{ type: 'error', kind: 'rate_limit', first_n: 2 }] })
 */
export function parseModelConfig(input: unknown, where = ''): SimModelConfig {
  const r = modelConfigSchema.safeParse(input);
  if (!r.success) throw new SimConfigError(formatIssues(r.error, where));
  return r.data as SimModelConfig;
}

/** Validates a whole simulator config file (already YAML/JSON-parsed). @throws SimConfigError */
export function parseSimulatorFile(input: unknown): SimulatorFile {
  const r = simulatorFileSchema.safeParse(input ?? {});
  if (!r.success) throw new SimConfigError(formatIssues(r.error, ''));
  return r.data;
}

/**
 * Validates a config file's own fields (unknown keys, seed, call_log_limit, api_keys, admin_keys) but not the
 * model configs inside: `parrot simulate` hands those to startSimulator, which validates them
 * (with the same field names in its message), so they are checked once. @throws SimConfigError
 */
export function parseSimulatorFileEnvelope(input: unknown): SimulatorFileEnvelope {
  const r = simulatorFileEnvelopeSchema.safeParse(input ?? {});
  if (!r.success) throw new SimConfigError(formatIssues(r.error, ''));
  return r.data;
}
