import type { AnyStateMachine } from 'xstate';
import { toDirectedGraph, type DirectedGraphNode } from 'xstate/graph';
import { breakerMachine } from '../../machines/breaker.machine.ts';
import { degradedMachine } from '../../machines/degraded.machine.ts';
import { failoverMachine } from '../../machines/failover.machine.ts';
import { gatewayMachine } from '../../machines/gateway.machine.ts';
import { healthProbeMachine } from '../../machines/health-probe.machine.ts';
import { hedgeMachine } from '../../machines/hedge.machine.ts';
import { modelMachine } from '../../machines/model.machine.ts';
import { providerMachine } from '../../machines/provider.machine.ts';
import { recoveryProbeMachine } from '../../machines/recovery-probe.machine.ts';

/**
 * The machines the visualizer draws, one line each: a new machine appears in the visualizer
 * by being listed here. `machine.id` is what its actors report in
 * the transition stream, so live actors find their chart by it.
 */
export const VISUALIZED_MACHINES: ReadonlyArray<{ title: string; machine: AnyStateMachine }> = [
  { title: 'Provider health', machine: providerMachine },
  { title: 'Model health', machine: modelMachine },
  { title: 'Circuit breaker', machine: breakerMachine },
  { title: 'Request (failover, retries, streaming)', machine: failoverMachine },
  { title: 'Hedged request (parallel attempts)', machine: hedgeMachine },
  { title: 'Degraded mode (gateway-wide)', machine: degradedMachine },
  { title: 'Recovery probe (while a breaker is open)', machine: recoveryProbeMachine },
  { title: 'Active health probe', machine: healthProbeMachine },
  { title: 'Gateway (the actor system root)', machine: gatewayMachine },
];

/** One state of a chart; `id` is the state node's id (`breaker.open`), as the live state is matched. */
export interface ChartNode {
  id: string;
  key: string;
  type: string;
  /** The initial child's id, for compound states. */
  initial: string | null;
  children: ChartNode[];
  edges: ChartEdge[];
}

export interface ChartEdge {
  id: string;
  source: string;
  target: string;
  /** The event type as sent (`FAILURE`, `xstate.after.openTimeout.breaker.open`). */
  event: string;
  /** What the chart prints: the event by name, `after <delay>`, `done: <actor>`, `always`. */
  label: string;
  guard: string | null;
  delay: string | null;
  actions: string[];
}

export interface Chart {
  machine: string;
  title: string;
  root: ChartNode;
}

/** A guard or action by name; a composite guard (`and`, `not`) by the names inside it. */
function nameOf(x: unknown): string | null {
  if (x === undefined || x === null) return null;
  if (typeof x === 'string') return x;
  if (typeof x === 'function') return (x as { name?: string }).name || 'inline';
  const o = x as { type?: unknown; guards?: unknown[] };
  if (typeof o.type === 'string') return o.type;
  if (typeof o.type === 'function') {
    const inner = (o.type as unknown as { guards?: unknown[] }).guards ?? o.guards;
    const name = (o.type as { name?: string }).name || 'inline';
    return inner ? `${name}(${inner.map(nameOf).join(', ')})` : name;
  }
  return 'inline';
}

function labelOf(event: string, delay: string | null): string {
  if (event === '') return 'always';
  if (event.startsWith('xstate.after.')) return `after ${delay ?? event.split('.')[2]}`;
  if (event.startsWith('xstate.done.actor.')) return `done: ${event.slice('xstate.done.actor.'.length)}`;
  if (event.startsWith('xstate.error.actor.')) return `error: ${event.slice('xstate.error.actor.'.length)}`;
  if (event.startsWith('xstate.done.state.')) return 'done';
  return event;
}

function nodeOf(n: DirectedGraphNode): ChartNode {
  const sn = n.stateNode;
  const initialTarget = sn.initial?.target?.[0];
  return {
    id: n.id,
    key: sn.key,
    type: sn.type,
    initial: initialTarget ? initialTarget.id : null,
    children: n.children.map(nodeOf),
    edges: n.edges.map((e, i) => {
      const t = e.transition as unknown as { eventType: string; guard?: unknown; delay?: unknown; actions?: unknown[] };
      const delay = t.delay === undefined ? null : typeof t.delay === 'number' ? `${t.delay} ms` : String(t.delay);
      return {
        id: `${n.id}#${i}`,
        source: e.source.id,
        target: e.target.id,
        event: t.eventType,
        label: labelOf(t.eventType, delay),
        guard: nameOf(t.guard),
        delay,
        actions: (t.actions ?? []).map(nameOf).filter((a): a is string => a !== null),
      };
    }),
  };
}

/** A machine's statechart as plain JSON: states nested, transitions with their guards and delays by name. */
export function chartOf(machine: AnyStateMachine, title = machine.id): Chart {
  return { machine: machine.id, title, root: nodeOf(toDirectedGraph(machine)) };
}

let built: Chart[] | undefined;

/** Every listed machine's chart (built once: definitions do not change at run time). */
export function charts(): Chart[] {
  return (built ??= VISUALIZED_MACHINES.map((m) => chartOf(m.machine, m.title)));
}
