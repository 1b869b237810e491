import type { SqlDb } from './sql-db.ts';

/**
 * One schema change, written for each dialect. Versions start at 1 and increase by one; a
 * released migration is never edited (add the next one instead).
 */
export interface Migration {
  readonly version: number;
  readonly name: string;
  readonly sqlite: string;
  readonly postgres: string;
}

/** JSON columns are TEXT in SQLite and JSONB in PostgreSQL; times are epoch milliseconds. */
export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'history',
    sqlite: `
      CREATE TABLE incidents (
        id TEXT PRIMARY KEY,
        title TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('ongoing', 'resolved')),
        impact TEXT NOT NULL CHECK (impact IN ('outage', 'partial_outage', 'degraded_performance')),
        severity TEXT NOT NULL CHECK (severity IN ('low', 'medium', 'high', 'critical')),
        region TEXT NOT NULL,
        affected_services TEXT NOT NULL,
        started_at INTEGER NOT NULL,
        resolved_at INTEGER CHECK (resolved_at >= started_at),
        summary TEXT NOT NULL,
        routed_to TEXT NOT NULL,
        requests_rescued INTEGER NOT NULL CHECK (requests_rescued >= 0),
        updated_at INTEGER NOT NULL
      );
      CREATE INDEX incidents_started_at ON incidents (started_at);
      CREATE INDEX incidents_ongoing ON incidents (started_at) WHERE status = 'ongoing';

      CREATE TABLE incident_timeline (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        incident_id TEXT NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
        at INTEGER NOT NULL,
        type TEXT NOT NULL,
        message TEXT NOT NULL,
        details TEXT
      );
      CREATE INDEX incident_timeline_incident ON incident_timeline (incident_id, at, id);

      CREATE TABLE subscriptions (
        id TEXT PRIMARY KEY,
        owner TEXT NOT NULL,
        channels TEXT NOT NULL,
        severity_threshold TEXT NOT NULL CHECK (severity_threshold IN ('low', 'medium', 'high', 'critical')),
        webhook_url TEXT,
        email TEXT,
        phone TEXT,
        include_types TEXT NOT NULL,
        regions TEXT NOT NULL,
        secret TEXT,
        created_at INTEGER NOT NULL
      );
      CREATE INDEX subscriptions_owner ON subscriptions (owner, created_at);

      CREATE TABLE deliveries (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        subscription_id TEXT NOT NULL,
        incident_id TEXT NOT NULL,
        channel TEXT NOT NULL CHECK (channel IN ('email', 'webhook', 'sms')),
        event TEXT NOT NULL,
        at INTEGER NOT NULL,
        attempt INTEGER NOT NULL CHECK (attempt >= 1),
        ok INTEGER NOT NULL CHECK (ok IN (0, 1)),
        status_code INTEGER,
        error TEXT
      );
      CREATE INDEX deliveries_at ON deliveries (at);
      CREATE INDEX deliveries_subscription ON deliveries (subscription_id, at);
      CREATE INDEX deliveries_incident ON deliveries (incident_id, at);

      CREATE TABLE down_intervals (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        subject TEXT NOT NULL,
        cause TEXT NOT NULL,
        started_at INTEGER NOT NULL,
        ended_at INTEGER CHECK (ended_at >= started_at)
      );
      CREATE UNIQUE INDEX down_intervals_one_open ON down_intervals (subject) WHERE ended_at IS NULL;
      CREATE INDEX down_intervals_started_at ON down_intervals (started_at);

      CREATE TABLE unserved_minutes (
        minute INTEGER NOT NULL CHECK (minute % 60000 = 0),
        model TEXT NOT NULL,
        failures INTEGER NOT NULL CHECK (failures >= 1),
        PRIMARY KEY (minute, model)
      );

      CREATE TABLE runtime_state (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL,
        updated_at INTEGER NOT NULL
      );
    `,
    postgres: `
      CREATE TABLE incidents (
        id TEXT PRIMARY KEY,
        title TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('ongoing', 'resolved')),
        impact TEXT NOT NULL CHECK (impact IN ('outage', 'partial_outage', 'degraded_performance')),
        severity TEXT NOT NULL CHECK (severity IN ('low', 'medium', 'high', 'critical')),
        region TEXT NOT NULL,
        affected_services JSONB NOT NULL,
        started_at BIGINT NOT NULL,
        resolved_at BIGINT CHECK (resolved_at >= started_at),
        summary TEXT NOT NULL,
        routed_to JSONB NOT NULL,
        requests_rescued BIGINT NOT NULL CHECK (requests_rescued >= 0),
        updated_at BIGINT NOT NULL
      );
      CREATE INDEX incidents_started_at ON incidents (started_at);
      CREATE INDEX incidents_ongoing ON incidents (started_at) WHERE status = 'ongoing';

      CREATE TABLE incident_timeline (
        id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        incident_id TEXT NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
        at BIGINT NOT NULL,
        type TEXT NOT NULL,
        message TEXT NOT NULL,
        details JSONB
      );
      CREATE INDEX incident_timeline_incident ON incident_timeline (incident_id, at, id);

      CREATE TABLE subscriptions (
        id TEXT PRIMARY KEY,
        owner TEXT NOT NULL,
        channels JSONB NOT NULL,
        severity_threshold TEXT NOT NULL CHECK (severity_threshold IN ('low', 'medium', 'high', 'critical')),
        webhook_url TEXT,
        email TEXT,
        phone TEXT,
        include_types JSONB NOT NULL,
        regions JSONB NOT NULL,
        secret TEXT,
        created_at BIGINT NOT NULL
      );
      CREATE INDEX subscriptions_owner ON subscriptions (owner, created_at);

      CREATE TABLE deliveries (
        id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        subscription_id TEXT NOT NULL,
        incident_id TEXT NOT NULL,
        channel TEXT NOT NULL CHECK (channel IN ('email', 'webhook', 'sms')),
        event TEXT NOT NULL,
        at BIGINT NOT NULL,
        attempt INTEGER NOT NULL CHECK (attempt >= 1),
        ok BOOLEAN NOT NULL,
        status_code INTEGER,
        error TEXT
      );
      CREATE INDEX deliveries_at ON deliveries (at);
      CREATE INDEX deliveries_subscription ON deliveries (subscription_id, at);
      CREATE INDEX deliveries_incident ON deliveries (incident_id, at);

      CREATE TABLE down_intervals (
        id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        subject TEXT NOT NULL,
        cause TEXT NOT NULL,
        started_at BIGINT NOT NULL,
        ended_at BIGINT CHECK (ended_at >= started_at)
      );
      CREATE UNIQUE INDEX down_intervals_one_open ON down_intervals (subject) WHERE ended_at IS NULL;
      CREATE INDEX down_intervals_started_at ON down_intervals (started_at);

      CREATE TABLE unserved_minutes (
        minute BIGINT NOT NULL CHECK (minute % 60000 = 0),
        model TEXT NOT NULL,
        failures BIGINT NOT NULL CHECK (failures >= 1),
        PRIMARY KEY (minute, model)
      );

      CREATE TABLE runtime_state (
        key TEXT PRIMARY KEY,
        value JSONB NOT NULL,
        updated_at BIGINT NOT NULL
      );
    `,
  },
];

