import { describe, expect, it } from 'vitest';
import type { ChatRequest } from '../../src/core/openai-types.ts';
import { UpstreamError } from '../../src/core/upstream-error.ts';
import { googleAdapter } from '../../src/providers/google.ts';
import { ctx, target } from '../fixtures/google/fixtures.ts';

function body(req: Partial<ChatRequest>): Record<string, unknown> {
  const full: ChatRequest = { model: 'gemini-2.5-flash', messages: [{ role: 'user', content: 'Hi' }], ...req };
  return JSON.parse(googleAdapter.buildRequest(full, ctx(false)).body);
}

function buildError(req: Partial<ChatRequest>): UpstreamError {
  try {
    body(req);
  } catch (err) {
    if (err instanceof UpstreamError) return err;
    throw err;
  }
  throw new Error('buildRequest did not throw');
}

const findTheaters = {
  type: 'function' as const,
  function: {
    name: 'find_theaters',
    description: 'find theaters based on location and optionally movie title which are is currently playing in theaters',
    parameters: {
      type: 'object',
      properties: {
        location: { type: 'string', description: 'The city and state, e.g. San Francisco, CA or a zip code e.g. 95616' },
        movie: { type: 'string', description: 'Any movie title' },
      },
      required: ['location'],
      additionalProperties: false,
    },
  },
};

describe('google request: URL and headers', () => {
  it('posts to models/{model}:generateContent on v1beta with the key in x-goog-api-key, never in the URL', () => {
    const req = googleAdapter.buildRequest({ model: 'x', messages: [{ role: 'user', content: 'Hi' }] }, ctx(false));
    expect(req.method).toBe('POST');
    expect(req.url).toBe('https://generativelanguage.googleapis.com/v1beta/models/gemini-2.5-flash:generateContent');
    expect(req.url).not.toContain('AIza');
    expect(req.headers).toEqual({ 'content-type': 'application/json', 'x-goog-api-key': 'AIza-test-key' });
  });

  it('streams from :streamGenerateContent?alt=sse', () => {
    const req = googleAdapter.buildRequest({ model: 'x', messages: [{ role: 'user', content: 'Hi' }] }, ctx(true));
    expect(req.url).toBe('https://generativelanguage.googleapis.com/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse');
  });

  it('honours googleApiVersion, a trailing slash on baseUrl, a models/ prefix and extra headers', () => {
    const t = { ...target, baseUrl: 'http://127.0.0.1:9000/', googleApiVersion: 'v1', headers: { 'x-goog-user-project': 'p1', 'x-goog-api-key': 'spoof' } };
    const req = googleAdapter.buildRequest({ model: 'x', messages: [{ role: 'user', content: 'Hi' }] }, { target: t, model: 'models/gemini-2.0-flash', stream: false });
    expect(req.url).toBe('http://127.0.0.1:9000/v1/models/gemini-2.0-flash:generateContent');
    expect(req.headers).toEqual({ 'content-type': 'application/json', 'x-goog-user-project': 'p1', 'x-goog-api-key': 'AIza-test-key' });
  });

  it('sends no key header when the target has no key', () => {
    const req = googleAdapter.buildRequest({ model: 'x', messages: [{ role: 'user', content: 'Hi' }] }, { target: { ...target, apiKey: undefined }, model: 'm', stream: false });
    expect(req.headers).toEqual({ 'content-type': 'application/json' });
  });
});

