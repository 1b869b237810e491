/**
 * OpenAI Chat Completions request → Anthropic Messages request. Pure; runs once per attempt.
 */
import { MAX_NESTING, tooDeep } from '../../core/json-depth.ts';
import type { ChatMessage, ChatRequest, ContentPart, FunctionTool, FunctionToolCall, FunctionToolChoice, JsonSchemaResponseFormat, ResponseFormat, Tool, ToolChoice } from '../../core/openai-types.ts';
import { invalidRequest } from '../invalid-request.ts';
import type { TranslateContext, UpstreamRequest } from '../types.ts';
import type {
  ImageBlock,
  MessageParam,
  MessagesRequest,
  RequestBlock,
  TextBlock,
  ToolChoiceParam,
  ToolParam,
} from './wire.ts';

/** Anthropic requires `max_tokens`; OpenAI does not. Used when the client sent neither limit. */
const DEFAULT_MAX_TOKENS = 4096;

/** The `anthropic-version` header when the target does not pin one. */
const DEFAULT_ANTHROPIC_VERSION = '2023-06-01';

/**
 * The upstream call for one attempt: URL, headers and the translated JSON body.
 *
 * @example
 * buildAnthropicRequest(req, { target, model: 'claude-3-opus-20240229', stream: false }).url
 * // 'https://api.anthropic.com/v1/messages'
 */
export function buildAnthropicRequest(req: ChatRequest, ctx: TranslateContext): UpstreamRequest {
  const { target } = ctx;
  // Configured headers (lower-case names) after the defaults, so a target can add
  // `anthropic-beta` or replace a default; the key last, so they never override it.
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    'anthropic-version': target.anthropicVersion ?? DEFAULT_ANTHROPIC_VERSION,
    ...target.headers,
  };
  if (target.apiKey !== undefined) headers['x-api-key'] = target.apiKey;
  return {
    method: 'POST',
    url: messagesUrl(target.baseUrl),
    headers,
    body: JSON.stringify(toMessagesRequest(req, ctx.model, ctx.stream)),
  };
}

/** `{baseUrl}/v1/messages`; a base URL that already ends in `/v1` is accepted too. */
function messagesUrl(baseUrl: string): string {
  let base = baseUrl;
  while (base.endsWith('/')) base = base.slice(0, -1);
  return base.endsWith('/v1') ? `${base}/messages` : `${base}/v1/messages`;
}

/**
 * Translate the body. Throws an UpstreamError of kind `bad_request` (naming the offending
 * `param`) for input that has no Anthropic equivalent, rather than dropping part of the
 * user's prompt.
 */
export function toMessagesRequest(req: ChatRequest, model: string, stream: boolean): MessagesRequest {
  const systemParts: string[] = [];
  const messages: MessageParam[] = [];

  for (let i = 0; i < req.messages.length; i++) {
    const msg = req.messages[i];
    switch (msg.role) {
      case 'system':
      case 'developer': {
        const text = plainText(msg, i);
        if (text !== '') systemParts.push(text);
        break;
      }
      case 'user':
        append(messages, 'user', contentBlocks(msg.content, `messages[${i}].content`));
        break;
      case 'assistant':
        append(messages, 'assistant', assistantBlocks(msg, i));
        break;
      case 'tool':
        append(messages, 'user', [toolResult(msg, i)]);
        break;
      default:
        throw invalidRequest(`messages[${i}].role`, `Unsupported message role '${String(msg.role)}'.`);
    }
  }

  const instruction = req.response_format === undefined ? undefined : jsonInstruction(req.response_format);
  if (instruction !== undefined) systemParts.push(instruction);

  const out: MessagesRequest = {
    model,
    max_tokens: req.max_completion_tokens ?? req.max_tokens ?? DEFAULT_MAX_TOKENS,
    messages,
  };
  if (systemParts.length > 0) out.system = systemParts.join('\n\n');

  if (req.tools !== undefined && req.tools.length > 0) {
    out.tools = req.tools.map(toolParam);
    const choice = toolChoice(req.tool_choice, req.parallel_tool_calls ?? undefined);
    if (choice !== undefined) out.tool_choice = choice;
  }

  // OpenAI's range is 0..2, Anthropic's 0..1 (it rejects more with a 400). Clamping keeps the
  // request servable on failover; rescaling would change the meaning of common values like 0.7.
  if (req.temperature != null) out.temperature = Math.min(1, Math.max(0, req.temperature));
  if (req.top_p != null) out.top_p = req.top_p;
  if (req.stop != null) {
    const stops = typeof req.stop === 'string' ? [req.stop] : req.stop;
    if (stops.length > 0) out.stop_sequences = stops;
  }
  if (req.user !== undefined && req.user !== '') out.metadata = { user_id: req.user };
  // `seed`, `n`, penalties and logprobs have no Anthropic equivalent and are not sent.
  if (stream) out.stream = true;
  return out;
}

