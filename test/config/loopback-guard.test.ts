import { describe, expect, it } from 'vitest';
import { ConfigError, configFromObject } from '../../src/config/load.ts';
import { assertStartable } from '../../src/config/startable.ts';
import { startGateway } from '../../src/gateway.ts';

const PROVIDERS = [{ name: 'openai', type: 'openai', base_url: 'simulator', models: ['gpt-4o'] }];

/** An open-mode config (no keys) listening on `host`, as written in the file. */
function openMode(host: string) {
  return configFromObject({ server: { host, port: 0 }, providers: PROVIDERS, simulator: { enabled: true } }, { env: {} });
}

/** The refusal for `host`, or null when open mode may listen there. */
function refusal(host: string): string | null {
  try {
    assertStartable(openMode(host));
    return null;
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
}

// Open development mode (no keys) must bind to loopback only. The guard parses the host: an IP
// literal in 127.0.0.0/8 or ::1, or the name localhost; every other name is refused unresolved.
describe('the open-mode loopback guard', () => {
  it.each(['127.0.0.1', '127.1.2.3', '127.255.255.254', '::1', '[::1]', '0:0:0:0:0:0:0:1', '::ffff:127.0.0.1', 'localhost', 'LOCALHOST'])(
    'accepts %s',
    (host) => {
      expect(refusal(host)).toBeNull();
    },
  );

  it.each(['127.evil.com', '127.0.0.1.nip.io', '0.0.0.0', '::', '10.0.0.1', '128.0.0.1', '::2', 'example.com', 'localhost.evil.com', '127.1'])(
    'refuses %s with a message saying what loopback means',
    (host) => {
      const bare = host.startsWith('[') ? host.slice(1, -1) : host;
      expect(refusal(host)).toBe(
        `refusing to listen on ${bare} with no API keys: open development mode binds to loopback only ` +
          '(an IP address in 127.0.0.0/8, ::1, or localhost; other host names are not trusted). ' +
          'Set auth.keys (e.g. ["${PARROT_API_KEY}"]) or use host 127.0.0.1.',
      );
    },
  );

  it('refuses a HOST override the same way', () => {
    const config = configFromObject({ server: { port: 0 }, providers: PROVIDERS, simulator: { enabled: true } }, { env: { HOST: '127.evil.com' } });
    expect(() => assertStartable(config)).toThrow(/^refusing to listen on 127\.evil\.com with no API keys/);
  });

  it.each([
    ['in the config file', { host: '[::1]' }, {}],
    ['from HOST', {}, { HOST: '[::1]' }],
  ])('[::1] %s starts and serves on ::1', async (_where, server, env) => {
    const config = configFromObject({ server: { port: 0, ...server }, providers: PROVIDERS, simulator: { enabled: true }, store: { path: ':memory:' } }, { env });
    const gw = await startGateway(config);
    try {
      expect(gw.url).toBe(`http://[::1]:${gw.port}`);
      expect(gw.server.address()).toMatchObject({ address: '::1', family: 'IPv6' });
      const res = await fetch(`${gw.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] }),
      });
      expect(res.status).toBe(200);
      expect(((await res.json()) as { object: string }).object).toBe('chat.completion');
    } finally {
      await gw.close();
    }
  });
});
