import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startSimulator, type SimulatorHandle } from '../../src/simulator/index.ts';
import { GEMINI_PATH, GEMINI_STREAM_PATH, geminiBody, parseSse, post, json } from './helpers.ts';

let sim: SimulatorHandle;
beforeAll(async () => {
  sim = await startSimulator({ models: { 'gemini-pro': { completion_tokens: 6 } } });
});
afterAll(() => sim.close());
beforeEach(() => sim.reset());

const TOOLS = [
  {
    functionDeclarations: [
      { name: 'lookup', description: 'find', parameters: { type: 'OBJECT', properties: { term: { type: 'STRING' }, exact: { type: 'BOOLEAN' } }, required: ['term', 'exact'] } },
      { name: 'other', parameters: { type: 'OBJECT', properties: {} } },
    ],
  },
];

describe('Gemini generateContent', () => {
  it('answers a GenerateContentResponse with usageMetadata', async () => {
    const res = await post(sim.url, GEMINI_PATH, geminiBody({ systemInstruction: { parts: [{ text: 'Be brief' }] } }));
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/json; charset=UTF-8');
    expect(await json(res)).toEqual({
      candidates: [
        { content: { parts: [{ text: expect.stringMatching(/^Simulated reply from gemini-pro: \w+ \w+$/) }], role: 'model' }, finishReason: 'STOP', index: 0 },
      ],
      usageMetadata: { promptTokenCount: 7, candidatesTokenCount: 6, totalTokenCount: 13, promptTokensDetails: [{ modality: 'TEXT', tokenCount: 7 }] },
      modelVersion: 'gemini-pro',
      responseId: expect.any(String),
    });
  });

  it('serves /v1 as well as /v1beta and reads snake_case fields', async () => {
    const res = await post(sim.url, '/v1/models/gemini-pro:generateContent', geminiBody({ generation_config: { max_output_tokens: 2 } }));
    const body = await json(res);
    expect(body.candidates[0]).toMatchObject({ content: { parts: [{ text: 'Simulated reply' }] }, finishReason: 'MAX_TOKENS' });
  });

  it('answers a functionCall built from the declaration, the allowed one under mode ANY, text after a functionResponse', async () => {
    const call = await json(await post(sim.url, GEMINI_PATH, geminiBody({ tools: TOOLS })));
    expect(call.candidates[0].content.parts).toEqual([{ functionCall: { name: 'lookup', args: { term: 'simulated term', exact: true } } }]);
    expect(call.candidates[0].finishReason).toBe('STOP');

    const forced = await json(
      await post(sim.url, GEMINI_PATH, geminiBody({ tools: TOOLS, toolConfig: { functionCallingConfig: { mode: 'ANY', allowedFunctionNames: ['other'] } } }))
    );
    expect(forced.candidates[0].content.parts).toEqual([{ functionCall: { name: 'other', args: {} } }]);

    const none = await json(await post(sim.url, GEMINI_PATH, geminiBody({ tools: TOOLS, toolConfig: { functionCallingConfig: { mode: 'NONE' } } })));
    expect(none.candidates[0].content.parts[0].text).toMatch(/^Simulated/);

    const after = await json(
      await post(sim.url, GEMINI_PATH, {
        tools: TOOLS,
        contents: [
          { role: 'user', parts: [{ text: 'find it' }] },
          { role: 'model', parts: [{ functionCall: { name: 'lookup', args: { term: 'x', exact: true } } }] },
          { role: 'user', parts: [{ functionResponse: { name: 'lookup', response: { found: true } } }] },
        ],
      })
    );
    expect(after.candidates[0].content.parts[0].text).toMatch(/^Simulated reply from gemini-pro:/);
  });
});

