import type { Request, Response } from 'express';
import { request } from 'undici';
import { GatewayError } from '../core/openai-error.ts';
import { readJsonBody } from './body.ts';
import { sendError } from './errors.ts';

/** How the gateway reaches its in-process simulator: its URL and the headers carrying its token. */
export interface SimulatorLink {
  url: string;
  headers: Record<string, string>;
}

/**
 * `/admin/simulator/*`: the in-process simulator's control endpoints (`/_sim/*`: state,
 * per-model faults and latency, reset, call log), reachable on the gateway's own port so a
 * running `npm start` can be switched into an outage without knowing the simulator's port.
 * This is their only door: the simulator itself answers only requests carrying its token.
 */
export function simulatorAdmin(simulator: SimulatorLink | undefined) {
  return async (req: Request, res: Response): Promise<void> => {
    if (simulator === undefined) {
      sendError(res, new GatewayError(404, 'The built-in simulator is not running (simulator.enabled is false).', { code: 'simulator_disabled' }));
      return;
    }
    const rest = (req.params as { path?: string[] }).path ?? [];
    const query = req.url.includes('?') ? req.url.slice(req.url.indexOf('?')) : '';
    // Only PUT takes a body (a model's config, the defaults); `POST reset` needs none.
    const body = req.method === 'PUT' ? JSON.stringify((await readJsonBody(req, 1024 * 1024)) ?? {}) : undefined;
    if (body === undefined) req.resume();
    const upstream = await request(`${simulator.url}/_sim/${rest.map(encodeURIComponent).join('/')}${query}`, {
      method: req.method as 'GET',
      headers: { ...simulator.headers, 'content-type': 'application/json' },
      ...(body !== undefined ? { body } : {}),
    });
    res.status(upstream.statusCode).type('application/json').send(await upstream.body.text());
  };
}