describe('google request: messages', () => {
  it('turns the function-calling cookbook conversation into Gemini contents (tool results as role user)', () => {
    expect(body({
      messages: [
        { role: 'user', content: 'Which theaters in Mountain View show Barbie movie?' },
        {
          role: 'assistant',
          content: null,
          tool_calls: [{ id: 'call_abc', type: 'function', function: { name: 'find_theaters', arguments: '{"location":"Mountain View, CA","movie":"Barbie"}' } }],
        },
        {
          role: 'tool',
          tool_call_id: 'call_abc',
          content: '{"movie":"Barbie","theaters":[{"name":"AMC Mountain View 16","address":"2000 W El Camino Real, Mountain View, CA 94040"},{"name":"Regal Edwards 14","address":"245 Castro St, Mountain View, CA 94040"}]}',
        },
        { role: 'assistant', content: ' OK. Barbie is showing in two theaters in Mountain View, CA: AMC Mountain View 16 and Regal Edwards 14.' },
        { role: 'user', content: 'Can we recommend some comedy movies on show in Mountain View?' },
      ],
      tools: [findTheaters],
    })).toEqual({
      contents: [
        { role: 'user', parts: [{ text: 'Which theaters in Mountain View show Barbie movie?' }] },
        {
          role: 'model',
          parts: [{
            functionCall: { name: 'find_theaters', args: { location: 'Mountain View, CA', movie: 'Barbie' } },
            thoughtSignature: 'skip_thought_signature_validator',
          }],
        },
        {
          role: 'user',
          parts: [{
            functionResponse: {
              name: 'find_theaters',
              response: {
                movie: 'Barbie',
                theaters: [
                  { name: 'AMC Mountain View 16', address: '2000 W El Camino Real, Mountain View, CA 94040' },
                  { name: 'Regal Edwards 14', address: '245 Castro St, Mountain View, CA 94040' },
                ],
              },
            },
          }],
        },
        { role: 'model', parts: [{ text: ' OK. Barbie is showing in two theaters in Mountain View, CA: AMC Mountain View 16 and Regal Edwards 14.' }] },
        { role: 'user', parts: [{ text: 'Can we recommend some comedy movies on show in Mountain View?' }] },
      ],
      tools: [{
        functionDeclarations: [{
          name: 'find_theaters',
          description: findTheaters.function.description,
          parametersJsonSchema: findTheaters.function.parameters,
        }],
      }],
    });
  });

  it('moves system and developer messages, in order, into systemInstruction', () => {
    expect(body({
      messages: [
        { role: 'system', content: 'You are a cat.' },
        { role: 'developer', content: [{ type: 'text', text: 'Your name is Neko.' }] },
        { role: 'user', content: 'Hello there' },
      ],
    })).toEqual({
      systemInstruction: { parts: [{ text: 'You are a cat.' }, { text: 'Your name is Neko.' }] },
      contents: [{ role: 'user', parts: [{ text: 'Hello there' }] }],
    });
  });

  it('merges parallel tool results and the user turn after them into one user content', () => {
    const out = body({
      messages: [
        { role: 'user', content: 'Weather in Paris and Rome?' },
        {
          role: 'assistant',
          content: 'Checking both.',
          tool_calls: [
            { id: 'c1', type: 'function', function: { name: 'weather', arguments: '{"city":"Paris"}' } },
            { id: 'c2', type: 'function', function: { name: 'forecast', arguments: '' } },
          ],
        },
        { role: 'tool', tool_call_id: 'c2', content: 'sunny' },
        { role: 'tool', tool_call_id: 'c1', content: [{ type: 'text', text: '[1,2]' }] },
        { role: 'user', content: 'Thanks' },
      ],
    });
    expect(out.contents).toEqual([
      { role: 'user', parts: [{ text: 'Weather in Paris and Rome?' }] },
      {
        role: 'model',
        parts: [
          { text: 'Checking both.' },
          { functionCall: { name: 'weather', args: { city: 'Paris' } }, thoughtSignature: 'skip_thought_signature_validator' },
          { functionCall: { name: 'forecast', args: {} } },
        ],
      },
      {
        role: 'user',
        parts: [
          { functionResponse: { name: 'forecast', response: { content: 'sunny' } } },
          { functionResponse: { name: 'weather', response: { content: '[1,2]' } } },
          { text: 'Thanks' },
        ],
      },
    ]);
  });

  it('sends back the thought signature a Gemini tool call carried, and no stand-in then', () => {
    const out = body({
      messages: [
        { role: 'user', content: 'Go' },
        {
          role: 'assistant',
          content: null,
          tool_calls: [
            { id: 'c1', type: 'function', function: { name: 'a', arguments: '{}' }, extra_content: { google: { thought_signature: 'CiQBjz1rX8AL' } } } as never,
            { id: 'c2', type: 'function', function: { name: 'b', arguments: 'not json' } },
          ],
        },
      ],
    });
    expect(out.contents).toEqual([
      { role: 'user', parts: [{ text: 'Go' }] },
      {
        role: 'model',
        parts: [
          { functionCall: { name: 'a', args: {} }, thoughtSignature: 'CiQBjz1rX8AL' },
          { functionCall: { name: 'b', args: { arguments: 'not json' } } },
        ],
      },
    ]);
  });

  it('maps image parts: data: URLs inline, http(s) URLs as fileData with a MIME type from the extension', () => {
    const out = body({
      messages: [{
        role: 'user',
        content: [
          { type: 'text', text: 'Compare these' },
          { type: 'image_url', image_url: { url: 'data:image/png;base64,iVBORw0KGgo=' } },
          { type: 'image_url', image_url: { url: 'https://example.com/cats/tabby.WEBP?size=large#top' } },
          { type: 'image_url', image_url: { url: 'https://example.com/render' } },
          { type: 'image_url', image_url: { url: 'https://example.com/a.gif', detail: 'low' } },
        ],
      }],
    });
    expect(out.contents).toEqual([{
      role: 'user',
      parts: [
        { text: 'Compare these' },
        { inlineData: { mimeType: 'image/png', data: 'iVBORw0KGgo=' } },
        { fileData: { mimeType: 'image/webp', fileUri: 'https://example.com/cats/tabby.WEBP?size=large#top' } },
        { fileData: { mimeType: 'image/jpeg', fileUri: 'https://example.com/render' } },
        { fileData: { mimeType: 'image/gif', fileUri: 'https://example.com/a.gif' } },
      ],
    }]);
  });

  it('maps input_audio and inline file parts to inlineData', () => {
    const out = body({
      messages: [{
        role: 'user',
        content: [
          { type: 'input_audio', input_audio: { data: 'UklGRg==', format: 'wav' } },
          { type: 'file', file: { filename: 'a.pdf', file_data: 'data:application/pdf;base64,JVBERi0=' } },
          { type: 'image_url', image_url: { url: 'data:text/plain,hi%20there' } },
        ],
      }],
    });
    expect(out.contents).toEqual([{
      role: 'user',
      parts: [
        { inlineData: { mimeType: 'audio/wav', data: 'UklGRg==' } },
        { inlineData: { mimeType: 'application/pdf', data: 'JVBERi0=' } },
        { inlineData: { mimeType: 'text/plain', data: Buffer.from('hi there').toString('base64') } },
      ],
    }]);
  });

  it('rejects a tool message whose tool_call_id no earlier assistant tool call has, naming the field', () => {
    const err = buildError({ messages: [{ role: 'user', content: 'Hi' }, { role: 'tool', tool_call_id: 'nope', content: 'x' }] });
    expect({ kind: err.kind, status: err.status, param: err.param }).toEqual({ kind: 'bad_request', status: 400, param: 'messages[1].tool_call_id' });
  });

  it('rejects content Gemini cannot take instead of dropping it', () => {
    const part = buildError({ messages: [{ role: 'user', content: [{ type: 'file', file: { file_id: 'file-123' } }] }] });
    expect({ kind: part.kind, param: part.param }).toEqual({ kind: 'bad_request', param: 'messages[0].content[0].file' });
    const image = buildError({ messages: [{ role: 'system', content: [{ type: 'image_url', image_url: { url: 'https://x/y.png' } }] }] });
    expect({ kind: image.kind, param: image.param }).toEqual({ kind: 'bad_request', param: 'messages[0].content[0]' });
    const ftp = buildError({ messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'ftp://x/y.png' } }] }] });
    expect(ftp.param).toBe('messages[0].content[0].image_url.url');
  });
});

