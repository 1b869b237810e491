import { positiveInt, time } from './arguments.ts';
import { DOWN_INTERVAL_COLUMNS, toDownInterval, toUnservedMinute } from './rows.ts';
import type { SqlDb } from './sql-db.ts';
import type { AvailabilityStore, DownInterval, UnservedMinute } from './types.ts';

const MINUTE_MS = 60_000;

/** Down intervals and unserved minutes in SQL. */
export class SqlAvailability implements AvailabilityStore {
  readonly #db: SqlDb;

  constructor(db: SqlDb) {
    this.#db = db;
  }

  async openDownInterval(subject: string, cause: string, at: number): Promise<DownInterval> {
    // The partial unique index allows one open interval per subject: a second open (another
    // replica, or a replay after a restart) inserts nothing and gets the one already open.
    const inserted = await this.#db.get(
      `INSERT INTO down_intervals (subject, cause, started_at) VALUES ($1, $2, $3)
       ON CONFLICT DO NOTHING RETURNING ${DOWN_INTERVAL_COLUMNS}`,
      [subject, cause, time('at', at)],
    );
    const row =
      inserted ??
      (await this.#db.get(`SELECT ${DOWN_INTERVAL_COLUMNS} FROM down_intervals WHERE subject = $1 AND ended_at IS NULL`, [subject]));
    if (row === undefined) throw new Error(`down interval of ${subject}: neither inserted nor open`);
    return toDownInterval(row);
  }

  async closeDownInterval(subject: string, at: number): Promise<DownInterval | undefined> {
    const row = await this.#db.get(
      `UPDATE down_intervals SET ended_at = CASE WHEN started_at > $2 THEN started_at ELSE $2 END
       WHERE subject = $1 AND ended_at IS NULL RETURNING ${DOWN_INTERVAL_COLUMNS}`,
      [subject, time('at', at)],
    );
    return row === undefined ? undefined : toDownInterval(row);
  }

  async listDownIntervals(q: { readonly from: number; readonly to: number; readonly subjects?: readonly string[] }): Promise<DownInterval[]> {
    const rows = await this.#db.all(
      `SELECT ${DOWN_INTERVAL_COLUMNS} FROM down_intervals
       WHERE started_at < $1 AND (ended_at IS NULL OR ended_at > $2) ORDER BY started_at, id`,
      [time('to', q.to), time('from', q.from)],
    );
    const all = rows.map(toDownInterval);
    if (q.subjects === undefined) return all;
    const wanted = new Set(q.subjects);
    return all.filter((i) => wanted.has(i.subject));
  }

  async recordUnserved(model: string, at: number, failures = 1): Promise<void> {
    const minute = Math.floor(time('at', at) / MINUTE_MS) * MINUTE_MS;
    await this.#db.run(
      `INSERT INTO unserved_minutes (minute, model, failures) VALUES ($1, $2, $3)
       ON CONFLICT (minute, model) DO UPDATE SET failures = unserved_minutes.failures + excluded.failures`,
      [minute, model, positiveInt('failures', failures)],
    );
  }

  async listUnservedMinutes(q: { readonly from: number; readonly to: number }): Promise<UnservedMinute[]> {
    const rows = await this.#db.all(
      'SELECT minute, model, failures FROM unserved_minutes WHERE minute >= $1 AND minute < $2 ORDER BY minute, model',
      [time('from', q.from), time('to', q.to)],
    );
    return rows.map(toUnservedMinute);
  }
}
