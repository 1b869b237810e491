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
import type { FlowClock } from './serve/flow-handle.ts';
import { FlowRuntime } from './serve/flow-runtime.ts';
import { ChatService } from './serve/serve-chat.ts';
import { stateChanges } from './events/state-changes.ts';
import { TransitionHub } from './events/transitions.ts';
import { ResponseCache } from './cache/response-cache.ts';
import { DegradedService } from './degraded/service.ts';
import { degradedEvaluator, degradedSettings } from './degraded/start.ts';
import { createListener } from './http/app.ts';
import { Admission } from './http/admission.ts';
import { answerClientError } from './http/client-error.ts';
import { OpenStreams } from './http/open-streams.ts';
import { listen } from './net/listen.ts';
import { hostPort } from './net/loopback.ts';
import { adapterFor } from './providers/adapters.ts';
import { Transport } from './providers/transport.ts';
import { ChaosTransport } from './chaos/chaos-transport.ts';
import { chaosRegistry } from './chaos/chaos-log.ts';
import type { ChaosRegistry } from './chaos/registry.ts';
import { VisualizerFeed } from './visualizer/feed.ts';
import { SIMULATOR_TOKEN_HEADER, startSimulator, type SimulatorHandle } from './simulator/index.ts';
import { openStore } from './store/open-store.ts';
import type { Store } from './store/types.ts';
import { HealthMonitor } from './health/monitor.ts';
import { AliveRecord } from './health/alive-record.ts';
import { healthView } from './health/health-view.ts';
import { restoreTargets } from './health/persist.ts';
import { ServerErrors } from './net/server-errors.ts';
import { HealthStream } from './health/stream.ts';
import { UnservedRecorder } from './health/unserved.ts';
import { topologyOf, uptimeResponse } from './health/uptime-view.ts';
import { WriteQueue } from './health/write-queue.ts';
import { IncidentRecorder } from './incidents/recorder.ts';
import { incidentNotifications, storeDeliveryLog } from './incidents/notifications.ts';
import { GatewayMetrics } from './metrics/metrics.ts';
import { Notifier } from './notify/notifier.ts';
import { systemClock } from './notify/types.ts';
import type { Resolver } from './notify/webhook-target.ts';

