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

function run(args: string[], env: NodeJS.ProcessEnv = {}): { child: ChildProcess; out: () => string; err: () => string; exit: Promise<number | null> } {
  const child = spawn(process.execPath, [runner, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, PARROT_SIMULATOR_ADMIN_KEY: '', ...env } });
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
    // Written out, not computed with describeEndpoints (the function the CLI prints with).
    const expected = [
      `parrot simulator listening on ${url}`,
      `  OpenAI     POST ${url}/v1/chat/completions`,
      `  OpenAI     GET  ${url}/v1/models`,
      `  Anthropic  POST ${url}/v1/messages`,
      `  Gemini     POST ${url}/v1beta/models/{model}:generateContent`,
      `  Gemini     POST ${url}/v1beta/models/{model}:streamGenerateContent?alt=sse`,
      `  control    GET  ${url}/_sim/state`,
      `  control    PUT  ${url}/_sim/models/{model}`,
      `  control    PUT  ${url}/_sim/defaults`,
      `  control    POST ${url}/_sim/reset`,
      `  control    GET  ${url}/_sim/calls?model=&provider=`,
    ];
    expect(p.out().trim().split('\n')).toEqual(expected);
    expect(describeEndpoints(url)).toEqual(expected);
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

  it('an invalid model config or file field exits 2 naming the field', async () => {
    const badModel = join(dir, 'bad-model.yaml');
    writeFileSync(badModel, 'models:\n  gpt-4o:\n    faults:\n      - type: error\n');
    const m = run(['--port', '0', '--config', badModel]);
    expect(await m.exit).toBe(2);
    expect(m.err()).toContain(`parrot simulate: ${badModel}: models.gpt-4o.faults[0].kind: Invalid option`);

    const badSeed = join(dir, 'bad-seed.yaml');
    writeFileSync(badSeed, 'seed: soon\nmodles: {}\n');
    const s = run(['--port', '0', '--config', badSeed]);
    expect(await s.exit).toBe(2);
    expect(s.err()).toBe(`parrot simulate: ${badSeed}: seed: Invalid input: expected number, received string; (root): Unrecognized key: "modles"\n`);
  });

  describe('with an admin key, the control API needs it; provider endpoints do not', () => {
    const FAULT = JSON.stringify({ faults: [{ type: 'error', kind: 'rate_limit' }] });

    it.each([
      ['--admin-key', ['--admin-key', 'sim-admin'], {}],
      ['PARROT_SIMULATOR_ADMIN_KEY', [], { PARROT_SIMULATOR_ADMIN_KEY: 'sim-admin' }],
      ['admin_keys in the config file', ['--config', 'admin.yaml'], {}],
    ])('%s', async (_how, args, env) => {
      writeFileSync(join(dir, 'admin.yaml'), 'admin_keys: [sim-admin]\n');
      const p = run(['--port', '0', ...args.map((a) => (a === 'admin.yaml' ? join(dir, a) : a))], env);
      try {
        await waitFor(() => p.out().includes('admin key'));
        const url = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(p.out())![1];
        expect(p.out()).toContain('  control endpoints need an admin key (Authorization: Bearer <key> or x-api-key)\n');
        const put = (headers: Record<string, string>) =>
          fetch(`${url}/_sim/models/gpt-4o`, { method: 'PUT', headers: { 'content-type': 'application/json', ...headers }, body: FAULT });

        const none = await put({});
        expect(none.status).toBe(401);
        expect(await none.json()).toEqual({
          error: { message: 'The simulator control API needs an admin key: "Authorization: Bearer <key>" or "x-api-key: <key>".', type: 'authentication_error', param: null, code: 'admin_key_required' },
        });
        const wrong = await put({ authorization: 'Bearer guess' });
        expect(wrong.status).toBe(403);
        expect(((await wrong.json()) as { error: { code: string } }).error.code).toBe('invalid_admin_key');
        expect((await fetch(`${url}/_sim/state`)).status).toBe(401);
        expect((await fetch(`${url}/_sim/reset`, { method: 'POST', headers: { 'x-api-key': 'guess' } })).status).toBe(403);
        // Refused requests changed nothing: the model still answers.
        expect((await post(url, '/v1/chat/completions', openaiBody())).status).toBe(200);

        expect((await put({ authorization: 'Bearer sim-admin' })).status).toBe(200);
        expect((await post(url, '/v1/chat/completions', openaiBody())).status).toBe(429);
        expect((await fetch(`${url}/_sim/reset`, { method: 'POST', headers: { 'x-api-key': 'sim-admin' } })).status).toBe(200);
        expect((await post(url, '/v1/chat/completions', openaiBody())).status).toBe(200);
      } finally {
        p.child.kill('SIGTERM');
        expect(await p.exit).toBe(0);
      }
    });
  });

  it('refuses a host beyond loopback without an admin key: exit 2, one line, nothing bound', async () => {
    // 192.0.2.1 (TEST-NET-1) is no address of this machine: nothing could listen there anyway.
    const p = run(['--port', '0', '--host', '192.0.2.1']);
    expect(await p.exit).toBe(2);
    expect(p.err()).toBe(
      'parrot simulate: refusing to listen on 192.0.2.1 without an admin key: anyone who reaches it could switch its faults through /_sim/*. ' +
        'Pass --admin-key (or set PARROT_SIMULATOR_ADMIN_KEY, or admin_keys in the config file), or use --host 127.0.0.1.\n',
    );
    expect(p.out()).toBe('');
  });
});
