/** Shared helpers for the simulator tests: real HTTP against a simulator on 127.0.0.1:0. */
import { SseDecoder, type SseEvent } from '../../src/providers/sse.ts';

export const ANTHROPIC_HEADERS = { 'anthropic-version': '2023-06-01', 'x-api-key': 'sk-ant-test' };

export function post(base: string, path: string, body: unknown, headers: Record<string, string> = {}, signal?: AbortSignal): Promise<Response> {
  return fetch(base + path, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
    signal,
  });
}

export function openaiBody(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { model: 'gpt-4o', messages: [{ role: 'user', content: 'Say hello to the parrot' }], ...extra };
}

export function anthropicBody(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { model: 'claude-3-opus', max_tokens: 1024, messages: [{ role: 'user', content: 'Say hello to the parrot' }], ...extra };
}

export function geminiBody(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { contents: [{ role: 'user', parts: [{ text: 'Say hello to the parrot' }] }], ...extra };
}

export const GEMINI_PATH = '/v1beta/models/gemini-pro:generateContent';
export const GEMINI_STREAM_PATH = '/v1beta/models/gemini-pro:streamGenerateContent?alt=sse';

/** Parses a complete SSE body into events. */
export function parseSse(text: string): SseEvent[] {
  const d = new SseDecoder();
  return [...d.push(text), ...d.end()];
}

/** Reads a body to its end or its failure; returns what arrived and the error, if any. */
export async function readAll(res: Response): Promise<{ text: string; error: unknown }> {
  const reader = res.body!.getReader();
  const dec = new TextDecoder();
  let text = '';
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return { text, error: null };
      text += dec.decode(value, { stream: true });
    }
  } catch (error) {
    return { text, error };
  }
}

/**
 * Reads until `until(textSoFar)` holds, then waits `quietMs` more and reports whether anything
 * else arrived (used to prove a stall: the socket is open but silent).
 */
export async function readThenListen(res: Response, until: (text: string) => boolean, quietMs: number): Promise<{ text: string; more: boolean }> {
  const reader = res.body!.getReader();
  const dec = new TextDecoder();
  let text = '';
  while (!until(text)) {
    const { done, value } = await reader.read();
    if (done) return { text, more: false };
    text += dec.decode(value, { stream: true });
  }
  const quiet = new Promise<'quiet'>((r) => setTimeout(() => r('quiet'), quietMs));
  const next = await Promise.race([reader.read().then(() => 'more' as const), quiet]);
  await reader.cancel().catch(() => {});
  return { text, more: next === 'more' };
}

/** Data payloads of OpenAI/Gemini style events, JSON-parsed when possible. */
export function dataOf(events: SseEvent[]): unknown[] {
  return events.map((e) => {
    try {
      return JSON.parse(e.data);
    } catch {
      return e.data;
    }
  });
}

/** The network error code behind a failed fetch / body read (ECONNRESET, UND_ERR_SOCKET...). */
export function causeCode(err: unknown): string | undefined {
  let e = err as { code?: string; cause?: unknown } | undefined;
  for (let i = 0; i < 4 && e !== undefined; i++) {
    if (typeof e.code === 'string') return e.code;
    e = e.cause as { code?: string; cause?: unknown } | undefined;
  }
  return undefined;
}

/** `res.json()` typed loosely: tests assert the shape themselves. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function json(res: Response): Promise<any> {
  return res.json();
}