/** Any constant: replicas sharing one PostgreSQL take this lock to migrate one at a time. */
const MIGRATION_LOCK_KEY = 7_161_726_172;

/**
 * Applies the migrations the database has not had yet, each exactly once, all in one
 * transaction (a failure leaves the schema as it was). Returns the versions applied now.
 * Refuses a database migrated by a newer parrot, whose schema this code does not know.
 */
export async function migrate(db: SqlDb, migrations: readonly Migration[] = MIGRATIONS): Promise<number[]> {
  migrations.forEach((m, i) => {
    if (m.version !== i + 1) throw new Error(`migration ${m.name}: version ${m.version}, expected ${i + 1}`);
  });
  return db.transaction(async (tx) => {
    // SQLite's BEGIN IMMEDIATE already excludes other writers; PostgreSQL needs the lock.
    if (tx.dialect === 'postgres') await tx.get('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK_KEY]);
    await tx.exec(
      'CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)',
    );
    const rows = await tx.all('SELECT version FROM schema_migrations ORDER BY version');
    const applied = new Set(rows.map((r) => Number(r.version)));
    const newest = Math.max(0, ...applied);
    if (newest > migrations.length) {
      throw new Error(`the database's schema is version ${newest}, newer than this parrot knows (${migrations.length}): upgrade parrot`);
    }
    const now = Date.now();
    const done: number[] = [];
    for (const m of migrations) {
      if (applied.has(m.version)) continue;
      await tx.exec(tx.dialect === 'postgres' ? m.postgres : m.sqlite);
      await tx.run('INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)', [m.version, m.name, now]);
      done.push(m.version);
    }
    return done;
  });
}
