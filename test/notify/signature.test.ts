import { describe, expect, it } from 'vitest';
import { MemoryReplayStore, generateSecret, signatureHeaders, verifyWebhook } from '../../src/notify/signature.ts';

// The Standard Webhooks specification's own test vector.
const SPEC = {
  secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
  id: 'msg_p5jXN8AQM9LWM0D4loKWxJek',
  timestamp: 1614265330,
  body: '{"test": 2432232314}',
  signature: 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=',
};
const at = (seconds: number) => () => seconds * 1000;

describe('signing', () => {
  it('reproduces the Standard Webhooks test vector', () => {
    expect(signatureHeaders(SPEC.secret, SPEC.id, SPEC.timestamp, SPEC.body)).toEqual({
      'webhook-id': SPEC.id,
      'webhook-timestamp': '1614265330',
      'webhook-signature': SPEC.signature,
    });
  });

  it('makes whsec_ secrets of 24 random bytes', () => {
    const a = generateSecret();
    expect(a).toMatch(/^whsec_[A-Za-z0-9+/]{32}$/);
    expect(Buffer.from(a.slice(6), 'base64')).toHaveLength(24);
    expect(generateSecret()).not.toBe(a);
  });
});

describe('verifyWebhook', () => {
  const headers = signatureHeaders(SPEC.secret, SPEC.id, SPEC.timestamp, SPEC.body);

  it('accepts a valid message, as a string or as bytes, with Node or fetch headers', () => {
    const ok = { ok: true, id: SPEC.id, timestamp: SPEC.timestamp };
    expect(verifyWebhook(SPEC.secret, headers, SPEC.body, { now: at(SPEC.timestamp) })).toEqual(ok);
    expect(verifyWebhook(SPEC.secret, headers, Buffer.from(SPEC.body), { now: at(SPEC.timestamp) })).toEqual(ok);
    expect(verifyWebhook(SPEC.secret, new Headers(headers), SPEC.body, { now: at(SPEC.timestamp) })).toEqual(ok);
  });

  it('refuses a tampered body, id or timestamp, and the wrong secret', () => {
    const now = { now: at(SPEC.timestamp) };
    expect(verifyWebhook(SPEC.secret, headers, '{"test": 2432232315}', now)).toEqual({ ok: false, reason: 'bad_signature' });
    expect(verifyWebhook(SPEC.secret, headers, `${SPEC.body} `, now)).toEqual({ ok: false, reason: 'bad_signature' });
    expect(verifyWebhook(SPEC.secret, { ...headers, 'webhook-id': 'msg_other' }, SPEC.body, now)).toEqual({ ok: false, reason: 'bad_signature' });
    expect(verifyWebhook(SPEC.secret, { ...headers, 'webhook-timestamp': String(SPEC.timestamp + 1) }, SPEC.body, now)).toEqual({ ok: false, reason: 'bad_signature' });
    expect(verifyWebhook(generateSecret(), headers, SPEC.body, now)).toEqual({ ok: false, reason: 'bad_signature' });
    expect(verifyWebhook(SPEC.secret, { ...headers, 'webhook-signature': 'v1,' }, SPEC.body, now)).toEqual({ ok: false, reason: 'bad_signature' });
    expect(verifyWebhook(SPEC.secret, { ...headers, 'webhook-signature': SPEC.signature.replace('v1,', 'v2,') }, SPEC.body, now)).toEqual({ ok: false, reason: 'bad_signature' });
  });

  it('accepts any of several signatures (a secret being rotated)', () => {
    const rotated = { ...headers, 'webhook-signature': `v1,bm9wZQ== ${SPEC.signature}` };
    expect(verifyWebhook(SPEC.secret, rotated, SPEC.body, { now: at(SPEC.timestamp) }).ok).toBe(true);
  });

  it('refuses a timestamp outside the window (5 minutes by default), either way', () => {
    const check = (nowSeconds: number, toleranceSeconds?: number) =>
      verifyWebhook(SPEC.secret, headers, SPEC.body, { now: at(nowSeconds), ...(toleranceSeconds !== undefined ? { toleranceSeconds } : {}) });
    expect(check(SPEC.timestamp + 300).ok).toBe(true);
    expect(check(SPEC.timestamp + 301)).toEqual({ ok: false, reason: 'timestamp_out_of_window' });
    expect(check(SPEC.timestamp - 300).ok).toBe(true);
    expect(check(SPEC.timestamp - 301)).toEqual({ ok: false, reason: 'timestamp_out_of_window' });
    expect(check(SPEC.timestamp + 61, 60)).toEqual({ ok: false, reason: 'timestamp_out_of_window' });
  });

  it('refuses missing headers and malformed timestamps', () => {
    const now = { now: at(SPEC.timestamp) };
    for (const name of ['webhook-id', 'webhook-timestamp', 'webhook-signature'] as const) {
      const { [name]: _, ...rest } = headers;
      expect(verifyWebhook(SPEC.secret, rest, SPEC.body, now)).toEqual({ ok: false, reason: 'missing_headers' });
    }
    for (const ts of ['1614265330.5', '-1614265330', '0x6037a3f2', '1e9', ' 1614265330']) {
      expect(verifyWebhook(SPEC.secret, { ...headers, 'webhook-timestamp': ts }, SPEC.body, now)).toEqual({ ok: false, reason: 'bad_timestamp' });
    }
  });

  it('refuses a replayed id inside the window; a forged message does not use up the id', () => {
    let nowMs = SPEC.timestamp * 1000;
    const replay = new MemoryReplayStore({ now: () => nowMs });
    const opts = { now: () => nowMs, replay };
    expect(verifyWebhook(SPEC.secret, headers, '{"forged": true}', opts)).toEqual({ ok: false, reason: 'bad_signature' });
    expect(verifyWebhook(SPEC.secret, headers, SPEC.body, opts).ok).toBe(true);
    nowMs += 10_000;
    expect(verifyWebhook(SPEC.secret, headers, SPEC.body, opts)).toEqual({ ok: false, reason: 'replayed' });
    // A retry is the same id signed anew: a receiver that already processed it sees a replay.
    const retry = signatureHeaders(SPEC.secret, SPEC.id, SPEC.timestamp + 10, SPEC.body);
    expect(verifyWebhook(SPEC.secret, retry, SPEC.body, opts)).toEqual({ ok: false, reason: 'replayed' });
    const other = signatureHeaders(SPEC.secret, 'msg_other', SPEC.timestamp + 10, SPEC.body);
    expect(verifyWebhook(SPEC.secret, other, SPEC.body, opts).ok).toBe(true);
    // Past the window the timestamp check refuses the old message, and the id is forgotten.
    nowMs = (SPEC.timestamp + 301) * 1000;
    expect(verifyWebhook(SPEC.secret, headers, SPEC.body, opts)).toEqual({ ok: false, reason: 'timestamp_out_of_window' });
  });

  it('keeps at most `capacity` ids, forgetting expired ones first', () => {
    let nowMs = 0;
    const store = new MemoryReplayStore({ capacity: 3, now: () => nowMs });
    expect(store.claim('a', 1000)).toBe(true);
    expect(store.claim('b', 2000)).toBe(true);
    expect(store.claim('a', 1000)).toBe(false);
    nowMs = 1500;
    expect(store.claim('c', 3000)).toBe(true);
    expect(store.size).toBe(2); // a expired and went
    expect(store.claim('d', 4000)).toBe(true);
    expect(store.claim('e', 5000)).toBe(true);
    expect(store.size).toBe(3);
    expect(store.claim('e', 5000)).toBe(false);
  });
});
