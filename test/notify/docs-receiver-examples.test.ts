import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { generateSecret, signatureHeaders } from '../../src/notify/signature.ts';

/** The receiver examples in docs/notifications.md, run against what the gateway signs. */
const doc = readFileSync(new URL('../../docs/notifications.md', import.meta.url), 'utf8');
const block = (heading: string, lang: string) => {
  const section = doc.slice(doc.indexOf(heading));
  const code = new RegExp('```' + lang + '\\n([\\s\\S]*?)```').exec(section)?.[1];
  if (code === undefined) throw new Error(`no ${lang} block after ${heading}`);
  return code;
};

const dir = mkdtempSync(join(tmpdir(), 'parrot-docs-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const secret = generateSecret();
const now = 1_741_064_768;
const body = JSON.stringify({ type: 'incident.opened', timestamp: '2025-03-04T05:06:08.000Z', data: { id: 'inc_7f3a' } });
const signed = signatureHeaders(secret, 'msg_docs', now, body);

/** Each case: headers, body, receiver's clock (unix seconds), what the example must say. */
const cases: [string, Record<string, string>, string, number, string][] = [
  ['a valid message', signed, body, now + 10, 'ok'],
  ['the same id again', signed, body, now + 20, 'replayed'],
  ['a tampered body', signatureHeaders(secret, 'msg_other', now, body), body.replace('inc_7f3a', 'inc_0000'), now, 'bad signature'],
  ['a stale timestamp', signatureHeaders(secret, 'msg_stale', now - 301, body), body, now, 'timestamp outside the window'],
  ['a future timestamp', signatureHeaders(secret, 'msg_future', now + 301, body), body, now, 'timestamp outside the window'],
  ['the wrong secret', signatureHeaders(generateSecret(), 'msg_wrong', now, body), body, now, 'bad signature'],
  ['no signature', { 'webhook-id': 'msg_none', 'webhook-timestamp': String(now) }, body, now, 'missing webhook headers'],
];

describe('the receiver examples in docs/notifications.md', () => {
  it('Node: accepts what parrot signs and refuses tampering, stale timestamps and replays', async () => {
    const file = join(dir, 'verify.mjs');
    writeFileSync(file, block('#### Node', 'js'));
    const { verifyParrotWebhook } = (await import(pathToFileURL(file).href)) as {
      verifyParrotWebhook: (s: string, h: Record<string, string>, b: Buffer, now: number) => unknown;
    };
    const results = cases.map(([, headers, b, at]) => {
      try {
        verifyParrotWebhook(secret, headers, Buffer.from(b), at * 1000);
        return 'ok';
      } catch (e) {
        return (e as Error).message;
      }
    });
    expect(results).toEqual(cases.map((c) => c[4]));
  });

  it('Python: the same', () => {
    const harness = `
import json, sys
for case in json.load(sys.stdin):
    try:
        verify_parrot_webhook(case["secret"], case["headers"], case["body"].encode(), case["now"])
        print("ok")
    except ValueError as e:
        print(e)
`;
    const file = join(dir, 'verify.py');
    writeFileSync(file, block('#### Python', 'python') + harness);
    const input = JSON.stringify(cases.map(([, headers, b, at]) => ({ secret, headers, body: b, now: at })));
    const out = execFileSync(process.env.PARROT_PYTHON ?? 'python3', [file], { input, encoding: 'utf8' });
    expect(out.trim().split('\n')).toEqual(cases.map((c) => c[4]));
  });
});