describe('google request: tools and generation config', () => {
  it.each([
    ['none', { mode: 'NONE' }],
    ['auto', { mode: 'AUTO' }],
    ['required', { mode: 'ANY' }],
    [{ type: 'function', function: { name: 'find_theaters' } }, { mode: 'ANY', allowedFunctionNames: ['find_theaters'] }],
  ] as const)('maps tool_choice %j to functionCallingConfig %j', (choice, config) => {
    expect(body({ tools: [findTheaters], tool_choice: choice as ChatRequest['tool_choice'] }).toolConfig).toEqual({ functionCallingConfig: config });
  });

  it('sends no tools or toolConfig when the request has no tools', () => {
    expect(body({ tool_choice: 'none', tools: [] })).toEqual({ contents: [{ role: 'user', parts: [{ text: 'Hi' }] }] });
  });

  it('maps sampling options to generationConfig (max_completion_tokens wins over max_tokens)', () => {
    expect(body({
      temperature: 0.2,
      top_p: 0.9,
      max_tokens: 50,
      max_completion_tokens: 100,
      stop: 'END',
      seed: 42,
      n: 2,
      presence_penalty: 0.5,
      frequency_penalty: -0.5,
      response_format: { type: 'json_object' },
    }).generationConfig).toEqual({
      temperature: 0.2,
      topP: 0.9,
      maxOutputTokens: 100,
      stopSequences: ['END'],
      seed: 42,
      candidateCount: 2,
      presencePenalty: 0.5,
      frequencyPenalty: -0.5,
      responseMimeType: 'application/json',
    });
  });

  it('sends a json_schema response format as responseJsonSchema', () => {
    const schema = { type: 'object', properties: { name: { type: 'string' } }, required: ['name'], additionalProperties: false };
    expect(body({ max_tokens: 10, stop: ['a', 'b'], response_format: { type: 'json_schema', json_schema: { name: 'person', schema, strict: true } } }).generationConfig).toEqual({
      maxOutputTokens: 10,
      stopSequences: ['a', 'b'],
      responseMimeType: 'application/json',
      responseJsonSchema: schema,
    });
  });

  it('omits generationConfig when nothing is set (nulls included)', () => {
    expect(body({ temperature: null, max_tokens: null, stop: null, response_format: { type: 'text' } })).toEqual({
      contents: [{ role: 'user', parts: [{ text: 'Hi' }] }],
    });
  });
});

