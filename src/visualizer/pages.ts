import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import express, { type RequestHandler, type Router } from 'express';
import { charts } from './charts.ts';
import type { VisualizerFeed } from './feed.ts';
import { liveStatus } from './live-status.ts';

/** The pages' own files (plain ES modules, no build step). */
const PAGES_DIR = fileURLToPath(new URL('../../visualizer/', import.meta.url));
/** elkjs's browser bundle, served from the installed package: no CDN, works offline. */
const ELK_BUNDLE = createRequire(import.meta.url).resolve('elkjs/lib/elk.bundled.js');

const assets = (): RequestHandler => express.static(PAGES_DIR, { index: false, fallthrough: true, maxAge: 0 });

/**
 * `/visualizer`: the page and its scripts (public: they hold no data), and its admin-only data:
 * `api/charts` (every listed machine's statechart) and `api/actors` (the live actors). The live
 * transitions come over the `/visualizer/ws` WebSocket (VisualizerFeed).
 */
export function visualizerRoutes(feed: VisualizerFeed, requireAdmin: RequestHandler): Router {
  const router = express.Router();
  router.get('/', (_req, res) => res.sendFile('index.html', { root: PAGES_DIR }));
  router.get('/vendor/elk.bundled.js', (_req, res) => res.type('text/javascript').sendFile(ELK_BUNDLE));
  router.get('/api/charts', requireAdmin, (_req, res) => res.json({ object: 'list', data: charts() }));
  router.get('/api/actors', requireAdmin, (_req, res) => res.json({ object: 'list', data: feed.actors() }));
  router.use(assets());
  return router;
}

/**
 * `/status`: the public status page (config `status_page`); `api/live` is its live view of every
 * provider and model, read from the same actors the visualizer draws. Uptime, incidents and the
 * health stream come from /v1/uptime, /v1/incidents and /v1/health/stream where they exist.
 */
export function statusRoutes(feed: VisualizerFeed, guard: RequestHandler | undefined): Router {
  const router = express.Router();
  const open: RequestHandler = (_req, _res, next) => next();
  router.get('/', (_req, res) => res.sendFile('status.html', { root: PAGES_DIR }));
  router.get('/api/live', guard ?? open, (_req, res) => res.json(liveStatus(feed)));
  router.use(assets());
  return router;
}
