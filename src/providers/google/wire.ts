/**
 * The Gemini API (generativelanguage.googleapis.com, v1beta) wire format: only the fields the
 * gateway writes or reads. JSON names are the API's camelCase ones.
 * Reference: https://ai.google.dev/api/generate-content
 */

/** One piece of a turn. Exactly one data field is set per part. */
export interface GeminiPart {
  text?: string;
  /** true on a thought summary part (thinking models with includeThoughts). */
  thought?: boolean;
  /** Opaque token a Gemini 3 model attaches to a functionCall part; it must come back with it. */
  thoughtSignature?: string;
  inlineData?: { mimeType: string; data: string };
  fileData?: { mimeType?: string; fileUri: string };
  functionCall?: { id?: string; name: string; args?: Record<string, unknown> };
  functionResponse?: { id?: string; name: string; response: Record<string, unknown> };
}

/** One turn. The API accepts only the roles "user" and "model". */
export interface GeminiContent {
  role?: 'user' | 'model';
  parts: GeminiPart[];
}

export interface GeminiFunctionDeclaration {
  name: string;
  description?: string;
  /** Full JSON Schema (what OpenAI tools carry), unlike `parameters`' OpenAPI subset. */
  parametersJsonSchema?: Record<string, unknown>;
}

export type GeminiFunctionCallingMode = 'AUTO' | 'ANY' | 'NONE';

export interface GeminiGenerationConfig {
  temperature?: number;
  topP?: number;
  maxOutputTokens?: number;
  stopSequences?: string[];
  seed?: number;
  candidateCount?: number;
  presencePenalty?: number;
  frequencyPenalty?: number;
  responseMimeType?: string;
  /** Full JSON Schema (OpenAI's json_schema.schema); exclusive with `responseSchema`. */
  responseJsonSchema?: Record<string, unknown>;
}

export interface GenerateContentRequest {
  contents: GeminiContent[];
  systemInstruction?: { parts: Array<{ text: string }> };
  tools?: Array<{ functionDeclarations: GeminiFunctionDeclaration[] }>;
  toolConfig?: { functionCallingConfig: { mode: GeminiFunctionCallingMode; allowedFunctionNames?: string[] } };
  generationConfig?: GeminiGenerationConfig;
}

/**
 * STOP, MAX_TOKENS, SAFETY, RECITATION, LANGUAGE, OTHER, BLOCKLIST, PROHIBITED_CONTENT, SPII,
 * MALFORMED_FUNCTION_CALL, IMAGE_SAFETY, ... (open set: new values appear with new models).
 */
export type GeminiFinishReason = string;

export interface GeminiCandidate {
  index?: number;
  content?: { role?: string; parts?: GeminiPart[] };
  finishReason?: GeminiFinishReason;
  finishMessage?: string;
}

export interface GeminiUsageMetadata {
  promptTokenCount?: number;
  candidatesTokenCount?: number;
  /** Thinking tokens, billed as output but not part of candidatesTokenCount. */
  thoughtsTokenCount?: number;
  cachedContentTokenCount?: number;
  totalTokenCount?: number;
}

/** A whole non-streaming answer, or one `data:` chunk of a streamGenerateContent?alt=sse stream. */
export interface GenerateContentResponse {
  candidates?: GeminiCandidate[];
  /** Set (with no candidates) when the prompt itself was blocked. */
  promptFeedback?: { blockReason?: string; blockReasonMessage?: string };
  usageMetadata?: GeminiUsageMetadata;
  modelVersion?: string;
  responseId?: string;
}

/** Google's error envelope (google.rpc.Status rendered as JSON). */
export interface GeminiErrorBody {
  error: {
    code?: number;
    message?: string;
    /** Canonical code name: INVALID_ARGUMENT, RESOURCE_EXHAUSTED, UNAVAILABLE, ... */
    status?: string;
    details?: Array<Record<string, unknown>>;
  };
}
