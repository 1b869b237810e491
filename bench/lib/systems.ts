/**
 * The systems `npm run bench:load` puts side by side, each started fresh in its own process
 * for every measurement and pointed at the same upstream mock:
 *
 * - `parrot`: `parrot serve` with the default config (one `openai` provider at the mock).
 * - `parrot-wide`: the same with `providers[].connections: 4096` (the pool no longer caps
 *   requests in flight at 128); not in the default list.
 * - `baseline`: `parrot serve` of another checkout (bench/load.ts --baseline DIR: a directory
 *   with its own bin/parrot.js and node_modules), with that checkout's own node flags, the same
 *   config as `parrot` (no store section if it predates the store) and `connections: 4096`, the
 *   most any version's config takes, so an older default pool cap (128) does not queue it:
 *   this checkout against an earlier one, in the same run; not in the default list.
 * - `passthrough`: bench/passthrough.ts, the least a Node proxy can do, with no cap on its
 *   upstream connections (the open loop needs rate x latency of them).
 * - `portkey`: Portkey's gateway from the npm registry, installed by the bench into
 *   .parrot/peers/portkey (its own package.json; not a project dependency), run with its own
 *   entry point, routed by its headers to the mock as an OpenAI-compatible provider.
 * - `litellm`: LiteLLM's proxy from PyPI, installed into a venv under .parrot/peers/litellm,
 *   with a config naming the mock as `openai/<model>` at its `api_base`.
 *
 * A peer that cannot be installed or started is reported with the reason, never skipped.
 */
import { execFile } from 'node:child_process';
import { pathToFileURL } from 'node:url';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { commitOf, freePort, ROOT, startProcess, type ServerProcess } from './processes.ts';
import { GATEWAY_NODE_FLAGS } from '../../src/runtime/gc-tuning.ts';

const run = promisify(execFile);

export const SYSTEM_NAMES = ['parrot', 'parrot-wide', 'baseline', 'passthrough', 'portkey', 'litellm'] as const;
export type SystemName = (typeof SYSTEM_NAMES)[number];
export const DEFAULT_SYSTEMS: readonly SystemName[] = ['parrot', 'passthrough', 'portkey', 'litellm'];

/**
 * The store every gateway a bench starts uses: in memory, so each starts fresh. With the default
 * (./data/parrot.db in the checkout) a gateway inherited the last run's state: a target that
 * ended down started down, and its requests were refused until the recovery probe (a parrot
 * cell of bench:load lost 19 % that way after an overloaded cell had opened breakers).
 */
export const BENCH_STORE = { database_url: '', path: ':memory:' } as const;

/**
 * The config of a gateway a bench starts: the default config with one OpenAI provider at
 * `upstreamUrl` serving MODEL, no simulator, the store in memory (no store section for a
 * `checkout` whose config has none), optionally a connection cap.
 */
export function benchGatewayYaml(upstreamUrl: string, opts: { connections?: number; checkout?: string } = {}): string {
  const connections = opts.connections === undefined ? '' : `, connections: ${opts.connections}`;
  const store = opts.checkout === undefined || takesStoreConfig(opts.checkout);
  return [
    'server: { host: 127.0.0.1, port: 0 }',
    'providers:',
    `  - { name: openai, type: openai, base_url: "${upstreamUrl}/v1", api_key: bench, models: [${MODEL}]${connections} }`,
    'simulator: { enabled: false }',
    // JSON is YAML: the same store settings the in-process benches use.
    ...(store ? [`store: ${JSON.stringify(BENCH_STORE)}`] : []),
    '',
  ].join('\n');
}

/**
 * Node's arguments for `parrot serve` as it ships: GATEWAY_NODE_FLAGS (or a baseline checkout's
 * own `flags`), then the bench's extra node arguments (a later V8 flag wins), then the command.
 */
export function serveArgs(configPath: string, nodeArgs: readonly string[] = [], flags: readonly string[] = GATEWAY_NODE_FLAGS): string[] {
  return [...flags, ...nodeArgs, 'bin/parrot.js', 'serve', '--config', configPath];
}

/** The model every request names; each system routes it to the mock. */
export const MODEL = 'gpt-4-turbo-preview';
export const CHAT_PATH = '/v1/chat/completions';

