import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningGateway } from '../../src/gateway.ts';
import { startTestGateway } from '../helpers/gateway.ts';

const bin = join(import.meta.dirname, '../../bin/parrot.js');
let gw: RunningGateway;

/** `parrot chaos <args>` against the test gateway, to its exit (bounded). */
function chaos(args: string[]): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, 'chaos', ...args, '--url', gw.url], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, PARROT_ADMIN_KEY: 'admin-key' } });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const limit = setTimeout(() => (child.kill('SIGKILL'), reject(new Error('parrot chaos still running after 15 s'))), 15_000);
    child.once('exit', (code) => (clearTimeout(limit), resolve({ code, out, err })));
  });
}

beforeAll(async () => {
  gw = await startTestGateway({ chaos: { enabled: true }, auth: { keys: ['user-key'], admin_keys: ['admin-key'] } });
});
afterAll(() => gw.close());

describe('parrot chaos', () => {
  it('adds, lists and removes a fault on a running gateway with the admin key from PARROT_ADMIN_KEY', async () => {
    const added = await chaos(['add', '--target', 'openai', '--fault', 'rate_limit', '--seconds', '30', '--retry-after-s', '2']);
    expect(added).toMatchObject({ code: 0, err: '' });
    const fault = JSON.parse(added.out) as { id: string; target: string; fault: string; retry_after_s: number };
    expect(fault).toMatchObject({ target: 'openai', fault: 'rate_limit', retry_after_s: 2 });
    const listed = await chaos(['list']);
    expect((JSON.parse(listed.out) as { data: Array<{ id: string }> }).data.map((f) => f.id)).toEqual([fault.id]);
    const removed = await chaos(['rm', fault.id]);
    expect(JSON.parse(removed.out)).toMatchObject({ id: fault.id, deleted: true });
    expect(gw.chaos!.list()).toEqual([]);
  });

  it("a refusal is the gateway's message on one line and exit code 1", async () => {
    const r = await chaos(['add', '--target', 'nowhere', '--fault', 'rate_limit']);
    expect(r.code).toBe(1);
    expect(r.err).toBe('parrot chaos: 400: Unknown target "nowhere": not a configured provider or provider/model.\n');
    const usage = await chaos(['frobnicate']);
    expect(usage.code).toBe(1);
    expect(usage.err).toMatch(/^parrot chaos: Usage:/);
  });
});