describe('Gemini streamGenerateContent?alt=sse', () => {
  it('streams one chunk per token then a final chunk with finishReason and full usage, CRLF framed', async () => {
    const res = await post(sim.url, GEMINI_STREAM_PATH, geminiBody());
    expect(res.headers.get('content-type')).toBe('text/event-stream');
    const raw = await res.text();
    expect(raw.split('\r\n\r\n')).toHaveLength(6 + 1 + 1);
    const chunks = parseSse(raw).map((e) => JSON.parse(e.data));
    expect(chunks).toHaveLength(7);
    for (const c of chunks.slice(0, 6)) {
      expect(c.candidates[0].finishReason).toBeUndefined();
      expect(c.usageMetadata).toEqual({ promptTokenCount: 5, totalTokenCount: 5, promptTokensDetails: [{ modality: 'TEXT', tokenCount: 5 }] });
      expect(c.modelVersion).toBe('gemini-pro');
    }
    expect(chunks.slice(0, 6).map((c) => c.candidates[0].content.parts[0].text).join('')).toMatch(/^Simulated reply from gemini-pro: \w+ \w+$/);
    expect(chunks[6]).toEqual({
      candidates: [{ content: { parts: [{ text: '' }], role: 'model' }, finishReason: 'STOP', index: 0 }],
      usageMetadata: { promptTokenCount: 5, candidatesTokenCount: 6, totalTokenCount: 11, promptTokensDetails: [{ modality: 'TEXT', tokenCount: 5 }] },
      modelVersion: 'gemini-pro',
      responseId: chunks[0].responseId,
    });
  });

  it('streams a function call whole in one chunk', async () => {
    const chunks = parseSse(await (await post(sim.url, GEMINI_STREAM_PATH, geminiBody({ tools: TOOLS }))).text()).map((e) => JSON.parse(e.data));
    expect(chunks).toHaveLength(2);
    expect(chunks[0].candidates[0].content.parts).toEqual([{ functionCall: { name: 'lookup', args: { term: 'simulated term', exact: true } } }]);
    expect(chunks[1].candidates[0].finishReason).toBe('STOP');
  });

  it('without alt=sse the array is application/json and carries the same chunks as the SSE form', async () => {
    const res = await post(sim.url, '/v1beta/models/gemini-pro:streamGenerateContent', geminiBody());
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/json; charset=UTF-8');
    const arr = await json(res);
    const chunks = parseSse(await (await post(sim.url, GEMINI_STREAM_PATH, geminiBody())).text()).map((e) => JSON.parse(e.data));
    const strip = (c: Record<string, unknown>): Record<string, unknown> => ({ ...c, responseId: 'x' });
    expect(arr.map(strip)).toEqual(chunks.map(strip));
    expect(sim.calls().map((c) => [c.stream, c.status])).toEqual([
      [true, 200],
      [true, 200],
    ]);
  });

  it('without alt=sse, a cut fault applies to the array body as to any whole body (half sent, then the socket closes)', async () => {
    sim.setModel('gemini-pro', { completion_tokens: 6, faults: [{ type: 'cut', first_n: 1 }] });
    const res = await post(sim.url, '/v1beta/models/gemini-pro:streamGenerateContent', geminiBody());
    expect(res.status).toBe(200);
    await expect(res.text()).rejects.toThrow();
    expect(await json(await post(sim.url, '/v1beta/models/gemini-pro:streamGenerateContent', geminiBody()))).toHaveLength(7);
  });

  it('without alt=sse the stream-only faults (in_band_error, no_done) do not apply; the next fault in the list does', async () => {
    sim.setModel('gemini-pro', { faults: [{ type: 'in_band_error', kind: 'server_error' }, { type: 'no_done' }, { type: 'error', kind: 'model_overloaded' }] });
    const res = await post(sim.url, '/v1beta/models/gemini-pro:streamGenerateContent', geminiBody());
    expect(res.status).toBe(503);
    expect(sim.calls().map((c) => c.fault)).toEqual(['error']);
  });

  it('without alt=sse answers the same chunks as one JSON array', async () => {
    const res = await post(sim.url, '/v1beta/models/gemini-pro:streamGenerateContent', geminiBody());
    const arr = await json(res);
    expect(arr).toHaveLength(7);
    expect(arr[6].candidates[0].finishReason).toBe('STOP');
  });
});

