import { Pool, TypeOverrides, type PoolClient } from 'pg';
import type { SqlDb, SqlParam, SqlRow } from './sql-db.ts';

/** PostgreSQL's type OIDs parsed differently from pg's defaults. */
const INT8_OID = 20;

/**
 * int8 (BIGINT: our epoch-millisecond columns, COUNT(*)) as a JS number rather than pg's
 * default string. Safe: epoch milliseconds and row counts stay far below 2^53. Scoped to our
 * pool, not set on pg's global parsers.
 */
function typeParsers(): TypeOverrides {
  const types = new TypeOverrides();
  types.setTypeParser(INT8_OID, (text: string) => Number(text));
  return types;
}

export interface PostgresDbOptions {
  /** postgres://user:password@host:port/database (DATABASE_URL). */
  readonly url: string;
  /** Pool size; default 4 (history writes are few; the hot path never waits on them). */
  readonly maxConnections?: number;
  /** Errors of idle pooled connections (a server restart): logged, the next query reconnects. */
  readonly onIdleError?: (err: Error) => void;
}

/**
 * PostgreSQL through `pg`'s pool. A committed write is durable on the server
 * (`synchronous_commit` on, PostgreSQL's default) before the call resolves.
 */
export class PostgresDb implements SqlDb {
  readonly dialect = 'postgres';
  readonly #pool: Pool;

  constructor(opts: PostgresDbOptions) {
    this.#pool = new Pool({
      connectionString: opts.url,
      max: opts.maxConnections ?? 4,
      types: typeParsers(),
      // A query that cannot get a connection fails instead of waiting forever.
      connectionTimeoutMillis: 10_000,
    });
    // Without a listener an idle connection's error would crash the process.
    this.#pool.on('error', (err) => opts.onIdleError?.(err));
  }

  async all(sql: string, params: readonly SqlParam[] = []): Promise<SqlRow[]> {
    return (await this.#pool.query(sql, params as SqlParam[])).rows as SqlRow[];
  }

  async get(sql: string, params: readonly SqlParam[] = []): Promise<SqlRow | undefined> {
    return (await this.all(sql, params))[0];
  }

  async run(sql: string, params: readonly SqlParam[] = []): Promise<number> {
    return (await this.#pool.query(sql, params as SqlParam[])).rowCount ?? 0;
  }

  async exec(sql: string): Promise<void> {
    await this.#pool.query(sql);
  }

  async transaction<T>(fn: (tx: SqlDb) => Promise<T>): Promise<T> {
    const client = await this.#pool.connect();
    let broken: Error | undefined;
    try {
      await client.query('BEGIN');
      try {
        const out = await fn(clientDb(client));
        await client.query('COMMIT');
        return out;
      } catch (err) {
        try {
          await client.query('ROLLBACK');
        } catch (rollbackErr) {
          // The connection is unusable: drop it from the pool rather than hand it out again.
          broken = rollbackErr as Error;
        }
        throw err;
      }
    } finally {
      client.release(broken);
    }
  }

  async close(): Promise<void> {
    await this.#pool.end();
  }
}

/** One pooled connection as a SqlDb, for the statements of a transaction. */
function clientDb(client: PoolClient): SqlDb {
  const tx: SqlDb = {
    dialect: 'postgres',
    all: async (sql, params = []) => (await client.query(sql, params as SqlParam[])).rows as SqlRow[],
    get: async (sql, params = []) => (await client.query(sql, params as SqlParam[])).rows[0] as SqlRow | undefined,
    run: async (sql, params = []) => (await client.query(sql, params as SqlParam[])).rowCount ?? 0,
    exec: async (sql) => void (await client.query(sql)),
    // Nested: already inside the one transaction.
    transaction: (fn) => fn(tx),
    close: () => Promise.reject(new Error('close() inside a transaction')),
  };
  return tx;
}
