import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// A gateway that runs out of file descriptors cannot open a socket to its upstream (EMFILE).
// That is this machine's limit, not the provider's failure: no breaker may open over it and
// the client hears the gateway's own 503. The gateway runs as `parrot serve` with the embedded
// simulator under a low open-file limit (`ulimit -n` only lowers it, which anyone may do).
const bin = join(import.meta.dirname, '../../bin/parrot.js');
const FILES = 120;
const dir = mkdtempSync(join(tmpdir(), 'parrot-out-of-files-'));
let child: ChildProcess;
let url: string;
let stderr = '';

beforeAll(async () => {
  child = spawn('sh', ['-c', `ulimit -n ${FILES} && exec "$0" "$@"`, process.execPath, bin, 'serve'], {
    cwd: dir,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, PORT: '0', HOST: '127.0.0.1', PARROT_CONFIG: '' },
  });
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  url = await new Promise<string>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`parrot did not start: ${out} ${stderr}`)), 20_000);
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /parrot listening on (http:\/\/\S+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
  });
}, 30_000);

afterAll(async () => {
  if (child.exitCode === null) {
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
  }
  rmSync(dir, { recursive: true, force: true });
});

describe(`a gateway out of open files (ulimit -n ${FILES})`, () => {
  it('answers 503 gateway_overloaded for the calls it cannot open, opens no breaker, and keeps serving', async () => {
    const agent = new Agent({ connections: null });
    const body = JSON.stringify({ model: 'gpt-4-turbo-preview', messages: [{ role: 'user', content: 'hi' }] });
    const outcomes = await Promise.all(
      Array.from({ length: 300 }, async () => {
        try {
          const res = await request(`${url}/v1/chat/completions`, { method: 'POST', dispatcher: agent, headers: { 'content-type': 'application/json' }, body });
          const json = (await res.body.json()) as { error?: { code: string } };
          return res.statusCode === 200 ? '200' : `${res.statusCode} ${json.error?.code}`;
        } catch {
          // The gateway could not accept this connection at all (its own accept hit EMFILE).
          return 'connection refused by the gateway';
        }
      }),
    );
    await agent.close();
    const counts: Record<string, number> = {};
    for (const o of outcomes) counts[o] = (counts[o] ?? 0) + 1;
    // Only these outcomes, and some calls did hit the limit on the upstream side.
    expect(Object.keys(counts).filter((k) => !['200', '503 gateway_overloaded', 'connection refused by the gateway'].includes(k))).toEqual([]);
    expect(counts['503 gateway_overloaded']).toBeGreaterThan(0);

    // Nothing was held against the providers.
    const health = (await (await fetch(`${url}/v1/health`)).json()) as { providers: Array<{ models: Array<{ name: string; circuit_breaker: { state: string } }> }> };
    expect(health.providers.flatMap((p) => p.models.map((m) => [m.name, m.circuit_breaker.state]))).toEqual(
      health.providers.flatMap((p) => p.models.map((m) => [m.name, 'closed'])),
    );
    // The operator hears of it (at most a line per target per interval), as the gateway's own limit.
    const lines = stderr.split('\n').filter((l) => l.includes('"event":"local_limit"')).map((l) => JSON.parse(l) as { local_resources: number });
    expect(lines.length).toBeGreaterThan(0);
    expect(lines.some((l) => l.local_resources > 0)).toBe(true);
    expect(stderr).not.toContain('"to":"open"');

    // With the burst gone it serves again.
    const after = await fetch(`${url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    expect(after.status).toBe(200);
  }, 60_000);
});
