import type { IncomingMessage, ServerResponse } from 'node:http';
import express, { type NextFunction, type Request, type Response } from 'express';
import { GatewayError, modelNotFound } from '../core/openai-error.ts';
import type { KeyChecker } from '../auth/keys.ts';
import { presentedKey } from '../auth/keys.ts';
import type { RouteTable } from '../routing/routes.ts';
import { createChatHandler, type ChatHandlerOptions } from './chat.ts';
import { simulatorAdmin, type SimulatorLink } from './admin-simulator.ts';
import { sendError, toGatewayError } from './errors.ts';
import { chaosAdmin } from './admin-chaos.ts';
import type { ChaosRegistry } from '../chaos/registry.ts';
import type { VisualizerFeed } from '../visualizer/feed.ts';
import { statusRoutes, visualizerRoutes } from '../visualizer/pages.ts';
import { mountOps, type OpsApi } from './ops.ts';

export interface AppOptions extends ChatHandlerOptions {
  routes: RouteTable;
  keys: KeyChecker;
  adminKeys: KeyChecker;
  /** The in-process simulator, when running. */
  simulator: SimulatorLink | undefined;
  /** Fault injection, when chaos.enabled. */
  chaos?: ChaosRegistry | undefined;
  /** The visualizer's live feed (its JSON API; its WebSocket is upgraded by the server). */
  feed?: VisualizerFeed;
  statusPage?: { enabled: boolean; public: boolean };
  /** Health, incidents, uptime, subscriptions, metrics, liveness (src/http/ops.ts). */
  ops?: OpsApi;
}

const FORBIDDEN = new GatewayError(403, 'This endpoint needs an admin key (auth.admin_keys).', { code: 'admin_key_required' });

const UNAUTHORIZED = new GatewayError(
  401,
  'Incorrect API key provided. Pass your gateway key as "Authorization: Bearer <key>" or "x-api-key: <key>".',
  { code: 'invalid_api_key' },
);

const CHAT_PATH = '/v1/chat/completions';

/**
 * The server's request listener. `POST /v1/chat/completions` is the hot path and goes
 * straight to its handler (express's router and request decoration cost ~20-25 µs a request,
 * measured in docs/performance.md); everything else is the express app.
 */
export function createListener(opts: AppOptions): (req: IncomingMessage, res: ServerResponse) => void {
  const app = createApp(opts);
  const chat = createChatHandler(opts);
  return (req, res) => {
    const url = req.url ?? '';
    if (req.method === 'POST' && (url === CHAT_PATH || (url.startsWith(CHAT_PATH) && url.charCodeAt(CHAT_PATH.length) === 63 /* ? */))) {
      if (!opts.keys.open && !opts.keys.check(presentedKey(req.headers))) {
        req.resume();
        sendError(res, UNAUTHORIZED);
        return;
      }
      void chat(req, res).catch((err: unknown) => sendError(res, toGatewayError(err)));
      return;
    }
    app(req, res);
  };
}

/** The gateway's HTTP API (express 5) for everything but the chat hot path. */
function createApp(opts: AppOptions): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.disable('etag');

  const requireKey = (req: Request, res: Response, next: NextFunction): void => {
    if (opts.keys.open || opts.keys.check(presentedKey(req.headers))) {
      next();
      return;
    }
    sendError(res, UNAUTHORIZED);
  };

  // Admin endpoints: an admin key; in open development mode (no keys at all) loopback is trusted.
  const requireAdmin = (req: Request, res: Response, next: NextFunction): void => {
    if ((opts.keys.open && opts.adminKeys.open) || opts.adminKeys.check(presentedKey(req.headers))) {
      next();
      return;
    }
    sendError(res, FORBIDDEN);
  };
  app.all('/admin/simulator/*path', requireAdmin, simulatorAdmin(opts.simulator));
  app.use('/admin/chaos', requireAdmin, chaosAdmin(opts.chaos));
  // The pages themselves hold no data (public assets); what they read is behind the keys.
  if (opts.feed) app.use('/visualizer', visualizerRoutes(opts.feed, requireAdmin));
  if (opts.feed && opts.statusPage?.enabled !== false) app.use('/status', statusRoutes(opts.feed, opts.statusPage?.public === false ? requireKey : undefined));

  app.get('/v1/models', requireKey, (_req, res) => {
    res.json({ object: 'list', data: opts.routes.models() });
  });
  app.get('/v1/models/:model', requireKey, (req, res) => {
    const m = opts.routes.models().find((x) => x.id === req.params.model);
    if (!m) throw modelNotFound(String(req.params.model));
    res.json(m);
  });

  if (opts.ops) mountOps(app, opts.ops, requireKey, requireAdmin);

  app.use((req: Request, res: Response) => {
    sendError(res, new GatewayError(404, `Unknown request URL: ${req.method} ${req.path}.`, { code: 'unknown_url' }));
  });
  // Express 5 routes async errors here too.
  app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    sendError(res, toGatewayError(err));
  });
  return app;
}
