import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const dir = mkdtempSync(join(tmpdir(), 'parrot-check-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const bin = join(import.meta.dirname, '../../bin/parrot.js');

/** `parrot check-config --config <yaml>`: exit code and output. */
function check(name: string, yaml: string): { code: number | null; out: string; err: string } {
  const file = join(dir, `${name}.yaml`);
  writeFileSync(file, yaml);
  const r = spawnSync(process.execPath, [bin, 'check-config', '--config', file], { encoding: 'utf8', env: { ...process.env, PORT: '', HOST: '' } });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

const PROVIDER = 'providers:\n  - { name: openai, type: openai, base_url: simulator, models: [gpt-4o] }\nsimulator: { enabled: true }\n';

// check-config passes exactly what serve starts: the same checks run in both.
describe('parrot check-config', () => {
  it('accepts a config serve would start', () => {
    const r = check('ok', `server: { host: 127.0.0.1, port: 0 }\n${PROVIDER}`);
    expect([r.code, r.out.trim()]).toEqual([0, `ok: ${join(dir, 'ok.yaml')}: 1 providers`]);
  });

  it('refuses a non-loopback host with no API keys, as serve does', () => {
    const r = check('open', `server: { host: 0.0.0.0, port: 0 }\n${PROVIDER}`);
    expect(r.code).toBe(2);
    expect(r.err).toContain('refusing to listen on 0.0.0.0 with no API keys');
  });

  it("refuses an invalid simulator model config, naming the field, as serve does", () => {
    const r = check('badsim', `server: { host: 127.0.0.1, port: 0 }\nproviders:\n  - { name: openai, type: openai, base_url: simulator, models: [gpt-4o] }\nsimulator:\n  enabled: true\n  models:\n    gpt-4o: { bogus_field: 1 }\n`);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/simulator: models\.gpt-4o/);
  });
});