/** Anthropic requires user/assistant alternation: a run of same-role messages becomes one. */
function append(messages: MessageParam[], role: 'user' | 'assistant', blocks: RequestBlock[]): void {
  if (blocks.length === 0) return;
  const last = messages[messages.length - 1];
  if (last !== undefined && last.role === role) {
    for (const b of blocks) last.content.push(b);
  } else {
    messages.push({ role, content: blocks });
  }
}

/** System/developer content as one string (text parts joined). */
function plainText(msg: ChatMessage, i: number): string {
  const c = msg.content;
  if (c == null) return '';
  if (typeof c === 'string') return c;
  const texts: string[] = [];
  for (let j = 0; j < c.length; j++) {
    const part = c[j];
    if (part.type !== 'text') {
      throw invalidRequest(`messages[${i}].content[${j}].type`, `A ${msg.role} message may only hold text parts; got '${part.type}'.`);
    }
    texts.push(String(part.text));
  }
  return texts.join('\n');
}

function contentBlocks(content: ChatMessage['content'], param: string): RequestBlock[] {
  if (content == null) return [];
  if (typeof content === 'string') return content === '' ? [] : [{ type: 'text', text: content }];
  const blocks: RequestBlock[] = [];
  for (let j = 0; j < content.length; j++) {
    const block = partBlock(content[j], `${param}[${j}]`);
    if (block !== undefined) blocks.push(block);
  }
  return blocks;
}

function partBlock(part: ContentPart, param: string): RequestBlock | undefined {
  switch (part.type) {
    case 'text':
    case 'refusal': {
      // Anthropic rejects empty text blocks.
      const text = String(part.type === 'text' ? part.text : (part as { refusal?: unknown }).refusal);
      return text === '' ? undefined : { type: 'text', text };
    }
    case 'image_url': {
      const url = (part.image_url as { url?: unknown } | undefined)?.url;
      if (typeof url !== 'string') throw invalidRequest(`${param}.image_url.url`, 'image_url.url must be a string.');
      return imageBlock(url, `${param}.image_url.url`);
    }
    case 'file': {
      const data = (part.file as { file_data?: unknown } | undefined)?.file_data;
      if (typeof data !== 'string' || !data.startsWith('data:')) {
        throw invalidRequest(`${param}.file`, 'Anthropic accepts file parts only as inline file_data (a base64 data: URL).');
      }
      return { type: 'document', source: { type: 'base64', ...decodeDataUrl(data, `${param}.file.file_data`) } };
    }
    default:
      throw invalidRequest(`${param}.type`, `Content part type '${part.type}' is not supported by Anthropic.`);
  }
}

function imageBlock(url: string, param: string): ImageBlock {
  if (url.startsWith('data:')) return { type: 'image', source: { type: 'base64', ...decodeDataUrl(url, param) } };
  if (url.startsWith('https://') || url.startsWith('http://')) return { type: 'image', source: { type: 'url', url } };
  throw invalidRequest(param, 'Image URLs must be http(s) or base64 data: URLs.');
}

/** `data:image/png;base64,AAAA` → media type and payload; Anthropic takes base64 only. */
function decodeDataUrl(url: string, param: string): { media_type: string; data: string } {
  const comma = url.indexOf(',');
  const meta = comma === -1 ? '' : url.slice(5, comma);
  if (!meta.endsWith(';base64')) throw invalidRequest(param, 'data: URLs must be base64-encoded.');
  const semi = meta.indexOf(';');
  return { media_type: meta.slice(0, semi), data: url.slice(comma + 1) };
}

