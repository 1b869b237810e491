import express, { type Request, type Response, type Router } from 'express';
import { GatewayError } from '../core/openai-error.ts';
import { faultJson } from '../chaos/faults.ts';
import { parseFault } from '../chaos/parse-fault.ts';
import type { ChaosRegistry } from '../chaos/registry.ts';
import { readJsonBody } from './body.ts';
import { sendError } from './errors.ts';

const DISABLED = new GatewayError(404, 'Fault injection is off: set chaos.enabled: true in the config to use /admin/chaos.', { code: 'chaos_disabled' });

/**
 * `/admin/chaos`: add a fault to a target (`POST`), list the faults in force and what they have
 * injected (`GET`), remove one (`DELETE /admin/chaos/{id}`). Mounted behind the admin key.
 */
export function chaosAdmin(registry: ChaosRegistry | undefined): Router {
  const router = express.Router();
  router.use((_req, res, next) => (registry === undefined ? sendError(res, DISABLED) : next()));
  router.post('/', async (req: Request, res: Response) => {
    const spec = parseFault(await readJsonBody(req, 16 * 1024), (t) => registry!.knows(t));
    let fault;
    try {
      fault = registry!.add(spec);
    } catch (err) {
      if (err instanceof RangeError) throw new GatewayError(409, `Too many faults: ${err.message}. Remove one first.`, { code: 'chaos_full' });
      throw err;
    }
    res.status(201).json(faultJson(fault, fault.createdAt));
  });
  router.get('/', (_req, res) => {
    const now = registry!.now;
    res.json({ object: 'list', data: registry!.list().map((f) => faultJson(f, now)), injected: registry!.counts() });
  });
  router.delete('/:id', (req, res) => {
    const fault = registry!.remove(String(req.params.id));
    if (fault === undefined) throw new GatewayError(404, `No fault "${String(req.params.id)}" is in force.`, { code: 'chaos_fault_not_found', param: 'id' });
    res.json({ id: fault.id, object: 'chaos.fault', deleted: true, injected: fault.injected });
  });
  return router;
}
