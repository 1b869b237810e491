/**
 * The schema of an OpenAI Chat Completions request (`POST /v1/chat/completions`), as OpenAI's
 * API reference and its official SDK's types define it. The gateway checks every request
 * against it before routing, so a translator never sees a shape it cannot read: a malformed
 * request is the client's 400, never a provider's failure.
 *
 * What it checks, and what it leaves to the provider:
 * - Every field the gateway or a translator reads has its OpenAI type: messages by role,
 *   every content part, tool calls, tools, tool_choice, response_format, stop, the numbers.
 * - Fields no translator reads are checked for their JSON type only (a string, a number, an
 *   object...), not for their values: a new `reasoning_effort` or `service_tier` value
 *   passes, and the provider says whether it knows it.
 * - Objects are loose: a field the schema does not name passes through untouched (OpenAI
 *   adds fields; OpenAI-compatible servers take their own, e.g. vLLM's `top_k`).
 * - A content part, tool, tool_choice or response_format whose `type` the gateway does not
 *   know passes too (vLLM's `video_url` part, Groq's `browser_search` tool): an
 *   OpenAI-compatible server may take it; the Anthropic and Gemini translators answer a 400
 *   naming it. A known `type` must have its documented shape.
 * - Which roles may carry which parts (OpenAI allows only text in system, developer and tool
 *   messages) and value ranges (temperature 0..2) are the provider's to judge: its 400 comes
 *   back as the client's error, which no breaker counts.
 *
 * Nesting depth is bounded before the schema runs (src/http/validate-chat.ts); the body
 * size by `server.body_limit_bytes`.
 */
import {
  anyObject,
  arrayOf,
  boolean,
  byKind,
  integer,
  nonEmptyString,
  nullable,
  nullish,
  number,
  object,
  oneOf,
  optional,
  recordOf,
  string,
  tagged,
  type Check,
} from '../core/json-check.ts';

/** OpenAI's limit on `tools` ("A max of 128 functions are supported"). */
export const MAX_TOOLS = 128;

// ---- content -------------------------------------------------------------------------------

const part = tagged(
  'type',
  {
    text: object({ text: string }),
    refusal: object({ refusal: string }),
    image_url: object({ image_url: object({ url: string, detail: optional(string) }) }),
    input_audio: object({ input_audio: object({ data: string, format: string }) }),
    file: object({ file: object({ file_data: optional(string), file_id: optional(string), filename: optional(string) }) }),
  },
  { others: true },
);

/** A string, or an array of content parts. */
const content = byKind({ string, array: arrayOf(part) }, 'one of a string or an array of content parts');

// ---- messages ------------------------------------------------------------------------------

const toolCall = tagged(
  'type',
  {
    function: object({ id: string, function: object({ name: string, arguments: string }) }),
    custom: object({ id: string, custom: object({ name: string, input: string }) }),
  },
  { others: false },
);

const message = tagged(
  'role',
  {
    system: object({ content, name: optional(string) }),
    developer: object({ content, name: optional(string) }),
    user: object({ content, name: optional(string) }),
    assistant: object({
      content: nullish(content),
      name: optional(string),
      refusal: nullish(string),
      tool_calls: optional(arrayOf(toolCall)),
      function_call: nullish(object({ name: string, arguments: string })),
      audio: nullish(object({ id: string })),
    }),
    tool: object({ content, tool_call_id: string }),
    function: object({ content: nullable(string), name: string }),
  },
  { others: false },
);

// ---- tools ---------------------------------------------------------------------------------

const tool = tagged(
  'type',
  {
    function: object({
      function: object({ name: string, description: optional(string), parameters: optional(anyObject), strict: nullish(boolean) }),
    }),
    custom: object({ custom: object({ name: string, description: optional(string), format: optional(anyObject) }) }),
  },
  { others: true },
);

const toolChoice = byKind(
  {
    string: oneOf(['none', 'auto', 'required']),
    object: tagged(
      'type',
      {
        function: object({ function: object({ name: string }) }),
        custom: object({ custom: object({ name: string }) }),
        allowed_tools: object({ allowed_tools: object({ mode: oneOf(['auto', 'required']), tools: arrayOf(anyObject) }) }),
      },
      { others: true },
    ),
  },
  'one of a string or an object',
);

const responseFormat = tagged(
  'type',
  {
    text: anyObject,
    json_object: anyObject,
    json_schema: object({
      json_schema: object({ name: string, description: optional(string), schema: optional(anyObject), strict: nullish(boolean) }),
    }),
  },
  { others: true },
);

// ---- the request ---------------------------------------------------------------------------

const num = nullish(number);
const int = nullish(integer);
const text = nullish(string);
const bool = nullish(boolean);

/** The whole request. Unknown fields pass through. */
export const chatRequest: Check = object({
  model: nonEmptyString,
  messages: arrayOf(message, { min: 1 }),
  stream: bool,
  stream_options: nullish(object({ include_usage: optional(boolean), include_obfuscation: optional(boolean) })),
  temperature: num,
  top_p: num,
  presence_penalty: num,
  frequency_penalty: num,
  max_tokens: int,
  max_completion_tokens: int,
  n: int,
  seed: int,
  top_logprobs: int,
  logprobs: bool,
  logit_bias: nullish(recordOf(number)),
  stop: nullish(byKind({ string, array: arrayOf(string) }, 'one of a string or an array of strings')),
  user: optional(string),
  tools: optional(arrayOf(tool, { max: MAX_TOOLS })),
  tool_choice: optional(toolChoice),
  parallel_tool_calls: bool,
  response_format: optional(responseFormat),
  functions: optional(arrayOf(object({ name: string, description: optional(string), parameters: optional(anyObject) }))),
  function_call: optional(byKind({ string: oneOf(['none', 'auto']), object: object({ name: string }) }, 'one of a string or an object')),
  metadata: nullish(recordOf(string)),
  modalities: nullish(arrayOf(string)),
  audio: nullish(anyObject),
  prediction: nullish(anyObject),
  web_search_options: optional(anyObject),
  store: bool,
  service_tier: text,
  reasoning_effort: text,
  verbosity: text,
  prompt_cache_key: text,
  prompt_cache_retention: text,
  safety_identifier: text,
});
