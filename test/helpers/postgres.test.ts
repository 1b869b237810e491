import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { findServerBinaries, startPostgres } from './postgres.ts';

describe('the test PostgreSQL', () => {
  let root: string;
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'parrot-pgroot-'));
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it('without server binaries and without DATABASE_URL, fails saying how to install them (no silent skip)', async () => {
    await expect(startPostgres({ pgRoot: join(root, 'missing'), env: {} })).rejects.toThrow(
      /PostgreSQL server binaries \(initdb, pg_ctl\) not found .*apt-get update && apt-get install -y postgresql.*or set DATABASE_URL/,
    );
  });

  it("takes the newest major version's binaries", () => {
    for (const major of ['13', '15', '9']) {
      mkdirSync(join(root, major, 'bin'), { recursive: true });
      for (const bin of ['initdb', 'pg_ctl']) writeFileSync(join(root, major, 'bin', bin), '');
    }
    mkdirSync(join(root, '17', 'bin'), { recursive: true }); // client only: no initdb
    expect(findServerBinaries(root)).toBe(join(root, '15', 'bin'));
  });
});
