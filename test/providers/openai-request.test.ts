import { describe, expect, it } from 'vitest';
import { configFromObject } from '../../src/config/load.ts';
import type { ChatRequest } from '../../src/core/openai-types.ts';
import { openaiAdapter, openaiCompatibleAdapter } from '../../src/providers/openai.ts';
import type { ProviderTarget, TranslateContext } from '../../src/providers/types.ts';

const OPENAI: ProviderTarget = { name: 'openai', type: 'openai', baseUrl: 'https://api.openai.com/v1', apiKey: 'sk-test-123' };
const OLLAMA: ProviderTarget = { name: 'ollama', type: 'openai-compatible', baseUrl: 'http://127.0.0.1:11434/v1' };
const AZURE: ProviderTarget = {
  name: 'azure',
  type: 'openai',
  baseUrl: 'https://contoso.openai.azure.com',
  apiKey: 'azure-key-1',
  azureApiVersion: '2024-10-21',
  azureDeployments: { 'gpt-4o': 'prod-gpt4o' },
};

const ctx = (target: ProviderTarget, model: string, stream: boolean): TranslateContext => ({ target, model, stream });

/** The target a config file's provider entry becomes (header names lower-cased at load). */
const configured = (provider: Record<string, unknown>): ProviderTarget =>
  configFromObject({ providers: [{ models: ['gpt-4o'], ...provider }] }, { env: {} }).providers[0].target;

// The request body of OpenAI's API reference "Create chat completion" (default example), plus tools.
function clientRequest(): ChatRequest {
  return {
    model: 'gpt-4-turbo-preview',
    messages: [
      { role: 'developer', content: 'You are a helpful assistant.' },
      { role: 'user', content: 'Hello!' },
    ],
    temperature: 0.2,
    tools: [
      {
        type: 'function',
        function: {
          name: 'get_current_weather',
          description: 'Get the current weather in a given location',
          parameters: { type: 'object', properties: { location: { type: 'string' } }, required: ['location'] },
        },
      },
    ],
    tool_choice: 'auto',
    user: 'user-1234',
  };
}

describe('openai adapter: building the upstream request', () => {
  it('posts to {baseUrl}/chat/completions with a Bearer key', () => {
    const built = openaiAdapter.buildRequest(clientRequest(), ctx(OPENAI, 'gpt-4o-mini', false));
    expect(built.method).toBe('POST');
    expect(built.url).toBe('https://api.openai.com/v1/chat/completions');
    expect(built.headers).toEqual({
      'content-type': 'application/json',
      accept: 'application/json',
      authorization: 'Bearer sk-test-123',
    });
  });

  it('passes the body through with only the model replaced', () => {
    const req = clientRequest();
    const built = openaiAdapter.buildRequest(req, ctx(OPENAI, 'gpt-4o-mini', false));
    expect(JSON.parse(built.body)).toEqual({ ...clientRequest(), model: 'gpt-4o-mini' });
    // Key order kept: model stays first, as the client sent it.
    expect(built.body.startsWith('{"model":"gpt-4o-mini","messages":[')).toBe(true);
  });

  it('does not mutate the client request', () => {
    const req = clientRequest();
    openaiAdapter.buildRequest({ ...req, stream: true }, ctx(OPENAI, 'gpt-4o-mini', true));
    expect(req).toEqual(clientRequest());
  });

  it('forces stream_options.include_usage on when streaming', () => {
    const built = openaiAdapter.buildRequest({ ...clientRequest(), stream: true }, ctx(OPENAI, 'gpt-4o-mini', true));
    const body = JSON.parse(built.body) as ChatRequest;
    expect(body.stream).toBe(true);
    expect(body.stream_options).toEqual({ include_usage: true });
    expect(built.headers.accept).toBe('text/event-stream');
  });

  it('keeps other stream_options and overrides include_usage: false', () => {
    const req: ChatRequest = { ...clientRequest(), stream: true, stream_options: { include_usage: false, include_obfuscation: false } as ChatRequest['stream_options'] };
    const body = JSON.parse(openaiAdapter.buildRequest(req, ctx(OPENAI, 'gpt-4o', true)).body) as ChatRequest;
    expect(body.stream_options).toEqual({ include_usage: true, include_obfuscation: false });
    expect(req.stream_options).toEqual({ include_usage: false, include_obfuscation: false });
  });

  it('streams when the gateway streams even if the client did not set stream', () => {
    const body = JSON.parse(openaiAdapter.buildRequest(clientRequest(), ctx(OPENAI, 'gpt-4o', true)).body) as ChatRequest;
    expect(body.stream).toBe(true);
    expect(body.stream_options).toEqual({ include_usage: true });
  });

  it('drops stream and stream_options on a non-streaming call', () => {
    const req: ChatRequest = { ...clientRequest(), stream: true, stream_options: { include_usage: true } };
    const body = JSON.parse(openaiAdapter.buildRequest(req, ctx(OPENAI, 'gpt-4o', false)).body) as Record<string, unknown>;
    expect('stream' in body).toBe(false);
    expect('stream_options' in body).toBe(false);
    expect(body.model).toBe('gpt-4o');
  });

  it('passes unknown fields through untouched', () => {
    const req: ChatRequest = { ...clientRequest(), reasoning_effort: 'low', metadata: { team: 'a' }, logit_bias: { '50256': -100 } };
    const body = JSON.parse(openaiAdapter.buildRequest(req, ctx(OPENAI, 'o3-mini', false)).body) as Record<string, unknown>;
    expect(body.reasoning_effort).toBe('low');
    expect(body.metadata).toEqual({ team: 'a' });
    expect(body.logit_bias).toEqual({ '50256': -100 });
  });

  it('adds configured headers, their names lower-cased at config load, over its defaults but never over its auth header', () => {
    const target = configured({
      name: 'openai',
      type: 'openai',
      base_url: 'https://api.openai.com/v1',
      api_key: 'sk-test-123',
      headers: { 'OpenAI-Organization': 'org-abc', 'OpenAI-Project': 'proj_1', Authorization: 'Bearer override' },
    });
    expect(openaiAdapter.buildRequest(clientRequest(), ctx(target, 'gpt-4o', false)).headers).toEqual({
      'content-type': 'application/json',
      accept: 'application/json',
      // The key's header wins (it was 'Bearer override': configured headers no longer replace it).
      authorization: 'Bearer sk-test-123',
      'openai-organization': 'org-abc',
      'openai-project': 'proj_1',
    });
  });

  it('tolerates a trailing slash on the base URL', () => {
    expect(openaiAdapter.buildRequest(clientRequest(), ctx({ ...OPENAI, baseUrl: 'https://api.openai.com/v1/' }, 'gpt-4o', false)).url).toBe(
      'https://api.openai.com/v1/chat/completions',
    );
  });
});

