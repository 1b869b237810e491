/**
 * The closed-loop load generator: N keep-alive connections (one undici Client each, no
 * pipelining), each sending its next request as soon as the previous response has been read
 * to the end. Concurrency is therefore exactly N in flight, whatever the server's speed, which
 * is what "throughput at 50 connections" means here (wrk's model, not an open-loop arrival rate).
 */
import { Client } from 'undici';
import { Samples, type LatencySummary } from './stats.ts';

/** One POST endpoint and the request sent to it, again and again. */
export interface Target {
  /** e.g. http://127.0.0.1:41234 */
  origin: string;
  /** e.g. /v1/chat/completions */
  path: string;
  body: string;
  headers: Record<string, string>;
}

export interface TimedLoadSpec extends Target {
  stream: boolean;
  connections: number;
  warmupMs: number;
  durationMs: number;
  /** Bound on recorded samples; the window closes early when it is reached. */
  maxSamples: number;
}

/**
 * Several targets measured in alternation: round 1 runs each target in turn (`warmupMs` of
 * unmeasured load, then its window), later rounds do the same with `roundWarmupMs`. A burst of
 * noise from other processes then lands on every target alike instead of on whichever ran at
 * that moment. Each target's windows add up to `durationMs`.
 */
export interface InterleavedLoadSpec {
  targets: readonly Target[];
  stream: boolean;
  connections: number;
  warmupMs: number;
  roundWarmupMs: number;
  rounds: number;
  durationMs: number;
  /** Bound on recorded samples per target; a target's windows end early when it is reached. */
  maxSamples: number;
}

export interface TimedLoadResult {
  connections: number;
  stream: boolean;
  /** Successful (200) responses completed inside the measurement windows. */
  completed: number;
  /** Failed or non-200 responses, warm-ups included. */
  errors: number;
  firstError: string | null;
  /** Total length of the measurement windows actually used, ms. */
  windowMs: number;
  rps: number;
  /** Request sent to last body byte read, ms. */
  latency: LatencySummary;
  /** Streams only: request sent to first body byte (the first SSE event), ms. */
  ttfb: LatencySummary | null;
  /** CPU used by this load-generator process per completed request, microseconds. */
  loadCpuUsPerRequest: number;
}

/** Called when a measurement window opens and closes (the parent samples server CPU then). */
export interface WindowHooks {
  onOpen?: (target: number) => void;
  onClose?: (target: number) => void;
}

/** Headers and body timeouts for the load generator's own connections. */
const CLIENT_TIMEOUT_MS = 15_000;

/** Opens `n` keep-alive connections' worth of clients to `origin`. */
export function openClients(origin: string, n: number): Client[] {
  const clients: Client[] = [];
  for (let i = 0; i < n; i++) {
    clients.push(new Client(origin, { pipelining: 1, keepAliveTimeout: 60_000, headersTimeout: CLIENT_TIMEOUT_MS, bodyTimeout: CLIENT_TIMEOUT_MS }));
  }
  return clients;
}

export async function closeClients(clients: readonly Client[]): Promise<void> {
  await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
}

interface OneResult {
  ok: boolean;
  /** performance.now() of the first body byte, or -1. */
  firstByteAt: number;
  error: string | null;
}

/** Sends one request and reads the whole response body. Never throws. */
async function sendOne(client: Client, t: Target): Promise<OneResult> {
  let firstByteAt = -1;
  try {
    const res = await client.request({ path: t.path, method: 'POST', headers: t.headers, body: t.body });
    for await (const _chunk of res.body) {
      if (firstByteAt < 0) firstByteAt = performance.now();
    }
    if (res.statusCode !== 200) return { ok: false, firstByteAt, error: `HTTP ${res.statusCode}` };
    return { ok: true, firstByteAt, error: null };
  } catch (err) {
    return { ok: false, firstByteAt, error: (err as Error).message };
  }
}

/** What one target has accumulated over its windows. */
class Tally {
  readonly latency: Samples;
  readonly ttfb: Samples | null;
  completed = 0;
  errors = 0;
  firstError: string | null = null;
  windowMs = 0;
  cpuUs = 0;

  constructor(maxSamples: number, stream: boolean) {
    this.latency = new Samples(maxSamples);
    this.ttfb = stream ? new Samples(maxSamples) : null;
  }

  result(connections: number, stream: boolean): TimedLoadResult {
    return {
      connections,
      stream,
      completed: this.completed,
      errors: this.errors,
      firstError: this.firstError,
      windowMs: this.windowMs,
      rps: (this.completed * 1000) / this.windowMs,
      latency: this.latency.summary(),
      ttfb: this.ttfb?.summary() ?? null,
      loadCpuUsPerRequest: this.completed > 0 ? this.cpuUs / this.completed : Number.NaN,
    };
  }
}

