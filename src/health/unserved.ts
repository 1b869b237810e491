import type { FlowOutput } from '../core/flow.ts';
import type { Store } from '../store/types.ts';
import { MINUTE_MS } from '../uptime/calendar.ts';
import { countsAsUnserved, type RequestFailure } from '../uptime/unserved.ts';
import type { WriteQueue } from './write-queue.ts';

/**
 * Marks the minutes in which a client's request failed for lack of any provider that could
 * serve it (docs/uptime.md): one write for the first such failure of a model in a minute,
 * none for the rest of that minute, none while requests are served.
 */
export class UnservedRecorder {
  readonly #store: Store;
  readonly #writes: WriteQueue;
  /** Model -> the last minute written; bounded by the configured models. */
  readonly #written = new Map<string, number>();

  constructor(store: Store, writes: WriteQueue) {
    this.#store = store;
    this.#writes = writes;
  }

  onRequest(model: string, out: FlowOutput, at: number): void {
    if (out.ok) return;
    if (!countsAsUnserved(failureOf(out))) return;
    const minute = at - (at % MINUTE_MS);
    if (this.#written.get(model) === minute) return;
    this.#written.set(model, minute);
    void this.#writes.push(`recording an unserved minute of ${model}`, () => this.#store.availability.recordUnserved(model, at));
  }
}

function failureOf(out: Extract<FlowOutput, { ok: false }>): RequestFailure {
  if (out.fellBack !== undefined) return 'circuit_open';
  const skipped = out.error.skipped;
  if (skipped === undefined) return out.error.kind;
  if (skipped === 'circuit_open') return 'circuit_open';
  // Unhealthy targets, or the gateway's own limits: nothing could take the request.
  return 'no_available_target';
}
