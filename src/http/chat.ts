import type { IncomingMessage, ServerResponse } from 'node:http';
import { StreamAssembler } from '../cache/assemble-stream.ts';
import { cacheKey, type CachedAnswer, type ResponseCache } from '../cache/response-cache.ts';
import { triggersMatch, type ErrorKind } from '../core/error-kinds.ts';
import { GatewayError, modelNotFound } from '../core/openai-error.ts';
import type { ChatCompletion, ChatCompletionChunk, ChatRequest } from '../core/openai-types.ts';
import { isLocalLimit, toUpstreamError, UpstreamError } from '../core/upstream-error.ts';
import { createDecider } from '../engine/decide.ts';
import type { AttemptPayload, Engine, RunHandle, RunOutput } from '../engine/engine.ts';
import { LOCAL_RETRY_AFTER_S } from '../engine/local-limit.ts';
import { buildPlan, type PlanStep } from '../engine/plan.ts';
import { defaultPolicy } from '../policy/defaults.ts';
import { parsePolicy } from '../policy/parse-headers.ts';
import type { PolicyContext, RequestPolicy } from '../policy/types.ts';
import { continuesPrefill } from '../providers/capabilities.ts';
import type { StreamResult } from '../providers/transport.ts';
import type { BreakerActor } from '../../machines/breaker.machine.ts';
import { readJsonBody } from './body.ts';
import { sendError, toGatewayError, upstreamToGateway } from './errors.ts';
import { outcomeHeaders } from './outcome-headers.ts';
import type { OpenStreams } from './open-streams.ts';
import { SseWriter } from './sse-writer.ts';
import { validateChatRequest } from './validate-chat.ts';

export interface ChatHandlerOptions {
  engine: Engine;
  policy: PolicyContext;
  cache: ResponseCache;
  bodyLimitBytes: number;
  attemptTimeoutMs: number;
  ttftTimeoutMs: number;
  streamIdleTimeoutMs: number;
  /** model -> the cheaper model served when a breaker is open and the request asked for `degraded`. */
  degraded: Record<string, string>;
  /** Committed streams, cut with an in-band error when shutdown's grace period ends. */
  streams: OpenStreams;
  /** Request ids: a process prefix plus a counter (cheap, unique per process). */
  nextRequestId: () => string;
  rng?: () => number;
}

interface Prepared {
  request: ChatRequest;
  policy: RequestPolicy;
  steps: PlanStep[];
  decide: Decider;
  /** The requested target's breaker for this request's config, when known up front (default policy). */
  primary?: BreakerActor;
}

type Decider = ReturnType<typeof createDecider>;