/**
 * One phase against one target on fresh connections: `warmupMs` unmeasured, then a window of
 * `windowMs` (shorter if the tally's sample bound is reached). A response counts when it
 * completes inside the window.
 */
async function runPhase(target: Target, connections: number, warmupMs: number, windowMs: number, tally: Tally, onOpen: () => void, onClose: () => void): Promise<void> {
  const clients = openClients(target.origin, connections);
  const t0 = performance.now();
  const windowStart = t0 + warmupMs;
  let windowEnd = windowStart + windowMs;
  let cpuAtOpen: NodeJS.CpuUsage | undefined;
  let opened = false;
  let closed = false;
  const open = (): void => {
    opened = true;
    cpuAtOpen = process.cpuUsage();
    onOpen();
  };
  const close = (): void => {
    if (closed || !opened) return;
    closed = true;
    const cpu = process.cpuUsage(cpuAtOpen);
    tally.cpuUs += cpu.user + cpu.system;
    tally.windowMs += windowEnd - windowStart;
    onClose();
  };
  const openTimer = setTimeout(open, warmupMs);
  const closeTimer = setTimeout(close, warmupMs + windowMs);

  const loop = async (client: Client): Promise<void> => {
    while (performance.now() < windowEnd) {
      const start = performance.now();
      const r = await sendOne(client, target);
      const end = performance.now();
      if (!r.ok) {
        tally.errors++;
        tally.firstError ??= r.error;
        continue;
      }
      if (end < windowStart || end > windowEnd) continue;
      tally.completed++;
      tally.latency.add(end - start);
      if (tally.ttfb !== null && r.firstByteAt >= 0) tally.ttfb.add(r.firstByteAt - start);
      if (tally.latency.full) {
        // Sample bound reached: close the window here so throughput stays consistent.
        windowEnd = end;
        clearTimeout(closeTimer);
        close();
      }
    }
  };
  try {
    await Promise.all(clients.map(loop));
  } finally {
    clearTimeout(openTimer);
    clearTimeout(closeTimer);
    close();
    await closeClients(clients);
  }
}

/** Interleaved rounds over several targets (see InterleavedLoadSpec); one result per target, in order. */
export async function runInterleavedLoad(spec: InterleavedLoadSpec, hooks: WindowHooks = {}): Promise<TimedLoadResult[]> {
  const tallies = spec.targets.map(() => new Tally(spec.maxSamples, spec.stream));
  const windowMs = spec.durationMs / spec.rounds;
  for (let round = 0; round < spec.rounds; round++) {
    for (let i = 0; i < spec.targets.length; i++) {
      if (tallies[i].latency.full) continue;
      await runPhase(
        spec.targets[i],
        spec.connections,
        round === 0 ? spec.warmupMs : spec.roundWarmupMs,
        windowMs,
        tallies[i],
        () => hooks.onOpen?.(i),
        () => hooks.onClose?.(i),
      );
    }
  }
  return tallies.map((t) => t.result(spec.connections, spec.stream));
}

/**
 * Runs `warmupMs` of unmeasured load, then measures for `durationMs` (or until `maxSamples`
 * responses were recorded). A response counts when it completes inside the window.
 */
export async function runTimedLoad(spec: TimedLoadSpec, hooks: WindowHooks = {}): Promise<TimedLoadResult> {
  const [result] = await runInterleavedLoad(
    { targets: [spec], stream: spec.stream, connections: spec.connections, warmupMs: spec.warmupMs, roundWarmupMs: 0, rounds: 1, durationMs: spec.durationMs, maxSamples: spec.maxSamples },
    hooks,
  );
  return result;
}

export interface CountedLoadResult {
  ok: number;
  errors: number;
  firstError: string | null;
  elapsedMs: number;
  /** True when the time bound stopped the run before `count` requests were sent. */
  timedOut: boolean;
}

/**
 * Sends exactly `count` requests over the given connections (each connection one in flight),
 * or fewer if `timeoutMs` passes first.
 */
export async function runCountedLoad(clients: readonly Client[], target: Target, count: number, timeoutMs: number): Promise<CountedLoadResult> {
  const t0 = performance.now();
  const deadline = t0 + timeoutMs;
  let issued = 0;
  let ok = 0;
  let errors = 0;
  let firstError: string | null = null;
  let timedOut = false;
  const loop = async (client: Client): Promise<void> => {
    while (issued < count) {
      if (performance.now() > deadline) {
        timedOut = true;
        return;
      }
      issued++;
      const r = await sendOne(client, target);
      if (r.ok) ok++;
      else {
        errors++;
        firstError ??= r.error;
      }
    }
  };
  await Promise.all(clients.map(loop));
  return { ok, errors, firstError, elapsedMs: performance.now() - t0, timedOut };
}
