/**
 * The open-loop load generator of `npm run bench:load`: request i is sent at
 * `start + i / rate`, whether or not earlier ones were answered (a gateway that slows down
 * faces the same arrivals, as it would in production; a closed loop would slow down with it).
 * A request counts as a success when it is answered 200 with a complete body (a JSON body with
 * `"choices"`, or an SSE stream ending in `data: [DONE]`) within `timeoutMs` of being sent;
 * anything else, a timeout included, is a failure.
 *
 * Requests go through one undici Pool (keep-alive, no pipelining) whose connection cap sits
 * under the file-descriptor limit; past the cap requests wait in the pool, and that wait is
 * part of their latency. Each response is read through undici's dispatch handler API: no
 * stream object per response, so the generator's own CPU stays small next to what it measures.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Pool, type Dispatcher } from 'undici';
import type { Target } from './load.ts';
import { summarize, type LatencySummary } from './stats.ts';

export interface OpenLoopSpec extends Target {
  stream: boolean;
  /** Requests per second, on a fixed schedule. */
  rate: number;
  /** Sent first and not measured: connections open, code warms, the in-flight level builds up. */
  warmupMs: number;
  /** The measured window: requests scheduled in it are the ones reported. */
  durationMs: number;
  /** A request not answered within this many ms of being sent is a failure (kind `timeout`). */
  timeoutMs: number;
  /** The generator's connection cap (keep it under the process's file-descriptor limit). */
  maxConnections: number;
}

/**
 * Percentiles over every request of the window, a failed request counting as slower than any
 * answer: null where the percentile falls on a failed request.
 */
export interface OpenLoopPercentiles {
  p50: number | null;
  p99: number | null;
  p999: number | null;
}

export interface OpenLoopResult {
  rate: number;
  stream: boolean;
  /** Requests scheduled in the measured window (rate x duration). */
  sent: number;
  ok: number;
  failed: number;
  /** Failures of the window by kind: `timeout`, `http_502`, `ECONNRESET`, `incomplete_body`... */
  failures: Record<string, number>;
  firstFailure: string | null;
  /** Send to last byte, every request of the window (failures as +infinity), ms. */
  latency: OpenLoopPercentiles;
  /** Send to last byte over the answered requests only, ms. */
  answered: LatencySummary;
  /** Streams: send to first body byte, every request of the window (failures as +infinity), ms. */
  ttfb: OpenLoopPercentiles | null;
  /** How late each request of the window left against its schedule, ms. */
  sendLag: LatencySummary;
  /** Requests sent in all (warm-up and window). */
  totalSent: number;
  /** The generator's event-loop delay over the window, ms. */
  loopDelay: { p50: number; p99: number; max: number };
  /** CPU (user + system) of the generator over the window per request scheduled in it, µs. */
  cpuUsPerRequest: number;
  /** CPU of the generator from its first request to the end (warm-up and drain included) per request sent, µs. */
  cpuUsPerRequestWholeRun: number;
  /** Most connections the pool had open at once. */
  peakConnections: number;
  /** Schedule start to the last answer (or the give-up), ms. */
  elapsedMs: number;
}

/** Called when the measured window opens (its first request is due) and closes (its last was sent). */
export interface OpenLoopHooks {
  onOpen?: () => void;
  onClose?: () => void;
}

/**
 * Percentile `p` of `total` requests of which the answered ones' times are `answeredSorted`
 * (ascending); the failed ones rank above every answer.
 * @example allRequestsPercentile(Float64Array.of(1, 2, 3), 4, 50) // => 2 (rank 2 of 4)
 * @example allRequestsPercentile(Float64Array.of(1, 2, 3), 4, 99) // => null (rank 4 is a failure)
 */
export function allRequestsPercentile(answeredSorted: Float64Array, total: number, p: number): number | null {
  if (total === 0) return null;
  const rank = Math.max(1, Math.ceil((p * total) / 100 - 1e-9));
  return rank <= answeredSorted.length ? answeredSorted[rank - 1] : null;
}

function allRequests(answered: Float64Array, total: number): OpenLoopPercentiles {
  const sorted = Float64Array.from(answered).sort();
  return { p50: allRequestsPercentile(sorted, total, 50), p99: allRequestsPercentile(sorted, total, 99), p999: allRequestsPercentile(sorted, total, 99.9) };
}

