/**
 * The simulator's HTTP server (plain node:http: it is a benchmark target, so the healthy
 * non-streamed path is a route switch, one JSON.parse, one JSON.stringify and no timers).
 */
import { KeyChecker, presentedKey } from '../auth/keys.ts';
import { collectBody } from '../http/body.ts';
import { listen } from '../net/listen.ts';
import { ServerErrors } from '../net/server-errors.ts';
import { bareHost, isLoopbackHost } from '../net/loopback.ts';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { decodePathSegment, handleAdmin } from './admin.ts';
import { buildAnswer, type Turn } from './answer.ts';
import type { Behaviour } from './behaviour.ts';
import { CallLog } from './call-log.ts';
import { parseModelConfig, SimConfigError } from './config-schema.ts';
import { anthropicDialect, anthropicModelList } from './dialects/anthropic.ts';
import { googleDialect, googleModelList, googleUnknownMethod } from './dialects/google.ts';
import { openaiDialect, openaiModelList } from './dialects/openai.ts';
import type { Dialect, Rendered, RequestContext } from './dialects/types.ts';
import { admitCall, ModelRegistry } from './models.ts';
import { alive, sendBody, sendRendered, StreamPump, type Scheduler } from './pump.ts';
import { seededRng, type Rng } from './rng.ts';
import type { SimCall, SimPrefillMode, SimCallFilter, SimFault, SimModelConfig, SimulatorHandle, SimulatorOptions } from './types.ts';

/** Marks the gateway's own health and recovery probes (src/serve/flow-runtime.ts), so the call log tells them from client traffic. */
const PROBE_HEADER = 'x-parrot-probe';

/** Anthropic's own request cap; a bigger body is a 413 before any parsing. */
const MAX_BODY = 32 * 1024 * 1024;

const JSON_CLOSE_HEADERS = ['content-type', 'application/json', 'connection', 'close'];
const TOO_LARGE_BODY = JSON.stringify({ error: { message: 'Request body too large', type: 'request_too_large' } });

/** The header carrying SimulatorOptions.token. */
export const SIMULATOR_TOKEN_HEADER = 'x-parrot-simulator-token';

function denied(status: number, message: string, type: string, code: string): Rendered {
  return { status, headers: JSON_CLOSE_HEADERS, body: JSON.stringify({ error: { message, type, param: null, code } }) };
}

const TOKEN_REQUIRED = denied(
  403,
  'This simulator serves only the gateway that started it: requests need its x-parrot-simulator-token. Control it through the gateway\'s /admin/simulator/*.',
  'permission_error',
  'simulator_token_required',
);
const ADMIN_KEY_MISSING = denied(401, 'The simulator control API needs an admin key: "Authorization: Bearer <key>" or "x-api-key: <key>".', 'authentication_error', 'admin_key_required');
const ADMIN_KEY_WRONG = denied(403, 'Incorrect admin key for the simulator control API.', 'permission_error', 'invalid_admin_key');

const GOOGLE_PREFIXES = ['/v1beta/models/', '/v1/models/'] as const;

function validateModels(models: Record<string, SimModelConfig>): Record<string, SimModelConfig> {
  const out: Record<string, SimModelConfig> = {};
  for (const [name, cfg] of Object.entries(models)) out[name] = parseModelConfig(cfg, `models.${name}`);
  return out;
}

/** Everything one simulator instance owns. */
class Simulator implements Scheduler {
  readonly #startModels: Record<string, SimModelConfig>;
  readonly #startDefaults: SimModelConfig;
  readonly #seed: number;
  readonly #keys: ReadonlySet<string> | null;
  readonly #token: KeyChecker | null;
  readonly #adminKeys: KeyChecker | null;
  readonly registry: ModelRegistry;
  readonly log: CallLog;
  readonly sockets = new Set<Socket>();
  readonly #timers = new Set<NodeJS.Timeout>();
  #faultRng: Rng;
  #latencyRng: Rng;

