import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { SseEvent } from '../../src/providers/sse.ts';
import { startSimulator, type SimFault, type SimulatorHandle } from '../../src/simulator/index.ts';
import { ANTHROPIC_HEADERS, anthropicBody, GEMINI_PATH, GEMINI_STREAM_PATH, geminiBody, openaiBody, parseSse, post, readAll, readThenListen, json } from './helpers.ts';

let sim: SimulatorHandle;
beforeAll(async () => {
  sim = await startSimulator({ defaults: { completion_tokens: 6 } });
});
afterAll(() => sim.close());
beforeEach(() => sim.reset());

function eventJson(e: SseEvent): any {
  try {
    return JSON.parse(e.data);
  } catch {
    return undefined;
  }
}

interface Dialect {
  name: string;
  model: string;
  request(stream: boolean): Promise<Response>;
  /** Is this event a content delta? */
  isContent(e: SseEvent): boolean;
  /** Is this event the provider's end-of-stream marker? */
  isEnd(e: SseEvent): boolean;
}

const DIALECTS: Dialect[] = [
  {
    name: 'openai',
    model: 'gpt-4o',
    request: (stream) => post(sim.url, '/v1/chat/completions', openaiBody({ stream })),
    isContent: (e) => typeof eventJson(e)?.choices?.[0]?.delta?.content === 'string' && eventJson(e).choices[0].delta.content !== '',
    isEnd: (e) => e.data === '[DONE]',
  },
  {
    name: 'anthropic',
    model: 'claude-3-opus',
    request: (stream) => post(sim.url, '/v1/messages', anthropicBody({ stream }), ANTHROPIC_HEADERS),
    isContent: (e) => e.event === 'content_block_delta' && eventJson(e) !== undefined,
    isEnd: (e) => e.event === 'message_stop',
  },
  {
    name: 'google',
    model: 'gemini-pro',
    request: (stream) => post(sim.url, stream ? GEMINI_STREAM_PATH : GEMINI_PATH, geminiBody()),
    isContent: (e) => typeof eventJson(e)?.candidates?.[0]?.content?.parts?.[0]?.text === 'string' && eventJson(e).candidates[0].content.parts[0].text !== '',
    isEnd: (e) => eventJson(e)?.candidates?.[0]?.finishReason !== undefined,
  },
];

function setFault(d: Dialect, fault: SimFault): void {
  sim.setModel(d.model, { faults: [fault] });
}

describe.each(DIALECTS)('stream faults, $name', (d) => {
  it('cut: the socket dies after after_tokens deltas, with no end marker', async () => {
    setFault(d, { type: 'cut', after_tokens: 2 });
    const res = await d.request(true);
    expect(res.status).toBe(200);
    const { text, error } = await readAll(res);
    expect(error).toBeInstanceOf(TypeError);
    const events = parseSse(text);
    expect(events.filter(d.isContent)).toHaveLength(2);
    expect(events.some(d.isEnd)).toBe(false);
    expect(sim.calls()).toEqual([{ at: expect.any(Number), provider: d.name, model: d.model, stream: true, fault: 'cut', status: 200 }]);
  });

  it('stall: after after_tokens deltas the socket stays open and silent', async () => {
    setFault(d, { type: 'stall', after_tokens: 3 });
    const res = await d.request(true);
    const { text, more } = await readThenListen(res, (t) => parseSse(t).filter(d.isContent).length >= 3, 60);
    expect(more).toBe(false);
    expect(parseSse(text).filter(d.isContent)).toHaveLength(3);
  });

  it('malformed: one event with invalid JSON after after_tokens deltas, then the stream completes', async () => {
    setFault(d, { type: 'malformed', after_tokens: 2 });
    const { text, error } = await readAll(await d.request(true));
    expect(error).toBeNull();
    const events = parseSse(text).filter((e) => e.data !== '[DONE]');
    const broken = events.findIndex((e) => eventJson(e) === undefined);
    expect(events.filter((e) => eventJson(e) === undefined)).toHaveLength(1);
    expect(events.slice(0, broken).filter(d.isContent)).toHaveLength(2);
    expect(parseSse(text).filter(d.isContent)).toHaveLength(6);
    expect(parseSse(text).some(d.isEnd)).toBe(true);
  });

  it('no_done: all content, a clean end, and no end marker', async () => {
    setFault(d, { type: 'no_done' });
    const { text, error } = await readAll(await d.request(true));
    expect(error).toBeNull();
    const events = parseSse(text);
    expect(events.filter(d.isContent)).toHaveLength(6);
    expect(events.some(d.isEnd)).toBe(false);
  });

  it('slow_first_token: headers at once, the first content delta after delay_ms', async () => {
    setFault(d, { type: 'slow_first_token', delay_ms: 150 });
    const t0 = performance.now();
    const res = await d.request(true);
    const headersAt = performance.now() - t0;
    await readThenListen(res, (t) => parseSse(t).some(d.isContent), 0);
    const firstContentAt = performance.now() - t0;
    // Held back with the content, headers could not arrive before the 150 ms delay.
    expect(headersAt).toBeLessThan(140);
    expect(firstContentAt).toBeGreaterThanOrEqual(145);
  });

  it('no_done and in_band_error do not apply to a non-streamed call; the next fault in the list does', async () => {
    sim.setModel(d.model, { faults: [{ type: 'no_done' }, { type: 'in_band_error', kind: 'server_error' }, { type: 'error', kind: 'server_error' }] });
    expect((await d.request(false)).status).toBe(500);
    sim.setModel(d.model, { faults: [{ type: 'no_done' }] });
    expect((await d.request(false)).status).toBe(200);
    expect(sim.calls().map((c) => c.fault)).toEqual(['error', null]);
  });
});

