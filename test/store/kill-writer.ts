import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { expect } from 'vitest';
import type { Delivery, DownInterval, Incident, Subscription, TimelineEntry } from '../../src/store/types.ts';

const FIXTURE = join(import.meta.dirname, 'fixtures', 'write-then-wait.ts');

/** What fixtures/write-then-wait.ts's writes returned. */
export interface Written {
  readonly incident: Incident;
  readonly entry: TimelineEntry;
  readonly subscription: Subscription;
  readonly delivery: Delivery;
  readonly interval: DownInterval;
}

/**
 * Runs the fixture, waits (at most 20 s) for its line, calls `beforeKill`, then SIGKILLs it.
 * Resolves with what the child's writes returned.
 */
export async function writeThenKill(env: Record<string, string>, opts: { cwd?: string; beforeKill?: () => void } = {}): Promise<Written> {
  const child = spawn(process.execPath, [FIXTURE], { env: { ...process.env, ...env }, cwd: opts.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stderr.on('data', (d) => (err += d));
  const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_code, signal) => resolve(signal)));
  const line = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no line from the writer within 20 s; stderr: ${err}`)), 20_000);
    child.stdout.on('data', (d) => {
      out += d;
      const nl = out.indexOf('\n');
      if (nl >= 0) {
        clearTimeout(timer);
        resolve(out.slice(0, nl));
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`writer exited (${code}) before writing; stderr: ${err}`));
    });
  });
  try {
    opts.beforeKill?.();
  } finally {
    child.kill('SIGKILL');
  }
  expect(await exited).toBe('SIGKILL');
  return JSON.parse(line) as Written;
}
