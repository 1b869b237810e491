/**
 * Child processes of the benchmark: each server runs in its own `node` process, started
 * here, found by the URL it prints, sampled for CPU through /proc, and stopped by pid.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** The repository root (bench/lib/ -> ../..). */
export const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** A server child that announced its URL. */
export interface ServerProcess {
  name: string;
  url: string;
  pid: number;
  child: ChildProcess;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves when the process has exited. */
  stop(graceMs?: number): Promise<void>;
}

const START_TIMEOUT_MS = 20_000;

/**
 * Spawns `node ...args` in the repository root and waits for a stdout line matching
 * `urlPattern` (its first group is the URL). Rejects if the child exits or stays silent.
 */
export function startServer(name: string, args: string[], urlPattern: RegExp, env: NodeJS.ProcessEnv = {}): Promise<ServerProcess> {
  const child = spawn(process.execPath, args, { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (s: string) => {
    // Keep only the tail: enough to explain a crash, bounded.
    stderr = (stderr + s).slice(-4000);
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${name} did not print its URL within ${START_TIMEOUT_MS} ms\n${out}${stderr}`));
    }, START_TIMEOUT_MS);
    const onExit = (code: number | null): void => {
      clearTimeout(timer);
      reject(new Error(`${name} exited (code ${code}) before it was ready\n${out}${stderr}`));
    };
    child.once('exit', onExit);
    child.stdout!.setEncoding('utf8');
    const onData = (s: string): void => {
      out = (out + s).slice(-4000);
      const m = urlPattern.exec(out);
      if (!m) return;
      clearTimeout(timer);
      child.off('exit', onExit);
      child.stdout!.off('data', onData);
      child.stdout!.resume(); // keep draining so the child never blocks on a full pipe
      resolve({
        name,
        url: m[1],
        pid: child.pid!,
        child,
        async stop(graceMs = 5000) {
          if (child.exitCode !== null || child.signalCode !== null) return;
          child.kill('SIGTERM');
          const killer = setTimeout(() => child.kill('SIGKILL'), graceMs);
          await exited;
          clearTimeout(killer);
        },
      });
    };
    child.stdout!.on('data', onData);
  });
}

let clockTicks: number | undefined;

/** Kernel clock ticks per second (utime/stime unit in /proc/<pid>/stat). */
function ticksPerSecond(): number {
  if (clockTicks === undefined) {
    try {
      clockTicks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      clockTicks = 100;
    }
  }
  return clockTicks;
}

/**
 * CPU time (user + system) a process has used so far, in microseconds, from /proc; NaN where
 * /proc is missing. Resolution is one clock tick (10 ms at 100 Hz): sample over seconds.
 */
export function processCpuUs(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[11]) + Number(fields[12]);
    return (ticks * 1e6) / ticksPerSecond();
  } catch {
    return Number.NaN;
  }
}
