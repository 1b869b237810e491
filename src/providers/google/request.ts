import { MAX_NESTING, tooDeep } from '../../core/json-depth.ts';
import type { ChatMessage, ChatRequest, ContentPart, FunctionTool, FunctionToolCall, FunctionToolChoice, JsonSchemaResponseFormat, Tool, ToolChoice } from '../../core/openai-types.ts';
import { invalidRequest } from '../invalid-request.ts';
import type { ProviderTarget } from '../types.ts';
import type {
  GeminiContent,
  GeminiFunctionCallingMode,
  GeminiGenerationConfig,
  GeminiPart,
  GenerateContentRequest,
} from './wire.ts';

/**
 * Google's documented stand-in for a missing thought signature: Gemini 3 rejects a replayed
 * functionCall without one (400), which is every tool turn that came from another provider.
 */
const SKIP_THOUGHT_SIGNATURE = 'skip_thought_signature_validator';

/**
 * The upstream URL. The API key never goes in it (`x-goog-api-key` header) so it is never logged.
 *
 * @example
 * googleUrl({ baseUrl: 'https://generativelanguage.googleapis.com', ... }, 'gemini-2.5-flash', true)
 * // => 'https://generativelanguage.googleapis.com/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse'
 */
export function googleUrl(target: ProviderTarget, model: string, stream: boolean): string {
  const base = target.baseUrl.endsWith('/') ? target.baseUrl.slice(0, -1) : target.baseUrl;
  const name = model.startsWith('models/') ? model.slice(7) : model;
  const method = stream ? 'streamGenerateContent?alt=sse' : 'generateContent';
  return `${base}/${target.googleApiVersion ?? 'v1beta'}/models/${name}:${method}`;
}

/** Request headers: JSON, the configured extras (lower-case names), then the key (which extras never override). */
export function googleHeaders(target: ProviderTarget): Record<string, string> {
  const headers: Record<string, string> = { 'content-type': 'application/json', ...target.headers };
  if (target.apiKey !== undefined && target.apiKey !== '') headers['x-goog-api-key'] = target.apiKey;
  return headers;
}

/**
 * Translates an OpenAI chat request into a Gemini GenerateContentRequest. Throws an
 * UpstreamError of kind `bad_request` (with `param` naming the field) for input Gemini cannot
 * express, rather than dropping it.
 */
export function toGenerateContentRequest(req: ChatRequest): GenerateContentRequest {
  const { contents, system } = translateMessages(req.messages);
  const out: GenerateContentRequest = { contents };
  if (system.length > 0) out.systemInstruction = { parts: system };
  if (req.tools !== undefined && req.tools.length > 0) {
    out.tools = [{ functionDeclarations: req.tools.map(declaration) }];
    if (req.tool_choice !== undefined) out.toolConfig = { functionCallingConfig: callingConfig(req.tool_choice) };
  }
  const generationConfig = generation(req);
  if (generationConfig !== undefined) out.generationConfig = generationConfig;
  return out;
}

function translateMessages(messages: ChatMessage[]): { contents: GeminiContent[]; system: Array<{ text: string }> } {
  const contents: GeminiContent[] = [];
  const system: Array<{ text: string }> = [];
  // tool_call_id → function name: Gemini's functionResponse is matched by name, OpenAI's by id.
  const toolNames = new Map<string, string>();
  const push = (role: 'user' | 'model', parts: GeminiPart[]): void => {
    if (parts.length === 0) return;
    const last = contents[contents.length - 1];
    // Gemini wants turns to alternate, and parallel function responses in one turn.
    if (last !== undefined && last.role === role) last.parts.push(...parts);
    else contents.push({ role, parts });
  };

  for (let i = 0; i < messages.length; i++) {
    const m = messages[i];
    switch (m.role) {
      case 'system':
      case 'developer':
        for (const text of texts(m.content, `messages[${i}].content`)) system.push({ text });
        break;
      case 'user':
        push('user', userParts(m.content, i));
        break;
      case 'assistant':
        push('model', assistantParts(m, i, toolNames));
        break;
      case 'tool':
        push('user', [toolResponse(m, i, toolNames)]);
        break;
      default:
        throw invalidRequest(`messages[${i}].role`, `Gemini cannot take a message with role "${String(m.role)}"`);
    }
  }
  return { contents, system };
}

/** Text of a system/assistant/tool message; any non-text part is an error there. */
function texts(content: ChatMessage['content'], param: string): string[] {
  if (content === undefined || content === null) return [];
  if (typeof content === 'string') return content === '' ? [] : [content];
  const out: string[] = [];
  for (let j = 0; j < content.length; j++) {
    const part = content[j];
    if (part.type !== 'text') throw invalidRequest(`${param}[${j}]`, `Gemini only takes text parts here, not "${part.type}"`);
    const text = (part as { text?: unknown }).text;
    if (typeof text === 'string' && text !== '') out.push(text);
  }
  return out;
}

