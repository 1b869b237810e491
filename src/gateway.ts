import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { uniqueId } from './core/ids.ts';
import { Redactor } from './core/redact.ts';
import { KeyChecker } from './auth/keys.ts';
import { bindSimulator } from './config/load.ts';
import { configSecrets } from './config/secrets.ts';
import { assertStartable } from './config/startable.ts';
import type { GatewayConfig } from './config/types.ts';
import { RouteTable } from './routing/routes.ts';
import { FlowRuntime, type FlowClock } from './serve/flow-runtime.ts';
import { ChatService } from './serve/serve-chat.ts';
import { stateChanges } from './events/state-changes.ts';
import { TransitionHub } from './events/transitions.ts';
import { ResponseCache } from './cache/response-cache.ts';
import { createListener } from './http/app.ts';
import { Admission } from './http/admission.ts';
import { answerClientError } from './http/client-error.ts';
import { OpenStreams } from './http/open-streams.ts';
import { listen } from './net/listen.ts';
import { hostPort } from './net/loopback.ts';
import { adapterFor } from './providers/adapters.ts';
import { Transport } from './providers/transport.ts';
import { SIMULATOR_TOKEN_HEADER, startSimulator, type SimulatorHandle } from './simulator/index.ts';

export interface RunningGateway {
  /** e.g. http://127.0.0.1:8080 */
  url: string;
  port: number;
  server: Server;
  /** The actor runtime: targets, the gateway's actor system, the request flows. */
  runtime: FlowRuntime;
  /** The chat entry point the HTTP layer calls (`serveChat`). */
  chat: ChatService;
  hub: TransitionHub;
  config: GatewayConfig;
  /** The in-process simulator, when the config enabled it. */
  simulator: SimulatorHandle | undefined;
  /** Chat requests in flight and refused at the admission limit (server.max_in_flight). */
  admission: Admission;
  /**
   * Stop. With `graceMs`, drain first: stop accepting connections, close idle keep-alive
   * ones, and let requests in flight finish for up to `graceMs` before cutting the rest.
   * A stream cut then gets a final in-band error event in OpenAI's shape and a clean end
   * (no `[DONE]`); other requests still in flight are reset, which an SDK retries.
   */
  close(opts?: { graceMs?: number }): Promise<void>;
}

export interface StartOptions {
  clock?: FlowClock;
  /**
   * Where to write one JSON line per state change of a long-lived actor (a breaker opening,
   * a provider going down, a health probe marking a target down), and a rate-limited line
   * when a target starts refusing calls at the gateway's own limit. The CLI passes stderr.
   */
  log?: (line: string) => void;
}

/** How long streams cut at shutdown get to flush their final error event before sockets close. */
const CUT_FLUSH_MS = 1_000;

/**
 * Start the gateway (and its built-in simulator when configured).
 * @throws ConfigError when the config cannot start (open mode off loopback, a bad simulator block).
 * @throws ListenError when the port is taken or the host does not resolve; nothing is left running.
 */
