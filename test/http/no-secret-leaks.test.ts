import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify as toYaml } from 'yaml';
import { configFromObject } from '../../src/config/load.ts';
import { startGateway } from '../../src/gateway.ts';
import { startSimulator, type SimulatorHandle } from '../../src/simulator/index.ts';

/**
 * No secret leaks: a config whose every secret-bearing field holds its own canary, upstreams
 * that quote keys back (OpenAI's masked `sk-****ARY3`, proxies quoting headers and URLs), and
 * every error path (non-streamed, streamed before and after its commit point, a connection
 * error to a base_url with credentials, a bad gateway key). No response status line, header
 * or body, no log line and no banner line may hold any canary or any 4-character piece of
 * one.
 *
 * The canaries alternate capitals with `0`, `l` and `O`, so every 4-character piece holds a
 * capital and one of those three: no id the gateway or the simulator makes (their alphabet
 * has no `0`, `l` or `O` beside capitals) and no English text can contain one by chance. No
 * two canaries share a piece, so a leak names its field.
 */
const C = {
  openaiKey: 'sk-R0UlROR0TlVOG0FlTOS0XlWO',
  openaiOrgHeader: 'F0DlROK0ElCOU0ZlXOB0WlPO',
  compatBearer: 'H0WlAOR0MlROV0GlTOH0XlKO',
  compatProxyToken: 'S0AlYOC0RlXOJ0QlUOC0ZlJO',
  anthropicKey: 'M0HlTOK0AlCOV0DlPOD0KlPO',
  googleKey: 'C0VlXOG0YlJOM0ClKOM0AlQO',
  urlUser: 'D0ElHOZ0DlAOB0RlSOF0YlUO',
  urlPassword: 'G0RlTOG0ElQOX0PlDOP0QlGO',
  urlQuery: 'B0ElGOR0JlAOW0MlKOP0ClCO',
  clientKey: 'J0GlGOA0ClJOQ0RlHOB0BlFO',
  adminKey: 'N0BlZOE0MlNOC0YlSOC0QlAO',
};

/** Every canary piece found in `text`, with where it was: empty when nothing leaked. */
function leaks(where: string, text: string): string[] {
  const found: string[] = [];
  for (const [name, canary] of Object.entries(C)) {
    for (let i = 0; i + 4 <= canary.length; i++) {
      const piece = canary.slice(i, i + 4);
      const at = text.indexOf(piece);
      if (at !== -1) {
        found.push(`${where}: ${name} piece "${piece}" in …${text.slice(Math.max(0, at - 40), at + 44)}…`);
        break;
      }
    }
  }
  return found;
}

/** Upstream error texts that quote secrets back, as upstreams and the proxies before them do. */
const QUOTES = {
  headers: `proxy refused Authorization: Bearer ${C.compatBearer} (x-proxy-token ${C.compatProxyToken}, openai-organization ${C.openaiOrgHeader})`,
  url: `quota exceeded for key ${C.googleKey} at https://${C.urlUser}:${C.urlPassword}@edge.example/v1beta?key=${C.urlQuery}`,
  fragments: `key ending ${C.anthropicKey.slice(-6)} is not ${C.anthropicKey.slice(0, 8)}… (${C.clientKey.slice(5, 11)})`,
};

let sim: SimulatorHandle;
let closedPort: number;
const dir = mkdtempSync(join(tmpdir(), 'parrot-secrets-'));

beforeAll(async () => {
  sim = await startSimulator();
  // A port nobody listens on: the connection-error path.
  const probe = createServer().listen(0, '127.0.0.1');
  await once(probe, 'listening');
  closedPort = (probe.address() as { port: number }).port;
  await new Promise((r) => probe.close(r));
});
afterAll(async () => {
  await sim.close();
  rmSync(dir, { recursive: true, force: true });
});

