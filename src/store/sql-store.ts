import { time } from './arguments.ts';
import { SqlAvailability } from './availability-sql.ts';
import { SqlIncidents } from './incidents-sql.ts';
import { migrate, MIGRATIONS, type Migration } from './migrations.ts';
import { SqlDeliveries, SqlSubscriptions } from './notifications-sql.ts';
import { SqlSnapshots } from './snapshots-sql.ts';
import type { SqlDb } from './sql-db.ts';
import type { PruneCounts, Store, StoreBackend } from './types.ts';

const MINUTE_MS = 60_000;

/** The Store on a SQL database: one implementation, the same statements on both backends. */
export class SqlStore implements Store {
  readonly backend: StoreBackend;
  readonly location: string;
  readonly incidents: SqlIncidents;
  readonly subscriptions: SqlSubscriptions;
  readonly deliveries: SqlDeliveries;
  readonly availability: SqlAvailability;
  readonly snapshots: SqlSnapshots;
  readonly #db: SqlDb;

  private constructor(db: SqlDb, location: string, now: () => number) {
    this.#db = db;
    this.backend = db.dialect;
    this.location = location;
    this.incidents = new SqlIncidents(db, now);
    this.subscriptions = new SqlSubscriptions(db, now);
    this.deliveries = new SqlDeliveries(db);
    this.availability = new SqlAvailability(db);
    this.snapshots = new SqlSnapshots(db, now);
  }

  /** Migrates the database, then serves it. The database is closed if migrating fails. */
  static async open(db: SqlDb, opts: { location: string; now?: () => number; migrations?: readonly Migration[] }): Promise<SqlStore> {
    try {
      await migrate(db, opts.migrations ?? MIGRATIONS);
    } catch (err) {
      await db.close();
      throw err;
    }
    return new SqlStore(db, opts.location, opts.now ?? Date.now);
  }

  prune(before: number): Promise<PruneCounts> {
    time('before', before);
    return this.#db.transaction(async (tx) => ({
      // Their timelines go with them (ON DELETE CASCADE).
      incidents: await tx.run("DELETE FROM incidents WHERE status = 'resolved' AND resolved_at < $1", [before]),
      deliveries: await tx.run('DELETE FROM deliveries WHERE at < $1', [before]),
      downIntervals: await tx.run('DELETE FROM down_intervals WHERE ended_at IS NOT NULL AND ended_at < $1', [before]),
      unservedMinutes: await tx.run('DELETE FROM unserved_minutes WHERE minute <= $1', [before - MINUTE_MS]),
    }));
  }

  close(): Promise<void> {
    return this.#db.close();
  }
}
