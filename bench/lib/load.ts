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

export interface TimedLoadResult {
  connections: number;
  stream: boolean;
  /** Successful (200) responses completed inside the measurement window. */
  completed: number;
  /** Failed or non-200 responses, whole run (warm-up included). */
  errors: number;
  firstError: string | null;
  /** Length of the measurement window actually used, ms. */
  windowMs: number;
  rps: number;
  /** Request sent to last body byte read, ms. */
  latency: LatencySummary;
  /** Streams only: request sent to first body byte (the first SSE event), ms. */
  ttfb: LatencySummary | null;
  /** CPU used by this load-generator process per completed request, microseconds. */
  loadCpuUsPerRequest: number;
}

/** Called when the measurement window opens and closes (the parent samples server CPU then). */
export interface WindowHooks {
  onOpen?: () => void;
  onClose?: () => void;
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

/**
 * Runs `warmupMs` of unmeasured load, then measures for `durationMs` (or until `maxSamples`
 * responses were recorded). A response counts when it completes inside the window.
 */
export async function runTimedLoad(spec: TimedLoadSpec, hooks: WindowHooks = {}): Promise<TimedLoadResult> {
  const clients = openClients(spec.origin, spec.connections);
  const latency = new Samples(spec.maxSamples);
  const ttfb = spec.stream ? new Samples(spec.maxSamples) : null;
  const t0 = performance.now();
  const windowStart = t0 + spec.warmupMs;
  let windowEnd = windowStart + spec.durationMs;
  let errors = 0;
  let firstError: string | null = null;
  let completed = 0;
  let cpuAtOpen: NodeJS.CpuUsage | null = null;
  let cpuUsed: NodeJS.CpuUsage | null = null;
  let closed = false;

  const openTimer = setTimeout(() => {
    cpuAtOpen = process.cpuUsage();
    hooks.onOpen?.();
  }, spec.warmupMs);
  const close = (): void => {
    if (closed) return;
    closed = true;
    cpuUsed = process.cpuUsage(cpuAtOpen ?? undefined);
    hooks.onClose?.();
  };
  const closeTimer = setTimeout(close, spec.warmupMs + spec.durationMs);

  const loop = async (client: Client): Promise<void> => {
    while (performance.now() < windowEnd) {
      const start = performance.now();
      const r = await sendOne(client, spec);
      const end = performance.now();
      if (!r.ok) {
        errors++;
        firstError ??= r.error;
        continue;
      }
      if (end < windowStart || end > windowEnd) continue;
      completed++;
      latency.add(end - start);
      if (ttfb !== null && r.firstByteAt >= 0) ttfb.add(r.firstByteAt - start);
      if (latency.full) {
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
  const windowMs = windowEnd - windowStart;
  const cpu = cpuUsed as NodeJS.CpuUsage | null;
  return {
    connections: spec.connections,
    stream: spec.stream,
    completed,
    errors,
    firstError,
    windowMs,
    rps: (completed * 1000) / windowMs,
    latency: latency.summary(),
    ttfb: ttfb?.summary() ?? null,
    loadCpuUsPerRequest: cpu && completed > 0 ? (cpu.user + cpu.system) / completed : Number.NaN,
  };
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
