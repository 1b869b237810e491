/**
 * The Anthropic Messages API wire format (POST /v1/messages, anthropic-version 2023-06-01).
 * Only what the adapter writes or reads is typed; Anthropic may add fields and block types at
 * any time (its versioning policy says so), so readers ignore what they do not know.
 *
 * @internal
 */

export interface TextBlock { type: 'text'; text: string }

export interface ImageBlock {
  type: 'image';
  source: { type: 'base64'; media_type: string; data: string } | { type: 'url'; url: string };
}

export interface DocumentBlock {
  type: 'document';
  source: { type: 'base64'; media_type: string; data: string } | { type: 'url'; url: string };
}

export interface ToolUseBlock { type: 'tool_use'; id: string; name: string; input: unknown }

export interface ToolResultBlock {
  type: 'tool_result';
  tool_use_id: string;
  content: string | Array<TextBlock | ImageBlock>;
}

export type RequestBlock = TextBlock | ImageBlock | DocumentBlock | ToolUseBlock | ToolResultBlock;

export interface MessageParam { role: 'user' | 'assistant'; content: RequestBlock[] }

export interface ToolParam { name: string; description?: string; input_schema: Record<string, unknown> }

export type ToolChoiceParam =
  | { type: 'auto'; disable_parallel_tool_use?: boolean }
  | { type: 'any'; disable_parallel_tool_use?: boolean }
  | { type: 'tool'; name: string; disable_parallel_tool_use?: boolean }
  | { type: 'none' };

export interface MessagesRequest {
  model: string;
  max_tokens: number;
  messages: MessageParam[];
  system?: string;
  tools?: ToolParam[];
  tool_choice?: ToolChoiceParam;
  temperature?: number;
  top_p?: number;
  stop_sequences?: string[];
  metadata?: { user_id: string };
  stream?: true;
}

export interface MessagesUsage {
  input_tokens?: number;
  output_tokens?: number;
  cache_creation_input_tokens?: number | null;
  cache_read_input_tokens?: number | null;
}

/** A response content block; `thinking`, server-tool blocks and future types are skipped. */
export type ResponseBlock =
  | TextBlock
  | ToolUseBlock
  | { type: string; [k: string]: unknown };

export interface MessagesResponse {
  id: string;
  type: 'message';
  role: 'assistant';
  model: string;
  content: ResponseBlock[];
  stop_reason: string | null;
  stop_sequence?: string | null;
  usage?: MessagesUsage;
}

/** `{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}`, as a body or an SSE event. */
export interface ErrorEnvelope {
  type: 'error';
  error: { type: string; message: string; details?: { error_code?: string } | null };
  request_id?: string;
}
