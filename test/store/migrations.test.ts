import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { migrate, MIGRATIONS, type Migration } from '../../src/store/migrations.ts';
import type { SqlDb } from '../../src/store/sql-db.ts';
import { testBackends } from './backends.ts';

/** A second migration that would fail if run twice (the table exists) and counts its runs. */
const SECOND: Migration = {
  version: 2,
  name: 'probe',
  sqlite: 'CREATE TABLE migration_probe (n INTEGER NOT NULL); INSERT INTO migration_probe (n) VALUES (1);',
  postgres: 'CREATE TABLE migration_probe (n INTEGER NOT NULL); INSERT INTO migration_probe (n) VALUES (1);',
};

describe.each(testBackends())('migrations on $name', (backend) => {
  let db: SqlDb;

  beforeAll(() => backend.setUp(), 60_000);
  afterAll(() => backend.tearDown(), 60_000);
  beforeEach(async () => {
    await backend.fresh();
    db = backend.rawDb();
  });
  afterEach(() => db.close());

  const versions = async () => (await db.all('SELECT version, name FROM schema_migrations ORDER BY version')).map((r) => `${r.version}:${r.name}`);

  it('a new database gets every migration once; running again applies none', async () => {
    expect(await migrate(db)).toEqual(MIGRATIONS.map((m) => m.version));
    expect(await migrate(db)).toEqual([]);
    expect(await versions()).toEqual(['1:history']);
    // the schema is there: every table the store uses answers
    for (const table of ['incidents', 'incident_timeline', 'subscriptions', 'deliveries', 'down_intervals', 'unserved_minutes', 'runtime_state']) {
      expect(await db.all(`SELECT * FROM ${table}`)).toEqual([]);
    }
  });

  it('a later migration runs once on a database that has the earlier ones', async () => {
    await migrate(db, MIGRATIONS);
    expect(await migrate(db, [...MIGRATIONS, SECOND])).toEqual([2]);
    expect(await migrate(db, [...MIGRATIONS, SECOND])).toEqual([]);
    expect(await db.all('SELECT n FROM migration_probe')).toEqual([{ n: 1 }]);
    expect(await versions()).toEqual(['1:history', '2:probe']);
  });

  it('store opens migrate, and reopening migrates nothing', async () => {
    const first = await backend.open({ migrations: [...MIGRATIONS, SECOND] });
    await first.close();
    const second = await backend.open({ migrations: [...MIGRATIONS, SECOND] });
    await second.close();
    expect(await db.all('SELECT n FROM migration_probe')).toEqual([{ n: 1 }]);
  });

  it('a failing migration leaves the schema as it was', async () => {
    await migrate(db, MIGRATIONS);
    const broken: Migration = { ...SECOND, sqlite: `${SECOND.sqlite} SELECT * FROM no_such_table;`, postgres: `${SECOND.postgres} SELECT * FROM no_such_table;` };
    await expect(migrate(db, [...MIGRATIONS, broken])).rejects.toThrow(/no_such_table|no such table/);
    expect(await versions()).toEqual(['1:history']);
    await expect(db.all('SELECT n FROM migration_probe')).rejects.toThrow();
  });

  it('refuses a database migrated by a newer parrot', async () => {
    await migrate(db, [...MIGRATIONS, SECOND]);
    await expect(migrate(db, MIGRATIONS)).rejects.toThrow("the database's schema is version 2, newer than this parrot knows (1): upgrade parrot");
    await expect(backend.open()).rejects.toThrow(/newer than this parrot knows/);
  });

  it('refuses a migration list with a gap', async () => {
    await expect(migrate(db, [...MIGRATIONS, { ...SECOND, version: 3 }])).rejects.toThrow('migration probe: version 3, expected 2');
  });
});
