/**
 * The OpenAI Chat Completions wire format: what clients send the gateway and what it answers.
 * It is also the gateway's internal lingua franca: adapters translate to and from it.
 * Only the fields the gateway reads are typed; unknown fields pass through untouched.
 */

export type Role = 'system' | 'developer' | 'user' | 'assistant' | 'tool' | 'function';

/**
 * A value of a `type`-tagged union whose tag is none the gateway knows (an OpenAI-compatible
 * server's own extension, e.g. vLLM's `video_url` part): its shape is the provider's to judge.
 */
export interface OtherTyped {
  type: string;
  [k: string]: unknown;
}

export interface TextPart { type: 'text'; text: string; [k: string]: unknown }
export interface RefusalPart { type: 'refusal'; refusal: string; [k: string]: unknown }
export interface ImagePart { type: 'image_url'; image_url: { url: string; detail?: string; [k: string]: unknown }; [k: string]: unknown }
export interface AudioPart { type: 'input_audio'; input_audio: { data: string; format: string; [k: string]: unknown }; [k: string]: unknown }
export interface FilePart { type: 'file'; file: { file_data?: string; file_id?: string; filename?: string; [k: string]: unknown }; [k: string]: unknown }
export type ContentPart = TextPart | RefusalPart | ImagePart | AudioPart | FilePart | OtherTyped;

export interface FunctionToolCall {
  id: string;
  type: 'function';
  function: { name: string; arguments: string; [k: string]: unknown };
  [k: string]: unknown;
}

/** A call of a custom (free-form input) tool. */
export interface CustomToolCall {
  id: string;
  type: 'custom';
  custom: { name: string; input: string; [k: string]: unknown };
  [k: string]: unknown;
}

/** What a response's message carries (the gateway's answers only ever hold function calls). */
export type ToolCall = FunctionToolCall;

/** What a request's assistant message may carry. */
export type RequestToolCall = FunctionToolCall | CustomToolCall;

export interface ChatMessage {
  role: Role;
  content?: string | ContentPart[] | null;
  name?: string;
  tool_calls?: RequestToolCall[];
  /** role "tool": the call this message answers */
  tool_call_id?: string;
  refusal?: string | null;
  [k: string]: unknown;
}

export interface FunctionTool {
  type: 'function';
  function: { name: string; description?: string; parameters?: Record<string, unknown>; strict?: boolean | null; [k: string]: unknown };
  [k: string]: unknown;
}

export interface CustomTool {
  type: 'custom';
  custom: { name: string; description?: string; format?: Record<string, unknown>; [k: string]: unknown };
  [k: string]: unknown;
}

export type Tool = FunctionTool | CustomTool | OtherTyped;

export interface FunctionToolChoice {
  type: 'function';
  function: { name: string; [k: string]: unknown };
  [k: string]: unknown;
}

export type ToolChoice =
  | 'none'
  | 'auto'
  | 'required'
  | FunctionToolChoice
  | { type: 'custom'; custom: { name: string; [k: string]: unknown }; [k: string]: unknown }
  | { type: 'allowed_tools'; allowed_tools: { mode: 'auto' | 'required'; tools: Array<Record<string, unknown>>; [k: string]: unknown }; [k: string]: unknown }
  | OtherTyped;

export interface JsonSchemaResponseFormat {
  type: 'json_schema';
  json_schema: { name: string; description?: string; schema?: Record<string, unknown>; strict?: boolean | null; [k: string]: unknown };
  [k: string]: unknown;
}

export type ResponseFormat =
  | { type: 'text'; [k: string]: unknown }
  | { type: 'json_object'; [k: string]: unknown }
  | JsonSchemaResponseFormat
  | OtherTyped;

/**
 * What the gateway's edge has checked (src/http/chat-schema.ts): every typed field below has
 * that type, so a translator may read it without guarding.
 */
export interface ChatRequest {
  model: string;
  messages: ChatMessage[];
  stream?: boolean | null;
  stream_options?: { include_usage?: boolean; [k: string]: unknown } | null;
  tools?: Tool[];
  tool_choice?: ToolChoice;
  parallel_tool_calls?: boolean | null;
  temperature?: number | null;
  top_p?: number | null;
  max_tokens?: number | null;
  max_completion_tokens?: number | null;
  stop?: string | string[] | null;
  seed?: number | null;
  n?: number | null;
  presence_penalty?: number | null;
  frequency_penalty?: number | null;
  response_format?: ResponseFormat;
  user?: string;
  [k: string]: unknown;
}

export type FinishReason = 'stop' | 'length' | 'tool_calls' | 'content_filter' | 'function_call';

export interface Usage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  [k: string]: unknown;
}

export interface ChatCompletion {
  id: string;
  object: 'chat.completion';
  created: number;
  model: string;
  choices: Array<{
    index: number;
    message: { role: 'assistant'; content: string | null; tool_calls?: ToolCall[]; refusal?: string | null; [k: string]: unknown };
    finish_reason: FinishReason | null;
    logprobs?: unknown;
  }>;
  usage?: Usage;
  system_fingerprint?: string | null;
  [k: string]: unknown;
}

export interface ToolCallDelta {
  index: number;
  id?: string;
  type?: 'function';
  function?: { name?: string; arguments?: string };
}

export interface ChatCompletionChunk {
  id: string;
  object: 'chat.completion.chunk';
  created: number;
  model: string;
  choices: Array<{
    index: number;
    delta: { role?: 'assistant'; content?: string | null; tool_calls?: ToolCallDelta[]; refusal?: string | null; [k: string]: unknown };
    finish_reason: FinishReason | null;
    logprobs?: unknown;
  }>;
  /** Present (with `choices: []`) on the final chunk when usage was asked for. */
  usage?: Usage | null;
  system_fingerprint?: string | null;
  [k: string]: unknown;
}

export interface ModelObject {
  id: string;
  object: 'model';
  created: number;
  owned_by: string;
}