/** The config file: every secret-bearing field holds a canary. */
function configFile(): Record<string, unknown> {
  return {
    server: { host: '127.0.0.1', port: 0 },
    store: { path: ':memory:' },
    auth: { keys: [C.clientKey], admin_keys: [C.adminKey] },
    providers: [
      { name: 'openai', type: 'openai', base_url: `${sim.url}/v1`, api_key: C.openaiKey, headers: { 'OpenAI-Organization': C.openaiOrgHeader }, models: ['gpt-4o'] },
      { name: 'compat', type: 'openai-compatible', base_url: `${sim.url}/v1`, headers: { Authorization: `Bearer ${C.compatBearer}`, 'X-Proxy-Token': C.compatProxyToken }, models: ['llama-3'] },
      { name: 'anthropic', type: 'anthropic', base_url: sim.url, api_key: C.anthropicKey, models: ['claude-3-opus'] },
      { name: 'google', type: 'google', base_url: sim.url, api_key: C.googleKey, models: ['gemini-pro'] },
      { name: 'proxied', type: 'openai-compatible', base_url: `http://${C.urlUser}:${C.urlPassword}@127.0.0.1:${closedPort}/v1?key=${C.urlQuery}`, models: ['proxied-model'] },
    ],
    resilience: { failover: { enabled: false }, retry: { max_retries: 0 }, breaker: { error_threshold: 3 } },
  };
}

/** Everything a client saw of a response: status line, every header, the whole body. */
async function seen(res: Response): Promise<string> {
  return [`${res.status} ${res.statusText}`, ...[...res.headers].map(([k, v]) => `${k}: ${v}`), await res.text()].join('\n');
}

interface Call {
  name: string;
  model: string;
  stream?: boolean;
  key?: string;
  headers?: Record<string, string>;
  /** The simulator's behaviour for the model before the call. */
  faults?: unknown[];
  tokensPerSecond?: number;
}

/** Each error path once (a few more times where it opens a breaker, for the log). */
const CALLS: Call[] = [
  { name: 'openai 401 quoting the masked key', model: 'gpt-4o', faults: [{ type: 'error', kind: 'auth_error' }] },
  { name: 'openai 401 quoting the masked key, streamed', model: 'gpt-4o', stream: true },
  { name: 'openai in-band 401 before the commit point', model: 'gpt-4o', stream: true, faults: [{ type: 'in_band_error', kind: 'auth_error' }] },
  { name: 'openai: its breaker is open now', model: 'gpt-4o' },
  { name: 'compatible server 401 quoting its bearer token, masked', model: 'llama-3', faults: [{ type: 'error', kind: 'auth_error' }] },
  { name: 'compatible server 500 quoting the headers', model: 'llama-3', faults: [{ type: 'error', kind: 'server_error', message: QUOTES.headers }] },
  { name: 'anthropic 400 quoting pieces of keys', model: 'claude-3-opus', faults: [{ type: 'error', kind: 'bad_request', message: QUOTES.fragments }] },
  { name: 'anthropic in-band error quoting pieces of keys', model: 'claude-3-opus', stream: true, faults: [{ type: 'in_band_error', kind: 'model_overloaded', message: QUOTES.fragments }] },
  { name: 'google 400 API_KEY_INVALID quoting the key', model: 'gemini-pro', faults: [{ type: 'error', kind: 'auth_error', message: `API key not valid: ${C.googleKey}` }] },
  {
    name: 'google in-band error after the commit point quoting a key and a URL',
    model: 'gemini-pro',
    stream: true,
    // The error comes with the second content delta, 200 ms after the first: the gateway has
    // committed (written the first to the client) long before.
    tokensPerSecond: 5,
    faults: [{ type: 'in_band_error', kind: 'server_error', after_tokens: 2, message: QUOTES.url }],
  },
  { name: 'connection error to a base_url with credentials', model: 'proxied-model' },
  { name: 'connection error to a base_url with credentials, streamed', model: 'proxied-model', stream: true },
  {
    name: 'a failover chain ending in the connection error',
    model: 'llama-3',
    headers: { 'x-failover-config': JSON.stringify({ primary: { provider: 'compat', model: 'llama-3' }, fallbacks: [{ trigger: 'any_error', provider: 'proxied', model: 'proxied-model' }] }) },
  },
  { name: 'a bad gateway key (the admin key)', model: 'gpt-4o', key: C.adminKey },
  { name: 'a bad gateway key (a piece of the client key)', model: 'gpt-4o', key: C.clientKey.slice(0, 12) },
];

