import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { bindSimulator, ConfigError, configFromObject, loadConfig } from '../../src/config/load.ts';

const minimal = {
  providers: [{ name: 'openai', type: 'openai', base_url: 'https://api.openai.com/v1', api_key: '${OPENAI_API_KEY}', models: ['gpt-4o'] }],
};

function fileWith(text: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'parrot-config-'));
  const path = join(dir, 'parrot.yaml');
  writeFileSync(path, text);
  return path;
}

function errorOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
  throw new Error('expected a ConfigError');
}

describe('configuration', () => {
  it('interpolates ${VAR} and ${VAR:-default} from the environment', () => {
    const c = configFromObject(
      { ...minimal, server: { port: '${P:-9000}' }, auth: { keys: ['${KEY}'] } },
      { env: { OPENAI_API_KEY: 'sk-test', KEY: 'gw-key' } },
    );
    expect(c.providers[0].target.apiKey).toBe('sk-test');
    expect(c.server.port).toBe(9000);
    expect(c.auth.keys).toEqual(['gw-key']);
  });

  it('drops keys whose variable is unset, and reports the variable', () => {
    const c = configFromObject({ ...minimal, auth: { keys: ['${PARROT_API_KEY}'] } }, { env: { OPENAI_API_KEY: 'x' } });
    expect(c.auth.keys).toEqual([]);
    expect(c.missingEnv).toEqual(['PARROT_API_KEY']);
  });

  it('PORT and HOST override the server block', () => {
    const c = configFromObject({ ...minimal, server: { host: '127.0.0.1', port: 8080 } }, { env: { PORT: '9999', HOST: '::1' } });
    expect([c.server.host, c.server.port]).toEqual(['::1', 9999]);
  });

  it('names the field of a bad provider type', () => {
    const msg = errorOf(() => configFromObject({ providers: [{ ...minimal.providers[0], type: 'bedrock' }] }, { env: {} }));
    expect(msg).toMatch(/^config inline: providers\[0\]\.type: /);
  });

  it('names an unknown field', () => {
    const msg = errorOf(() => configFromObject({ ...minimal, sever: { port: 1 } }, { env: {} }));
    expect(msg).toContain('sever');
  });

  it('rejects a base_url that is not a URL, duplicate names, and equivalents on unknown providers', () => {
    expect(errorOf(() => configFromObject({ providers: [{ ...minimal.providers[0], base_url: 'nope' }] }, { env: {} }))).toContain(
      'providers[0].base_url: not a URL: "nope"',
    );
    expect(errorOf(() => configFromObject({ providers: [minimal.providers[0], minimal.providers[0]] }, { env: {} }))).toContain(
      'providers[1].name: duplicate provider name "openai"',
    );
    expect(errorOf(() => configFromObject({ ...minimal, models: { 'gpt-4o': { mistral: 'large' } } }, { env: {} }))).toContain(
      'models.gpt-4o.mistral: unknown provider "mistral"',
    );
  });

  it('resilience.failover.triggers: any_error by default; a list of kinds, content_filter only when listed', () => {
    const failover = (triggers?: unknown) => ({ ...minimal, resilience: { failover: triggers === undefined ? {} : { triggers } } });
    expect(configFromObject(failover(), { env: {} }).resilience.policy.failover.triggers).toEqual(['any_error']);
    expect(configFromObject(failover(['any_error', 'content_filter']), { env: {} }).resilience.policy.failover.triggers).toEqual(['any_error', 'content_filter']);
    expect(errorOf(() => configFromObject(failover(['any_error', 'filtered']), { env: {} }))).toBe(
      'config inline: resilience.failover.triggers[1]: unknown error kind "filtered" (expected one of: timeout, rate_limit, quota_exceeded, model_overloaded, server_error, connection_error, context_length_exceeded, content_filter, auth_error, bad_request, any_error)',
    );
    expect(errorOf(() => configFromObject(failover([]), { env: {} }))).toBe('config inline: resilience.failover.triggers: expected at least 1 error kind');
    expect(errorOf(() => configFromObject(failover(['bad_request']), { env: {} }))).toBe(
      'config inline: resilience.failover.triggers[0]: error kind "bad_request" never fails over (the client\'s own error)',
    );
    expect(errorOf(() => configFromObject(failover('any_error'), { env: {} }))).toBe('config inline: resilience.failover.triggers: expected an array');
  });

  it('rejects a bad PORT', () => {
    expect(errorOf(() => configFromObject(minimal, { env: { PORT: 'eighty' } }))).toBe('PORT: not a port number: "eighty"');
  });

  it('loads a YAML file, and names the file in errors', () => {
    const good = fileWith('providers:\n  - { name: g, type: google, base_url: "https://generativelanguage.googleapis.com", api_key: "${GEMINI_API_KEY}", models: [gemini-pro] }\n');
    const c = loadConfig({ path: good, env: { GEMINI_API_KEY: 'k' } });
    expect(c.providers[0].target).toMatchObject({ name: 'g', type: 'google', apiKey: 'k' });
    expect(c.providers[0].models).toEqual([{ name: 'gemini-pro', upstream: 'gemini-pro', prefill: false }]);
    const bad = fileWith('providers: [}');
    expect(errorOf(() => loadConfig({ path: bad, env: {} }))).toMatch(new RegExp(`^config ${bad}: not valid YAML`));
    expect(errorOf(() => loadConfig({ path: '/nonexistent/parrot.yaml', env: {} }))).toMatch(/^config \/nonexistent\/parrot.yaml: cannot read/);
  });

  it('PARROT_CONFIG picks the file; without it the embedded default serves the seed models from the simulator', () => {
    const path = fileWith('providers:\n  - { name: x, type: openai-compatible, base_url: "http://127.0.0.1:1/v1", models: [m] }\n');
    expect(loadConfig({ env: { PARROT_CONFIG: path } }).providers[0].target.name).toBe('x');
    const d = loadConfig({ env: {} });
    expect(d.simulator.enabled).toBe(true);
    expect(d.providers.map((p) => [p.target.name, p.target.type, p.models.map((m) => m.name)])).toEqual([
      ['openai', 'openai', ['gpt-4-turbo-preview', 'gpt-3.5-turbo']],
      ['anthropic', 'anthropic', ['claude-3-opus']],
      ['google', 'google', ['gemini-pro']],
    ]);
    bindSimulator(d, 'http://127.0.0.1:5555');
    expect(d.providers.map((p) => p.target.baseUrl)).toEqual(['http://127.0.0.1:5555/v1', 'http://127.0.0.1:5555', 'http://127.0.0.1:5555']);
  });
});
