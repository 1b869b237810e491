import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { uniqueId } from './core/ids.ts';
import { KeyChecker } from './auth/keys.ts';
import { bindSimulator } from './config/load.ts';
import { assertStartable } from './config/startable.ts';
import type { GatewayConfig } from './config/types.ts';
import { RouteTable } from './routing/routes.ts';
import { FlowRuntime, type FlowClock } from './serve/flow-runtime.ts';
import { ChatService } from './serve/serve-chat.ts';
import { stateChanges } from './events/state-changes.ts';
import { TransitionHub } from './events/transitions.ts';
import { ResponseCache } from './cache/response-cache.ts';
import { createListener } from './http/app.ts';
import { adapterFor } from './providers/adapters.ts';
import { Transport } from './providers/transport.ts';
import { startSimulator, type SimulatorHandle } from './simulator/index.ts';

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
  /**
   * Stop. With `graceMs`, drain first: stop accepting connections, close idle keep-alive
   * ones, and let requests in flight finish for up to `graceMs` before cutting the rest.
   */
  close(opts?: { graceMs?: number }): Promise<void>;
}

export interface StartOptions {
  clock?: FlowClock;
  /**
   * Where to write one JSON line per state change of a long-lived actor (a breaker opening,
   * a provider going down, a health probe marking a target down). The CLI passes stderr.
   */
  log?: (line: string) => void;
}

/** Start the gateway (and its built-in simulator when configured). */
export async function startGateway(config: GatewayConfig, opts: StartOptions = {}): Promise<RunningGateway> {
  assertStartable(config);
  const keys = new KeyChecker(config.auth.keys);

  let simulator: SimulatorHandle | undefined;
  if (config.simulator.enabled) {
    // Its models and defaults were checked by assertStartable.
    simulator = await startSimulator({
      host: config.simulator.host,
      port: config.simulator.port,
      ...(config.simulator.models ? { models: config.simulator.models as never } : {}),
      ...(config.simulator.defaults !== undefined ? { defaults: config.simulator.defaults as never } : {}),
      ...(config.simulator.seed !== undefined ? { seed: config.simulator.seed } : {}),
    });
    bindSimulator(config, simulator.url);
  }

  const hub = new TransitionHub();
  const transport = new Transport({ connections: connectionsByOrigin(config) });
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
    },
    ...(opts.clock ? { clock: opts.clock } : {}),
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

  const listener = createListener({
    chat,
    routes,
    keys,
    adminKeys: new KeyChecker(config.auth.adminKeys),
    simulatorUrl: simulator?.url,
    bodyLimitBytes: config.server.bodyLimitBytes,
    policy: { providers: routes.providerNames, defaults: r.policy },
    nextRequestId: () => `req_${uniqueId()}`,
  });
  const server = createServer({ keepAliveTimeout: 65_000 }, listener);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.server.port, config.server.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const host = config.server.host.includes(':') ? `[${config.server.host}]` : config.server.host;
  return {
    url: `http://${host}:${port}`,
    port,
    server,
    runtime,
    chat,
    hub,
    config,
    simulator,
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
      server.closeAllConnections();
      await closed;
      runtime.stop();
      hub.complete();
      await transport.close();
      await simulator?.close();
    },
  };
}

/** Each upstream origin's pool size: the largest `connections` of the providers on it. */
function connectionsByOrigin(config: GatewayConfig): Map<string, number> {
  const sizes = new Map<string, number>();
  for (const p of config.providers) {
    const origin = new URL(p.target.baseUrl).origin;
    sizes.set(origin, Math.max(sizes.get(origin) ?? 0, p.connections));
  }
  return sizes;
}