/** POST /v1/chat/completions. The hot path: kept free of express so its cost is only its own. */
export function createChatHandler(opts: ChatHandlerOptions) {
  const { engine } = opts;
  const rng = opts.rng ?? Math.random;

  const defaults = defaultPolicy(opts.policy.defaults);
  const defaultPlans = new Map<string, { steps: PlanStep[]; decide: Decider; primary: BreakerActor }>();
  const decider = (policy: RequestPolicy, steps: PlanStep[]): Decider =>
    createDecider({ policy, steps, targets: engine.targets, rng });

  function prepare(body: unknown, headers: IncomingMessage['headers']): Prepared {
    const request = validateChatRequest(body);
    const route = engine.routes.resolve(request.model);
    if (!route) throw modelNotFound(request.model);
    const policy = parsePolicy(headers, opts.policy);
    if (policy === defaults) {
      // The common request (no policy headers): its chain and decider depend only on the
      // model, and the models are the configured ones, so this cache is bounded by the config.
      let plan = defaultPlans.get(request.model);
      if (plan === undefined) {
        const steps = buildPlan(engine.routes, route, request.model, policy, false);
        // The default breaker of a target is never evicted: one lookup per model, not per request.
        const primary = engine.targets.byKey(steps[0].key).breakerFor(undefined);
        defaultPlans.set(request.model, (plan = { steps, decide: decider(policy, steps), primary }));
      }
      return { request, policy, steps: plan.steps, decide: plan.decide, primary: plan.primary };
    }
    const steps = buildPlan(engine.routes, route, request.model, policy, headers['x-failover-providers'] !== undefined);
    const adv = policy.failover.advanced;
    if (adv !== undefined) {
      engine.ensureProbes(steps, { intervalMs: adv.healthCheckIntervalMs, failureThreshold: adv.failureThreshold, successThreshold: adv.successThreshold });
    }
    return { request, policy, steps, decide: decider(policy, steps) };
  }

  function start(p: Prepared, requestId: string, steps: PlanStep[] = p.steps, decide: Decider = p.decide): RunHandle {
    const stream = p.request.stream === true;
    const payload: AttemptPayload = {
      request: p.request,
      stream,
      requestId,
      breakerConfig: p.policy.breaker,
      activity: { lastChunkAt: 0, sentAttempt: 0, sentAt: -1 },
    };
    return engine.run(payload, {
      steps,
      deadlineMs: p.policy.requestTimeoutMs,
      attemptTimeoutMs: stream ? opts.ttftTimeoutMs : opts.attemptTimeoutMs,
      streamIdleTimeoutMs: opts.streamIdleTimeoutMs,
      decide,
    });
  }

  return async function handleChat(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const requestId = opts.nextRequestId();
    let p: Prepared;
    try {
      p = prepare(await readJsonBody(req, opts.bodyLimitBytes), req.headers);
    } catch (err) {
      sendError(res, toGatewayError(err), { 'x-request-id': requestId });
      return;
    }
    const key = p.policy.breakerFallback === 'cache' ? cacheKey(p.request) : undefined;

    let handle = start(p, requestId);
    let out = await settle(res, handle);
    if (out === undefined) return;
    // The requested target's breaker for this request's config: the one its first attempt asked.
    const primary = p.primary ?? engine.targets.byKey(p.steps[0].key).breakerFor(p.policy.breaker);
    let headers = outcomeHeaders(out, requestId, primary, engine.now());

    const firstSkip = out.attempts[0]?.skipped;
    // (A local limit is the gateway's own refusal, not the breaker's: it takes no breaker fallback.)
    if (!out.ok && ((firstSkip !== undefined && !isLocalLimit(firstSkip)) || out.error.skipped === 'circuit_open') && headers['x-circuit-status'] !== 'closed') {
      // The requested target's breaker refused it and nothing else answered: the breaker fallback.
      const fallback = p.policy.breakerFallback;
      if (fallback === 'cache' && key !== undefined) {
        const hit = opts.cache.get(key);
        if (hit) {
          // Who wrote the body, not this request's route: the headers and the body agree.
          headers['x-provider'] = hit.provider;
          headers['x-model'] = hit.model;
          if (hit.qualityReduced) headers['x-quality-reduced'] = 'true';
          headers['x-cache'] = 'STALE';
          headers['x-cache-age'] = String(Math.max(0, Math.round((engine.now() - hit.at) / 1000)));
          await sendCompletion(res, hit.completion, headers, p.request);
          return;
        }
      } else if (fallback === 'degraded') {
        const model = opts.degraded[p.request.model];
        const route = model === undefined ? undefined : engine.routes.resolve(model);
        if (route) {
          handle = start(p, requestId, [route], decider(p.policy, [route]));
          out = await settle(res, handle);
          if (out === undefined) return;
          headers = outcomeHeaders(out, requestId, primary, engine.now());
          if (out.ok) headers['x-degraded-model'] = model!;
        }
      }
      if (!out.ok) {
        sendError(res, circuitOpenError(p, headers), headers);
        return;
      }
    }

    if (!out.ok) {
      sendError(res, finalError(out), headers);
      return;
    }
    const result = out.result;
    if (result.type === 'completion') {
      if (key !== undefined) opts.cache.set(key, cachedAnswer(out.step, result.completion, engine.now()));
      if (result.raw !== undefined) {
        headers['content-type'] = 'application/json';
        headers['content-length'] = String(result.raw.byteLength);
        res.writeHead(200, headers);
        res.end(result.raw);
        return;
      }
      await sendCompletion(res, result.completion, headers, p.request);
      return;
    }
    const assembler = key !== undefined ? new StreamAssembler() : undefined;
    // Capability-aware: only a later step of the chain that continues a prefill can resume a
    // broken stream. Without one, the pump keeps no copy of the answer.
    const served = out.stepIndex;
    const resume: Continue | undefined = p.steps.some((s, i) => i > served && continuesPrefill(s.target.type)) ? async (partial, kind) => {
      // The step must take this failure like any failover: its trigger (or the chain's) names the
      // kind, so a content_filter refusal mid-stream is not finished by another provider.
      const step = p.steps.find((s, i) => i > served && continuesPrefill(s.target.type) && triggersMatch(s.trigger ?? p.policy.failover.triggers, kind));
      if (step === undefined) return undefined;
      const messages = [...p.request.messages, { role: 'assistant' as const, content: partial.trimEnd() }];
      const next = start({ ...p, request: { ...p.request, messages } }, requestId, [step], decider(p.policy, [step]));
      const done = await settle(res, next);
      return done?.ok && done.result.type === 'stream' ? { result: done.result, handle: next } : undefined;
    } : undefined;
    const complete = await pipeStream(res, result, headers, p.request.stream_options?.include_usage === true, handle, opts.streamIdleTimeoutMs, assembler, resume, opts.streams);
    const whole = complete ? assembler?.completion() : undefined;
    if (whole !== undefined && key !== undefined) opts.cache.set(key, cachedAnswer(out.step, whole, engine.now()));
  };
}