function userParts(content: ChatMessage['content'], i: number): GeminiPart[] {
  if (content === undefined || content === null) return [];
  if (typeof content === 'string') return content === '' ? [] : [{ text: content }];
  const parts: GeminiPart[] = [];
  for (let j = 0; j < content.length; j++) {
    const part = contentPart(content[j], `messages[${i}].content[${j}]`);
    if (part !== undefined) parts.push(part);
  }
  return parts;
}

/** The fields of OpenAI content parts this adapter reads, all untrusted. */
interface LooseParts {
  text?: unknown;
  image_url?: { url?: unknown } | string;
  input_audio?: { data?: unknown; format?: unknown };
  file?: { file_data?: unknown };
}

function contentPart(part: ContentPart, param: string): GeminiPart | undefined {
  const p = part as LooseParts;
  switch (part.type) {
    case 'text':
      return typeof p.text === 'string' && p.text !== '' ? { text: p.text } : undefined;
    case 'image_url': {
      const url = typeof p.image_url === 'string' ? p.image_url : p.image_url?.url;
      if (typeof url !== 'string') throw invalidRequest(`${param}.image_url.url`, 'image_url.url must be a string');
      return imagePart(url, `${param}.image_url.url`);
    }
    case 'input_audio': {
      const data = p.input_audio?.data;
      const format = p.input_audio?.format;
      if (typeof data !== 'string' || typeof format !== 'string') throw invalidRequest(`${param}.input_audio`, 'input_audio needs data and format');
      return { inlineData: { mimeType: `audio/${format}`, data } };
    }
    case 'file': {
      const data = p.file?.file_data;
      if (typeof data !== 'string' || !data.startsWith('data:')) {
        throw invalidRequest(`${param}.file`, 'Gemini takes a file part only as inline file_data (a data: URL), not a file_id');
      }
      return { inlineData: dataUrl(data, `${param}.file.file_data`) };
    }
    default:
      throw invalidRequest(`${param}.type`, `Gemini cannot take a "${part.type}" content part`);
  }
}

