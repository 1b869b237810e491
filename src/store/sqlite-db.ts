import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { DatabaseSync, type StatementSync } from 'node:sqlite';
import type { SqlDb, SqlParam, SqlRow } from './sql-db.ts';

/**
 * SQLite through Node's built-in `node:sqlite` (no native addon to build). Calls are
 * synchronous inside, behind the promise-returning SqlDb.
 *
 * Durability: WAL journal with `synchronous = FULL`, so a committed write is in the WAL and
 * fsynced before the call resolves: it survives a kill -9 of the process (which loses only
 * unwritten user-space buffers: none here) and a power cut.
 *
 * Transactions: one connection, so a transaction must not interleave with other calls. While
 * one is open (its callback awaits between statements), every other call waits for it.
 */
export class SqliteDb implements SqlDb {
  readonly dialect = 'sqlite';
  readonly path: string;
  readonly #db: DatabaseSync;
  /** Statements are prepared once per SQL text: the texts are constants, so this stays small. */
  readonly #statements = new Map<string, Prepared>();
  /** Settles when the open transaction ends; null when none is open. */
  #txDone: Promise<void> | null = null;
  readonly #inTx: SqlDb;

  constructor(path: string) {
    this.path = path;
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
    this.#db = new DatabaseSync(path);
    try {
      // Another process holding the write lock is waited for, not failed on.
      this.#db.exec('PRAGMA busy_timeout = 5000');
      const mode = this.#db.prepare('PRAGMA journal_mode = WAL').get() as { journal_mode: string };
      if (path !== ':memory:' && mode.journal_mode !== 'wal') {
        throw new Error(`SQLite could not use WAL for ${path} (journal_mode is ${mode.journal_mode}): put the file on a local file system`);
      }
      this.#db.exec('PRAGMA synchronous = FULL');
      this.#db.exec('PRAGMA foreign_keys = ON');
    } catch (err) {
      this.#db.close();
      throw err;
    }
    this.#inTx = {
      dialect: 'sqlite',
      all: async (sql, params) => this.#all(sql, params),
      get: async (sql, params) => this.#get(sql, params),
      run: async (sql, params) => this.#run(sql, params),
      exec: async (sql) => this.#db.exec(sql),
      // Nested: already inside the one transaction.
      transaction: (fn) => fn(this.#inTx),
      close: () => Promise.reject(new Error('close() inside a transaction')),
    };
  }

  async all(sql: string, params?: readonly SqlParam[]): Promise<SqlRow[]> {
    while (this.#txDone) await this.#txDone;
    return this.#all(sql, params);
  }

  async get(sql: string, params?: readonly SqlParam[]): Promise<SqlRow | undefined> {
    while (this.#txDone) await this.#txDone;
    return this.#get(sql, params);
  }

  async run(sql: string, params?: readonly SqlParam[]): Promise<number> {
    while (this.#txDone) await this.#txDone;
    return this.#run(sql, params);
  }

  async exec(sql: string): Promise<void> {
    while (this.#txDone) await this.#txDone;
    this.#db.exec(sql);
  }

  async transaction<T>(fn: (tx: SqlDb) => Promise<T>): Promise<T> {
    while (this.#txDone) await this.#txDone;
    let done!: () => void;
    this.#txDone = new Promise((resolve) => (done = resolve));
    try {
      // IMMEDIATE takes the write lock now, so a concurrent writer (another process) waits
      // here rather than failing halfway through.
      this.#db.exec('BEGIN IMMEDIATE');
      try {
        const out = await fn(this.#inTx);
        this.#db.exec('COMMIT');
        return out;
      } catch (err) {
        if (this.#db.isTransaction) this.#db.exec('ROLLBACK');
        throw err;
      }
    } finally {
      this.#txDone = null;
      done();
    }
  }

  async close(): Promise<void> {
    while (this.#txDone) await this.#txDone;
    if (this.#db.isOpen) this.#db.close();
  }

  #prepared(sql: string): Prepared {
    let p = this.#statements.get(sql);
    if (p === undefined) {
      // node:sqlite binds positional arguments to anonymous `?` only (not to `?NNN`), so `$n`
      // becomes `?` and the arguments are reordered to the placeholders' order.
      const order: number[] = [];
      const text = sql.replace(/\$(\d+)/g, (_, n: string) => {
        order.push(Number(n) - 1);
        return '?';
      });
      p = { statement: this.#db.prepare(text), order };
      this.#statements.set(sql, p);
    }
    return p;
  }

  #all(sql: string, params: readonly SqlParam[] = []): SqlRow[] {
    const p = this.#prepared(sql);
    return p.statement.all(...bind(p, params)) as SqlRow[];
  }

  #get(sql: string, params: readonly SqlParam[] = []): SqlRow | undefined {
    const p = this.#prepared(sql);
    return p.statement.get(...bind(p, params)) as SqlRow | undefined;
  }

  #run(sql: string, params: readonly SqlParam[] = []): number {
    const p = this.#prepared(sql);
    return Number(p.statement.run(...bind(p, params)).changes);
  }
}

interface Prepared {
  readonly statement: StatementSync;
  /** For each `?` in order, the index of its argument. */
  readonly order: readonly number[];
}

function bind(p: Prepared, params: readonly SqlParam[]): SqlParam[] {
  return p.order.map((i) => {
    if (i >= params.length) throw new RangeError(`SQL parameter $${i + 1} not given`);
    return params[i];
  });
}