/** The chat request every load bench sends (the same bytes for every system and mode but `stream`). */
export function chatRequestBody(stream: boolean): string {
  return JSON.stringify({
    model: MODEL,
    messages: [
      { role: 'system', content: 'You are a helpful assistant.' },
      { role: 'user', content: 'Say hello in one short sentence.' },
    ],
    ...(stream ? { stream: true } : {}),
  });
}

/**
 * Pinned peer versions (a result says which it measured). Portkey 1.15.2 is the newest the
 * registry serves here; on Node it answers every streamed chat request with a 500
 * (`TypeError: immutable` when it adds its headers to the mapped stream response), which the
 * report shows as failures.
 */
export const PORTKEY_VERSION = '1.15.2';

/**
 * The newest LiteLLM whose `proxy` extra resolves from the registry here: 1.108 and later pin
 * `litellm-proxy` / `litellm-proxy-extras` builds the registry does not serve, and no 1.107
 * release is served (1.107.0 was reported compromised).
 */
export const LITELLM_VERSION = '1.106.12';

export const PEERS_DIR = join(ROOT, '.parrot/peers');
const LAG_PROBE = join(ROOT, 'bench/lag-probe.ts');
const INSTALL_TIMEOUT_MS = 20 * 60_000;

/** A system, started and ready. */
export interface StartedSystem {
  server: ServerProcess;
  /** Headers each request sends (a peer's routing headers). */
  headers: Record<string, string>;
  /** The server answers bench/lag-probe.ts's messages (Node systems). */
  lagProbe: boolean;
}

export interface System {
  name: SystemName;
  /** What ran, e.g. `@portkey-ai/gateway 1.15.2`. */
  version: string;
  /**
   * Installs what is missing (unless `install` is false); resolves to null when the system can
   * run, else the reason it cannot.
   */
  prepare(log: (line: string) => void, install: boolean): Promise<string | null>;
  start(upstreamUrl: string, tmpDir: string): Promise<StartedSystem>;
}

const BASE_HEADERS = { 'content-type': 'application/json', authorization: 'Bearer bench' };
const GATEWAY_LISTENING = /parrot listening on (http:\/\/[^\s]+)/;
const LISTENING = /listening on (http:\/\/[^\s]+)/;

/** The last non-empty lines of a failed command's output: the reason a peer is not installed. */
function tail(text: string, lines = 3): string {
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '')
    .slice(-lines)
    .join(' / ');
}

async function runLogged(command: string, args: string[], cwd: string): Promise<string | null> {
  try {
    await run(command, args, { cwd, timeout: INSTALL_TIMEOUT_MS, maxBuffer: 64 * 1024 * 1024 });
    return null;
  } catch (err) {
    const e = err as Error & { stderr?: string; stdout?: string };
    return tail(`${e.stdout ?? ''}\n${e.stderr ?? ''}`) || e.message;
  }
}

/** Extra node flags for parrot's process and the baseline's (bench/load.ts --parrot-node-flags), after the ones it starts with (the later wins), e.g. a V8 GC setting to compare. */
export const parrotNodeFlags: string[] = [];

function parrotSystem(name: 'parrot' | 'parrot-wide'): System {
  return {
    name,
    version: 'this checkout',
    prepare: async () => null,
    async start(upstreamUrl, tmpDir) {
      const configPath = join(tmpDir, `${name}.yaml`);
      writeFileSync(configPath, benchGatewayYaml(upstreamUrl, name === 'parrot-wide' ? { connections: 4096 } : {}));
      const server = await startProcess({
        name,
        command: process.execPath,
        args: serveArgs(configPath, [...parrotNodeFlags, '--import', LAG_PROBE]),
        ready: { pattern: GATEWAY_LISTENING },
        env: { PORT: '', HOST: '' },
        ipc: true,
      });
      return { server, headers: BASE_HEADERS, lagProbe: true };
    },
  };
}

/**
 * The node flags a checkout's `parrot serve` starts with (this one's without `checkout`): its
 * GATEWAY_NODE_FLAGS, none for a checkout from before they existed.
 */