/** Each path was taken: the status and error code the gateway answered each call with. */
const OUTCOMES = [
  ['openai 401 quoting the masked key', 502, 'upstream_auth_error'],
  ['openai 401 quoting the masked key, streamed', 502, 'upstream_auth_error'],
  ['openai in-band 401 before the commit point', 502, 'upstream_auth_error'],
  ['openai: its breaker is open now', 503, 'circuit_open'],
  ['compatible server 401 quoting its bearer token, masked', 502, 'upstream_auth_error'],
  ['compatible server 500 quoting the headers', 502, 'upstream_server_error'],
  ['anthropic 400 quoting pieces of keys', 400, 'bad_request'],
  ['anthropic in-band error quoting pieces of keys', 503, 'model_overloaded'],
  ['google 400 API_KEY_INVALID quoting the key', 502, 'upstream_auth_error'],
  // Committed before the error: a 200 whose stream ends with the in-band error.
  ['google in-band error after the commit point quoting a key and a URL', 200, 'upstream_server_error'],
  ['connection error to a base_url with credentials', 502, 'upstream_connection_error'],
  ['connection error to a base_url with credentials, streamed', 502, 'upstream_connection_error'],
  ['a failover chain ending in the connection error', 502, 'upstream_connection_error'],
  ['a bad gateway key (the admin key)', 401, 'invalid_api_key'],
  ['a bad gateway key (a piece of the client key)', 401, 'invalid_api_key'],
  ['models with a bad key', 401, 'invalid_api_key'],
  ['admin endpoint with a client key', 403, 'admin_key_required'],
];

const outcomes = (responses: Array<[string, string]>) =>
  responses.map(([name, text]) => [name, Number(text.slice(0, 3)), /"code":"([a-z_]+)"/.exec(text)?.[1] ?? null]);

async function chat(base: string, call: Call): Promise<Response> {
  return fetch(`${base}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${call.key ?? C.clientKey}`, ...call.headers },
    body: JSON.stringify({ model: call.model, messages: [{ role: 'user', content: 'Critical request' }], stream: call.stream === true }),
  });
}

/** Runs every call against a gateway at `base`; returns what the client saw of each. */
async function runCalls(base: string): Promise<Array<[string, string]>> {
  const out: Array<[string, string]> = [];
  for (const call of CALLS) {
    if (call.faults) sim.setModel(call.model, { faults: call.faults as never, ...(call.tokensPerSecond ? { tokens_per_second: call.tokensPerSecond } : {}) });
    const res = await chat(base, call);
    out.push([call.name, await seen(res)]);
  }
  for (const [name, path, key] of [
    ['models with a bad key', '/v1/models', C.adminKey],
    ['admin endpoint with a client key', '/admin/simulator/state', C.clientKey],
  ] as const) {
    out.push([name, await seen(await fetch(`${base}${path}`, { headers: { authorization: `Bearer ${key}` } }))]);
  }
  return out;
}

