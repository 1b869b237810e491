/**
 * The little a store needs from a SQL database, so one store implementation (sql-store.ts)
 * runs on both SQLite and PostgreSQL. Statements use PostgreSQL's `$1, $2` placeholders;
 * the SQLite driver rewrites them to SQLite's equivalent `?1, ?2`.
 */

/** A bound value: what both drivers accept. Booleans go in as 1/0. */
export type SqlParam = string | number | null;

export type SqlRow = Record<string, unknown>;

export interface SqlDb {
  readonly dialect: 'sqlite' | 'postgres';
  all(sql: string, params?: readonly SqlParam[]): Promise<SqlRow[]>;
  get(sql: string, params?: readonly SqlParam[]): Promise<SqlRow | undefined>;
  /** Rows changed. */
  run(sql: string, params?: readonly SqlParam[]): Promise<number>;
  /** Several statements, no parameters (schema changes). */
  exec(sql: string): Promise<void>;
  /**
   * Runs `fn` in one transaction on one connection: committed when it resolves, rolled back
   * when it throws. Other calls wait for it (SQLite) or use other connections (PostgreSQL);
   * `fn` must use the handle it is given.
   */
  transaction<T>(fn: (tx: SqlDb) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}