export async function nodeFlagsOf(checkout?: string): Promise<readonly string[]> {
  if (checkout === undefined) return GATEWAY_NODE_FLAGS;
  const file = join(checkout, 'src/runtime/gc-tuning.ts');
  if (!existsSync(file)) return [];
  const mod = (await import(pathToFileURL(file).href)) as { GATEWAY_NODE_FLAGS?: readonly string[] };
  return mod.GATEWAY_NODE_FLAGS ?? [];
}

/**
 * Whether a checkout's config takes a `store` section (the store came in two steps: its code,
 * then its config), so a bench gives an older checkout a config it accepts.
 */
export function takesStoreConfig(checkout: string): boolean {
  const schema = join(checkout, 'src/config/schema.ts');
  return existsSync(schema) && /^\s*store:/m.test(readFileSync(schema, 'utf8'));
}

/** The checkout the `baseline` system runs (bench/load.ts --baseline DIR). */
export const baselineCheckout: { dir?: string } = {};

const baselineSystem: System = {
  name: 'baseline',
  get version() {
    return baselineCheckout.dir === undefined ? 'another checkout (--baseline DIR)' : `the checkout at ${baselineCheckout.dir} (${commitOf(baselineCheckout.dir)})`;
  },
  async prepare() {
    const dir = baselineCheckout.dir;
    if (dir === undefined) return 'no checkout given (--baseline DIR)';
    if (!existsSync(join(dir, 'bin/parrot.js')) || !existsSync(join(dir, 'node_modules'))) return `${dir} has no bin/parrot.js or no node_modules`;
    return null;
  },
  async start(upstreamUrl, tmpDir) {
    const dir = baselineCheckout.dir!;
    const configPath = join(tmpDir, 'baseline.yaml');
    writeFileSync(configPath, benchGatewayYaml(upstreamUrl, { connections: 4096, checkout: dir }));
    const server = await startProcess({
      name: 'baseline',
      command: process.execPath,
      args: serveArgs(configPath, [...parrotNodeFlags, '--import', LAG_PROBE], await nodeFlagsOf(dir)),
      ready: { pattern: GATEWAY_LISTENING },
      env: { PORT: '', HOST: '' },
      cwd: dir,
      ipc: true,
    });
    return { server, headers: BASE_HEADERS, lagProbe: true };
  },
};

const passthroughSystem: System = {
  name: 'passthrough',
  version: 'bench/passthrough.ts (node:http + undici, no connection cap)',
  prepare: async () => null,
  async start(upstreamUrl) {
    const server = await startProcess({
      name: 'passthrough',
      command: process.execPath,
      args: ['--import', LAG_PROBE, 'bench/passthrough.ts', '--upstream', upstreamUrl, '--connections', '0'],
      ready: { pattern: LISTENING },
      ipc: true,
    });
    return { server, headers: BASE_HEADERS, lagProbe: true };
  },
};

const PORTKEY_DIR = join(PEERS_DIR, 'portkey');
const PORTKEY_PKG = join(PORTKEY_DIR, 'node_modules/@portkey-ai/gateway');

function installedVersion(packageJson: string): string | null {
  try {
    return (JSON.parse(readFileSync(packageJson, 'utf8')) as { version?: string }).version ?? null;
  } catch {
    return null;
  }
}

const portkeySystem: System = {
  name: 'portkey',
  version: `@portkey-ai/gateway ${PORTKEY_VERSION}`,
  async prepare(log, install) {
    if (installedVersion(join(PORTKEY_PKG, 'package.json')) === PORTKEY_VERSION) return null;
    if (!install) return `@portkey-ai/gateway ${PORTKEY_VERSION} is not in ${PORTKEY_DIR} (--no-install)`;
    log(`installing @portkey-ai/gateway ${PORTKEY_VERSION} into ${PORTKEY_DIR} ...`);
    mkdirSync(PORTKEY_DIR, { recursive: true });
    const manifest = { name: 'bench-peer-portkey', private: true, description: 'Installed by bench/load.ts; not part of the project.', dependencies: { '@portkey-ai/gateway': PORTKEY_VERSION } };
    writeFileSync(join(PORTKEY_DIR, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`);
    // Its only install script is patch-package, and the published package has no patches to apply.
    const failed = await runLogged('npm', ['install', '--no-audit', '--no-fund', '--ignore-scripts', '--no-package-lock'], PORTKEY_DIR);
    if (failed !== null) return `npm install failed: ${failed}`;
    const got = installedVersion(join(PORTKEY_PKG, 'package.json'));
    return got === PORTKEY_VERSION ? null : `npm install left version ${got ?? 'none'}`;
  },
  async start(upstreamUrl) {
    const port = await freePort();
    const server = await startProcess({
      name: 'portkey',
      command: process.execPath,
      args: ['--import', LAG_PROBE, join(PORTKEY_PKG, 'build/start-server.js'), `--port=${port}`, '--headless'],
      ready: { url: `http://127.0.0.1:${port}/` },
      cwd: PORTKEY_DIR,
      ipc: true,
    });
    return {
      server,
      headers: { ...BASE_HEADERS, 'x-portkey-provider': 'openai', 'x-portkey-custom-host': `${upstreamUrl}/v1` },
      lagProbe: true,
    };
  },
};