describe('openai-compatible adapter (Ollama, vLLM, Groq)', () => {
  it('has its own type tag', () => {
    expect(openaiAdapter.type).toBe('openai');
    expect(openaiCompatibleAdapter.type).toBe('openai-compatible');
  });

  it('sends no Authorization header when the target has no key (Ollama)', () => {
    const built = openaiCompatibleAdapter.buildRequest(clientRequest(), ctx(OLLAMA, 'llama3.2', true));
    expect(built.url).toBe('http://127.0.0.1:11434/v1/chat/completions');
    expect(built.headers).toEqual({ 'content-type': 'application/json', accept: 'text/event-stream' });
    expect(JSON.parse(built.body)).toMatchObject({ model: 'llama3.2', stream: true, stream_options: { include_usage: true } });
  });

  it('treats an empty key as no key', () => {
    expect(openaiCompatibleAdapter.buildRequest(clientRequest(), ctx({ ...OLLAMA, apiKey: '' }, 'llama3.2', false)).headers).toEqual({
      'content-type': 'application/json',
      accept: 'application/json',
    });
  });

  it("uses the provider's own /v1 base (Groq)", () => {
    const groq: ProviderTarget = { name: 'groq', type: 'openai-compatible', baseUrl: 'https://api.groq.com/openai/v1', apiKey: 'gsk_1' };
    const built = openaiCompatibleAdapter.buildRequest(clientRequest(), ctx(groq, 'llama-3.3-70b-versatile', false));
    expect(built.url).toBe('https://api.groq.com/openai/v1/chat/completions');
    expect(built.headers.authorization).toBe('Bearer gsk_1');
  });
});

describe('Azure OpenAI (azureApiVersion set)', () => {
  it('posts to the deployment URL with api-version and an api-key header', () => {
    const built = openaiAdapter.buildRequest(clientRequest(), ctx(AZURE, 'gpt-4o', true));
    expect(built.url).toBe('https://contoso.openai.azure.com/openai/deployments/prod-gpt4o/chat/completions?api-version=2024-10-21');
    expect(built.headers).toEqual({ 'content-type': 'application/json', accept: 'text/event-stream', 'api-key': 'azure-key-1' });
    expect(JSON.parse(built.body)).toMatchObject({ model: 'gpt-4o', stream: true, stream_options: { include_usage: true } });
  });

  it('uses the model name as the deployment when none is mapped', () => {
    expect(openaiAdapter.buildRequest(clientRequest(), ctx(AZURE, 'gpt-4o-mini', false)).url).toBe(
      'https://contoso.openai.azure.com/openai/deployments/gpt-4o-mini/chat/completions?api-version=2024-10-21',
    );
  });

  it('escapes the deployment and api-version into the URL', () => {
    const target: ProviderTarget = { ...AZURE, azureApiVersion: '2025-01-01-preview', azureDeployments: { x: 'my deploy/1' } };
    expect(openaiAdapter.buildRequest(clientRequest(), ctx(target, 'x', false)).url).toBe(
      'https://contoso.openai.azure.com/openai/deployments/my%20deploy%2F1/chat/completions?api-version=2025-01-01-preview',
    );
  });

  it('sends no auth header without a key (Entra ID token passed as a target header)', () => {
    const target = configured({
      name: 'azure',
      type: 'openai',
      base_url: 'https://contoso.openai.azure.com',
      api_version: '2024-10-21',
      deployments: { 'gpt-4o': 'prod-gpt4o' },
      headers: { Authorization: 'Bearer eyJ0eXAi' },
    });
    expect(openaiAdapter.buildRequest(clientRequest(), ctx(target, 'gpt-4o', false)).headers).toEqual({
      'content-type': 'application/json',
      accept: 'application/json',
      authorization: 'Bearer eyJ0eXAi',
    });
  });
});

