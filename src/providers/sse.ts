/**
 * An incremental Server-Sent Events decoder (WHATWG event-stream rules): feed it bytes as
 * they arrive, get back complete events. Shared by every adapter's stream translator.
 */
export interface SseEvent {
  /** `event:` field; undefined when the upstream sent none (OpenAI, Gemini). */
  event: string | undefined;
  /** `data:` lines joined with "\n". */
  data: string;
}

export class SseDecoder {
  #decoder = new TextDecoder();
  #buffer = '';
  #event: string | undefined;
  /** The event's data so far: its first `data:` line as is, later lines appended after LF. */
  #data: string | undefined;

  /** Decode a chunk of the body; returns the events it completed. */
  push(chunk: Uint8Array | string): SseEvent[] {
    const buf = (this.#buffer += typeof chunk === 'string' ? chunk : this.#decoder.decode(chunk, { stream: true }));
    const out: SseEvent[] = [];
    let start = 0;
    // The next CR at or after `start` (-1: none left). Remembered across lines so a chunk of
    // many LF-only lines is scanned for CR once, not once per line.
    let cr = buf.indexOf('\r');
    for (;;) {
      if (cr !== -1 && cr < start) cr = buf.indexOf('\r', start);
      const lf = buf.indexOf('\n', start);
      let end: number;
      let next: number;
      if (cr !== -1 && (lf === -1 || cr < lf)) {
        if (cr === lf - 1) {
          end = cr; // CRLF
          next = lf + 1;
        } else if (cr === buf.length - 1) {
          break; // a CR last in the buffer may be the first half of a CRLF still in flight
        } else {
          end = cr; // lone CR
          next = cr + 1;
        }
      } else if (lf !== -1) {
        end = lf;
        next = lf + 1;
      } else {
        break;
      }
      this.#line(buf, start, end, out);
      start = next;
    }
    this.#buffer = start === 0 ? buf : buf.slice(start);
    return out;
  }

  /** The body ended: flush a final event that had no blank line after it. */
  end(): SseEvent[] {
    const out: SseEvent[] = [];
    const rest = this.#buffer + this.#decoder.decode();
    this.#buffer = '';
    if (rest.length > 0) for (const line of rest.split(/\r\n|\r|\n/)) this.#line(line, 0, line.length, out);
    this.#line('', 0, 0, out);
    return out;
  }

  /** One line: `buf` from `start` up to (not including) `end`, its terminator. */
  #line(buf: string, start: number, end: number, out: SseEvent[]): void {
    if (start === end) {
      if (this.#data !== undefined) out.push({ event: this.#event, data: this.#data });
      this.#event = undefined;
      this.#data = undefined;
      return;
    }
    // Fast path, nearly every line of every stream: `data:` and one optional space, the value
    // cut straight out of the buffer (one slice, no array, no join for a one-line event).
    if (buf.startsWith('data:', start)) {
      const from = start + 5 < end && buf.charCodeAt(start + 5) === 32 ? start + 6 : start + 5;
      this.#appendData(buf.slice(from, end));
      return;
    }
    if (buf.charCodeAt(start) === 58 /* ':' comment */) return;
    const line = buf.slice(start, end);
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.charCodeAt(0) === 32) value = value.slice(1);
    if (field === 'data') this.#appendData(value);
    else if (field === 'event') this.#event = value;
  }

  #appendData(value: string): void {
    this.#data = this.#data === undefined ? value : `${this.#data}\n${value}`;
  }
}
