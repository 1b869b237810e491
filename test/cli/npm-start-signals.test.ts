import { spawn, type ChildProcess } from 'node:child_process';
import { connect } from 'node:net';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '../..');

interface Started {
  npm: ChildProcess;
  url: string;
  out: () => string;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/**
 * `npm start` as a user runs it, in a process group of its own (as a terminal gives it), with
 * PORT=0. Resolves once the gateway prints its URL.
 */
async function npmStart(): Promise<Started> {
  const npm = spawn('npm', ['start'], {
    cwd: root,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, PATH: `${dirname(process.execPath)}:${process.env.PATH}`, PORT: '0', HOST: '', PARROT_CONFIG: '' },
  });
  let out = '';
  npm.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  npm.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => npm.once('exit', (code, signal) => r({ code, signal })));
  const deadline = Date.now() + 20_000;
  let m: RegExpExecArray | null;
  while ((m = /parrot listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(out)) === null) {
    if (Date.now() > deadline) throw new Error(`npm start did not come up: ${out}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  return { npm, url: m[1], out: () => out, exit };
}

/** True while any process of the group (npm, its shell, the gateway) is alive. */
function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

async function groupGone(pgid: number, limitMs = 15_000): Promise<boolean> {
  const deadline = Date.now() + limitMs;
  while (groupAlive(pgid)) {
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 20));
  }
  return true;
}

function portRefuses(url: string): Promise<boolean> {
  const { port } = new URL(url);
  return new Promise((resolve) => {
    const s = connect(Number(port), '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(false);
    });
    s.once('error', (err: NodeJS.ErrnoException) => resolve(err.code === 'ECONNREFUSED'));
  });
}

// npm runs a script through `sh -c`. Signals sent to npm must reach the gateway: before, npm
// forwarded SIGTERM to the shell, the shell died, and the gateway went on serving, orphaned.
describe('npm start, as a process tree', () => {
  it('SIGTERM to the npm process stops the gateway: no process survives, the port is freed', async () => {
    const s = await npmStart();
    const pgid = s.npm.pid!;
    try {
      expect((await fetch(`${s.url}/v1/models`)).status).toBe(200);
      process.kill(pgid, 'SIGTERM');
      const exit = await s.exit;
      expect(await groupGone(pgid)).toBe(true);
      expect(await portRefuses(s.url)).toBe(true);
      // The gateway drained and exited 0; npm reports that, not a death by signal.
      expect(exit).toEqual({ code: 0, signal: null });
      expect(s.out()).toContain('parrot: draining (requests in flight have 10 s to finish)');
    } finally {
      if (groupAlive(pgid)) process.kill(-pgid, 'SIGKILL');
    }
  });

  it('Ctrl-C (SIGINT to the whole group) drains once: the request in flight still gets its answer', async () => {
    const s = await npmStart();
    const pgid = s.npm.pid!;
    try {
      // A request that takes 1.5 s, in flight when the signal arrives.
      const put = await fetch(`${s.url}/admin/simulator/models/gpt-3.5-turbo`, {
        method: 'PUT',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ latency: { type: 'fixed', ms: 1500 } }),
      });
      expect(put.status).toBe(200);
      const inFlight = fetch(`${s.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'gpt-3.5-turbo', messages: [{ role: 'user', content: 'x' }] }),
      });
      const deadline = Date.now() + 5_000;
      for (;;) {
        const { calls } = (await (await fetch(`${s.url}/admin/simulator/calls?model=gpt-3.5-turbo`)).json()) as { calls: unknown[] };
        if (calls.length === 1) break;
        if (Date.now() > deadline) throw new Error('the request never reached the simulator');
        await new Promise((r) => setTimeout(r, 20));
      }
      // The terminal sends SIGINT to every process of the group; npm forwards it once more.
      process.kill(-pgid, 'SIGINT');
      const res = await inFlight;
      expect(res.status).toBe(200);
      expect(((await res.json()) as { object: string }).object).toBe('chat.completion');
      await s.exit;
      expect(await groupGone(pgid)).toBe(true);
      expect(await portRefuses(s.url)).toBe(true);
      expect(s.out().split('parrot: draining').length - 1).toBe(1);
    } finally {
      if (groupAlive(pgid)) process.kill(-pgid, 'SIGKILL');
    }
  });
});
