import { formatPath } from '../core/field-path.ts';
import type { Problem } from '../core/json-check.ts';
import { MAX_NESTING, tooDeep } from '../core/json-depth.ts';
import { GatewayError } from '../core/openai-error.ts';
import type { ChatRequest } from '../core/openai-types.ts';
import { chatRequest } from './chat-schema.ts';

/**
 * The whole request checked at the edge, before routing: its nesting depth, then its shape
 * (src/http/chat-schema.ts). The first problem is a 400 in OpenAI's words and codes, with
 * `param` naming the field (`messages[0].content[0]`). Returns the body itself: fields the
 * schema does not name pass through untouched, in their order.
 *
 * @example
 * validateChatRequest({ model: 'gpt-4o', messages: [{ role: 'user', content: [null] }] });
 * // throws 400 "Invalid type for 'messages[0].content[0]': expected an object, but got null instead."
 */
export function validateChatRequest(body: unknown): ChatRequest {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new GatewayError(400, 'The request body must be a JSON object.');
  }
  const deep = tooDeep(body, MAX_NESTING);
  if (deep !== undefined) {
    const param = formatPath(deep);
    throw new GatewayError(400, `The request is nested too deeply at '${param}': at most ${MAX_NESTING} levels are allowed.`, { param });
  }
  const problem = chatRequest(body);
  if (problem !== undefined) throw toError(problem, body);
  return body as ChatRequest;
}

/** A problem as OpenAI words it (the messages and codes of OpenAI's own 400s). */
function toError(problem: Problem, body: unknown): GatewayError {
  const path = problem.path.reverse();
  const param = formatPath(path);
  const input = valueAt(body, path);
  const fail = (message: string, code: string): GatewayError => new GatewayError(400, message, { param, code });
  switch (problem.kind) {
    case 'missing':
      return fail(`Missing required parameter: '${param}'.`, 'missing_required_parameter');
    case 'type':
      return fail(`Invalid type for '${param}': expected ${problem.expected}, but got ${kindOf(input)} instead.`, 'invalid_type');
    case 'value':
      return fail(`Invalid value: ${quote(input)}. Supported values are: ${listOf(problem.values.map(quote))}.`, 'invalid_value');
    case 'empty':
      return fail(
        `Invalid '${param}': empty ${problem.of}. Expected ${problem.of === 'array' ? 'an array' : 'a string'} with minimum length 1, but got an empty ${problem.of} instead.`,
        `empty_${problem.of}`,
      );
    case 'too_long':
      return fail(
        `Invalid '${param}': array too long. Expected an array with maximum length ${problem.max}, but got an array with length ${(input as unknown[]).length} instead.`,
        'array_above_max_length',
      );
  }
}

/** The value at `path` in the body. */
function valueAt(body: unknown, path: readonly PropertyKey[]): unknown {
  let v = body;
  for (const k of path) v = (v as Record<PropertyKey, unknown>)[k];
  return v;
}

/** What a JSON value is, as OpenAI's messages say it: "null", "an integer", "a decimal number"... */
function kindOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  switch (typeof v) {
    case 'number':
      return Number.isInteger(v) ? 'an integer' : 'a decimal number';
    case 'object':
      return 'an object';
    case 'string':
      return 'a string';
    default:
      return 'a boolean';
  }
}

/** A value in quotes, cut to 64 characters (a client's string may be long). */
function quote(v: unknown): string {
  const s = String(v);
  return `'${s.length > 64 ? `${s.slice(0, 64)}...` : s}'`;
}

/** `a and b`, `a, b, and c`. */
function listOf(items: readonly string[]): string {
  if (items.length <= 2) return items.join(' and ');
  return `${items.slice(0, -1).join(', ')}, and ${items[items.length - 1]}`;
}
