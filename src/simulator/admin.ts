/**
 * Run-time control over HTTP for a separately started `parrot simulate`:
 *   GET    /_sim/state              effective defaults and per-model config, clocks and call count
 *   PUT    /_sim/models/{model}     body: a SimModelConfig (JSON) replacing that model's behaviour
 *   DELETE /_sim/models/{model}     back to the defaults
 *   PUT    /_sim/defaults           body: a SimModelConfig for every unconfigured model
 *   POST   /_sim/reset              start config back, call log cleared
 *   GET    /_sim/calls?model=&provider=
 * Bodies are validated; a bad one is a 400 whose message names the field.
 */
import type { ServerResponse } from 'node:http';
import { parseModelConfig, SimConfigError } from './config-schema.ts';
import type { SimCall, SimCallFilter, SimModelConfig, SimProvider } from './types.ts';

/** What the admin endpoints drive. */
export interface AdminTarget {
  state(): unknown;
  setModel(model: string, cfg: SimModelConfig): void;
  unsetModel(model: string): boolean;
  setDefaults(cfg: SimModelConfig): void;
  reset(): void;
  calls(filter?: SimCallFilter): SimCall[];
}

const PROVIDERS = new Set<string>(['openai', 'anthropic', 'google']);

function json(res: ServerResponse, status: number, value: unknown): void {
  const body = JSON.stringify(value);
  res.writeHead(status, ['content-type', 'application/json', 'content-length', String(Buffer.byteLength(body))]);
  res.end(body);
}

function problem(res: ServerResponse, status: number, message: string): void {
  json(res, status, { error: { message } });
}

function parseBody(raw: string): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: JSON.parse(raw) };
  } catch {
    return { ok: false };
  }
}

function validated(res: ServerResponse, raw: string, where: string): SimModelConfig | null {
  const body = parseBody(raw);
  if (!body.ok) {
    problem(res, 400, 'request body is not valid JSON');
    return null;
  }
  try {
    return parseModelConfig(body.value, where);
  } catch (err) {
    if (err instanceof SimConfigError) {
      problem(res, 400, `invalid model config: ${err.message}`);
      return null;
    }
    throw err;
  }
}

/** Handles one `/_sim/...` request whose body has been read into `raw`. */
export function handleAdmin(target: AdminTarget, method: string, path: string, query: string, raw: string, res: ServerResponse): void {
  if (path === '/_sim/state' && method === 'GET') return json(res, 200, target.state());
  if (path === '/_sim/reset' && method === 'POST') {
    target.reset();
    return json(res, 200, { ok: true });
  }
  if (path === '/_sim/calls' && method === 'GET') {
    const params = new URLSearchParams(query);
    const filter: SimCallFilter = {};
    const model = params.get('model');
    const provider = params.get('provider');
    if (model !== null && model !== '') filter.model = model;
    if (provider !== null && provider !== '') {
      if (!PROVIDERS.has(provider)) return problem(res, 400, `provider must be one of openai, anthropic, google (got "${provider}")`);
      filter.provider = provider as SimProvider;
    }
    return json(res, 200, { calls: target.calls(filter) });
  }
  if (path === '/_sim/defaults' && method === 'PUT') {
    const cfg = validated(res, raw, 'defaults');
    if (cfg === null) return;
    target.setDefaults(cfg);
    return json(res, 200, { defaults: cfg });
  }
  if (path.startsWith('/_sim/models/')) {
    let model: string;
    try {
      model = decodeURIComponent(path.slice('/_sim/models/'.length));
    } catch {
      return problem(res, 400, 'model name in the path is not valid percent-encoding');
    }
    if (model === '') return problem(res, 400, 'model name missing: PUT /_sim/models/{model}');
    if (method === 'PUT') {
      const cfg = validated(res, raw, '');
      if (cfg === null) return;
      target.setModel(model, cfg);
      return json(res, 200, { model, config: cfg });
    }
    if (method === 'DELETE') return json(res, 200, { model, removed: target.unsetModel(model) });
  }
  problem(res, 404, `no simulator admin endpoint ${method} ${path}`);
}
