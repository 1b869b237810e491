import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Observable, Subscription } from 'rxjs';
import { WebSocketServer, type WebSocket } from 'ws';
import { presentedKey, type KeyChecker } from '../auth/keys.ts';
import type { FlowClock } from '../serve/flow-handle.ts';
import type { HealthEvent } from './events.ts';

/**
 * `WS /v1/health/stream`: authenticated at the handshake (`Authorization: Bearer <key>` as
 * in the seed, `x-api-key`, or `?token=<key>` for browsers, which cannot set headers on a
 * WebSocket); then a `snapshot` (GET /v1/health's body), every health event as it happens,
 * and a `heartbeat` every interval. A client that does not read never slows the gateway:
 * sends never wait, and a client whose unsent data passes the buffer limit is closed (1008,
 * "client too slow") and dropped.
 */

export const HEALTH_STREAM_PATH = '/v1/health/stream';

/** Close code and reason for a client whose unsent data passed the limit. */
export const SLOW_CLIENT_CLOSE = { code: 1008, reason: 'client too slow: send buffer limit reached' } as const;

/** How long a client closed as too slow has to read what was sent before the close frame. */
const SLOW_CLIENT_GRACE_MS = 10_000;

export interface HealthStreamOptions {
  events$: Observable<HealthEvent>;
  keys: KeyChecker;
  /** GET /v1/health's body, sent first. */
  snapshot: () => Promise<unknown>;
  heartbeatIntervalMs: number;
  bufferBytes: number;
  maxClients: number;
  clock?: FlowClock;
  now: () => number;
}

interface Client {
  ws: WebSocket;
  /** Events that came before the snapshot was sent: sent right after it, in order (bounded by bufferBytes). */
  held: string[] | undefined;
  heldBytes: number;
}

export class HealthStream {
  readonly #o: HealthStreamOptions;
  readonly #wss = new WebSocketServer({ noServer: true, maxPayload: 4096, perMessageDeflate: false });
  readonly #clients = new Set<Client>();
  readonly #sub: Subscription;
  #timer: unknown;
  #closed = false;

  constructor(opts: HealthStreamOptions) {
    this.#o = opts;
    this.#sub = opts.events$.subscribe((e) => this.#broadcast(JSON.stringify(e)));
  }

  /** Clients connected now. */
  get clients(): number {
    return this.#clients.size;
  }

  /** The server's `upgrade` listener: takes the stream's path, refuses everything else. */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (url.pathname !== HEALTH_STREAM_PATH) return refuse(socket, 404, 'unknown_url', `Unknown WebSocket URL: ${url.pathname}.`);
    const keys = this.#o.keys;
    const key = presentedKey(req.headers) ?? url.searchParams.get('token') ?? undefined;
    if (!keys.open && !keys.check(key)) return refuse(socket, 401, 'invalid_api_key', 'Incorrect API key provided. Pass it as "Authorization: Bearer <key>" or "?token=<key>".');
    if (this.#closed || this.#clients.size >= this.#o.maxClients) return refuse(socket, 503, 'too_many_stream_clients', 'Too many health stream clients; retry later.');
    this.#wss.handleUpgrade(req, socket, head, (ws) => this.#connected(ws));
  }

  /** Closes every client (1001, going away) and stops. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#sub.unsubscribe();
    this.#stopHeartbeat();
    for (const c of this.#clients) c.ws.close(1001, 'gateway shutting down');
    this.#clients.clear();
    this.#wss.close();
  }

  #connected(ws: WebSocket): void {
    const client: Client = { ws, held: [], heldBytes: 0 };
    this.#clients.add(client);
    ws.on('close', () => this.#drop(client));
    ws.on('error', () => this.#drop(client));
    // Clients only listen; anything they send is ignored.
    ws.on('message', () => {});
    if (this.#timer === undefined) this.#startHeartbeat();
    void this.#o.snapshot().then(
      (health) => {
        if (!this.#clients.has(client)) return;
        this.#send(client, JSON.stringify({ type: 'snapshot', timestamp: this.#iso(), health }));
        const held = client.held ?? [];
        client.held = undefined;
        for (const m of held) this.#send(client, m);
      },
      () => {
        if (this.#clients.has(client)) ws.close(1011, 'health snapshot unavailable');
      },
    );
  }

  #broadcast(message: string): void {
    for (const c of this.#clients) this.#send(c, message);
  }

  #send(c: Client, message: string): void {
    if (c.held !== undefined) {
      c.held.push(message);
      c.heldBytes += message.length;
      if (c.heldBytes > this.#o.bufferBytes) this.#tooSlow(c);
      return;
    }
    if (c.ws.readyState !== c.ws.OPEN) return;
    // What the kernel would not take yet: a reading client keeps this near zero.
    if (c.ws.bufferedAmount > this.#o.bufferBytes) {
      this.#tooSlow(c);
      return;
    }
    c.ws.send(message);
  }

  #tooSlow(c: Client): void {
    this.#drop(c);
    // The close frame waits behind the unread data: the client gets it if it reads within
    // the grace period, else the connection is cut.
    c.ws.close(SLOW_CLIENT_CLOSE.code, SLOW_CLIENT_CLOSE.reason);
    setTimeout(() => c.ws.terminate(), SLOW_CLIENT_GRACE_MS).unref();
  }

  #drop(c: Client): void {
    this.#clients.delete(c);
    c.held = undefined;
    if (this.#clients.size === 0) this.#stopHeartbeat();
  }

  #startHeartbeat(): void {
    const beat = (): void => {
      this.#timer = this.#setTimeout(beat, this.#o.heartbeatIntervalMs);
      this.#broadcast(JSON.stringify({ type: 'heartbeat', timestamp: this.#iso(), clients: this.#clients.size }));
    };
    this.#timer = this.#setTimeout(beat, this.#o.heartbeatIntervalMs);
  }

  #stopHeartbeat(): void {
    if (this.#timer === undefined) return;
    if (this.#o.clock) this.#o.clock.clearTimeout(this.#timer);
    else clearTimeout(this.#timer as NodeJS.Timeout);
    this.#timer = undefined;
  }

  #setTimeout(fn: () => void, ms: number): unknown {
    if (this.#o.clock) return this.#o.clock.setTimeout(fn, ms);
    const t = setTimeout(fn, ms);
    t.unref();
    return t;
  }

  #iso(): string {
    return new Date(this.#o.now()).toISOString();
  }
}

/** Answers the handshake with an HTTP error in OpenAI's shape and closes the socket. */
function refuse(socket: Duplex, status: number, code: string, message: string): void {
  const type = status === 401 ? 'authentication_error' : status === 404 ? 'not_found_error' : 'api_error';
  const body = JSON.stringify({ error: { message, type, param: null, code } });
  const reason = status === 401 ? 'Unauthorized' : status === 404 ? 'Not Found' : 'Service Unavailable';
  socket.end(`HTTP/1.1 ${status} ${reason}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`);
}