/** What a failed request is counted as. */
export function failureKind(err: Error & { code?: string }): string {
  const code = err.code ?? err.name;
  if (code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT' || code === 'UND_ERR_CONNECT_TIMEOUT') return 'timeout';
  if (code === 'UND_ERR_DESTROYED' || code === 'UND_ERR_CLOSED') return 'timeout';
  return code || 'error';
}

const DONE_MARKER = '[DONE]';
/** Bytes of a stream's end kept to find the marker (it may be split across chunks). */
const TAIL_BYTES = 64;
/** After the last request is sent: how long past the timeout unanswered requests are waited for. */
const GIVE_UP_GRACE_MS = 2_000;

/** The measured state of the run, filled in by the exchanges. */
class Tally {
  readonly latency: Float64Array;
  readonly ttfb: Float64Array | null;
  readonly sendLag: Float64Array;
  nLatency = 0;
  nTtfb = 0;
  nLag = 0;
  ok = 0;
  failed = 0;
  settled = 0;
  readonly failures: Record<string, number> = {};
  firstFailure: string | null = null;

  constructor(measured: number, stream: boolean) {
    this.latency = new Float64Array(measured);
    this.ttfb = stream ? new Float64Array(measured) : null;
    this.sendLag = new Float64Array(measured);
  }

  fail(kind: string, detail: string): void {
    this.failed++;
    this.failures[kind] = (this.failures[kind] ?? 0) + 1;
    this.firstFailure ??= detail;
  }
}

/** One request and its response, as an undici dispatch handler. */
class Exchange implements Dispatcher.DispatchHandler {
  #status = 0;
  #firstByteAt = -1;
  #text = '';
  readonly run: Run;
  readonly measured: boolean;
  readonly sentAt: number;

  constructor(run: Run, measured: boolean, sentAt: number) {
    this.run = run;
    this.measured = measured;
    this.sentAt = sentAt;
  }

  onRequestStart(): void {
    // Nothing to do: the send time was taken when the request was dispatched.
  }

  onResponseStart(_c: Dispatcher.DispatchController, statusCode: number): void {
    this.#status = statusCode;
  }

  onResponseData(_c: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.#firstByteAt < 0) this.#firstByteAt = performance.now();
    if (!this.run.stream) this.#text += chunk.toString('latin1');
    else this.#text = (this.#text + chunk.toString('latin1')).slice(-TAIL_BYTES);
  }

  onResponseEnd(): void {
    const end = performance.now();
    this.run.settle();
    if (!this.measured) return;
    const t = this.run.tally;
    if (this.#status !== 200) return t.fail(`http_${this.#status}`, `HTTP ${this.#status}: ${this.#text.slice(0, 200)}`);
    if (end - this.sentAt > this.run.timeoutMs) return t.fail('timeout', `answered after ${(end - this.sentAt).toFixed(0)} ms`);
    const complete = this.run.stream ? this.#text.includes(DONE_MARKER) : this.#text.includes('"choices"');
    if (!complete) return t.fail('incomplete_body', `200 without ${this.run.stream ? 'data: [DONE]' : '"choices"'}: ${this.#text.slice(0, 200)}`);
    t.ok++;
    t.latency[t.nLatency++] = end - this.sentAt;
    if (t.ttfb !== null && this.#firstByteAt >= 0) t.ttfb[t.nTtfb++] = this.#firstByteAt - this.sentAt;
  }

  onResponseError(_c: Dispatcher.DispatchController, err: Error): void {
    this.run.settle();
    if (!this.measured) return;
    const elapsed = performance.now() - this.sentAt;
    const kind = elapsed > this.run.timeoutMs ? 'timeout' : failureKind(err);
    this.run.tally.fail(kind, `${kind}: ${err.message}`);
  }
}

/** The run's shared state: what the exchanges need, and the end condition. */
class Run {
  readonly tally: Tally;
  readonly stream: boolean;
  readonly timeoutMs: number;
  #total: number;
  #onAllSettled: () => void = () => undefined;

  constructor(spec: OpenLoopSpec, measured: number, total: number) {
    this.stream = spec.stream;
    this.timeoutMs = spec.timeoutMs;
    this.#total = total;
    this.tally = new Tally(measured, spec.stream);
  }

  settle(): void {
    if (++this.tally.settled === this.#total) this.#onAllSettled();
  }

  allSettled(): Promise<void> {
    if (this.tally.settled === this.#total) return Promise.resolve();
    return new Promise((resolve) => {
      this.#onAllSettled = resolve;
    });
  }
}

/**
 * Sends `rate` requests per second for `warmupMs + durationMs`, waits for the answers (at most
 * `timeoutMs` and a grace period past the last send), and reports the window.
 */
export async function runOpenLoop(spec: OpenLoopSpec, hooks: OpenLoopHooks = {}): Promise<OpenLoopResult> {
  if (!(spec.rate > 0) || !(spec.durationMs > 0) || !(spec.warmupMs >= 0) || !(spec.timeoutMs > 0)) throw new Error('runOpenLoop: rate, duration and timeout must be > 0, warm-up >= 0');
  const intervalMs = 1000 / spec.rate;
  const warmup = Math.round((spec.warmupMs * spec.rate) / 1000);
  const measured = Math.max(1, Math.round((spec.durationMs * spec.rate) / 1000));
  const total = warmup + measured;
  const run = new Run(spec, measured, total);
  const pool = new Pool(spec.origin, {
    connections: spec.maxConnections,
    pipelining: 1,
    keepAliveTimeout: 60_000,
    keepAliveMaxTimeout: 600_000,
    connectTimeout: spec.timeoutMs,
    headersTimeout: spec.timeoutMs,
    bodyTimeout: spec.timeoutMs,
  });
  const body = Buffer.from(spec.body);
  const headers = { ...spec.headers, 'content-length': String(body.length) };
  const loop = monitorEventLoopDelay({ resolution: 10 });
  let peakConnections = 0;
  const connSampler = setInterval(() => {
    peakConnections = Math.max(peakConnections, pool.stats.connected);
  }, 100);

  let cpuAtOpen: NodeJS.CpuUsage | undefined;
  let cpuWindowUs = 0;
  const open = (): void => {
    cpuAtOpen = process.cpuUsage();
    loop.enable();
    hooks.onOpen?.();
  };
  const close = (): void => {
    const cpu = process.cpuUsage(cpuAtOpen);
    cpuWindowUs = cpu.user + cpu.system;
    loop.disable();
    hooks.onClose?.();
  };

  const cpuAtStart = process.cpuUsage();
  const t0 = performance.now();
  let next = 0;
  let lastSentAt = t0;
  await new Promise<void>((scheduleDone) => {
    const pump = (): void => {
      while (next < total) {
        const due = t0 + next * intervalMs;
        const now = performance.now();
        if (due > now) break;
        if (next === warmup) open();
        if (next >= warmup) run.tally.sendLag[run.tally.nLag++] = now - due;
        pool.dispatch({ path: spec.path, method: 'POST', headers, body }, new Exchange(run, next >= warmup, now));
        lastSentAt = now;
        next++;
      }
      if (next < total) setTimeout(pump, Math.max(0, t0 + next * intervalMs - performance.now()));
      else scheduleDone();
    };
    pump();
  });
  close();

  // Every request is answered, fails or times out; a server that holds connections open past
  // that is cut off, and what is still unanswered counts as timed out.
  const giveUp = setTimeout(() => void pool.destroy().catch(() => undefined), Math.max(0, lastSentAt + spec.timeoutMs + GIVE_UP_GRACE_MS - performance.now()));
  await run.allSettled();
  const elapsedMs = performance.now() - t0;
  const cpuWholeRun = process.cpuUsage(cpuAtStart);
  clearTimeout(giveUp);
  clearInterval(connSampler);
  peakConnections = Math.max(peakConnections, pool.stats.connected);
  await pool.destroy().catch(() => undefined);

  const t = run.tally;
  const ms = (ns: number): number => ns / 1e6;
  return {
    rate: spec.rate,
    stream: spec.stream,
    sent: measured,
    ok: t.ok,
    failed: t.failed,
    failures: t.failures,
    firstFailure: t.firstFailure,
    latency: allRequests(t.latency.subarray(0, t.nLatency), measured),
    answered: summarize(t.latency.subarray(0, t.nLatency)),
    ttfb: t.ttfb === null ? null : allRequests(t.ttfb.subarray(0, t.nTtfb), measured),
    sendLag: summarize(t.sendLag.subarray(0, t.nLag)),
    totalSent: total,
    loopDelay: { p50: ms(loop.percentile(50)), p99: ms(loop.percentile(99)), max: ms(loop.max) },
    cpuUsPerRequest: cpuWindowUs / measured,
    cpuUsPerRequestWholeRun: (cpuWholeRun.user + cpuWholeRun.system) / total,
    peakConnections,
    elapsedMs,
  };
}