describe('in_band_error: a 200 stream, its first event, then the provider in-band error', () => {
  it('OpenAI: role chunk then data: {"error":...}, no [DONE]', async () => {
    sim.setModel('gpt-4o', { faults: [{ type: 'in_band_error', kind: 'server_error' }] });
    const res = await post(sim.url, '/v1/chat/completions', openaiBody({ stream: true }));
    expect(res.status).toBe(200);
    const events = parseSse(await res.text()).map(eventJson);
    expect(events).toHaveLength(2);
    expect(events[0].choices[0].delta.role).toBe('assistant');
    expect(events[1]).toEqual({ error: { message: expect.stringContaining('The server had an error'), type: 'server_error', param: null, code: null } });
  });

  it('Anthropic: message_start then event: error with overloaded_error', async () => {
    sim.setModel('claude-3-opus', { faults: [{ type: 'in_band_error', kind: 'model_overloaded' }] });
    const events = parseSse(await (await post(sim.url, '/v1/messages', anthropicBody({ stream: true }), ANTHROPIC_HEADERS)).text());
    expect(events.map((e) => e.event)).toEqual(['message_start', 'error']);
    expect(JSON.parse(events[1].data)).toEqual({ type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } });
  });

  it('after_tokens: that many content deltas (paced as the stream is), then the error', async () => {
    sim.setModel('gemini-pro', { tokens_per_second: 100, faults: [{ type: 'in_band_error', kind: 'server_error', after_tokens: 2 }] });
    const events = parseSse(await (await post(sim.url, GEMINI_STREAM_PATH, geminiBody())).text()).map(eventJson);
    expect(events.map((e) => (e.error ? `error ${e.error.code}` : e.candidates[0].content.parts[0].text))).toEqual(['Simulated', ' reply', 'error 500']);
  });

  it('Gemini: a content chunk then an error object chunk', async () => {
    sim.setModel('gemini-pro', { faults: [{ type: 'in_band_error', kind: 'rate_limit' }] });
    const events = parseSse(await (await post(sim.url, GEMINI_STREAM_PATH, geminiBody())).text()).map(eventJson);
    expect(events).toHaveLength(2);
    expect(events[0].candidates[0].content.parts[0].text).toBe('Simulated');
    expect(events[1].error).toMatchObject({ code: 429, status: 'RESOURCE_EXHAUSTED' });
  });
});

describe('body faults on non-streamed calls', () => {
  it('cut: 200 headers, half the body, then the socket dies', async () => {
    sim.setModel('gpt-4o', { faults: [{ type: 'cut' }] });
    const res = await post(sim.url, '/v1/chat/completions', openaiBody());
    expect(res.status).toBe(200);
    const { text, error } = await readAll(res);
    expect(error).toBeInstanceOf(TypeError);
    expect(text.startsWith('{"id":"chatcmpl-')).toBe(true);
    expect(Number(res.headers.get('content-length'))).toBeGreaterThan(text.length);
  });

  it('stall: 200 headers and half the body, then silence', async () => {
    sim.setModel('gpt-4o', { faults: [{ type: 'stall' }] });
    const res = await post(sim.url, '/v1/chat/completions', openaiBody());
    const { text, more } = await readThenListen(res, (t) => t.length > 0, 60);
    expect(more).toBe(false);
    expect(text.length).toBeLessThan(Number(res.headers.get('content-length')));
  });

  it('malformed: a complete 200 whose body is not valid JSON', async () => {
    sim.setModel('claude-3-opus', { faults: [{ type: 'malformed' }] });
    const res = await post(sim.url, '/v1/messages', anthropicBody(), ANTHROPIC_HEADERS);
    expect(res.status).toBe(200);
    await expect(json(res)).rejects.toThrow(SyntaxError);
  });

  it('slow_first_token: the whole body after delay_ms', async () => {
    sim.setModel('gemini-pro', { faults: [{ type: 'slow_first_token', delay_ms: 80 }] });
    const t0 = performance.now();
    const res = await post(sim.url, GEMINI_PATH, geminiBody());
    expect(performance.now() - t0).toBeGreaterThanOrEqual(75);
    expect((await json(res)).candidates).toHaveLength(1);
  });
});
