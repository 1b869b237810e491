import { assign, setup } from 'xstate';

/**
 * The gateway's one degraded-mode actor (systemId `degraded`): `normal`, or `degraded` with the
 * triggers now active. Every `intervalMs` it asks for a reading of the targets' live statistics
 * (the runtime provides `evaluate`, which raises EVALUATED with what it found: a windowed p95 time
 * to first token over its threshold, a chain with some but not all of its targets down, a share
 * of 429s over its threshold). Entering and leaving are transitions on the event stream; a change
 * of reasons while degraded is a context update of the same state.
 */

/** The degraded-mode triggers (X-Degraded-Mode-Config `triggers`). */
export type DegradedReason = 'high_latency' | 'partial_outage' | 'rate_limiting';

/** What one evaluation found: the active triggers (sorted) and a line per trigger saying why. */
export interface DegradedReading {
  reasons: DegradedReason[];
  details: Partial<Record<DegradedReason, string>>;
}

export interface DegradedInput {
  intervalMs: number;
}

export interface DegradedContext extends DegradedReading {
  intervalMs: number;
  /** When the current degraded period began (the runtime's clock); null while normal. */
  since: number | null;
}

export type DegradedEvent = { type: 'EVALUATED'; reading: DegradedReading; at: number };

const sameReasons = (a: readonly string[], b: readonly string[]): boolean => a.length === b.length && a.every((r, i) => r === b[i]);

export const degradedMachine = setup({
  types: { context: {} as DegradedContext, input: {} as DegradedInput, events: {} as DegradedEvent },
  actions: {
    // Provided by the runtime: reads the targets and raises EVALUATED.
    evaluate: () => {},
    enter: assign(({ event }) => ({ reasons: event.reading.reasons, details: event.reading.details, since: event.at })),
    update: assign(({ event }) => ({ reasons: event.reading.reasons, details: event.reading.details })),
    leave: assign({ reasons: () => [], details: () => ({}), since: () => null }),
  },
  guards: {
    anyReason: ({ event }) => event.reading.reasons.length > 0,
    noReason: ({ event }) => event.reading.reasons.length === 0,
    reasonsChanged: ({ context, event }) =>
      !sameReasons(context.reasons, event.reading.reasons) || JSON.stringify(context.details) !== JSON.stringify(event.reading.details),
  },
  delays: {
    interval: ({ context }) => context.intervalMs,
  },
}).createMachine({
  id: 'degraded',
  context: ({ input }) => ({ intervalMs: input.intervalMs, reasons: [], details: {}, since: null }),
  initial: 'normal',
  states: {
    normal: {
      after: { interval: { target: 'normal', reenter: true, actions: 'evaluate' } },
      on: { EVALUATED: { guard: 'anyReason', target: 'degraded', actions: 'enter' } },
    },
    degraded: {
      after: { interval: { target: 'degraded', reenter: true, actions: 'evaluate' } },
      on: {
        EVALUATED: [
          { guard: 'noReason', target: 'normal', actions: 'leave' },
          { guard: 'reasonsChanged', actions: 'update' },
        ],
      },
    },
  },
});
