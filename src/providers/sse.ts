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
  #data: string[] = [];

  /** Decode a chunk of the body; returns the events it completed. */
  push(chunk: Uint8Array | string): SseEvent[] {
    this.#buffer += typeof chunk === 'string' ? chunk : this.#decoder.decode(chunk, { stream: true });
    const out: SseEvent[] = [];
    let start = 0;
    for (;;) {
      const nl = this.#nextLineEnd(start);
      if (nl === -1) break;
      let line = this.#buffer.slice(start, nl);
      start = nl + 1;
      if (line.endsWith('\r')) line = line.slice(0, -1);
      this.#line(line, out);
    }
    this.#buffer = this.#buffer.slice(start);
    return out;
  }

  /** The body ended: flush a final event that had no blank line after it. */
  end(): SseEvent[] {
    const out: SseEvent[] = [];
    const rest = this.#buffer + this.#decoder.decode();
    this.#buffer = '';
    if (rest.length > 0) for (const line of rest.split(/\r?\n/)) this.#line(line, out);
    this.#line('', out);
    return out;
  }

  #nextLineEnd(from: number): number {
    const lf = this.#buffer.indexOf('\n', from);
    // A lone CR also ends a line, but only if it is not the first half of a CRLF still in flight.
    const cr = this.#buffer.indexOf('\r', from);
    if (cr !== -1 && (lf === -1 || cr < lf - 1) && cr < this.#buffer.length - 1) {
      return cr;
    }
    return lf;
  }

  #line(line: string, out: SseEvent[]): void {
    if (line === '') {
      if (this.#data.length > 0) out.push({ event: this.#event, data: this.#data.join('\n') });
      this.#event = undefined;
      this.#data = [];
      return;
    }
    if (line.charCodeAt(0) === 58 /* ':' comment */) return;
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.charCodeAt(0) === 32) value = value.slice(1);
    if (field === 'data') this.#data.push(value);
    else if (field === 'event') this.#event = value;
  }
}
