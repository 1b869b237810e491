import { resolve } from 'node:path';
import type { Migration } from './migrations.ts';
import { SqliteDb } from './sqlite-db.ts';
import { SqlStore } from './sql-store.ts';
import type { Store } from './types.ts';

export interface OpenStoreOptions {
  /** A PostgreSQL URL. Default: the `DATABASE_URL` environment variable. */
  readonly databaseUrl?: string;
  /** The SQLite file when no PostgreSQL URL is given. Default: ./data/parrot.db. */
  readonly sqlitePath?: string;
  /** Where DATABASE_URL is read from; default process.env. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** The clock of bookkeeping times (`updatedAt`, `createdAt`); default Date.now. */
  readonly now?: () => number;
  /** One line per background problem (an idle PostgreSQL connection dropped). No secrets. */
  readonly log?: (line: string) => void;
  /** @internal tests add migrations to check each runs once. */
  readonly migrations?: readonly Migration[];
}

/** The SQLite file used when neither `sqlitePath` nor DATABASE_URL is given. */
export function defaultSqlitePath(cwd = process.cwd()): string {
  return resolve(cwd, 'data', 'parrot.db');
}

/**
 * Opens the store: PostgreSQL when a URL is given (DATABASE_URL), else a SQLite file
 * (./data/parrot.db, its directory created). Applies pending migrations before resolving.
 *
 * @example
 * const store = await openStore();                 // SQLite, ./data/parrot.db
 * const inc = await store.incidents.create({ ... });
 * await store.close();
 */
export async function openStore(opts: OpenStoreOptions = {}): Promise<Store> {
  const url = opts.databaseUrl ?? (opts.env ?? process.env).DATABASE_URL;
  const common = { ...(opts.now ? { now: opts.now } : {}), ...(opts.migrations ? { migrations: opts.migrations } : {}) };
  if (url !== undefined && url.trim() !== '') {
    const location = redactUrl(url);
    // Loaded only here: a gateway on SQLite (the default) never loads the PostgreSQL driver.
    const { PostgresDb } = await import('./postgres-db.ts');
    const db = new PostgresDb({
      url,
      onIdleError: (err) => opts.log?.(`store: PostgreSQL connection to ${location} lost (${err.message}); reconnecting on next use`),
    });
    return SqlStore.open(db, { location, ...common });
  }
  // `:memory:` is SQLite's name for a database that lives and dies with the connection.
  const path = opts.sqlitePath === ':memory:' ? ':memory:' : resolve(opts.sqlitePath ?? defaultSqlitePath());
  return SqlStore.open(new SqliteDb(path), { location: path, ...common });
}

/** The URL without its password, for logs. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password !== '') u.password = '***';
    return u.toString();
  } catch {
    // Not a URL (a libpq key=value string?): say nothing that could be a secret.
    return 'postgresql (DATABASE_URL)';
  }
}
