import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Subscription } from 'rxjs';
import { WebSocketServer, type WebSocket } from 'ws';
import { presentedKey, type KeyChecker } from '../auth/keys.ts';
import type { TransitionEvent, TransitionHub } from '../events/transitions.ts';
import type { FlowRuntime } from '../serve/flow-runtime.ts';
import { VISUALIZED_MACHINES } from './charts.ts';

/** Only actors of a drawn machine are followed (not the promise actors of attempts and probes). */
const DRAWN = new Set(VISUALIZED_MACHINES.map((m) => m.machine.id));

/** One transition as the visualizer shows it: from where to where, on what. */
export interface FeedTransition {
  actorId: string;
  systemId: string | null;
  machine: string;
  from: unknown;
  to: unknown;
  event: string;
  /** The event's scalar fields. */
  payload: Record<string, unknown>;
  status: string;
  at: number;
  /** The actor's context after the transition, as plain JSON (actor refs by id). */
  context: unknown;
}

export interface ActorRecord {
  actorId: string;
  systemId: string | null;
  machine: string;
  state: unknown;
  status: string;
  /** The last HISTORY transitions, oldest first, for scrubbing back in time. */
  history: FeedTransition[];
}

/** Transitions kept per actor. */
export const HISTORY = 100;
/** Request actors kept while someone watches (the oldest is dropped first). */
export const MAX_REQUESTS = 50;
export const FEED_PATH = '/visualizer/ws';

/** Context as JSON: actor refs (circular) become their ids; deep or long values are cut. */
function plain(v: unknown, depth = 0): unknown {
  if (v === null || typeof v !== 'object') return typeof v === 'function' ? undefined : v;
  if (depth > 5) return '…';
  const o = v as Record<string, unknown>;
  if (typeof o.send === 'function' && typeof o.sessionId === 'string') return `actor:${(o.systemId as string | undefined) ?? o.id}`;
  if (Array.isArray(v)) return v.slice(0, 50).map((x) => plain(x, depth + 1));
  if (v instanceof Map) return plain(Object.fromEntries(v), depth);
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(o).slice(0, 40)) out[k] = plain(o[k], depth + 1);
  return out;
}

/**
 * The visualizer's live feed. Long-lived actors (providers, models, breakers, probes) are
 * followed always: their transitions are rare, and a viewer that connects must see where each
 * one is. Request actors are fed (`hub.watchRequests()`) only while a viewer is connected, and
 * the feed keeps the last MAX_REQUESTS of them; with no viewer a request costs nothing here.
 * A viewer's WebSocket (`/visualizer/ws`) gets every actor with its recent history, then each
 * transition as it happens.
 */
export class VisualizerFeed {
  readonly #actors = new Map<string, ActorRecord>();
  readonly #requests: string[] = [];
  readonly #clients = new Set<WebSocket>();
  readonly #wss = new WebSocketServer({ noServer: true, maxPayload: 4096 });
  readonly #adminKeys: KeyChecker;
  readonly #open: boolean;
  readonly #runtime: FlowRuntime;
  readonly #sub: Subscription;
  #unwatch: (() => void) | undefined;
  readonly #hub: TransitionHub;

  constructor(opts: { hub: TransitionHub; runtime: FlowRuntime; adminKeys: KeyChecker; open: boolean }) {
    this.#hub = opts.hub;
    this.#runtime = opts.runtime;
    this.#adminKeys = opts.adminKeys;
    this.#open = opts.open && opts.adminKeys.open;
    for (const [systemId, ref] of opts.runtime.actors()) {
      const snap = ref.getSnapshot() as { value?: unknown; status?: string };
      const logic = (ref as unknown as { logic?: { id?: string } }).logic;
      if (!DRAWN.has(logic?.id ?? '')) continue;
      this.#actors.set(ref.sessionId, { actorId: ref.sessionId, systemId, machine: logic?.id ?? 'actor', state: snap.value, status: snap.status ?? 'active', history: [] });
    }
    this.#sub = opts.hub.transitions$.subscribe((t) => this.#take(t));
  }

