/**
 * Child processes of the benchmark: each server runs in its own process (`node`, or a peer
 * gateway's own command), started here, found by the URL it prints or the URL it answers on,
 * sampled for CPU and memory through /proc, and stopped by pid.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import { cpus, loadavg, totalmem } from 'node:os';
import { fileURLToPath } from 'node:url';

/** The repository root (bench/lib/ -> ../..). */
export const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** A server child that is ready to serve. */
export interface ServerProcess {
  name: string;
  url: string;
  pid: number;
  child: ChildProcess;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves when the process has exited. */
  stop(graceMs?: number): Promise<void>;
  /** The last few KB of its stdout and stderr (what explains a crash). */
  outputTail(): string;
}

const START_TIMEOUT_MS = 20_000;

/** How a started process is known to be ready. */
export type Readiness =
  /** Its stdout or stderr matches; the first group is its URL. */
  | { pattern: RegExp }
  /** `url` answers an HTTP GET (any status); the server's URL is its origin. For servers that print nothing to match. */
  | { url: string };

export interface StartSpec {
  name: string;
  command: string;
  args: readonly string[];
  ready: Readiness;
  cwd?: string;
  /** Added to this process's environment. */
  env?: NodeJS.ProcessEnv;
  /** Open an IPC channel (a Node child only; see bench/lag-probe.ts). */
  ipc?: boolean;
  startTimeoutMs?: number;
}

/**
 * Spawns `node ...args` in the repository root and waits for a stdout line matching
 * `urlPattern` (its first group is the URL). Rejects if the child exits or stays silent.
 */
export function startServer(name: string, args: string[], urlPattern: RegExp, env: NodeJS.ProcessEnv = {}): Promise<ServerProcess> {
  return startProcess({ name, command: process.execPath, args, ready: { pattern: urlPattern }, env });
}

/** Answers whether `url` takes an HTTP GET at all (any status). */
async function answers(url: string): Promise<boolean> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(1000) });
    await res.arrayBuffer();
    return true;
  } catch {
    return false;
  }
}

/**
 * Spawns `command ...args` (in the repository root unless `cwd`) and waits until it is ready.
 * Rejects, with the tail of its output, if it exits first or is not ready in time (then it is
 * killed).
 */
export function startProcess(spec: StartSpec): Promise<ServerProcess> {
  const startTimeoutMs = spec.startTimeoutMs ?? START_TIMEOUT_MS;
  const child = spawn(spec.command, spec.args, {
    cwd: spec.cwd ?? ROOT,
    env: { ...process.env, ...spec.env },
    stdio: spec.ipc ? ['ignore', 'pipe', 'pipe', 'ipc'] : ['ignore', 'pipe', 'pipe'],
  });
  // Keep only the tail of the output: enough to explain a crash, bounded.
  let out = '';
  const keep = (s: string): void => {
    out = (out + s).slice(-4000);
  };
  child.stdout!.setEncoding('utf8');
  child.stderr!.setEncoding('utf8');
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const handle = (url: string): ServerProcess => ({
    name: spec.name,
    url,
    pid: child.pid!,
    child,
    outputTail: () => out,
    async stop(graceMs = 5000) {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(killer);
    },
  });
  return new Promise((resolve, reject) => {
    let settled = false;
    const fail = (message: string): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(new Error(`${message}\n${out}`));
    };
    const succeed = (url: string): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      child.off('exit', onExit);
      resolve(handle(url));
    };
    const timer = setTimeout(() => fail(`${spec.name} was not ready within ${startTimeoutMs} ms`), startTimeoutMs);
    const onExit = (code: number | null): void => fail(`${spec.name} exited (code ${code}) before it was ready`);
    child.once('exit', onExit);
    child.once('error', (err) => fail(`${spec.name} could not be started: ${err.message}`));
    const ready = spec.ready;
    if ('pattern' in ready) {
      const check = (): void => {
        const m = ready.pattern.exec(out);
        if (!m) return;
        child.stdout!.off('data', check);
        child.stderr!.off('data', check);
        succeed(m[1]);
      };
      child.stdout!.on('data', check);
      child.stderr!.on('data', check);
    } else {
      const poll = async (): Promise<void> => {
        while (!settled) {
          if (await answers(ready.url)) return succeed(new URL(ready.url).origin);
          await new Promise((r) => setTimeout(r, 250));
        }
      };
      void poll();
    }
  });
}

/** A loopback port that was free a moment ago (for servers that cannot listen on port 0 and say where). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createNetServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as AddressInfo;
      srv.close(() => resolve(port));
    });
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

/** A field of /proc/<pid>/status in bytes (`VmRSS`, `VmHWM`), or NaN where it cannot be read. */
function statusBytes(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : Number.NaN;
  } catch {
    return Number.NaN;
  }
}

/** Resident memory of a process now, bytes. */
export const rssBytes = (pid: number): number => statusBytes(pid, 'VmRSS');

/** The most resident memory a process has had since it started (the kernel's high-water mark), bytes. */
export const peakRssBytes = (pid: number): number => statusBytes(pid, 'VmHWM');

/**
 * `pid` and every process below it (a server that forks workers is measured whole), from the
 * parent pids in /proc. Empty where /proc is missing.
 */
export function processTree(pid: number): number[] {
  const children = new Map<number, number[]>();
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return [];
  }
  for (const e of entries) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const stat = readFileSync(`/proc/${e}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      const list = children.get(ppid);
      if (list) list.push(Number(e));
      else children.set(ppid, [Number(e)]);
    } catch {
      // The process ended between readdir and read.
    }
  }
  const out: number[] = [];
  const walk = (p: number): void => {
    out.push(p);
    for (const c of children.get(p) ?? []) walk(c);
  };
  walk(pid);
  return out;
}

/**
 * Sends `request` over a forked process's IPC channel and resolves with its first message of
 * type `replyType`, or null when none comes within `timeoutMs` (the listener goes either way,
 * so repeated asks do not pile listeners up on the child).
 */
export function askProcess<R extends { type: string }>(server: ServerProcess, request: { type: string }, replyType: R['type'], timeoutMs = 2_000): Promise<R | null> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      server.child.off('message', onMessage);
      resolve(null);
    }, timeoutMs);
    const onMessage = (m: R): void => {
      if (m?.type !== replyType) return;
      clearTimeout(timer);
      server.child.off('message', onMessage);
      resolve(m);
    };
    server.child.on('message', onMessage);
    server.child.send(request);
  });
}

function git(args: string[], cwd = ROOT): string {
  try {
    return execFileSync('git', args, { cwd, encoding: 'utf8' }).trim();
  } catch {
    return '';
  }
}

/** The short commit of the checkout at `dir` ('' when it is not a git checkout). */
export function commitOf(dir: string): string {
  return git(['rev-parse', '--short', 'HEAD'], dir);
}

/** Where and on what a bench result was measured: the fields every result JSON opens with. */
export function runProvenance(script: string, startedAt: Date) {
  return {
    date: startedAt.toISOString(),
    command: `node ${script} ${process.argv.slice(2).join(' ')}`.trim(),
    node: process.version,
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model ?? 'unknown',
    memoryGB: Math.round(totalmem() / 2 ** 30),
    commit: git(['rev-parse', '--short', 'HEAD']),
    /** Uncommitted changes under src/ or machines/ (other work in progress) when measured. */
    dirty: git(['status', '--porcelain', '--', 'src', 'machines']) !== '',
    loadavgBefore: loadavg(),
    loadavgAfter: [] as number[],
  };
}