export interface RunningGateway {
  /** e.g. http://127.0.0.1:8080 */
  url: string;
  port: number;
  server: Server;
  /** The actor runtime: targets, the gateway's actor system, the request flows. */
  runtime: FlowRuntime;
  /** The chat entry point the HTTP layer calls (`serveChat`). */
  chat: ChatService;
  /** Degraded mode's strategies, queue and cache use around `serveChat`. */
  degraded: DegradedService;
  hub: TransitionHub;
  /** The faults in force (POST /admin/chaos), when chaos.enabled. */
  chaos: ChaosRegistry | undefined;
  config: GatewayConfig;
  /** The in-process simulator, when the config enabled it. */
  simulator: SimulatorHandle | undefined;
  /** History and runtime state (docs/store.md). */
  store: Store;
  monitor: HealthMonitor;
  incidents: IncidentRecorder;
  notifier: Notifier;
  healthStream: HealthStream;
  metrics: GatewayMetrics;
  /** The ordered store writes of health and incidents; `drain()` waits for them. */
  writes: WriteQueue;
  /** Chat requests in flight and refused at the admission limit (server.max_in_flight). */
  admission: Admission;
  /** Errors the listening server reported (failed accepts), logged and survived. */
  serverErrors: ServerErrors;
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
  /** Webhook host names -> addresses (default: the system resolver); tests map names to loopback. */
  resolve?: Resolver;
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
  const warn = opts.log ?? ((line: string) => process.stderr.write(`${line}\n`));
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
      log: warn,
    });
    bindSimulator(config, simulator.url, simulatorHeaders);
  }

  const clock = opts.clock;
  const now = clock ? () => clock.now() : Date.now;
  let store: Store;
  try {
    store = await openStore({
      ...(config.store.databaseUrl !== undefined ? { databaseUrl: config.store.databaseUrl } : {}),
      ...(config.store.sqlitePath !== undefined ? { sqlitePath: config.store.sqlitePath } : {}),
      env: {},
      now,
      log: warn,
    });
  } catch (err) {
    await simulator?.close();
    throw err;
  }

  const hub = new TransitionHub({ now });
  const transport = new Transport({ connections: connectionsByOrigin(config), defaultConnections: config.server.maxInFlight, redactor: new Redactor(configSecrets(config)), now });
  const routes = new RouteTable(config, adapterFor);
  const r = config.resilience;
  const degradedMode = degradedSettings(config, routes);
  const evaluator = degradedEvaluator(config, routes, degradedMode);
  // Fault injection sits where calls leave the gateway; without chaos.enabled it is not there at all.
  const chaos = config.chaos.enabled ? chaosRegistry(routes, now, opts.log) : undefined;
  const runtime = new FlowRuntime({
    routes,
    transport: chaos ? new ChaosTransport(transport, chaos) : transport,
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
    degraded: { intervalMs: degradedMode.intervalMs, evaluate: evaluator.evaluate },
  });
  evaluator.prime(runtime.targets);
  const cache = new ResponseCache({ maxEntries: r.cacheEntries, maxBytes: config.responseCache.maxBytes });
  const cacheFile = config.responseCache.file;
  if (cacheFile !== undefined) cache.load(cacheFile);
  const degraded = new DegradedService({
    state: () => runtime.degradedState(),
    settings: degradedMode,
    cache,
    cacheTtlMs: config.responseCache.ttlMs,
    clock: clock ?? realClock,
  });
  const chat = new ChatService({
    runtime,
    defaults: r.policy,
    cache,
    degradedMode: degraded,
    attemptTimeoutMs: r.attemptTimeoutMs,
    ttftTimeoutMs: r.ttftTimeoutMs,
    streamIdleTimeoutMs: r.streamIdleTimeoutMs,
    degraded: r.degraded,
    onFinished: (request, out) => {
      metrics.onRequest(request.model, out);
      incidents.onRequest(out);
      unserved.onRequest(request.model, out, now());
    },
    hedgeMinDelayMs: r.hedgeMinDelayMs,
  });

  // Health, incidents and their history (docs/health.md).
  const writes = new WriteQueue(warn);
  const providers = new Map<string, string[]>();
  for (const route of routes.routes()) {
    const list = providers.get(route.provider);
    if (list) list.push(route.model);
    else providers.set(route.provider, [route.model]);
  }
  const chain = r.policy.failover.providers;
  const defaultBreakers = new Set([...runtime.targets.values()].map((t) => t.breakers.default.id));
  const monitor = new HealthMonitor({
    transitions$: hub.transitions$,
    store,
    writes,
    failoverOrder: [...chain, ...[...providers.keys()].filter((p) => !chain.includes(p))],
    providers,
    isDefaultBreaker: (id) => defaultBreakers.has(id),
  });
  const stateOf = (systemId: string): string | undefined => {
    const v = runtime.actor(systemId)?.getSnapshot().value;
    return typeof v === 'string' ? v : undefined;
  };
  const notifier = new Notifier({
    config: config.notifications,
    log: storeDeliveryLog(store),
    clock: clock ?? systemClock,
    onError: warn,
    ...(opts.resolve ? { resolve: opts.resolve } : {}),
  });
  const incidents = new IncidentRecorder({
    monitor,
    store,
    writes,
    now,
    ...(clock ? { clock } : {}),
    region: config.region,
    resolveAfterMs: config.incidents.resolveAfterMs,
    providers,
    stateOf,
    onChange: incidentNotifications(store, notifier, now, warn),
  });
  const unserved = new UnservedRecorder(store, writes);
  const topology = topologyOf(routes, config);
  const health = () => healthView({ runtime, monitor, store, topology, providers, region: config.region, openIncidents: () => incidents.openCount });
  const healthStream = new HealthStream({
    events$: monitor.events$,
    keys,
    snapshot: health,
    heartbeatIntervalMs: config.health.heartbeatIntervalMs,
    bufferBytes: config.health.streamBufferBytes,
    maxClients: config.health.maxStreamClients,
    ...(clock ? { clock } : {}),
    now,
  });
  const metrics = new GatewayMetrics({
    targets: runtime.targets,
    openIncidents: () => incidents.openCount,
    incidents: () => incidents.counts,
    streamClients: () => healthStream.clients,
    degradedMode: () => monitor.degradedMode !== undefined,
  });
  monitor.events$.subscribe((e) => metrics.onHealthEvent(e));
  // Before restoring: a target that starts down says so in the operator's log (RESTORE), and
  // its later changes start from the state it really had.
  const log = opts.log;
  const logging = log === undefined ? undefined : stateChanges(hub.transitions$).subscribe((c) => log(JSON.stringify(c)));
  // What was down before a restart starts down; incidents left open go on.
  await incidents.restore();
  await restoreTargets(store, runtime.targets);
  await new Promise((resolve) => setImmediate(resolve));
  incidents.settleRestored();
  const alive = new AliveRecord({ store, writes, now, ...(clock ? { clock } : {}) });
  await alive.start();
  let ready = false;

  const feed = new VisualizerFeed({ hub, runtime, adminKeys: new KeyChecker(config.auth.adminKeys), open: keys.open });

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
    chaos,
    feed,
    statusPage: config.statusPage,
    ops: {
      store,
      notifier,
      now,
      health,
      uptime: (days) => uptimeResponse(store, topology, config.sla, now(), days),
      metrics: () => metrics.render(),
      ready: () => ready,
      bodyLimitBytes: config.server.bodyLimitBytes,
    },
  });
  const server = createServer({ keepAliveTimeout: 65_000 }, listener);
  // Requests Node's parser refuses (431, 400, 408) answer in OpenAI's error shape too.
  server.on('clientError', answerClientError);
  server.on('upgrade', (req, socket, head) => {
    // The visualizer's feed takes its own path; every other WebSocket path is the health
    // stream's to serve or refuse (404 for a path nobody serves).
    if (!feed.upgrade(req, socket, head)) healthStream.handleUpgrade(req, socket, head);
  });
  const stopRuntime = async (): Promise<void> => {
    ready = false;
    logging?.unsubscribe();
    degraded.stop();
    // The cache outlives the process when it has a file: the last line of defence after a restart.
    if (cacheFile !== undefined) cache.save(cacheFile);
    feed.close();
    healthStream.close();
    // Before the actors stop: their stopping is no state change to record.
    monitor.stop();
    await incidents.stop();
    await alive.stop();
    runtime.stop();
    hub.complete();
    await notifier.close();
    await writes.drain();
    await store.close();
    await transport.close();
    await simulator?.close();
  };
  try {
    await listen(server, config.server.port, config.server.host);
  } catch (err) {
    await stopRuntime();
    throw err;
  }
  // From here on a server error (an accept that found no free file) is logged, never fatal.
  const serverErrors = new ServerErrors(warn, Date.now);
  server.on('error', serverErrors.onError);
  const port = (server.address() as AddressInfo).port;
  ready = true;
  return {
    url: `http://${hostPort(config.server.host, port)}`,
    port,
    server,
    runtime,
    chat,
    degraded,
    hub,
    chaos,
    config,
    simulator,
    store,
    monitor,
    incidents,
    notifier,
    healthStream,
    metrics,
    writes,
    admission,
    serverErrors,
    async close(closeOpts = {}) {
      // Upgraded sockets (the visualizer's feed) are no longer the server's: end them first.
      feed.close();
      ready = false;
      healthStream.close();
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

/** Node's timers, for the degraded-mode queue when no simulated clock is given. */
const realClock = {
  setTimeout: (fn: () => void, ms: number): unknown => setTimeout(fn, ms).unref(),
  clearTimeout: (id: unknown): void => clearTimeout(id as NodeJS.Timeout),
  now: Date.now,
};

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
