import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStore, type OpenStoreOptions } from '../../src/store/open-store.ts';
import { PostgresDb } from '../../src/store/postgres-db.ts';
import type { SqlDb } from '../../src/store/sql-db.ts';
import { SqliteDb } from '../../src/store/sqlite-db.ts';
import type { Store, StoreBackend } from '../../src/store/types.ts';
import { startPostgres, type TestPostgres } from '../helpers/postgres.ts';

/**
 * The two backends the same store tests run against. `setUp` in beforeAll (PostgreSQL: a
 * real server, see test/helpers/postgres.ts), `fresh` in beforeEach (an empty database),
 * `open` as often as a test wants to reopen that database (a restart).
 */
export interface TestBackend {
  readonly name: StoreBackend;
  setUp(): Promise<void>;
  tearDown(): Promise<void>;
  fresh(): Promise<void>;
  open(extra?: Partial<OpenStoreOptions>): Promise<Store>;
  /** The current database without the store around it (no migrations applied by this). */
  rawDb(): SqlDb;
  /** Environment for a child process that opens the same database with openStore(). */
  childEnv(): Record<string, string>;
  /** The current SQLite file (sqlite only). */
  readonly file?: string;
}

function sqliteBackend(): TestBackend {
  let dir = '';
  let file = '';
  return {
    name: 'sqlite',
    get file() {
      return file;
    },
    async setUp() {
      dir = mkdtempSync(join(tmpdir(), 'parrot-store-'));
    },
    async tearDown() {
      rmSync(dir, { recursive: true, force: true });
    },
    async fresh() {
      file = join(mkdtempSync(join(dir, 'db-')), 'parrot.db');
    },
    // env: {} so a DATABASE_URL in the test environment does not switch this one to PostgreSQL
    open: (extra = {}) => openStore({ sqlitePath: file, env: {}, ...extra }),
    rawDb: () => new SqliteDb(file),
    childEnv: () => ({ DATABASE_URL: '', PARROT_TEST_SQLITE_PATH: file }),
  };
}

function postgresBackend(): TestBackend {
  let server: TestPostgres | undefined;
  let url = '';
  return {
    name: 'postgres',
    async setUp() {
      server = await startPostgres();
    },
    async tearDown() {
      await server?.stop();
    },
    async fresh() {
      url = await server!.newDatabase();
    },
    open: (extra = {}) => openStore({ databaseUrl: url, ...extra }),
    rawDb: () => new PostgresDb({ url }),
    childEnv: () => ({ DATABASE_URL: url }),
  };
}

export function testBackends(): TestBackend[] {
  return [sqliteBackend(), postgresBackend()];
}