function assistantBlocks(msg: ChatMessage, i: number): RequestBlock[] {
  const blocks = contentBlocks(msg.content, `messages[${i}].content`);
  const calls = msg.tool_calls;
  if (calls !== undefined) {
    for (let j = 0; j < calls.length; j++) {
      const call = calls[j];
      if (call.type !== 'function') {
        throw invalidRequest(`messages[${i}].tool_calls[${j}].type`, `Anthropic takes function tool calls only, not '${call.type}'.`);
      }
      const fn = (call as FunctionToolCall).function;
      blocks.push({ type: 'tool_use', id: call.id, name: fn.name, input: toolInput(fn.arguments, i, j) });
    }
  }
  return blocks;
}

function toolInput(args: string, i: number, j: number): unknown {
  if (args === '') return {};
  const param = `messages[${i}].tool_calls[${j}].function.arguments`;
  let input: unknown;
  try {
    input = JSON.parse(args);
  } catch {
    throw invalidRequest(param, 'Tool call arguments must be valid JSON.');
  }
  // They go out inside the JSON body: arguments nested deeper than a request may be would
  // overflow its serialisation.
  if (tooDeep(input, MAX_NESTING) !== undefined) throw invalidRequest(param, `Tool call arguments may nest at most ${MAX_NESTING} levels.`);
  return input;
}

function toolResult(msg: ChatMessage, i: number): RequestBlock {
  if (typeof msg.tool_call_id !== 'string') {
    throw invalidRequest(`messages[${i}].tool_call_id`, 'A tool message needs tool_call_id.');
  }
  const c = msg.content;
  const content =
    c == null ? '' : typeof c === 'string' ? c : (contentBlocks(c, `messages[${i}].content`) as Array<TextBlock | ImageBlock>);
  return { type: 'tool_result', tool_use_id: msg.tool_call_id, content };
}

function toolParam(tool: Tool, k: number): ToolParam {
  if (tool.type !== 'function') throw invalidRequest(`tools[${k}].type`, `Anthropic takes function tools only, not '${tool.type}'.`);
  const fn = (tool as FunctionTool).function;
  const out: ToolParam = { name: fn.name, input_schema: fn.parameters ?? { type: 'object', properties: {} } };
  if (fn.description !== undefined) out.description = fn.description;
  return out;
}

function toolChoice(choice: ToolChoice | undefined, parallel: boolean | undefined): ToolChoiceParam | undefined {
  let out: Exclude<ToolChoiceParam, { type: 'none' }> | undefined;
  if (choice === 'none') return { type: 'none' };
  if (choice === 'auto') out = { type: 'auto' };
  else if (choice === 'required') out = { type: 'any' };
  else if (choice !== undefined) {
    if (choice.type !== 'function') throw invalidRequest('tool_choice.type', `Anthropic cannot take a tool_choice of type '${choice.type}'.`);
    out = { type: 'tool', name: (choice as FunctionToolChoice).function.name };
  }
  if (parallel === false) {
    out ??= { type: 'auto' };
    out.disable_parallel_tool_use = true;
  }
  return out;
}

/**
 * The classic Messages API has no JSON mode, so `response_format` becomes a system
 * instruction. It is a request, not a guarantee: the output is not validated here, which is
 * also what OpenAI's own `json_object` mode promises (valid JSON, no schema). Prefilling `{`
 * would be stronger but breaks with tools and thinking; native structured outputs are a beta
 * limited to some models, which a failover target cannot count on.
 */
function jsonInstruction(format: ResponseFormat): string | undefined {
  const tail = 'Do not wrap it in Markdown code fences and do not add any text before or after it.';
  if (format.type === 'text') return undefined;
  if (format.type === 'json_object') return `Respond only with a single valid JSON object. ${tail}`;
  if (format.type === 'json_schema') {
    const { name, description, schema } = (format as JsonSchemaResponseFormat).json_schema;
    const about = description === undefined ? '' : ` (${description})`;
    return (
      `Respond only with a single valid JSON value that conforms to the JSON Schema named "${name}"${about}:\n` +
      `${JSON.stringify(schema ?? {})}\n${tail}`
    );
  }
  throw invalidRequest('response_format.type', `Anthropic cannot take a response_format of type '${format.type}'.`);
}
