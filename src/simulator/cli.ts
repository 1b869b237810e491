/**
 * `parrot simulate [--host H] [--port P] [--config file.yaml] [--seed N] [--admin-key K]`: runs
 * the provider simulator on its own (for chaos runs, benchmarks, or a gateway on another
 * machine) until SIGINT/SIGTERM. The config file holds `{models: {...}, defaults: {...}, seed,
 * api_keys, admin_keys, call_log_limit}` in the same snake_case shape `PUT /_sim/models/{model}`
 * takes. An admin key (`--admin-key`, PARROT_SIMULATOR_ADMIN_KEY or `admin_keys`) guards the
 * control API; a host beyond loopback needs one.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { parse as parseYaml } from 'yaml';
import { parseSimulatorFileEnvelope, SimConfigError, type SimulatorFileEnvelope } from './config-schema.ts';
import { ListenError } from '../net/listen.ts';
import { isLoopbackHost } from '../net/loopback.ts';
import { startSimulator } from './server.ts';
import type { SimulatorHandle, SimulatorOptions } from './types.ts';

const DEFAULT_PORT = 8090;

/** The environment variable holding an admin key (kept off the command line, where `ps` shows it). */
export const ADMIN_KEY_ENV = 'PARROT_SIMULATOR_ADMIN_KEY';

function loadFile(path: string): SimulatorFileEnvelope {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new SimConfigError(`cannot read ${path}: ${(err as Error).message}`);
  }
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (err) {
    throw new SimConfigError(`${path} is not valid YAML: ${(err as Error).message}`);
  }
  try {
    return parseSimulatorFileEnvelope(raw);
  } catch (err) {
    throw new SimConfigError(`${path}: ${(err as Error).message}`);
  }
}

/** The lines printed at start: the URL, then one line per endpoint. */
export function describeEndpoints(url: string): string[] {
  return [
    `parrot simulator listening on ${url}`,
    `  OpenAI     POST ${url}/v1/chat/completions`,
    `  OpenAI     GET  ${url}/v1/models`,
    `  Anthropic  POST ${url}/v1/messages`,
    `  Gemini     POST ${url}/v1beta/models/{model}:generateContent`,
    `  Gemini     POST ${url}/v1beta/models/{model}:streamGenerateContent?alt=sse`,
    `  control    GET  ${url}/_sim/state`,
    `  control    PUT  ${url}/_sim/models/{model}`,
    `  control    PUT  ${url}/_sim/defaults`,
    `  control    POST ${url}/_sim/reset`,
    `  control    GET  ${url}/_sim/calls?model=&provider=`,
  ];
}

/**
 * Entry point of `parrot simulate`. Resolves once the simulator has stopped on SIGINT/SIGTERM.
 * An invalid config prints a message naming the bad field and sets exit code 2.
 * @example await simulateMain(['--port', '8090', '--config', 'chaos.yaml']);
 */
export async function simulateMain(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      host: { type: 'string' },
      port: { type: 'string', short: 'p' },
      config: { type: 'string', short: 'c' },
      seed: { type: 'string' },
      'admin-key': { type: 'string' },
    },
    strict: true,
  });
  const port = values.port === undefined ? DEFAULT_PORT : Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    process.stderr.write(`parrot simulate: --port must be an integer 0..65535 (got "${values.port}")\n`);
    process.exitCode = 2;
    return;
  }
  let file: SimulatorFileEnvelope = {};
  try {
    if (values.config !== undefined) file = loadFile(values.config);
  } catch (err) {
    process.stderr.write(`parrot simulate: ${(err as Error).message}\n`);
    process.exitCode = 2;
    return;
  }
  const seed = values.seed === undefined ? file.seed : Number(values.seed);
  const opts: SimulatorOptions = { host: values.host ?? '127.0.0.1', port };
  if (file.models !== undefined) opts.models = file.models as SimulatorOptions['models'];
  if (file.defaults !== undefined) opts.defaults = file.defaults as SimulatorOptions['defaults'];
  if (seed !== undefined && Number.isFinite(seed)) opts.seed = seed;
  if (file.call_log_limit !== undefined) opts.callLogLimit = file.call_log_limit;
  if (file.api_keys !== undefined) opts.apiKeys = file.api_keys;
  const adminKeys = [values['admin-key'], process.env[ADMIN_KEY_ENV], ...(file.admin_keys ?? [])].filter((k): k is string => k !== undefined && k !== '');
  if (adminKeys.length > 0) opts.adminKeys = adminKeys;
  if (adminKeys.length === 0 && !isLoopbackHost(opts.host!)) {
    process.stderr.write(
      `parrot simulate: refusing to listen on ${opts.host} without an admin key: anyone who reaches it could switch its faults through /_sim/*. ` +
        `Pass --admin-key (or set ${ADMIN_KEY_ENV}, or admin_keys in the config file), or use --host 127.0.0.1.\n`,
    );
    process.exitCode = 2;
    return;
  }

  let sim: SimulatorHandle;
  try {
    sim = await startSimulator(opts);
  } catch (err) {
    if (err instanceof ListenError) {
      process.stderr.write(`parrot simulate: ${err.message}\n`);
      process.exitCode = 2;
      return;
    }
    // The file's model configs are validated here, by the simulator itself.
    if (!(err instanceof SimConfigError)) throw err;
    process.stderr.write(`parrot simulate: ${values.config}: ${err.message}\n`);
    process.exitCode = 2;
    return;
  }
  process.stdout.write(`${describeEndpoints(sim.url).join('\n')}\n`);
  if (adminKeys.length > 0) process.stdout.write('  control endpoints need an admin key (Authorization: Bearer <key> or x-api-key)\n');
  await new Promise<void>((resolve) => {
    const stop = (): void => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      void sim.close().then(resolve);
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  process.stdout.write('parrot simulator stopped\n');
}