  constructor(opts: SimulatorOptions) {
    this.#startModels = validateModels(opts.models ?? {});
    this.#startDefaults = parseModelConfig(opts.defaults ?? {}, 'defaults');
    this.#seed = opts.seed ?? 1;
    this.#keys = opts.apiKeys !== undefined ? new Set(opts.apiKeys) : null;
    this.#token = opts.token !== undefined ? new KeyChecker([opts.token]) : null;
    this.#adminKeys = opts.adminKeys !== undefined && opts.adminKeys.length > 0 ? new KeyChecker(opts.adminKeys) : null;
    this.registry = new ModelRegistry(this.#startModels, this.#startDefaults, Date.now());
    this.log = new CallLog(opts.callLogLimit ?? 10_000);
    this.#faultRng = seededRng(this.#seed);
    // A separate stream, so turning latency on does not shift which calls get faults.
    this.#latencyRng = seededRng(this.#seed ^ 0x9e3779b9);
  }

  later(ms: number, fn: () => void): void {
    const t = setTimeout(() => {
      this.#timers.delete(t);
      fn();
    }, ms);
    this.#timers.add(t);
  }

  cancelTimers(): void {
    for (const t of this.#timers) clearTimeout(t);
    this.#timers.clear();
  }

  reset(): void {
    this.registry.load(this.#startModels, this.#startDefaults, Date.now());
    this.log.clear();
    this.#faultRng = seededRng(this.#seed);
    this.#latencyRng = seededRng(this.#seed ^ 0x9e3779b9);
  }

  /**
   * Validates and applies one model's config; returns it as validated.
   * @param where prefixes field names in the SimConfigError message.
   */
  setModel(model: string, cfg: unknown, where = `models.${model}`): SimModelConfig {
    const valid = parseModelConfig(cfg, where);
    this.registry.set(model, valid, Date.now());
    return valid;
  }

  /** Validates and applies the defaults; returns them as validated. */
  setDefaults(cfg: unknown): SimModelConfig {
    const valid = parseModelConfig(cfg, 'defaults');
    this.registry.setDefaults(valid, Date.now());
    return valid;
  }

  calls(filter?: SimCallFilter): SimCall[] {
    return this.log.list(filter);
  }

  state(): unknown {
    return { seed: this.#seed, call_count: this.log.total, ...this.registry.toJSON() };
  }

  handle = (req: IncomingMessage, res: ServerResponse): void => {
    if (this.#token !== null) {
      const presented = req.headers[SIMULATOR_TOKEN_HEADER];
      if (typeof presented !== 'string' || !this.#token.check(presented)) {
        req.resume();
        return void sendRendered(res, TOKEN_REQUIRED);
      }
    }
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q === -1 ? url : url.slice(0, q);
    const query = q === -1 ? '' : url.slice(q + 1);
    const method = req.method ?? 'GET';

    if (method === 'POST') {
      if (path === '/v1/chat/completions') return this.#provider(req, res, openaiDialect, { headers: req.headers });
      if (path === '/v1/messages') return this.#provider(req, res, anthropicDialect, { headers: req.headers });
      for (const prefix of GOOGLE_PREFIXES) if (path.startsWith(prefix)) return this.#google(req, res, path, prefix, query);
    } else if (method === 'GET') {
      if (path === '/v1/models') {
        const list = this.registry.configuredModels();
        return void sendRendered(res, req.headers['anthropic-version'] !== undefined ? anthropicModelList(list) : openaiModelList(list));
      }
      if (path === '/v1beta/models') return void sendRendered(res, googleModelList(this.registry.configuredModels()));
    }
    if (path.startsWith('/_sim/')) {
      if (this.#adminKeys !== null) {
        const key = presentedKey(req.headers);
        if (key === undefined || key === '' || !this.#adminKeys.check(key)) {
          req.resume();
          return void sendRendered(res, key === undefined || key === '' ? ADMIN_KEY_MISSING : ADMIN_KEY_WRONG);
        }
      }
      return readBody(req, res, (raw) => handleAdmin(this, method, path, query, raw, res));
    }
    req.resume();
    const dialect = path.startsWith('/v1beta/') ? googleDialect : req.headers['anthropic-version'] !== undefined ? anthropicDialect : openaiDialect;
    sendRendered(res, dialect.notFound(method, path));
  };

  unsetModel(model: string): boolean {
    return this.registry.unset(model);
  }

  #google(req: IncomingMessage, res: ServerResponse, path: string, prefix: string, query: string): void {
    const rest = path.slice(prefix.length);
    const colon = rest.lastIndexOf(':');
    const version = prefix === '/v1beta/models/' ? 'v1beta' : 'v1';
    const model = decodePathSegment(colon === -1 ? rest : rest.slice(0, colon));
    if (model === null) {
      // A malformed escape (`%E0%A4%A`) names no model: the route does not exist.
      req.resume();
      sendRendered(res, googleDialect.notFound('POST', path));
      return;
    }
    const action = colon === -1 ? '' : rest.slice(colon + 1);
    if (action !== 'generateContent' && action !== 'streamGenerateContent') {
      req.resume();
      sendRendered(res, googleUnknownMethod(model, version, action || 'generateContent'));
      return;
    }
    const stream = action === 'streamGenerateContent';
    let queryKey: string | null = null;
    let sse = false;
    if (query !== '') {
      const params = new URLSearchParams(query);
      queryKey = params.get('key');
      sse = params.get('alt') === 'sse';
    }
    this.#provider(req, res, googleDialect, { headers: req.headers, model, stream, sse, queryKey });
  }

  readonly #prefillModes = (model: string): ReadonlySet<SimPrefillMode> => this.registry.slot(model).behaviour.prefillModes;

  /** One provider call: headers, body, validation, fault selection, latency, answer. */
  #provider(req: IncomingMessage, res: ServerResponse, dialect: Dialect, ctx: RequestContext): void {
    const denied = dialect.checkHeaders(ctx, this.#keys);
    if (denied !== null) {
      req.resume();
      sendRendered(res, denied);
      return;
    }
    readBody(req, res, (raw) => {
      const at = Date.now();
      let body: unknown;
      try {
        body = JSON.parse(raw);
      } catch {
        body = undefined;
      }
      ctx.prefillModes = this.#prefillModes;
      const parsed = dialect.parse(body, ctx);
      if (!parsed.ok) {
        const status = sendRendered(res, parsed.error);
        if (parsed.model !== null) this.log.push({ at, provider: dialect.provider, model: parsed.model, stream: parsed.stream, fault: null, status, ...(req.headers[PROBE_HEADER] !== undefined ? { probe: true } : {}) });
        return;
      }
      const turn = parsed.turn;
      const slot = this.registry.slot(turn.model);
      const behaviour = slot.behaviour;
      // Stream-only faults (no_done, in_band_error) need an SSE stream to strike in.
      const fault = admitCall(slot, turn.sse, at, this.#faultRng);
      const call: SimCall = { at, provider: dialect.provider, model: turn.model, stream: turn.stream, fault: fault === null ? null : fault.type, status: null, body };
      if (turn.prefill !== undefined) call.prefill = { mode: turn.prefill.mode, assistant: turn.prefill.assistant };
      if (req.headers[PROBE_HEADER] !== undefined) call.probe = true;
      this.log.push(call);
      // The caller hung up before the answer ended (an aborted call, a cancelled hedge); not
      // when the fault itself closes the connection.
      const closesItself = fault !== null && (fault.type === 'reset' || fault.type === 'cut' || (fault.type === 'error' && fault.kind === 'connection_error'));
      if (!closesItself) {
        res.once('close', () => {
          if (!res.writableFinished) call.aborted = true;
        });
      }
      if (fault !== null && fault.type === 'hang') return;
      const wait = behaviour.latency === null ? 0 : behaviour.latency(this.#latencyRng);
      if (wait <= 0) return this.#deliver(req, res, dialect, turn, behaviour, fault, call);
      this.later(wait, () => {
        if (alive(res)) this.#deliver(req, res, dialect, turn, behaviour, fault, call);
      });
    });
  }

  #deliver(req: IncomingMessage, res: ServerResponse, dialect: Dialect, turn: Turn, behaviour: Behaviour, fault: SimFault | null, call: SimCall): void {
    if (fault !== null) {
      if (fault.type === 'reset') return void req.socket.resetAndDestroy();
      if (fault.type === 'error') {
        if (fault.kind === 'connection_error') return void req.socket.destroy();
        call.status = sendRendered(res, dialect.error(fault.kind, turn, { retryAfterS: fault.retry_after_s, message: fault.message, headers: req.headers }));
        return;
      }
    }
    const answer = buildAnswer(turn, behaviour.completionTokens);
    const onStatus = (status: number): void => {
      call.status = status;
    };
    if (!turn.sse) return sendBody(res, dialect.respond(turn, answer), fault, this, onStatus);
    const plan = dialect.stream(turn, answer);
    call.status = 200;
    new StreamPump(res, plan, fault, dialect, turn, behaviour.tokensPerSecond, this).start();
  }
}

function readBody(req: IncomingMessage, res: ServerResponse, done: (raw: string) => void): void {
  collectBody(req, MAX_BODY, done, () => {
    sendRendered(res, { status: 413, headers: JSON_CLOSE_HEADERS, body: TOO_LARGE_BODY });
  });
}

/**
 * Starts a provider simulator serving the real OpenAI, Anthropic and Gemini endpoints with
 * deterministic answers and injectable faults.
 * @throws SimConfigError when `models` or `defaults` is invalid (the message names the field),
 *   or when `host` is not loopback and neither `adminKeys` nor `token` guards the control API.
 * @throws ListenError when the port is taken or the host does not resolve.
 * @example
 * const sim = await startSimulator({ models: { 'gpt-4o': { faults: [{ type: 'error', kind: 'rate_limit', first_n: 2 }] } } });
 * await fetch(`${sim.url}/v1/chat/completions`, { method: 'POST', body: JSON.stringify({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] }) });
 * await sim.close();
 */
export async function startSimulator(opts: SimulatorOptions = {}): Promise<SimulatorHandle> {
  const listenHost = bareHost(opts.host ?? '127.0.0.1');
  if (!isLoopbackHost(listenHost) && opts.token === undefined && (opts.adminKeys === undefined || opts.adminKeys.length === 0)) {
    throw new SimConfigError(
      `refusing to listen on ${listenHost} without an admin key: anyone who reaches it could switch its faults through /_sim/*. ` +
        'Set an admin key or listen on loopback (127.0.0.1, ::1 or localhost).',
    );
  }
  const sim = new Simulator(opts);
  const server = createServer(sim.handle);
  server.on('connection', (s: Socket) => {
    sim.sockets.add(s);
    s.once('close', () => sim.sockets.delete(s));
  });
  // A reset or cut socket can raise EPIPE/ECONNRESET on late writes; that is the point, not a crash.
  server.on('clientError', (_err, socket) => socket.destroy());
  await listen(server, opts.port ?? 0, listenHost);
  // A failed accept (out of open files) is emitted on the server; in the gateway's own process
  // an unheard one would end the gateway. Logged like the gateway's own; the simulator keeps
  // serving once files are free.
  server.on('error', new ServerErrors(opts.log ?? ((line) => process.stderr.write(`${line}\n`)), Date.now).onError);
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('simulator: unexpected server address');
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  let closing: Promise<void> | null = null;
  return {
    url: `http://${host}:${address.port}`,
    port: address.port,
    close() {
      closing ??= new Promise<void>((resolve) => {
        sim.cancelTimers();
        server.close(() => resolve());
        for (const s of sim.sockets) s.destroy();
      });
      return closing;
    },
    setModel: (model, cfg) => void sim.setModel(model, cfg),
    setDefaults: (cfg) => void sim.setDefaults(cfg),
    reset: () => sim.reset(),
    calls: (filter) => sim.calls(filter),
  };
}