describe('google request: OpenAI shapes Gemini has no equivalent for', () => {
  // Each of these passes the gateway's edge; before, most made the translator throw (a
  // TypeError, a URIError), and an unknown response_format was silently dropped.
  it.each([
    [
      'a custom tool call',
      { messages: [{ role: 'user', content: 'x' }, { role: 'assistant', tool_calls: [{ id: 't', type: 'custom', custom: { name: 'grep', input: 'a' } }] }] },
      'messages[1].tool_calls[0].type',
      'Gemini takes function tool calls only, not "custom"',
    ],
    ['a custom tool', { tools: [findTheaters, { type: 'custom', custom: { name: 'grep' } }] }, 'tools[1].type', 'Gemini only takes function tools, not "custom"'],
    [
      'an allowed_tools tool_choice',
      { tools: [findTheaters], tool_choice: { type: 'allowed_tools', allowed_tools: { mode: 'auto', tools: [findTheaters] } } },
      'tool_choice.type',
      'Gemini cannot take a tool_choice of type "allowed_tools"',
    ],
    ['a response_format of another type', { response_format: { type: 'structural_tag' } }, 'response_format.type', 'Gemini cannot take a response_format of type "structural_tag"'],
    [
      'a data: URL with a broken %-escape',
      { messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'data:image/png,%E0%A4%A' } }] }] },
      'messages[0].content[0].image_url.url',
      'a data: URL that is not base64 must be validly %-encoded',
    ],
  ])('%s: a 400 naming the field', (_, over, param, message) => {
    const err = buildError(over as Partial<ChatRequest>);
    expect({ kind: err.kind, status: err.status, param: err.param, message: err.message }).toEqual({ kind: 'bad_request', status: 400, param, message });
  });

  it('sends tool call arguments and tool results nested deeper than a request may be as text', () => {
    const deep = '['.repeat(100_000) + ']'.repeat(100_000);
    const deepObject = `{"a":${deep}}`;
    const sent = body({
      messages: [
        { role: 'user', content: 'x' },
        { role: 'assistant', tool_calls: [{ id: 't', type: 'function', function: { name: 'f', arguments: deepObject } }] },
        { role: 'tool', tool_call_id: 't', content: deepObject },
      ],
    }) as { contents: Array<{ parts: Array<Record<string, { args?: unknown; response?: unknown }>> }> };
    expect(sent.contents[1].parts[0].functionCall.args).toEqual({ arguments: deepObject });
    expect(sent.contents[2].parts[0].functionResponse.response).toEqual({ content: deepObject });
  });
});