/** An answer to cache, with the step that produced it (a continued stream keeps its first step, as its headers did). */
function cachedAnswer(step: PlanStep, completion: ChatCompletion, at: number): CachedAnswer {
  return { completion, provider: step.provider, model: step.model, qualityReduced: step.reduceQuality === true, at };
}

/** Waits for the request's outcome; undefined when the client left first (the request is cancelled). */
async function settle(res: ServerResponse, handle: RunHandle): Promise<RunOutput | undefined> {
  const onClose = (): void => {
    if (!res.writableFinished) handle.cancel();
  };
  res.once('close', onClose);
  try {
    const out = await handle.done;
    return res.destroyed ? undefined : out;
  } catch (err) {
    sendError(res, toGatewayError(err));
    return undefined;
  } finally {
    res.off('close', onClose);
  }
}

/**
 * The error for a request that failed. When its last step was skipped (a fallback's open
 * breaker, an unhealthy target, the gateway's own limit), the last real upstream failure
 * says more; when nothing was attempted at all, the gateway's own limit if that is what
 * stopped it (503 gateway_overloaded, Retry-After), else no target was available.
 */
function finalError(out: Extract<RunOutput, { ok: false }>): GatewayError {
  if (out.error.skipped === undefined) return upstreamToGateway(out.error);
  let local: string | undefined;
  for (let i = out.attempts.length - 1; i >= 0; i--) {
    const a = out.attempts[i];
    if (!a.skipped && a.kind !== undefined) {
      return upstreamToGateway(new UpstreamError({ kind: a.kind, message: `${a.provider}/${a.model} failed (${a.kind}); then ${out.error.message}` }));
    }
    if (local === undefined && isLocalLimit(a.skipped)) local = `${a.provider}/${a.model}`;
  }
  if (local !== undefined) {
    const why = isLocalLimit(out.error.skipped) ? out.error.message : `${local} is at the gateway's limit`;
    return new GatewayError(503, `The gateway is overloaded: ${why}. Retry after ${LOCAL_RETRY_AFTER_S} s.`, {
      type: 'api_error',
      code: 'gateway_overloaded',
      headers: { 'retry-after': String(LOCAL_RETRY_AFTER_S) },
    });
  }
  return new GatewayError(503, `No target could take the request: ${out.error.message}.`, { type: 'api_error', code: 'no_available_target' });
}

