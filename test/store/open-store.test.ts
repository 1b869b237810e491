import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { defaultSqlitePath, openStore, redactUrl } from '../../src/store/open-store.ts';
import { SqliteDb } from '../../src/store/sqlite-db.ts';
import { writeThenKill } from './kill-writer.ts';

describe('openStore without DATABASE_URL', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'parrot-open-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('uses ./data/parrot.db of the working directory, creating ./data, in WAL mode, and it survives a kill -9', async () => {
    expect(defaultSqlitePath(dir)).toBe(join(dir, 'data', 'parrot.db'));
    // the fixture opens the store with no path and no DATABASE_URL, as `parrot serve` would
    const written = await writeThenKill({ DATABASE_URL: '', PARROT_TEST_SQLITE_PATH: '' }, { cwd: dir });
    const file = join(dir, 'data', 'parrot.db');
    expect(existsSync(file)).toBe(true);

    const raw = new DatabaseSync(file);
    expect(raw.prepare('PRAGMA journal_mode').get()).toEqual({ journal_mode: 'wal' });
    raw.close();

    const store = await openStore({ sqlitePath: file, env: {} });
    expect(store.backend).toBe('sqlite');
    expect(store.location).toBe(file);
    expect((await store.incidents.get(written.incident.id))?.title).toBe('openai down');
    await store.close();
  });

  it('an empty DATABASE_URL means SQLite', async () => {
    const store = await openStore({ env: { DATABASE_URL: '  ' }, sqlitePath: join(dir, 'a', 'b', 'x.db') });
    expect(store.backend).toBe('sqlite');
    expect(existsSync(join(dir, 'a', 'b', 'x.db'))).toBe(true);
    await store.close();
  });

  it('SQLite connections commit with synchronous = FULL and enforce foreign keys', async () => {
    const db = new SqliteDb(join(dir, 'p.db'));
    expect(await db.get('PRAGMA synchronous')).toEqual({ synchronous: 2 });
    expect(await db.get('PRAGMA foreign_keys')).toEqual({ foreign_keys: 1 });
    await db.close();
  });
});

describe('redactUrl', () => {
  it('hides the password and nothing else', () => {
    expect(redactUrl('postgres://parrot:s3cret@db.internal:5432/parrot?sslmode=require')).toBe('postgres://parrot:***@db.internal:5432/parrot?sslmode=require');
    expect(redactUrl('postgresql://parrot@127.0.0.1/parrot')).toBe('postgresql://parrot@127.0.0.1/parrot');
  });

  it('says nothing of a string it cannot parse', () => {
    expect(redactUrl('host=db password=s3cret')).toBe('postgresql (DATABASE_URL)');
  });
});
