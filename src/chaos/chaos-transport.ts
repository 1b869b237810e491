import type { ChatCompletionChunk } from '../core/openai-types.ts';
import { UpstreamError } from '../core/upstream-error.ts';
import type { AttemptResult, StreamResult, Transport } from '../providers/transport.ts';
import type { ProviderAdapter, TranslateContext } from '../providers/types.ts';
import { isErrorKind, isStreamFault, type Fault } from './faults.ts';
import type { ChaosRegistry } from './registry.ts';
import { malformedChunkError, marked, renderedError } from './render-fault.ts';

type Send = () => Promise<AttemptResult>;

/**
 * The transport with the chaos registry's faults in front of it: every upstream call (and
 * every health or recovery probe) a fault targets gets that fault instead of, or on top of,
 * the provider's answer. It sits where calls leave the gateway, so it works the same in front
 * of the simulator and of real providers; errors come out of the provider's own adapter, from
 * the provider's own error shape. With no fault in force a call costs one property read.
 */
export class ChaosTransport {
  readonly #inner: Pick<Transport, 'call' | 'probe'>;
  readonly #registry: ChaosRegistry;

  constructor(inner: Pick<Transport, 'call' | 'probe'>, registry: ChaosRegistry) {
    this.#inner = inner;
    this.#registry = registry;
  }

  /** Transport.call, with the fault that targets the call, if any. Arguments past `sent` are passed on as they are. */
  call(...args: Parameters<Transport['call']>): Promise<AttemptResult> {
    if (this.#registry.size === 0) return this.#inner.call(...args);
    const [adapter, , ctx, signal, , sent] = args;
    const fault = this.#registry.pick(ctx.target.name, ctx.model, ctx.stream);
    if (fault === undefined) return this.#inner.call(...args);
    if (sent !== undefined && !isStreamFault(fault.fault)) {
      // The faulty provider "has" the call from now: an injected error, silence or delay is the
      // target's time, never the gateway's wait for a connection (the real call, after an
      // injected delay, stamps a stamp of its own).
      sent.sentAt = this.#registry.now;
      const own = [...args] as Parameters<Transport['call']>;
      own[5] = { sentAt: -1 };
      return inject(fault, () => this.#inner.call(...own), adapter, ctx, signal);
    }
    return inject(fault, () => this.#inner.call(...args), adapter, ctx, signal);
  }

  probe(...args: Parameters<Transport['probe']>): Promise<AttemptResult> {
    if (this.#registry.size === 0) return this.#inner.probe(...args);
    const [adapter, , ctx, signal] = args;
    const fault = this.#registry.pick(ctx.target.name, ctx.model, ctx.stream);
    if (fault === undefined) return this.#inner.probe(...args);
    return inject(fault, () => this.#inner.probe(...args), adapter, ctx, signal);
  }
}

async function inject(fault: Fault, send: Send, adapter: ProviderAdapter, ctx: TranslateContext, signal: AbortSignal): Promise<AttemptResult> {
  const kind = fault.fault;
  if (isErrorKind(kind)) return renderedError(kind, fault, adapter, ctx);
  switch (kind) {
    case 'latency':
      await aborted(signal, fault.latencyMs);
      return send();
    case 'no_response':
      // Nothing comes back: the attempt's own timer (or the probe's) ends it.
      await aborted(signal);
      throw marked(new UpstreamError({ kind: 'connection_error', message: 'attempt aborted' }), fault);
    default: {
      const result = await send();
      return result.type === 'stream' ? faultyStream(result, fault, adapter, ctx, signal) : result;
    }
  }
}

/** Resolves after `ms` (never, without); rejects at once when `signal` aborts first. */
function aborted(signal: AbortSignal, ms?: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const fail = (): void => {
      clearTimeout(timer);
      reject(new UpstreamError({ kind: 'connection_error', message: 'attempt aborted' }));
    };
    if (signal.aborted) return fail();
    const timer = ms === undefined ? undefined : setTimeout(() => (signal.removeEventListener('abort', fail), resolve()), ms);
    signal.addEventListener('abort', fail, { once: true });
  });
}

function isContent(c: ChatCompletionChunk): boolean {
  for (const ch of c.choices) {
    const d = ch.delta;
    if ((d.content !== undefined && d.content !== null && d.content !== '') || d.tool_calls || d.refusal) return true;
  }
  return false;
}

/**
 * `result` passing on `afterTokens` content chunks, then the fault: a cut connection, a stall
 * (silence until the stream is aborted), or the provider's malformed event. A fault due
 * before the first content chunk happens before the commit point, so the call itself fails.
 */
async function faultyStream(result: StreamResult, fault: Fault, adapter: ProviderAdapter, ctx: TranslateContext, signal: AbortSignal): Promise<StreamResult> {
  const limit = fault.afterTokens ?? 0;
  let passed = 0;
  let due = false;
  const take = (batch: readonly ChatCompletionChunk[]): ChatCompletionChunk[] => {
    const out: ChatCompletionChunk[] = [];
    for (const c of batch) {
      if (isContent(c)) {
        if (passed >= limit) {
          due = true;
          break;
        }
        passed++;
      }
      out.push(c);
    }
    return out;
  };
  let stopped: () => void = () => {};
  const abortedByClient = new Promise<void>((resolve) => (stopped = resolve));
  const fire = async (): Promise<never> => {
    result.abort();
    if (fault.fault === 'malformed_chunk') throw malformedChunkError(fault, adapter, ctx);
    if (fault.fault === 'stream_stall') {
      await abortedByClient;
      throw marked(new UpstreamError({ kind: 'connection_error', message: 'attempt aborted' }), fault);
    }
    throw marked(new UpstreamError({ kind: 'connection_error', message: 'upstream stream broke: other side closed' }), fault);
  };

  const head = take(result.head);
  if (due && passed === 0) {
    // Before the commit point: the attempt fails (a stall waits for the attempt's timer).
    if (fault.fault === 'stream_stall') {
      result.abort();
      await aborted(signal);
    }
    return fire();
  }
  const complete = result.complete && !due;
  async function* rest(): AsyncGenerator<ChatCompletionChunk[]> {
    if (!due) {
      for await (const batch of result.rest) {
        const out = take(batch);
        if (out.length > 0) yield out;
        if (due) break;
      }
    }
    if (due) await fire();
  }
  return {
    type: 'stream',
    head,
    complete,
    rest: rest(),
    abort: () => {
      stopped();
      result.abort();
    },
  };
}
