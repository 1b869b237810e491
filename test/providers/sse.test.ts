import { describe, expect, it } from 'vitest';
import { SseDecoder, type SseEvent } from '../../src/providers/sse.ts';

/** Feed `parts` in order, then end the body; every event the decoder produced. */
function decode(parts: Array<string | Uint8Array>): SseEvent[] {
  const decoder = new SseDecoder();
  const out: SseEvent[] = [];
  for (const part of parts) out.push(...decoder.push(part));
  out.push(...decoder.end());
  return out;
}

const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);

// A real OpenAI stream tail: two chunks and the terminator.
const OPENAI_TAIL =
  'data: {"id":"chatcmpl-1","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"Hi"},"finish_reason":null}]}\n\n' +
  'data: {"id":"chatcmpl-1","object":"chat.completion.chunk","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}\n\n' +
  'data: [DONE]\n\n';

const OPENAI_TAIL_EVENTS: SseEvent[] = [
  { event: undefined, data: '{"id":"chatcmpl-1","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"Hi"},"finish_reason":null}]}' },
  { event: undefined, data: '{"id":"chatcmpl-1","object":"chat.completion.chunk","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}' },
  { event: undefined, data: '[DONE]' },
];

describe('SseDecoder', () => {
  it('decodes LF-delimited events in one chunk', () => {
    expect(decode([OPENAI_TAIL])).toEqual(OPENAI_TAIL_EVENTS);
  });

  it('decodes CRLF line endings', () => {
    expect(decode([OPENAI_TAIL.replaceAll('\n', '\r\n')])).toEqual(OPENAI_TAIL_EVENTS);
  });

  it('decodes lone CR line endings', () => {
    expect(decode([OPENAI_TAIL.replaceAll('\n', '\r')])).toEqual(OPENAI_TAIL_EVENTS);
  });

  it('yields the same events whatever byte boundary the body is split at', () => {
    for (const eol of ['\n', '\r\n', '\r']) {
      const body = bytes(OPENAI_TAIL.replaceAll('\n', eol));
      for (let cut = 0; cut <= body.length; cut++) {
        expect(decode([body.subarray(0, cut), body.subarray(cut)]), `eol ${JSON.stringify(eol)} cut ${cut}`).toEqual(OPENAI_TAIL_EVENTS);
      }
    }
  });

  it('yields the same events when fed one byte at a time', () => {
    const body = bytes(OPENAI_TAIL.replaceAll('\n', '\r\n'));
    const parts: Uint8Array[] = [];
    for (let i = 0; i < body.length; i++) parts.push(body.subarray(i, i + 1));
    expect(decode(parts)).toEqual(OPENAI_TAIL_EVENTS);
  });

  it('reassembles a multi-byte UTF-8 character split across chunks', () => {
    const body = bytes('data: {"content":"héllo 👋"}\n\n');
    const at = body.indexOf(0xf0) + 2; // inside the 4-byte emoji
    expect(decode([body.subarray(0, at), body.subarray(at)])).toEqual([{ event: undefined, data: '{"content":"héllo 👋"}' }]);
  });

  it('ignores comment lines (keep-alives)', () => {
    expect(decode([': OPENROUTER PROCESSING\n\n', ':\n', 'data: x\n\n'])).toEqual([{ event: undefined, data: 'x' }]);
  });

  it('joins multi-line data with LF', () => {
    expect(decode(['data: first\ndata:second\ndata:  third\n\n'])).toEqual([{ event: undefined, data: 'first\nsecond\n third' }]);
  });

  it('reports event names and resets them after each event', () => {
    expect(
      decode(['event: message_start\ndata: {"type":"message_start"}\n\n', 'data: {"type":"ping"}\n\n', 'event: error\ndata: {"type":"error"}\n\n']),
    ).toEqual([
      { event: 'message_start', data: '{"type":"message_start"}' },
      { event: undefined, data: '{"type":"ping"}' },
      { event: 'error', data: '{"type":"error"}' },
    ]);
  });

  it('dispatches nothing for an event with no data lines', () => {
    expect(decode(['event: ping\n\n', 'id: 7\nretry: 100\n\n'])).toEqual([]);
  });

  it('dispatches an empty data field as an empty string', () => {
    expect(decode(['data:\n\n'])).toEqual([{ event: undefined, data: '' }]);
  });

  it('treats a field with no colon as a field with an empty value', () => {
    expect(decode(['data\n\n'])).toEqual([{ event: undefined, data: '' }]);
  });

  it('keeps colons inside the value', () => {
    expect(decode(['data: {"a":"b:c"}\n\n'])).toEqual([{ event: undefined, data: '{"a":"b:c"}' }]);
  });

  it('holds an event back until its blank line arrives', () => {
    const decoder = new SseDecoder();
    expect(decoder.push('data: one\n')).toEqual([]);
    expect(decoder.push('\n')).toEqual([{ event: undefined, data: 'one' }]);
  });

  it('flushes a final event that has no blank line after it at end()', () => {
    expect(decode(['data: a\n\ndata: [DONE]\n'])).toEqual([
      { event: undefined, data: 'a' },
      { event: undefined, data: '[DONE]' },
    ]);
    expect(decode(['data: [DONE]'])).toEqual([{ event: undefined, data: '[DONE]' }]);
    expect(decode(['event: done\r\ndata: [DONE]\r'])).toEqual([{ event: 'done', data: '[DONE]' }]);
  });

  it('produces nothing more at end() after a complete body', () => {
    const decoder = new SseDecoder();
    expect(decoder.push('data: x\n\n')).toEqual([{ event: undefined, data: 'x' }]);
    expect(decoder.end()).toEqual([]);
  });

  it('decodes a large chunk of many events in one push', () => {
    const n = 5000;
    const body = Array.from({ length: n }, (_, i) => `data: {"i":${i}}\n\n`).join('');
    const events = decode([body]);
    expect(events).toHaveLength(n);
    expect(events[n - 1]).toEqual({ event: undefined, data: `{"i":${n - 1}}` });
  });
});
