/**
 * Writes answers onto the wire: whole bodies, and paced SSE streams with the transport faults
 * (cut, stall, malformed, no_done, slow_first_token, in_band_error) applied at the right token.
 */
import type { ServerResponse } from 'node:http';
import type { Dialect, FlatHeaders, Rendered, StreamPlan } from './dialects/types.ts';
import type { Turn } from './answer.ts';
import type { SimFault } from './types.ts';

/** Timers owned by the simulator, so close() can cancel them all. */
export interface Scheduler {
  later(ms: number, fn: () => void): void;
}

export function alive(res: ServerResponse): boolean {
  return !res.destroyed && !res.writableEnded;
}

function withLength(headers: FlatHeaders, body: string): FlatHeaders {
  // writeHead freezes the header block, so Node cannot add Content-Length itself afterwards.
  return headers.concat('content-length', String(Buffer.byteLength(body)));
}

/** Sends a complete response. Returns the status sent. */
export function sendRendered(res: ServerResponse, r: Rendered): number {
  res.writeHead(r.status, withLength(r.headers, r.body));
  res.end(r.body);
  return r.status;
}

/**
 * Counts writes not yet flushed, so a cut can destroy the socket exactly after the bytes it
 * promised have left (destroy() would otherwise discard what is still buffered).
 */
class Outbox {
  readonly res: ServerResponse;
  #issued = 0;
  #flushed = 0;
  #onFlushed: (() => void) | null = null;

  constructor(res: ServerResponse) {
    this.res = res;
  }

  write(s: string): boolean {
    if (s === '') return true;
    this.#issued++;
    return this.res.write(s, this.#done);
  }

  #done = (): void => {
    this.#flushed++;
    if (this.#flushed === this.#issued && this.#onFlushed !== null) {
      const f = this.#onFlushed;
      this.#onFlushed = null;
      f();
    }
  };

  /** Destroys the socket once everything written so far is flushed. */
  cut(): void {
    const destroy = (): void => {
      this.res.socket?.destroy();
    };
    if (this.#flushed === this.#issued) destroy();
    else this.#onFlushed = destroy;
  }
}

/**
 * A non-streamed answer under a body-level fault: `cut` and `stall` send the headers and half
 * the body, `malformed` sends a truncated (invalid JSON) body, `slow_first_token` delays it.
 * `onStatus` hears the status once the status line is actually written.
 */
export function sendBody(res: ServerResponse, r: Rendered, fault: SimFault | null, scheduler: Scheduler, onStatus: (status: number) => void): void {
  if (fault !== null && fault.type === 'slow_first_token' && fault.delay_ms > 0) {
    scheduler.later(fault.delay_ms, () => {
      if (alive(res)) onStatus(sendRendered(res, r));
    });
    return;
  }
  const type = fault?.type;
  if (type === 'cut' || type === 'stall') {
    res.writeHead(r.status, withLength(r.headers, r.body));
    onStatus(r.status);
    const out = new Outbox(res);
    out.write(r.body.slice(0, r.body.length >> 1));
    if (type === 'cut') out.cut();
    return;
  }
  onStatus(sendRendered(res, type === 'malformed' ? { ...r, body: r.body.slice(0, r.body.length >> 1) } : r));
}

/** Streams `plan` at `tokensPerSecond` (0 = at once), applying `fault`. */
export class StreamPump {
  readonly #out: Outbox;
  readonly #plan: StreamPlan;
  readonly #fault: SimFault | null;
  readonly #dialect: Dialect;
  readonly #turn: Turn;
  readonly #scheduler: Scheduler;
  readonly #interval: number;
  /** Index of the delta before which the fault strikes (cut/stall/malformed). */
  readonly #faultAt: number;
  #faultDone = false;
  #i = 0;
  #t0 = 0;

  constructor(res: ServerResponse, plan: StreamPlan, fault: SimFault | null, dialect: Dialect, turn: Turn, tokensPerSecond: number, scheduler: Scheduler) {
    this.#out = new Outbox(res);
    this.#plan = plan;
    this.#fault = fault;
    this.#dialect = dialect;
    this.#turn = turn;
    this.#scheduler = scheduler;
    this.#interval = tokensPerSecond > 0 ? 1000 / tokensPerSecond : 0;
    const after =
      fault === null ? -1
      : fault.type === 'cut' || fault.type === 'stall' || fault.type === 'malformed' ? (fault.after_tokens ?? 0)
      : fault.type === 'in_band_error' ? (fault.after_tokens ?? -1)
      : -1;
    this.#faultAt = after < 0 ? -1 : Math.min(after, plan.deltas.length);
  }

  start(): void {
    const res = this.#out.res;
    const plan = this.#plan;
    res.writeHead(200, plan.headers);
    if (this.#fault?.type === 'in_band_error' && this.#fault.after_tokens === undefined) {
      const first = plan.head[0] ?? plan.deltas[0] ?? '';
      res.end(first + this.#inBandError());
      return;
    }
    if (plan.head.length > 0) this.#out.write(plan.head.join(''));
    else res.flushHeaders();
    const delay = this.#fault?.type === 'slow_first_token' ? this.#fault.delay_ms : 0;
    if (delay > 0) {
      this.#scheduler.later(delay, () => {
        this.#t0 = performance.now();
        this.#tick();
      });
    } else {
      this.#t0 = performance.now();
      this.#tick();
    }
  }

  #inBandError(): string {
    const f = this.#fault as Extract<SimFault, { type: 'in_band_error' }>;
    return this.#dialect.inBandError(f.kind, this.#turn, { message: f.message, headers: this.#out.res.req.headers });
  }

  #tick = (): void => {
    const res = this.#out.res;
    if (!alive(res)) return;
    const deltas = this.#plan.deltas;
    const now = this.#interval > 0 ? performance.now() : 0;
    let out = '';
    for (;;) {
      if (this.#i === this.#faultAt && !this.#faultDone) {
        this.#faultDone = true;
        const type = this.#fault?.type;
        if (type === 'cut') {
          this.#out.write(out);
          this.#out.cut();
          return;
        }
        if (type === 'stall') {
          // Nothing more, ever: the socket stays open until the client gives up or close().
          this.#out.write(out);
          return;
        }
        if (type === 'in_band_error') {
          res.end(out + this.#inBandError());
          return;
        }
        const bad = this.#dialect.malformed();
        for (let n = (this.#fault as Extract<SimFault, { type: 'malformed' }>).events ?? 1; n > 0; n--) out += bad;
      }
      if (this.#i >= deltas.length) break;
      if (this.#interval > 0) {
        const due = this.#t0 + this.#i * this.#interval;
        if (due > now) {
          const ok = this.#out.write(out);
          const wait = Math.max(1, Math.ceil(due - now));
          if (ok) this.#scheduler.later(wait, this.#tick);
          else res.once('drain', () => this.#scheduler.later(wait, this.#tick));
          return;
        }
      }
      out += deltas[this.#i++];
    }
    const tail = this.#fault?.type === 'no_done' ? this.#plan.tailNoDone : this.#plan.tail;
    for (const t of tail) out += t;
    res.end(out);
  };
}