describe('no secret leaks', () => {
  it('the simulator does quote the keys it was given (else this test would prove nothing)', async () => {
    sim.setModel('gpt-4o', { faults: [{ type: 'error', kind: 'auth_error' }] });
    const res = await fetch(`${sim.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${C.openaiKey}` },
      body: JSON.stringify({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] }),
    });
    expect(leaks('simulator', await res.text())).toEqual([expect.stringContaining('openaiKey piece "XlWO"')]);
  });

  it('in process: no response status, header or body and no log line holds a canary or a piece of one', async () => {
    sim.reset();
    const log: string[] = [];
    const gw = await startGateway(configFromObject(configFile(), { env: {} }), { log: (line) => log.push(line) });
    try {
      const responses = await runCalls(gw.url);
      expect([...responses.flatMap(([name, text]) => leaks(name, text)), ...log.flatMap((line) => leaks('log', line))]).toEqual([]);
      expect(outcomes(responses)).toEqual(OUTCOMES);
      // Breakers opened: there were log lines to check.
      expect(log.filter((line) => /"machine":"breaker".*"to":"open"/.test(line))).toHaveLength(3);
      // The upstream text that was safe to pass on still is, scrubbed.
      const byName = new Map(responses);
      // A provider's auth error is a fixed message: none of the provider's text.
      expect(byName.get('openai 401 quoting the masked key')).toContain(
        `{"error":{"message":"The upstream provider rejected the gateway's credentials (HTTP 401): the gateway's configuration needs fixing, not your request.","type":"api_error","param":null,"code":"upstream_auth_error"}}`,
      );
      expect(byName.get('compatible server 500 quoting the headers')).toContain('"message":"proxy refused Authorization: Bearer **** (x-proxy-token ****, openai-organization ****)"');
      expect(byName.get('google in-band error after the commit point quoting a key and a URL')).toContain(
        'data: {"error":{"message":"upstream stream failed after it started: quota exceeded for key **** at https://****@edge.example/v1beta?key=****","type":"api_error","param":null,"code":"upstream_server_error"}}',
      );
    } finally {
      await gw.close();
    }
  });

  it('parrot serve: no banner line, stdout or stderr line and no response holds a canary or a piece of one', async () => {
    sim.reset();
    const file = join(dir, 'canary.yaml');
    writeFileSync(file, toYaml(configFile()));
    const bin = join(import.meta.dirname, '../../bin/parrot.js');
    const child = spawn(process.execPath, [bin, 'serve', '--config', file], { env: { ...process.env, PORT: '', HOST: '' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const exited = once(child, 'exit');
    try {
      const deadline = Date.now() + 10_000;
      while (!/^ {2}provider proxied .*\n/m.test(stdout)) {
        if (Date.now() > deadline || child.exitCode !== null) throw new Error(`parrot serve did not start:\n${stdout}\n${stderr}`);
        await new Promise((r) => setTimeout(r, 20));
      }
      const url = /^parrot listening on (\S+)/m.exec(stdout)![1];
      const responses = await runCalls(url);
      child.kill('SIGTERM');
      await exited;
      expect([
        ...responses.flatMap(([name, text]) => leaks(name, text)),
        ...stdout.split('\n').flatMap((line) => leaks('stdout', line)),
        ...stderr.split('\n').flatMap((line) => leaks('stderr', line)),
      ]).toEqual([]);
      // The banner names each provider's base URL without its credentials or query values.
      expect(stdout).toContain(`  provider proxied (openai-compatible) -> http://****@127.0.0.1:${closedPort}/v1?key=****: proxied-model\n`);
      expect(stdout).toContain(`  provider openai (openai) -> ${sim.url}/v1: gpt-4o\n`);
      expect(outcomes(responses)).toEqual(OUTCOMES);
      // Breakers opened: stderr had their state-change lines to check.
      expect(stderr.split('\n').filter((line) => /"machine":"breaker".*"to":"open"/.test(line))).toHaveLength(3);
    } finally {
      if (child.exitCode === null) {
        child.kill('SIGKILL');
        await exited;
      }
    }
  });

  it('parrot check-config: a config error quotes neither a base_url\'s credentials nor the YAML line holding a key', () => {
    const bin = join(import.meta.dirname, '../../bin/parrot.js');
    const check = (name: string, yaml: string) => {
      const path = join(dir, `${name}.yaml`);
      writeFileSync(path, yaml);
      const r = spawnSync(process.execPath, [bin, 'check-config', '--config', path], { encoding: 'utf8', env: { ...process.env, PORT: '', HOST: '' } });
      return { code: r.status, out: r.stdout + r.stderr, path };
    };
    const badUrl = check('bad-url', toYaml({ providers: [{ name: 'p', type: 'openai', base_url: `https//${C.urlUser}:${C.urlPassword}@proxy?key=${C.urlQuery}`, models: ['m'] }] }));
    // yaml's own message would quote the line: `    api_key: sk-…: oops` under a caret.
    const badYaml = check('bad-yaml', `providers:\n  - name: p\n    api_key: ${C.openaiKey}: oops\n    models: [m]\n`);
    expect([...leaks('bad-url', badUrl.out), ...leaks('bad-yaml', badYaml.out)]).toEqual([]);
    expect([badUrl.code, badUrl.out.trim()]).toEqual([2, `parrot: config ${badUrl.path}: providers[0].base_url: not a URL: "https//****@proxy?key=****"`]);
    expect([badYaml.code, badYaml.out.trim()]).toEqual([2, `parrot: config ${badYaml.path}: not valid YAML at line 3, column 14: Nested mappings are not allowed in compact mappings`]);
  });
});