function circuitOpenError(p: Prepared, headers: Record<string, string>): GatewayError {
  const retryAfter = headers['x-retry-after'];
  const primary = p.steps[0];
  const extra: Record<string, string> = retryAfter !== undefined ? { 'retry-after': retryAfter } : {};
  return new GatewayError(
    503,
    `The circuit breaker for ${primary.provider}/${primary.model} is ${headers['x-circuit-status']} and no fallback could serve the request.` +
      (retryAfter !== undefined ? ` Retry after ${retryAfter} s.` : ''),
    { type: 'api_error', code: 'circuit_open', headers: extra },
  );
}

async function sendCompletion(res: ServerResponse, completion: ChatCompletion, headers: Record<string, string>, request: ChatRequest): Promise<void> {
  if (request.stream === true) {
    // A cached (non-streamed) answer to a streaming request: replay it as one content chunk.
    headers['content-type'] = 'text/event-stream; charset=utf-8';
    headers['cache-control'] = 'no-cache';
    res.writeHead(200, headers);
    const w = new SseWriter(res, request.stream_options?.include_usage === true);
    await w.write(completionToChunks(completion));
    w.done();
    return;
  }
  const body = JSON.stringify(completion);
  headers['content-type'] = 'application/json';
  headers['content-length'] = String(Buffer.byteLength(body));
  res.writeHead(200, headers);
  res.end(body);
}

function completionToChunks(c: ChatCompletion): ChatCompletionChunk[] {
  const base = { id: c.id, object: 'chat.completion.chunk' as const, created: c.created, model: c.model };
  const choice = c.choices[0];
  const chunks: ChatCompletionChunk[] = [
    {
      ...base,
      choices: [
        {
          index: 0,
          delta: {
            role: 'assistant',
            content: choice?.message.content ?? null,
            ...(choice?.message.tool_calls ? { tool_calls: choice.message.tool_calls.map((t, i) => ({ index: i, ...t })) } : {}),
          },
          finish_reason: null,
        },
      ],
    },
    { ...base, choices: [{ index: 0, delta: {}, finish_reason: choice?.finish_reason ?? 'stop' }] },
  ];
  if (c.usage) chunks.push({ ...base, choices: [], usage: c.usage });
  return chunks;
}

/** The in-band error of a stream cut by shutdown. */
const SHUTTING_DOWN = {
  message: 'The gateway is shutting down: this stream was cut before it finished. Retry the request.',
  type: 'api_error',
  code: 'gateway_shutting_down',
};

/** Shutdown's request to stop a stream: the upstream result being read is aborted. */
interface Cut {
  requested: boolean;
  result: StreamResult;
}

/** A stream whose upstream broke (with `kind`) after its commit point can ask for a continuation of `partial`. */
type Continue = (partial: string, kind: ErrorKind) => Promise<{ result: StreamResult; handle: RunHandle } | undefined>;

/**
 * Pipes a committed stream to the client. If the upstream breaks or stalls and `resume` can
 * find a prefill-capable fallback, the answer so far is continued there and the client gets
 * one whole stream; otherwise the stream ends with an in-band error and no [DONE]. So does a
 * stream that `streams` cuts at shutdown. Resolves true when the client got a complete stream.
 */
