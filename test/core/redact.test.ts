import { describe, expect, it } from 'vitest';
import { configFromObject } from '../../src/config/load.ts';
import { configSecrets } from '../../src/config/secrets.ts';
import { GENERIC_REDACTOR, Redactor } from '../../src/core/redact.ts';
import { redactUrl } from '../../src/core/redact-url.ts';

const KEY = 'sk-proj-M0ElPOX0BlCOU0DlNOV0BlTO';
const TOKEN = 'G0BlCOQ0QlCOH0ClUOQ0BlVO';

describe('Redactor', () => {
  const r = new Redactor([KEY, TOKEN, 'abc']);

  it.each([
    // OpenAI's 401 quotes the rejected key masked: the generic shape and its last four go.
    ['Incorrect API key provided: sk-proj-*********************BlTO. You can find your API key at https://platform.openai.com/account/api-keys.',
      'Incorrect API key provided: sk-****. You can find your API key at https://platform.openai.com/account/api-keys.'],
    // A configured secret quoted whole, or any four or more of its characters, goes.
    [`token ${TOKEN} rejected`, 'token **** rejected'],
    ['key ending in BlVO, or was it ClUOQ0?', 'key ending in ****, or was it ****?'],
    // Neighbouring pieces of one secret are one mask.
    ['seen: H0ClUOQ0BlVO!', 'seen: ****!'],
    // Three characters are not a fragment; a secret shorter than four is ignored.
    ['ends in lTO; abc is fine', 'ends in lTO; abc is fine'],
    // Generic key shapes, configured or not.
    ['upstream got Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.e30.abc', 'upstream got Authorization: Bearer ****'],
    ['x-api-key: sk-ant-api03-abcdefghijk', 'x-api-key: sk-****'],
    ['x-goog-api-key=AIzaSyA1234567890abcdefghijklmnopq', 'x-goog-api-key=****'],
    ['GET https://bob:hunter2@proxy.example/v1/models?key=AIzaXYZ&alt=sse failed', 'GET https://****@proxy.example/v1/models?key=****&alt=sse failed'],
    // Prose that only looks a little like a key stays.
    ['use sk-learn with Bearer auth (i.e. Authorization: Bearer YOUR_KEY)', 'use sk-learn with Bearer auth (i.e. Authorization: Bearer YOUR_KEY)'],
  ])('%s', (input, output) => {
    expect(r.scrub(input)).toBe(output);
  });

  it('scrubs the percent-encoded form of a secret too', () => {
    const s = new Redactor(['p@ss/w0rd+Q7ZK']);
    expect(s.scrub('url had p%40ss%2Fw0rd%2BQ7ZK in it')).toBe('url had **** in it');
  });

  it('leaves text with nothing to scrub as it was (the same string)', () => {
    const text = 'The server had an error while processing your request.';
    expect(r.scrub(text)).toBe(text);
    expect(GENERIC_REDACTOR.scrub(`key ${TOKEN}`)).toBe(`key ${TOKEN}`);
  });
});

describe('redactUrl', () => {
  it.each([
    ['https://me:s3cret@proxy.example/v1?api-version=2024-06-01&key=abc', 'https://****@proxy.example/v1?api-version=****&key=****'],
    ['https://TOKENONLY@proxy.example', 'https://****@proxy.example'],
    ['http://127.0.0.1:8090/v1', 'http://127.0.0.1:8090/v1'],
    ['https://h.example/v1?bare&x=1#frag', 'https://h.example/v1?****&x=****#****'],
    ['https://u:p@ss@h.example/p', 'https://****@h.example/p'],
    // Not a URL at all (a config error quotes it): still no credentials.
    ['htp:/user:pw@ bad host?token=t', '****@ bad host?token=****'],
    ['https://h.example/models/@org/x', 'https://h.example/models/@org/x'],
  ])('%s', (input, output) => {
    expect(redactUrl(input)).toBe(output);
  });
});

describe('configSecrets', () => {
  it('collects every secret-bearing field of a config', () => {
    const config = configFromObject(
      {
        auth: { keys: ['client-key-1'], admin_keys: ['admin-key-1'] },
        providers: [
          { name: 'openai', type: 'openai', base_url: 'https://api.openai.com/v1', api_key: KEY, models: ['gpt-4o'], headers: { 'OpenAI-Organization': 'org-123', 'anthropic-beta': 'tools-1' } },
          { name: 'proxy', type: 'openai-compatible', base_url: 'https://us%3Aer:p%40ss@proxy.example/v1?key=q+v&bare', models: ['m'], headers: { authorization: `Bearer ${TOKEN}`, 'proxy-authorization': `Basic ${Buffer.from('me:pw-basic').toString('base64')}` } },
        ],
      },
      { env: {} },
    );
    expect(configSecrets(config)).toEqual([
      'client-key-1',
      'admin-key-1',
      KEY,
      // Header values, but not those of public protocol headers (anthropic-beta).
      'org-123',
      // The credential after the auth scheme, and a Basic credential's password.
      TOKEN,
      Buffer.from('me:pw-basic').toString('base64'),
      'pw-basic',
      // base_url user, password and query values, as written and decoded.
      'us%3Aer', 'us:er',
      'p%40ss', 'p@ss',
      'q+v', 'q v',
      'bare', 'bare',
    ]);
  });
});
