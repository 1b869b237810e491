import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Client } from 'pg';

const run = promisify(execFile);

/** A real PostgreSQL for tests: fresh databases on demand, all gone after `stop()`. */
export interface TestPostgres {
  /** Where it runs, without the password. */
  readonly description: string;
  /** Creates an empty database and returns its URL. */
  newDatabase(): Promise<string>;
  stop(): Promise<void>;
}

/** Where Debian's packages put the server binaries: /usr/lib/postgresql/<major>/bin. */
export const DEBIAN_PG_ROOT = '/usr/lib/postgresql';

export const MISSING_BINARIES_HELP =
  'The store tests run against a real PostgreSQL. Install the server binaries with ' +
  '`apt-get update && apt-get install -y postgresql` (Debian/Ubuntu; `bash .ci/run` does it), ' +
  'or set DATABASE_URL to a PostgreSQL server on which this user may create databases.';

/**
 * With DATABASE_URL set: databases are created on that server (and dropped at `stop()`).
 * Otherwise a throwaway cluster from Debian's binaries: initdb into a temp directory,
 * listening on 127.0.0.1 on a free port with a random password, stopped and deleted at
 * `stop()`. initdb refuses to run as root, so as root the cluster runs as the `postgres`
 * system user (runuser). Fails with MISSING_BINARIES_HELP when the binaries are not there.
 */
export async function startPostgres(opts: { pgRoot?: string; env?: NodeJS.ProcessEnv } = {}): Promise<TestPostgres> {
  const given = (opts.env ?? process.env).DATABASE_URL;
  if (given !== undefined && given.trim() !== '') return onServer(given, 'DATABASE_URL', async () => {});
  const bin = findServerBinaries(opts.pgRoot ?? DEBIAN_PG_ROOT);
  const cluster = await startCluster(bin);
  return onServer(cluster.url, `a throwaway cluster on 127.0.0.1:${cluster.port}`, cluster.stop);
}

/** The newest major version's bin directory that has initdb and pg_ctl. */
export function findServerBinaries(root: string): string {
  const majors = existsSync(root)
    ? readdirSync(root)
        .filter((d) => /^\d+$/.test(d) && existsSync(join(root, d, 'bin', 'initdb')) && existsSync(join(root, d, 'bin', 'pg_ctl')))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  if (majors.length === 0) {
    throw new Error(`PostgreSQL server binaries (initdb, pg_ctl) not found in ${root}/*/bin. ${MISSING_BINARIES_HELP}`);
  }
  return join(root, majors[0], 'bin');
}

async function onServer(url: string, description: string, shutdown: () => Promise<void>): Promise<TestPostgres> {
  const created: string[] = [];
  const admin = async <T>(fn: (c: Client) => Promise<T>): Promise<T> => {
    const c = new Client({ connectionString: url });
    await c.connect();
    try {
      return await fn(c);
    } finally {
      await c.end();
    }
  };
  return {
    description,
    async newDatabase() {
      const name = `parrot_test_${randomBytes(6).toString('hex')}`;
      await admin((c) => c.query(`CREATE DATABASE ${name}`));
      created.push(name);
      const u = new URL(url);
      u.pathname = `/${name}`;
      return u.toString();
    },
    async stop() {
      try {
        if (created.length > 0) {
          await admin(async (c) => {
            for (const name of created) await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
          });
        }
      } finally {
        await shutdown();
      }
    },
  };
}

interface Cluster {
  url: string;
  port: number;
  stop(): Promise<void>;
}

async function startCluster(bin: string): Promise<Cluster> {
  const asRoot = process.getuid?.() === 0;
  const owner = asRoot ? systemUser('postgres') : undefined;
  // As root every server command runs as `postgres`; the temp directory must be its own.
  const as = (cmd: string, args: string[]) =>
    owner ? run('runuser', ['-u', 'postgres', '--', join(bin, cmd), ...args]) : run(join(bin, cmd), args);

  const dir = mkdtempSync(join(tmpdir(), 'parrot-pg-'));
  const data = join(dir, 'data');
  const pwfile = join(dir, 'pw');
  const password = randomBytes(12).toString('hex');
  writeFileSync(pwfile, `${password}\n`, { mode: 0o600 });
  if (owner) {
    chownSync(dir, owner.uid, owner.gid);
    chownSync(pwfile, owner.uid, owner.gid);
  }
  const remove = () => rmSync(dir, { recursive: true, force: true });
  try {
    await as('initdb', ['-D', data, '-U', 'parrot', '--auth=scram-sha-256', `--pwfile=${pwfile}`, '-E', 'UTF8', '--no-locale', '--no-sync']);
  } catch (err) {
    remove();
    throw new Error(`initdb failed: ${errorText(err)}`);
  }
  const log = join(dir, 'server.log');
  const stop = async () => {
    try {
      await as('pg_ctl', ['-D', data, '-m', 'fast', '-w', 'stop']);
    } finally {
      remove();
    }
  };
  // A free port can be taken between asking and binding: try a few.
  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    try {
      await as('pg_ctl', [
        '-D', data, '-l', log, '-w', '-t', '30',
        // fsync=off: this cluster is thrown away; what the tests check (a client killed after
        // its commit returned) does not depend on the server flushing to disk, and a shared
        // two-core machine runs the suite several times faster without it.
        '-o', `-p ${port} -c listen_addresses=127.0.0.1 -c unix_socket_directories='' -c fsync=off`,
        'start',
      ]);
      return { url: `postgres://parrot:${password}@127.0.0.1:${port}/postgres`, port, stop };
    } catch (err) {
      lastError = err;
    }
  }
  const tail = existsSync(log) ? readFileSync(log, 'utf8').split('\n').slice(-10).join('\n') : '';
  remove();
  throw new Error(`PostgreSQL did not start: ${errorText(lastError)}\n${tail}`);
}

function systemUser(name: string): { uid: number; gid: number } {
  const line = readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((l) => l.startsWith(`${name}:`));
  if (!line) throw new Error(`running as root, but there is no "${name}" user to run PostgreSQL as. ${MISSING_BINARIES_HELP}`);
  const [, , uid, gid] = line.split(':');
  return { uid: Number(uid), gid: Number(gid) };
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

function errorText(err: unknown): string {
  const e = err as { stderr?: string; message?: string };
  return (e.stderr?.trim() || e.message || String(err)).slice(0, 2000);
}