function imagePart(url: string, param: string): GeminiPart {
  if (url.startsWith('data:')) return { inlineData: dataUrl(url, param) };
  if (/^https?:\/\//i.test(url)) return { fileData: { mimeType: guessMimeType(url), fileUri: url } };
  throw invalidRequest(param, 'an image URL must be a data: URL or an http(s) URL');
}

/** `data:<mime>[;params][;base64],<payload>` → inlineData (always base64). */
function dataUrl(url: string, param: string): { mimeType: string; data: string } {
  const comma = url.indexOf(',');
  const header = comma === -1 ? url.slice(5) : url.slice(5, comma);
  const payload = comma === -1 ? '' : url.slice(comma + 1);
  const semi = header.indexOf(';');
  const mimeType = (semi === -1 ? header : header.slice(0, semi)) || 'text/plain';
  if (header.endsWith(';base64')) return { mimeType, data: payload };
  let text: string;
  try {
    text = decodeURIComponent(payload);
  } catch {
    throw invalidRequest(param, 'a data: URL that is not base64 must be validly %-encoded');
  }
  return { mimeType, data: Buffer.from(text).toString('base64') };
}

const MIME_BY_EXTENSION: Record<string, string> = {
  png: 'image/png',
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  gif: 'image/gif',
  webp: 'image/webp',
  heic: 'image/heic',
  heif: 'image/heif',
  pdf: 'application/pdf',
};

/** MIME type from the URL path's extension; image/jpeg when there is none we know. */
function guessMimeType(url: string): string {
  const end = url.search(/[?#]/);
  const path = end === -1 ? url : url.slice(0, end);
  const slash = path.lastIndexOf('/');
  const dot = path.lastIndexOf('.');
  if (dot <= slash) return 'image/jpeg';
  return MIME_BY_EXTENSION[path.slice(dot + 1).toLowerCase()] ?? 'image/jpeg';
}

function assistantParts(m: ChatMessage, i: number, toolNames: Map<string, string>): GeminiPart[] {
  const parts: GeminiPart[] = texts(m.content, `messages[${i}].content`).map((text) => ({ text }));
  const calls = m.tool_calls ?? [];
  for (let j = 0; j < calls.length; j++) {
    const call = calls[j];
    if (call.type !== 'function') throw invalidRequest(`messages[${i}].tool_calls[${j}].type`, `Gemini takes function tool calls only, not "${call.type}"`);
    const fn = (call as FunctionToolCall).function;
    toolNames.set(call.id, fn.name);
    const part: GeminiPart = { functionCall: { name: fn.name, args: argsObject(fn.arguments) } };
    const signature = thoughtSignatureOf(call as FunctionToolCall);
    // Only the first call of a step carries a signature; Gemini 3 refuses the turn without it.
    if (signature !== undefined) part.thoughtSignature = signature;
    else if (j === 0) part.thoughtSignature = SKIP_THOUGHT_SIGNATURE;
    parts.push(part);
  }
  return parts;
}

/** The signature parseResponse left on a tool call, in Google's own OpenAI-compatible spot. */
function thoughtSignatureOf(call: FunctionToolCall): string | undefined {
  const sig = (call as FunctionToolCall & { extra_content?: { google?: { thought_signature?: unknown } } }).extra_content?.google?.thought_signature;
  return typeof sig === 'string' && sig !== '' ? sig : undefined;
}

/**
 * OpenAI arguments are a JSON string; Gemini args are a JSON object. JSON nested deeper than
 * a request may be goes as text too: inside the body it would overflow its serialisation.
 */
function argsObject(args: string): Record<string, unknown> {
  if (args.trim() === '') return {};
  try {
    const parsed: unknown = JSON.parse(args);
    if (isShallowObject(parsed)) return parsed;
  } catch {
    // The model that wrote them may have emitted broken JSON; keep the text rather than lose it.
  }
  return { arguments: args };
}

function toolResponse(m: ChatMessage, i: number, toolNames: Map<string, string>): GeminiPart {
  const name = (m.tool_call_id === undefined ? undefined : toolNames.get(m.tool_call_id)) ?? (typeof m.name === 'string' ? m.name : undefined);
  if (name === undefined) {
    throw invalidRequest(`messages[${i}].tool_call_id`, `tool message answers "${String(m.tool_call_id)}", which no earlier assistant tool_call has`);
  }
  const text = texts(m.content, `messages[${i}].content`).join('');
  return { functionResponse: { name, response: responseObject(text) } };
}

/** A JSON object result goes as is; anything else (text, arrays, numbers) as {content: text}. */
function responseObject(text: string): Record<string, unknown> {
  if (text.trimStart().startsWith('{')) {
    try {
      const parsed: unknown = JSON.parse(text);
      if (isShallowObject(parsed)) return parsed;
    } catch {
      // not JSON after all: fall through to text
    }
  }
  return { content: text };
}

/** A JSON object whose nesting stays within a request's limit. */
function isShallowObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && tooDeep(v, MAX_NESTING) === undefined;
}

function declaration(tool: Tool, k: number): { name: string; description?: string; parametersJsonSchema?: Record<string, unknown> } {
  if (tool.type !== 'function') throw invalidRequest(`tools[${k}].type`, `Gemini only takes function tools, not "${tool.type}"`);
  const fn = (tool as FunctionTool).function;
  const decl: { name: string; description?: string; parametersJsonSchema?: Record<string, unknown> } = { name: fn.name };
  if (fn.description !== undefined) decl.description = fn.description;
  if (fn.parameters !== undefined) decl.parametersJsonSchema = fn.parameters;
  return decl;
}

function callingConfig(choice: ToolChoice): { mode: GeminiFunctionCallingMode; allowedFunctionNames?: string[] } {
  if (choice === 'none') return { mode: 'NONE' };
  if (choice === 'required') return { mode: 'ANY' };
  if (choice === 'auto') return { mode: 'AUTO' };
  if (choice.type !== 'function') throw invalidRequest('tool_choice.type', `Gemini cannot take a tool_choice of type "${choice.type}"`);
  return { mode: 'ANY', allowedFunctionNames: [(choice as FunctionToolChoice).function.name] };
}

function generation(req: ChatRequest): GeminiGenerationConfig | undefined {
  const g: GeminiGenerationConfig = {};
  let set = false;
  if (req.temperature != null) { g.temperature = req.temperature; set = true; }
  if (req.top_p != null) { g.topP = req.top_p; set = true; }
  const max = req.max_completion_tokens ?? req.max_tokens;
  if (max != null) { g.maxOutputTokens = max; set = true; }
  if (req.stop != null) {
    const stop = typeof req.stop === 'string' ? [req.stop] : req.stop;
    if (stop.length > 0) { g.stopSequences = stop; set = true; }
  }
  if (req.seed != null) { g.seed = req.seed; set = true; }
  if (req.n != null) { g.candidateCount = req.n; set = true; }
  if (req.presence_penalty != null) { g.presencePenalty = req.presence_penalty; set = true; }
  if (req.frequency_penalty != null) { g.frequencyPenalty = req.frequency_penalty; set = true; }
  const format = req.response_format;
  if (format !== undefined && format.type !== 'text') {
    if (format.type !== 'json_object' && format.type !== 'json_schema') {
      throw invalidRequest('response_format.type', `Gemini cannot take a response_format of type "${format.type}"`);
    }
    g.responseMimeType = 'application/json';
    set = true;
    const schema = format.type === 'json_schema' ? (format as JsonSchemaResponseFormat).json_schema.schema : undefined;
    if (schema !== undefined) g.responseJsonSchema = schema;
  }
  return set ? g : undefined;
}
