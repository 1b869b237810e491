import { readJson } from './rows.ts';
import type { SqlDb } from './sql-db.ts';
import type { Json, Snapshot, SnapshotStore } from './types.ts';

const UPSERT = `INSERT INTO runtime_state (key, value, updated_at) VALUES ($1, $2, $3)
  ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`;

/** Runtime-state snapshots (key -> JSON) in SQL. */
export class SqlSnapshots implements SnapshotStore {
  readonly #db: SqlDb;
  readonly #now: () => number;

  constructor(db: SqlDb, now: () => number) {
    this.#db = db;
    this.#now = now;
  }

  async put(key: string, value: Json): Promise<void> {
    await this.#db.run(UPSERT, [key, JSON.stringify(value), this.#now()]);
  }

  putMany(entries: Iterable<readonly [key: string, value: Json]>): Promise<void> {
    const at = this.#now();
    return this.#db.transaction(async (tx) => {
      for (const [key, value] of entries) await tx.run(UPSERT, [key, JSON.stringify(value), at]);
    });
  }

  async get(key: string): Promise<Json | undefined> {
    const row = await this.#db.get('SELECT value FROM runtime_state WHERE key = $1', [key]);
    return row === undefined ? undefined : readJson(this.#db.dialect, row.value);
  }

  async list(prefix = ''): Promise<Snapshot[]> {
    // substr/length, not LIKE: SQLite's LIKE ignores ASCII case and both treat % and _ specially.
    const rows = await this.#db.all(
      'SELECT key, value, updated_at FROM runtime_state WHERE substr(key, 1, length(CAST($1 AS TEXT))) = CAST($1 AS TEXT)',
      [prefix],
    );
    // Sorted here: PostgreSQL orders text by the database's collation, SQLite by bytes.
    return rows
      .map((r) => ({ key: String(r.key), value: readJson(this.#db.dialect, r.value), updatedAt: Number(r.updated_at) }))
      .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  async delete(key: string): Promise<boolean> {
    return (await this.#db.run('DELETE FROM runtime_state WHERE key = $1', [key])) === 1;
  }
}