  /** How many viewers are connected. */
  get viewers(): number {
    return this.#clients.size;
  }

  /** The actors the feed knows now (long-lived ones always; requests while watched). */
  actors(): ActorRecord[] {
    return [...this.#actors.values()];
  }

  /** The server's `upgrade` handler: takes `/visualizer/ws` (true), leaves other paths alone (false). */
  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): boolean {
    const path = (req.url ?? '').split('?')[0];
    if (path !== FEED_PATH) return false;
    // Browsers cannot set headers on a WebSocket: the key comes as the first message, or as a header for other clients.
    this.#wss.handleUpgrade(req, socket, head, (ws) => {
      if (this.#open || this.#adminKeys.check(presentedKey(req.headers))) return this.#admit(ws);
      const timer = setTimeout(() => ws.close(4401, 'admin key required'), 5_000);
      ws.once('message', (data) => {
        clearTimeout(timer);
        let key = '';
        try {
          key = String((JSON.parse(String(data)) as { key?: unknown }).key ?? '');
        } catch {}
        if (this.#adminKeys.check(key)) this.#admit(ws);
        else ws.close(4403, 'this feed needs an admin key (auth.admin_keys)');
      });
    });
    return true;
  }

  close(): void {
    if (this.#sub.closed) return;
    this.#sub.unsubscribe();
    for (const ws of this.#clients) ws.terminate();
    this.#clients.clear();
    this.#unwatch?.();
    this.#unwatch = undefined;
    this.#wss.close();
  }

  #admit(ws: WebSocket): void {
    this.#clients.add(ws);
    if (this.#clients.size === 1) this.#unwatch = this.#hub.watchRequests();
    ws.on('close', () => {
      this.#clients.delete(ws);
      if (this.#clients.size === 0) {
        this.#unwatch?.();
        this.#unwatch = undefined;
        this.#dropRequests();
      }
    });
    ws.on('error', () => ws.terminate());
    ws.send(JSON.stringify({ type: 'hello', at: this.#runtime.now(), actors: this.actors() }));
  }

  #dropRequests(): void {
    for (const id of this.#requests) this.#actors.delete(id);
    this.#requests.length = 0;
  }

  #take(t: TransitionEvent): void {
    if (!DRAWN.has(t.machine)) return;
    const isRequest = t.systemId === undefined;
    // A request flow that started before anyone watched, or after the last viewer left: not followed.
    if (isRequest && this.#clients.size === 0) return;
    let rec = this.#actors.get(t.actorId);
    if (rec === undefined) {
      rec = { actorId: t.actorId, systemId: t.systemId ?? null, machine: t.machine, state: undefined, status: t.status, history: [] };
      this.#actors.set(t.actorId, rec);
      if (isRequest) {
        this.#requests.push(t.actorId);
        if (this.#requests.length > MAX_REQUESTS) this.#actors.delete(this.#requests.shift()!);
      }
    }
    const ft: FeedTransition = {
      actorId: t.actorId,
      systemId: rec.systemId,
      machine: t.machine,
      from: rec.state,
      to: t.state,
      event: t.event,
      payload: t.payload,
      status: t.status,
      at: t.at,
      context: this.#clients.size > 0 ? plain(t.context) : undefined,
    };
    rec.state = t.state;
    rec.status = t.status;
    rec.history.push(ft);
    if (rec.history.length > HISTORY) rec.history.shift();
    // A stopped long-lived actor (a recovery probe done, a breaker evicted) leaves the list.
    if (!isRequest && t.status !== 'active') this.#actors.delete(t.actorId);
    if (this.#clients.size === 0) return;
    const msg = JSON.stringify({ type: 'transition', t: ft });
    for (const ws of this.#clients) ws.send(msg);
  }
}
