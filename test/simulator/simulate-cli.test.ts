import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { describeEndpoints } from '../../src/simulator/cli.ts';
import { openaiBody, post } from './helpers.ts';

const dir = mkdtempSync(join(tmpdir(), 'parrot-sim-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const cliUrl = pathToFileURL(join(import.meta.dirname, '../../src/simulator/cli.ts')).href;
const runner = join(dir, 'run.mjs');
writeFileSync(runner, `import { simulateMain } from ${JSON.stringify(cliUrl)};\nawait simulateMain(process.argv.slice(2));\n`);

function run(args: string[]): { child: ChildProcess; out: () => string; err: () => string; exit: Promise<number | null> } {
  const child = spawn(process.execPath, [runner, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const exit = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  return { child, out: () => out, err: () => err, exit };
}

async function waitFor(pred: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > end) throw new Error('timed out waiting for the simulator to start');
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('parrot simulate', () => {
  it('prints the URL and one line per endpoint, serves the config file, stops on SIGTERM', async () => {
    const config = join(dir, 'sim.yaml');
    writeFileSync(config, 'models:\n  gpt-4o:\n    faults:\n      - type: error\n        kind: rate_limit\n        first_n: 1\n');
    const p = run(['--port', '0', '--config', config]);
    await waitFor(() => p.out().includes('/_sim/calls'));
    const url = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(p.out())![1];
    expect(p.out().trim().split('\n')).toEqual(describeEndpoints(url));
    expect((await post(url, '/v1/chat/completions', openaiBody())).status).toBe(429);
    expect((await post(url, '/v1/chat/completions', openaiBody())).status).toBe(200);
    p.child.kill('SIGTERM');
    expect(await p.exit).toBe(0);
    expect(p.out()).toContain('parrot simulator stopped');
  });

  it('an invalid config file exits 2 with a message naming the field', async () => {
    const config = join(dir, 'bad.yaml');
    writeFileSync(config, 'defaults:\n  latency:\n    type: fixed\n    ms: fast\n');
    const p = run(['--port', '0', '--config', config]);
    expect(await p.exit).toBe(2);
    expect(p.err()).toBe(`parrot simulate: ${config}: defaults.latency.ms: Invalid input: expected number, received string\n`);
  });
});
