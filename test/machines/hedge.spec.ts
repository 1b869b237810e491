import { and, assign, not, setup, type SnapshotFrom } from 'xstate';
import type { HedgeStrategy } from '../../machines/hedge.machine.ts';

/**
 * The hedge race's specification for model-based testing: three steps (the primary, two
 * hedges), no cost cap, every breaker closed, cancel_slower on, with time as explicit events
 * (xstate/graph cannot traverse `after`):
 *
 * - HEDGE_DELAY: the clock advances by delay_ms (only while a hedge is left to send)
 * - DEADLINE: the clock advances to the request's deadline (once every hedge is sent: on the
 *   clock a pending hedge's timer, being shorter, would fire on the way)
 *
 * and each attempt in flight answering: SUCCEED_<step>, FAIL_<step> (an error answer).
 */
export const SPEC_STEPS = 3;
export const SPEC_DELAY_MS = 100;
export const SPEC_DEADLINE_MS = 1_000;

export type HedgeSpecEvent =
  | { type: 'HEDGE_DELAY' }
  | { type: 'DEADLINE' }
  | { type: 'SUCCEED_0' }
  | { type: 'SUCCEED_1' }
  | { type: 'SUCCEED_2' }
  | { type: 'FAIL_0' }
  | { type: 'FAIL_1' }
  | { type: 'FAIL_2' };

export interface HedgeSpecContext {
  /** The next step to send. */
  next: number;
  /** Steps in flight, in send order. */
  inFlight: number[];
  winner: number | null;
}

const stepOf = (e: HedgeSpecEvent): number => Number(e.type.slice(-1));

export function hedgeSpec(strategy: HedgeStrategy) {
  return setup({
    types: {} as { context: HedgeSpecContext; events: HedgeSpecEvent },
    guards: {
      hedgeLeft: ({ context }) => context.next < SPEC_STEPS,
      inFlight: ({ context, event }) => context.inFlight.includes(stepOf(event)),
      latency: () => strategy === 'latency',
      /** After this failure nothing is in flight, and a hedge is left: it goes at once. */
      sendsNext: ({ context, event }) => context.inFlight.length === 1 && context.inFlight[0] === stepOf(event) && context.next < SPEC_STEPS,
      lastHope: ({ context, event }) => context.inFlight.length === 1 && context.inFlight[0] === stepOf(event),
    },
    actions: {
      send: assign(({ context }) => ({ inFlight: [...context.inFlight, context.next], next: context.next + 1 })),
      win: assign(({ event }) => ({ winner: stepOf(event), inFlight: [] })),
      drop: assign(({ context, event }) => ({ inFlight: context.inFlight.filter((s) => s !== stepOf(event)) })),
      stopAll: assign({ inFlight: [] }),
    },
  }).createMachine({
    id: `hedgeSpec-${strategy}`,
    context: { next: 1, inFlight: [0], winner: null },
    initial: 'racing',
    states: {
      racing: {
        on: {
          HEDGE_DELAY: { guard: 'hedgeLeft', actions: 'send' },
          DEADLINE: { guard: not('hedgeLeft'), target: 'lost', actions: 'stopAll' },
          ...Object.fromEntries(
            [0, 1, 2].flatMap((i) => [
              [`SUCCEED_${i}`, { guard: 'inFlight', target: 'won', actions: 'win' }],
              [
                `FAIL_${i}`,
                [
                  { guard: and(['latency', 'inFlight']), target: 'lost', actions: 'stopAll' },
                  { guard: 'sendsNext', actions: ['drop', 'send'] },
                  { guard: 'lastHope', target: 'lost', actions: 'drop' },
                  { guard: 'inFlight', actions: 'drop' },
                ],
              ],
            ]),
          ),
        },
      },
      won: { type: 'final' },
      lost: { type: 'final' },
    },
  });
}

export type HedgeSpecSnapshot = SnapshotFrom<ReturnType<typeof hedgeSpec>>;

export const hedgeSpecEvents: HedgeSpecEvent[] = [
  { type: 'HEDGE_DELAY' },
  { type: 'DEADLINE' },
  { type: 'SUCCEED_0' },
  { type: 'SUCCEED_1' },
  { type: 'SUCCEED_2' },
  { type: 'FAIL_0' },
  { type: 'FAIL_1' },
  { type: 'FAIL_2' },
];
