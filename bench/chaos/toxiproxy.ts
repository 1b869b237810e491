/**
 * Toxiproxy for the chaos suite: built once from the Go module proxy into .parrot/bin (a pinned
 * version), started on loopback, and driven through its HTTP API (proxies and toxics).
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort, ROOT, startProcess, type ServerProcess } from '../lib/processes.ts';

const run = promisify(execFile);

export const TOXIPROXY_VERSION = 'v2.5.0';
const BIN_DIR = join(ROOT, '.parrot/bin');
const BINARY = join(BIN_DIR, 'toxiproxy-server');

/** Builds toxiproxy-server when it is missing; resolves to null when it can run, else why not. */
export async function buildToxiproxy(log: (line: string) => void): Promise<string | null> {
  if (existsSync(BINARY)) return null;
  mkdirSync(BIN_DIR, { recursive: true });
  log(`building toxiproxy ${TOXIPROXY_VERSION} with go install (once, into .parrot/bin)`);
  try {
    // The module's server command is cmd/server; go install names the binary after the directory.
    await run('go', ['install', `github.com/Shopify/toxiproxy/v2/cmd/server@${TOXIPROXY_VERSION}`], { env: { ...process.env, GOBIN: BIN_DIR }, timeout: 15 * 60_000 });
    renameSync(join(BIN_DIR, 'server'), BINARY);
    return null;
  } catch (err) {
    const e = err as Error & { stderr?: string; code?: string };
    return e.code === 'ENOENT' ? 'go is not installed' : (e.stderr ?? e.message).trim().split('\n').slice(-2).join(' / ');
  }
}

export interface Toxiproxy {
  /** Creates a proxy listening on a free loopback port in front of `upstream` (host:port); resolves to its URL origin. */
  proxy(name: string, upstream: string): Promise<string>;
  /** Adds a toxic to a proxy (https://github.com/Shopify/toxiproxy#toxics for types and attributes). */
  toxic(proxy: string, toxic: { name: string; type: string; stream?: 'upstream' | 'downstream'; toxicity?: number; attributes: Record<string, number> }): Promise<void>;
  /** Removes every toxic and re-enables every proxy. */
  reset(): Promise<void>;
  /** Enables or disables a proxy (disabled: its port refuses connections). */
  enable(proxy: string, enabled: boolean): Promise<void>;
  stop(): Promise<void>;
}

export async function startToxiproxy(): Promise<Toxiproxy> {
  const port = await freePort();
  const server: ServerProcess = await startProcess({
    name: 'toxiproxy',
    command: BINARY,
    args: ['-host', '127.0.0.1', '-port', String(port)],
    ready: { url: `http://127.0.0.1:${port}/version` },
  });
  const api = `http://127.0.0.1:${port}`;
  const call = async (method: string, path: string, body?: unknown): Promise<unknown> => {
    const res = await fetch(`${api}${path}`, { method, ...(body !== undefined ? { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } } : {}) });
    const text = await res.text();
    if (!res.ok) throw new Error(`toxiproxy ${method} ${path}: ${res.status} ${text}`);
    return text === '' ? undefined : JSON.parse(text);
  };
  return {
    async proxy(name, upstream) {
      const listen = await freePort();
      await call('POST', '/proxies', { name, listen: `127.0.0.1:${listen}`, upstream, enabled: true });
      return `http://127.0.0.1:${listen}`;
    },
    async toxic(proxy, toxic) {
      await call('POST', `/proxies/${proxy}/toxics`, { stream: 'downstream', toxicity: 1, ...toxic });
    },
    async reset() {
      await call('POST', '/reset');
    },
    async enable(proxy, enabled) {
      await call('POST', `/proxies/${proxy}`, { enabled });
    },
    stop: () => server.stop(),
  };
}