async function pipeStream(
  res: ServerResponse,
  result: StreamResult,
  headers: Record<string, string>,
  includeUsage: boolean,
  handle: RunHandle,
  idleMs: number,
  assembler: StreamAssembler | undefined,
  resume: Continue | undefined,
  streams: OpenStreams,
): Promise<boolean> {
  headers['content-type'] = 'text/event-stream; charset=utf-8';
  headers['cache-control'] = 'no-cache';
  headers['x-accel-buffering'] = 'no';
  res.writeHead(200, headers);
  const writer = new SseWriter(res, includeUsage);
  const cut: Cut = { requested: false, result };
  streams.add(res, () => {
    cut.requested = true;
    cut.result.abort();
  });
  try {
    // What the client got so far, kept only when a continuation could use it.
    const seen: Seen | undefined = resume && { partial: '', toolCalls: false, id: undefined };
    let error = await pumpSegment(res, writer, result, handle, idleMs, assembler, seen, false, cut);
    if (error === undefined) return true;
    if (error === 'gone') return false;
    if (error !== 'shutdown' && resume !== undefined && seen !== undefined && !seen.toolCalls && seen.partial.trim() !== '') {
      const next = await resume(seen.partial, error.kind);
      if (res.destroyed || cut.requested) {
        next?.result.abort();
        next?.handle.cancel();
        if (!res.destroyed) writer.fail(SHUTTING_DOWN);
        return false;
      }
      if (next !== undefined) {
        error = await pumpSegment(res, writer, next.result, next.handle, idleMs, assembler, seen, true, cut);
        if (error === undefined) return true;
        if (error === 'gone') return false;
      }
    }
    if (error === 'shutdown') {
      writer.fail(SHUTTING_DOWN);
      return false;
    }
    const g = upstreamToGateway(error);
    writer.fail({ message: `upstream stream failed after it started: ${g.message}`, type: g.type, code: g.code });
    return false;
  } finally {
    streams.delete(res);
  }
}

/** What the client has been sent so far. */
interface Seen {
  partial: string;
  toolCalls: boolean;
  id: string | undefined;
}

/**
 * Writes one upstream stream's chunks; a continuation's are rewritten to the first stream's
 * id and lose their role-only opener. Returns undefined when it completed (and [DONE] was
 * written), 'gone' when the client left, 'shutdown' when shutdown cut it (the request is
 * abandoned, not held against the target), or the upstream failure.
 */
async function pumpSegment(
  res: ServerResponse,
  writer: SseWriter,
  result: StreamResult,
  handle: RunHandle,
  idleMs: number,
  assembler: StreamAssembler | undefined,
  seen: Seen | undefined,
  continuation: boolean,
  cut: Cut,
): Promise<UpstreamError | 'gone' | 'shutdown' | undefined> {
  cut.result = result;
  let stalled = false;
  handle.onStall(() => {
    stalled = true;
    result.abort();
  });
  const onClose = (): void => {
    if (!res.writableFinished) {
      result.abort();
      handle.cancel();
    }
  };
  res.once('close', onClose);
  const forward = async (batch: ChatCompletionChunk[]): Promise<void> => {
    const out = continuation ? asContinuation(batch, seen?.id) : batch;
    if (seen !== undefined) {
      for (const c of out) {
        seen.id ??= c.id;
        const d = c.choices[0]?.delta;
        if (d?.content) seen.partial += d.content;
        if (d?.tool_calls) seen.toolCalls = true;
      }
    }
    assembler?.push(out);
    await writer.write(out);
  };
  try {
    await forward(result.head);
    for await (const batch of result.rest) {
      if (res.destroyed) return 'gone';
      handle.payload.activity.lastChunkAt = handle.now();
      await forward(batch);
    }
    handle.notify({ type: 'END' });
    writer.done();
    return undefined;
  } catch (err) {
    if (res.destroyed) return 'gone';
    if (cut.requested) {
      handle.cancel();
      return 'shutdown';
    }
    const e = stalled
      ? new UpstreamError({ kind: 'timeout', message: `no data for ${idleMs} ms` })
      : toUpstreamError(err);
    if (!stalled) handle.notify({ type: 'BROKEN', error: e });
    return e;
  } finally {
    res.off('close', onClose);
  }
}

/** A continuation's chunks as part of the first stream: its id, no second role opener. */
function asContinuation(batch: ChatCompletionChunk[], id: string | undefined): ChatCompletionChunk[] {
  const out: ChatCompletionChunk[] = [];
  for (const c of batch) {
    const d = c.choices[0]?.delta;
    const roleOnly = d !== undefined && d.role !== undefined && !d.content && !d.tool_calls && !c.choices[0].finish_reason;
    if (roleOnly) continue;
    if (d?.role !== undefined) {
      const { role: _role, ...delta } = d;
      out.push({ ...c, id: id ?? c.id, choices: [{ ...c.choices[0], delta }] });
    } else out.push(id === undefined ? c : { ...c, id });
  }
  return out;
}
