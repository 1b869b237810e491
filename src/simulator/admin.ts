/**
 * Run-time control over HTTP for a separately started `parrot simulate`:
 *   GET    /_sim/state              effective defaults and per-model config, clocks and call count
 *                                    (every provider call since start/reset, not only those the log still holds)
 *   PUT    /_sim/models/{model}     body: a SimModelConfig (JSON) replacing that model's behaviour
 *   DELETE /_sim/models/{model}     back to the defaults
 *   PUT    /_sim/defaults           body: a SimModelConfig for every unconfigured model
 *   POST   /_sim/reset              start config back, call log cleared
 *   GET    /_sim/calls?model=&provider=
 * Bodies are validated by the target (setModel/setDefaults); a bad one is a 400 whose message
 * names the field.
 */
import type { ServerResponse } from 'node:http';
import { SimConfigError } from './config-schema.ts';
import { sendRendered } from './pump.ts';
import type { SimCall, SimCallFilter, SimModelConfig, SimProvider } from './types.ts';

/** What the admin endpoints drive. setModel/setDefaults validate and return the config applied. */
interface AdminTarget {
  state(): unknown;
  setModel(model: string, cfg: unknown, where: string): SimModelConfig;
  unsetModel(model: string): boolean;
  setDefaults(cfg: unknown): SimModelConfig;
  reset(): void;
  calls(filter?: SimCallFilter): SimCall[];
}

const PROVIDERS = new Set<string>(['openai', 'anthropic', 'google']);

const JSON_HEADERS = ['content-type', 'application/json'];

function json(res: ServerResponse, status: number, value: unknown): void {
  sendRendered(res, { status, headers: JSON_HEADERS, body: JSON.stringify(value) });
}

/**
 * Percent-decodes one path segment (a model name); null when the escapes are malformed
 * (`%E0%A4%A`), which decodeURIComponent would throw on.
 */
export function decodePathSegment(segment: string): string | null {
  if (!segment.includes('%')) return segment;
  try {
    return decodeURIComponent(segment);
  } catch {
    return null;
  }
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

/**
 * Parses the JSON body and hands it to `apply` (which validates it); answers the 400 for invalid
 * JSON or an invalid config, else `ok` with the config applied.
 */
function applyConfig(res: ServerResponse, raw: string, apply: (cfg: unknown) => SimModelConfig, ok: (cfg: SimModelConfig) => unknown): void {
  const body = parseBody(raw);
  if (!body.ok) return problem(res, 400, 'request body is not valid JSON');
  let cfg: SimModelConfig;
  try {
    cfg = apply(body.value);
  } catch (err) {
    if (err instanceof SimConfigError) return problem(res, 400, `invalid model config: ${err.message}`);
    throw err;
  }
  json(res, 200, ok(cfg));
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
    return applyConfig(res, raw, (cfg) => target.setDefaults(cfg), (defaults) => ({ defaults }));
  }
  if (path.startsWith('/_sim/models/')) {
    const model = decodePathSegment(path.slice('/_sim/models/'.length));
    if (model === null) return problem(res, 400, 'model name in the path is not valid percent-encoding');
    if (model === '') return problem(res, 400, 'model name missing: PUT /_sim/models/{model}');
    if (method === 'PUT') {
      // The model is named by the path already: field names in the message start at the config's root.
      return applyConfig(res, raw, (cfg) => target.setModel(model, cfg, ''), (config) => ({ model, config }));
    }
    if (method === 'DELETE') return json(res, 200, { model, removed: target.unsetModel(model) });
  }
  problem(res, 404, `no simulator admin endpoint ${method} ${path}`);
}