describe('Gemini request validation', () => {
  const cases: Array<[string, Record<string, unknown>, string, unknown]> = [
    ['missing contents', {}, '* GenerateContentRequest.contents: contents is not specified\n', undefined],
    [
      'an unknown top-level field',
      geminiBody({ messages: [] }),
      'Invalid JSON payload received. Unknown name "messages": Cannot find field.',
      [{ '@type': 'type.googleapis.com/google.rpc.BadRequest', fieldViolations: [{ description: 'Invalid JSON payload received. Unknown name "messages": Cannot find field.' }] }],
    ],
    ['an invalid role', { contents: [{ role: 'assistant', parts: [{ text: 'x' }] }] }, 'Please use a valid role: user, model.', undefined],
    ['empty parts', { contents: [{ role: 'user', parts: [] }] }, '* GenerateContentRequest.contents[0].parts: contents.parts must not be empty.\n', undefined],
    [
      'a function call not followed by its response',
      {
        contents: [
          { role: 'user', parts: [{ text: 'x' }] },
          { role: 'model', parts: [{ functionCall: { name: 'lookup', args: {} } }] },
          { role: 'user', parts: [{ text: 'y' }] },
        ],
      },
      'Please ensure that function response turn comes immediately after a function call turn.',
      undefined,
    ],
  ];
  it.each(cases)('%s is a 400 INVALID_ARGUMENT', async (_name, body, message, details) => {
    const res = await post(sim.url, GEMINI_PATH, body);
    expect(res.status).toBe(400);
    const error: Record<string, unknown> = { code: 400, message, status: 'INVALID_ARGUMENT' };
    if (details !== undefined) error.details = details;
    expect(await json(res)).toEqual({ error });
  });

  it('restricted keys: no key is 403 PERMISSION_DENIED, a wrong key 400 API_KEY_INVALID, ?key= and x-goog-api-key both work', async () => {
    const locked = await startSimulator({ apiKeys: ['AIza-good'] });
    try {
      const none = await post(locked.url, GEMINI_PATH, geminiBody());
      expect(none.status).toBe(403);
      expect((await json(none)).error.status).toBe('PERMISSION_DENIED');
      const bad = await post(locked.url, `${GEMINI_PATH}?key=wrong`, geminiBody());
      expect(bad.status).toBe(400);
      expect((await json(bad)).error).toMatchObject({ message: 'API key not valid. Please pass a valid API key.', details: [{ reason: 'API_KEY_INVALID' }, expect.anything()] });
      expect((await post(locked.url, `${GEMINI_PATH}?key=AIza-good`, geminiBody())).status).toBe(200);
      expect((await post(locked.url, GEMINI_PATH, geminiBody(), { 'x-goog-api-key': 'AIza-good' })).status).toBe(200);
    } finally {
      await locked.close();
    }
  });

  it('a model name with a malformed percent-escape is a 404 NOT_FOUND, and the server keeps serving', async () => {
    const res = await post(sim.url, '/v1beta/models/%E0%A4%A:generateContent', geminiBody());
    expect(res.status).toBe(404);
    expect(res.headers.get('content-type')).toBe('application/json; charset=UTF-8');
    expect(await json(res)).toEqual({
      error: { code: 404, message: 'Method not found: POST /v1beta/models/%E0%A4%A:generateContent', status: 'NOT_FOUND' },
    });
    const streamed = await post(sim.url, '/v1/models/%ZZ:streamGenerateContent?alt=sse', geminiBody());
    expect(streamed.status).toBe(404);
    expect((await json(streamed)).error.status).toBe('NOT_FOUND');
    expect(sim.calls()).toEqual([]);

    const next = await post(sim.url, GEMINI_PATH, geminiBody());
    expect(next.status).toBe(200);
    expect((await json(next)).candidates[0].content.parts[0].text).toMatch(/^Simulated reply from gemini-pro:/);
  });

  it('a well-formed percent-escaped model name is decoded', async () => {
    const res = await json(await post(sim.url, '/v1beta/models/gemini%2Dpro:generateContent', geminiBody()));
    expect(res.modelVersion).toBe('gemini-pro');
  });

  it('an unknown method on a model is a 404 NOT_FOUND', async () => {
    const res = await post(sim.url, '/v1beta/models/gemini-pro:embedText', geminiBody());
    expect(res.status).toBe(404);
    expect((await json(res)).error).toMatchObject({ code: 404, status: 'NOT_FOUND' });
  });

  it('GET /v1beta/models lists the configured models', async () => {
    const body = await json(await fetch(`${sim.url}/v1beta/models`));
    expect(body.models.map((m: { name: string }) => m.name)).toEqual(['models/gemini-pro']);
  });
});
