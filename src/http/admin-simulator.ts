import type { IncomingMessage } from 'node:http';
import type { Request, Response } from 'express';
import { request } from 'undici';
import { GatewayError } from '../core/openai-error.ts';
import { collectBody } from './body.ts';
import { sendError } from './errors.ts';

/** The largest admin body passed on (a model config is a few hundred bytes). */
const ADMIN_BODY_LIMIT = 1024 * 1024;

/**
 * `/admin/simulator/*`: the in-process simulator's control endpoints (`/_sim/*`: state,
 * per-model faults and latency, reset, call log), reachable on the gateway's own port so a
 * running `npm start` can be switched into an outage without knowing the simulator's port.
 * Bodies are passed on as sent: the simulator validates them (an empty `POST reset` is fine,
 * an empty or malformed `PUT` is its 400).
 */
export function simulatorAdmin(simulatorUrl: string | undefined) {
  return async (req: Request, res: Response): Promise<void> => {
    if (simulatorUrl === undefined) {
      sendError(res, new GatewayError(404, 'The built-in simulator is not running (simulator.enabled is false).', { code: 'simulator_disabled' }));
      return;
    }
    const rest = (req.params as { path?: string[] }).path ?? [];
    const query = req.url.includes('?') ? req.url.slice(req.url.indexOf('?')) : '';
    const body = req.method === 'PUT' || req.method === 'POST' ? await readText(req) : '';
    const upstream = await request(`${simulatorUrl}/_sim/${rest.map(encodeURIComponent).join('/')}${query}`, {
      method: req.method as 'GET',
      ...(body !== '' ? { headers: { 'content-type': 'application/json' }, body } : {}),
    });
    res.status(upstream.statusCode).type('application/json').send(await upstream.body.text());
  };
}

function readText(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    collectBody(
      req,
      ADMIN_BODY_LIMIT,
      resolve,
      () => reject(new GatewayError(413, `Request body too large: the limit is ${ADMIN_BODY_LIMIT} bytes.`, { code: 'request_too_large' })),
      reject,
    );
  });
}
