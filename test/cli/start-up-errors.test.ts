import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const bin = join(import.meta.dirname, '../../bin/parrot.js');
const dir = mkdtempSync(join(tmpdir(), 'parrot-start-up-'));

/** Runs `parrot <args>` to its exit (bounded), with PORT/HOST/PARROT_CONFIG from `env` only. */
function parrot(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, ...args], {
      // The store's default file (./data/parrot.db) goes to the temp directory, not the repository.
      cwd: dir,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, PORT: '', HOST: '', PARROT_CONFIG: '', ...env },
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    // A start-up that fails must end the process; one still running after 15 s did not.
    const limit = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`parrot ${args.join(' ')} still running after 15 s; stdout: ${out}; stderr: ${err}`));
    }, 15_000);
    child.once('exit', (code) => {
      clearTimeout(limit);
      resolve({ code, out, err });
    });
  });
}

// A taken port or a host that does not resolve is a person's mistake: one line naming the
// address and the reason, exit code 2, no stack trace, and no process left behind.
describe('start-up errors', () => {
  let taken: Server;
  let port: number;
  beforeAll(async () => {
    taken = createServer();
    await new Promise<void>((r) => taken.listen(0, '127.0.0.1', r));
    port = (taken.address() as { port: number }).port;
  });
  afterAll(async () => {
    await new Promise((r) => taken.close(r));
    rmSync(dir, { recursive: true, force: true });
  });

  it('serve on a port in use', async () => {
    const r = await parrot(['serve'], { PORT: String(port), HOST: '127.0.0.1' });
    expect(r).toEqual({ code: 2, out: '', err: `parrot: cannot listen on 127.0.0.1:${port}: the port is already in use (EADDRINUSE)\n` });
  });

  it('serve on a host that does not resolve', async () => {
    const config = join(dir, 'unresolvable.yaml');
    writeFileSync(
      config,
      'server: { host: no-such-host.invalid, port: 0 }\nauth: { keys: [k] }\n' +
        'providers:\n  - { name: openai, type: openai, base_url: simulator, models: [gpt-4o] }\nsimulator: { enabled: true }\n',
    );
    const r = await parrot(['serve', '--config', config]);
    expect(r.code).toBe(2);
    expect(r.out).toBe('');
    // ENOTFOUND where a name service answers; EAI_AGAIN where none is reachable.
    expect(r.err).toMatch(/^parrot: cannot listen on no-such-host\.invalid:0: the host "no-such-host\.invalid" (does not resolve \(ENOTFOUND\)|could not be resolved \(the name service did not answer\) \(EAI_AGAIN\))\n$/);
  });

  it('simulate on a port in use', async () => {
    const r = await parrot(['simulate', '--port', String(port)]);
    expect(r).toEqual({ code: 2, out: '', err: `parrot simulate: cannot listen on 127.0.0.1:${port}: the port is already in use (EADDRINUSE)\n` });
  });

  it("the in-process simulator's port in use", async () => {
    const config = join(dir, 'sim-port.yaml');
    writeFileSync(
      config,
      'server: { host: 127.0.0.1, port: 0 }\nproviders:\n  - { name: openai, type: openai, base_url: simulator, models: [gpt-4o] }\n' +
        `simulator: { enabled: true, port: ${port} }\n`,
    );
    const r = await parrot(['serve', '--config', config]);
    expect(r).toEqual({ code: 2, out: '', err: `parrot: cannot listen on 127.0.0.1:${port}: the port is already in use (EADDRINUSE)\n` });
  });
});