const LITELLM_DIR = join(PEERS_DIR, 'litellm');
const LITELLM_VENV = join(LITELLM_DIR, 'venv');

async function litellmInstalledVersion(): Promise<string | null> {
  if (!existsSync(join(LITELLM_VENV, 'bin/litellm'))) return null;
  try {
    const { stdout } = await run(join(LITELLM_VENV, 'bin/python'), ['-c', "import importlib.metadata as m; print(m.version('litellm'))"], { timeout: 60_000 });
    return stdout.trim();
  } catch {
    return null;
  }
}

const litellmSystem: System = {
  name: 'litellm',
  version: `litellm[proxy] ${LITELLM_VERSION}`,
  async prepare(log, install) {
    if ((await litellmInstalledVersion()) === LITELLM_VERSION) return null;
    if (!install) return `litellm ${LITELLM_VERSION} is not in ${LITELLM_VENV} (--no-install)`;
    log(`installing litellm[proxy] ${LITELLM_VERSION} into ${LITELLM_VENV} (large; once) ...`);
    mkdirSync(LITELLM_DIR, { recursive: true });
    if (!existsSync(join(LITELLM_VENV, 'bin/python'))) {
      const failed = await runLogged('python3', ['-m', 'venv', LITELLM_VENV], LITELLM_DIR);
      if (failed !== null) return `python3 -m venv failed: ${failed}`;
    }
    const failed = await runLogged(join(LITELLM_VENV, 'bin/pip'), ['install', '--disable-pip-version-check', `litellm[proxy]==${LITELLM_VERSION}`], LITELLM_DIR);
    if (failed !== null) return `pip install failed: ${failed}`;
    const got = await litellmInstalledVersion();
    return got === LITELLM_VERSION ? null : `pip install left version ${got ?? 'none'}`;
  },
  async start(upstreamUrl, tmpDir) {
    const configPath = join(tmpDir, 'litellm.yaml');
    writeFileSync(
      configPath,
      [
        'model_list:',
        `  - model_name: ${MODEL}`,
        '    litellm_params:',
        `      model: openai/${MODEL}`,
        `      api_base: ${upstreamUrl}/v1`,
        '      api_key: bench',
        '',
      ].join('\n'),
    );
    const port = await freePort();
    const server = await startProcess({
      name: 'litellm',
      command: join(LITELLM_VENV, 'bin/litellm'),
      args: ['--config', configPath, '--host', '127.0.0.1', '--port', String(port)],
      ready: { url: `http://127.0.0.1:${port}/health/liveliness` },
      cwd: LITELLM_DIR,
      env: {
        // The bundled model price map, not a download at start-up (the bench stays on loopback).
        LITELLM_LOCAL_MODEL_COST_MAP: 'True',
        LITELLM_LOG: 'ERROR',
        // No keys, like parrot's open mode on loopback (it refuses to start without a master key otherwise).
        LITELLM_DANGEROUSLY_PERMIT_WEAK_OR_UNSET_MASTER_KEY: 'true',
      },
      // Importing the proxy takes a while.
      startTimeoutMs: 180_000,
    });
    return { server, headers: BASE_HEADERS, lagProbe: false };
  },
};

export const SYSTEMS: Record<SystemName, System> = {
  parrot: parrotSystem('parrot'),
  'parrot-wide': parrotSystem('parrot-wide'),
  baseline: baselineSystem,
  passthrough: passthroughSystem,
  portkey: portkeySystem,
  litellm: litellmSystem,
};