export async function startGateway(config: GatewayConfig, opts: StartOptions = {}): Promise<RunningGateway> {
  assertStartable(config);
  const keys = new KeyChecker(config.auth.keys);

  let simulator: SimulatorHandle | undefined;
  let simulatorHeaders: Record<string, string> = {};
  if (config.simulator.enabled) {
    // Only this process knows the token: the simulator answers nobody else, so its control API
    // is reachable only through /admin/simulator/*, behind the gateway's admin key.
    simulatorHeaders = { [SIMULATOR_TOKEN_HEADER]: randomBytes(32).toString('base64url') };
    // Its models and defaults were checked by assertStartable.
    simulator = await startSimulator({
      host: config.simulator.host,
      port: config.simulator.port,
      token: simulatorHeaders[SIMULATOR_TOKEN_HEADER],
      ...(config.simulator.models ? { models: config.simulator.models as never } : {}),
      ...(config.simulator.defaults !== undefined ? { defaults: config.simulator.defaults as never } : {}),
      ...(config.simulator.seed !== undefined ? { seed: config.simulator.seed } : {}),
    });
    bindSimulator(config, simulator.url, simulatorHeaders);
  }

  const hub = new TransitionHub();
  const clock = opts.clock;
  const transport = new Transport({ connections: connectionsByOrigin(config), defaultConnections: config.server.maxInFlight, redactor: new Redactor(configSecrets(config)), now: clock ? () => clock.now() : Date.now });
  const routes = new RouteTable(config, adapterFor);
  const r = config.resilience;
  const runtime = new FlowRuntime({
    routes,
    transport,
    hub,
    targets: {
      defaultBreaker: r.policy.breaker,
      maxBreakersPerTarget: r.maxBreakersPerTarget,
      retryBudget: r.retryBudget,
      probeIntervalMs: r.breakerProbeIntervalMs,
      maxInFlight: maxInFlightOf(config),
      ...(opts.log ? { log: opts.log } : {}),
    },
    ...(clock ? { clock } : {}),
  });
  const chat = new ChatService({
    runtime,
    defaults: r.policy,
    cache: new ResponseCache(r.cacheEntries),
    attemptTimeoutMs: r.attemptTimeoutMs,
    ttftTimeoutMs: r.ttftTimeoutMs,
    streamIdleTimeoutMs: r.streamIdleTimeoutMs,
    degraded: r.degraded,
  });

  const log = opts.log;
  const logging = log === undefined ? undefined : stateChanges(hub.transitions$).subscribe((c) => log(JSON.stringify(c)));

  const streams = new OpenStreams();
  const admission = new Admission(config.server.maxInFlight);
  const listener = createListener({
    chat,
    routes,
    keys,
    adminKeys: new KeyChecker(config.auth.adminKeys),
    simulator: simulator && { url: simulator.url, headers: simulatorHeaders },
    streams,
    bodyLimitBytes: config.server.bodyLimitBytes,
    admission,
    policy: { providers: routes.providerNames, models: routes.modelNames, defaults: r.policy },
    nextRequestId: () => `req_${uniqueId()}`,
  });
  const server = createServer({ keepAliveTimeout: 65_000 }, listener);
  // Requests Node's parser refuses (431, 400, 408) answer in OpenAI's error shape too.
  server.on('clientError', answerClientError);
  const stopRuntime = async (): Promise<void> => {
    logging?.unsubscribe();
    runtime.stop();
    hub.complete();
    await transport.close();
    await simulator?.close();
  };
  try {
    await listen(server, config.server.port, config.server.host);
  } catch (err) {
    await stopRuntime();
    throw err;
  }
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://${hostPort(config.server.host, port)}`,
    port,
    server,
    runtime,
    chat,
    hub,
    config,
    simulator,
    admission,
    async close(closeOpts = {}) {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      const grace = closeOpts.graceMs ?? 0;
      if (grace > 0) {
        // A keep-alive connection turns idle when its request finishes: sweep idle ones until
        // none is left (the server then closes) or the grace period ends. No per-request cost.
        server.closeIdleConnections();
        const sweep = setInterval(() => server.closeIdleConnections(), 25);
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([closed, new Promise<void>((resolve) => (timer = setTimeout(resolve, grace)))]);
        clearInterval(sweep);
        clearTimeout(timer);
      }
      logging?.unsubscribe();
      // Streams still open end with an in-band error instead of a reset; then every socket closes.
      await streams.cutAll(CUT_FLUSH_MS);
      server.closeAllConnections();
      await closed;
      await stopRuntime();
    },
  };
}

/** Each target's providers[].max_in_flight, by target key. */
function maxInFlightOf(config: GatewayConfig): (key: string) => number | undefined {
  const byKey = new Map<string, number>();
  for (const p of config.providers) for (const m of p.models) byKey.set(`${p.target.name}/${m.name}`, p.maxInFlight);
  return (key) => byKey.get(key);
}

/** Each upstream origin's pool size: the largest `connections` of the providers on it that name one. */
function connectionsByOrigin(config: GatewayConfig): Map<string, number> {
  const sizes = new Map<string, number>();
  for (const p of config.providers) {
    if (p.connections === undefined) continue;
    const origin = new URL(p.target.baseUrl).origin;
    sizes.set(origin, Math.max(sizes.get(origin) ?? 0, p.connections));
  }
  return sizes;
}