describe('a continuation in a declared prefill mode (the request ends with the partial answer)', () => {
  const continuation = (): ChatRequest => ({
    model: 'llama3.2',
    messages: [
      { role: 'user', content: 'Tell me a story' },
      { role: 'assistant', content: 'Once upon a time' },
    ],
  });

  it('continue_final_message (vLLM): the two body fields, the messages as they are', () => {
    const built = openaiCompatibleAdapter.buildRequest(continuation(), { ...ctx(OLLAMA, 'llama3.2', true), prefill: 'continue_final_message' });
    expect(JSON.parse(built.body)).toEqual({
      model: 'llama3.2',
      messages: [
        { role: 'user', content: 'Tell me a story' },
        { role: 'assistant', content: 'Once upon a time' },
      ],
      stream: true,
      stream_options: { include_usage: true },
      continue_final_message: true,
      add_generation_prompt: false,
    });
  });

  it('prefix (DeepSeek, Mistral): "prefix": true on the last assistant message only', () => {
    const req = continuation();
    const built = openaiCompatibleAdapter.buildRequest(req, { ...ctx(OLLAMA, 'deepseek-chat', false), prefill: 'prefix' });
    expect(JSON.parse(built.body)).toEqual({
      model: 'deepseek-chat',
      messages: [
        { role: 'user', content: 'Tell me a story' },
        { role: 'assistant', content: 'Once upon a time', prefix: true },
      ],
    });
    // The client's request is not touched.
    expect(req).toEqual(continuation());
  });

  it('no mode: the body as the client request, with the assistant message and no extra field', () => {
    const built = openaiCompatibleAdapter.buildRequest(continuation(), ctx(OLLAMA, 'llama3.2', false));
    expect(JSON.parse(built.body)).toEqual({ ...continuation(), model: 'llama3.2' });
  });
});

describe('providers[].prefill in config', () => {
  const models = (provider: Record<string, unknown>) =>
    configFromObject({ providers: [{ name: 'p', base_url: 'http://127.0.0.1:8000/v1', ...provider }] }, { env: {} }).providers[0].models;

  it('a mode on the provider: every model continues in it; a model may override it', () => {
    expect(models({ type: 'openai-compatible', prefill: 'continue_final_message', models: ['a', { name: 'b', prefill: 'prefix' }, { name: 'c', prefill: false }] })).toEqual([
      { name: 'a', upstream: 'a', prefill: true, prefillMode: 'continue_final_message' },
      { name: 'b', upstream: 'b', prefill: true, prefillMode: 'prefix' },
      { name: 'c', upstream: 'c', prefill: false },
    ]);
  });

  it('true and false as before: Anthropic by default, others only when declared', () => {
    expect(models({ type: 'anthropic', models: ['claude'] })).toEqual([{ name: 'claude', upstream: 'claude', prefill: true }]);
    expect(models({ type: 'openai-compatible', models: ['a', { name: 'b', prefill: true }] })).toEqual([
      { name: 'a', upstream: 'a', prefill: false },
      { name: 'b', upstream: 'b', prefill: true },
    ]);
  });

  it('a mode on an Anthropic or Gemini provider, or an unknown mode, stops the gateway naming the field', () => {
    expect(() => models({ type: 'anthropic', prefill: 'prefix', models: ['claude'] })).toThrow(
      'providers[0].prefill: a prefill mode is for openai and openai-compatible providers; anthropic takes true or false',
    );
    expect(() => models({ type: 'google', models: [{ name: 'g', prefill: 'continue_final_message' }] })).toThrow(
      'providers[0].models[0].prefill: a prefill mode is for openai and openai-compatible providers; google takes true or false',
    );
    expect(() => models({ type: 'openai-compatible', prefill: 'vllm', models: ['a'] })).toThrow(/providers\[0\]\.prefill: /);
  });
});
