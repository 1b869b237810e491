import { afterEach, describe, expect, it } from 'vitest';
import { SimulatedClock } from 'xstate';
import { MemoryDeliveryLog } from '../../src/notify/memory-delivery-log.ts';
import { Notifier } from '../../src/notify/notifier.ts';
import { eventOf, subscriptionOf, testConfig } from './helpers.ts';
import { bodyOf, headerOf, startSmtp, type SmtpTestServer } from './smtp.ts';

const USER = 'parrot-alerts';
const PASSWORD = 'smtp-pa55word-never-logged';

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanup.length > 0) await cleanup.pop()!();
});

async function smtp(offerStartTls = false): Promise<SmtpTestServer> {
  const s = await startSmtp({ user: USER, pass: PASSWORD, offerStartTls });
  cleanup.push(() => s.close());
  return s;
}

function emailNotifier(port: number, over: { password?: string; starttls?: 'required' | 'opportunistic' | 'never' } = {}, clock = new SimulatedClock()) {
  const log = new MemoryDeliveryLog();
  const n = new Notifier({
    config: testConfig({
      email: { host: '127.0.0.1', port, starttls: over.starttls ?? 'never', username: USER, password: over.password ?? PASSWORD, from: 'parrot <alerts@parrot.test>' },
      retry: { initial_delay_ms: 1000, jitter: 0 },
    }),
    log,
    clock,
  });
  cleanup.push(() => n.close());
  return { n, log, clock };
}

const sub = subscriptionOf({ channels: ['email'], emails: ['oncall@example.com', 'sre@example.com'], severity_threshold: 'medium' });

describe('email over SMTP', () => {
  it('sends one message to all of the subscription’s addresses, logged in, naming the incident', async () => {
    const server = await smtp();
    const { n, log } = emailNotifier(server.port);
    n.notify(eventOf(), [sub]);
    await n.idle();

    expect(server.mails).toHaveLength(1);
    const mail = server.mails[0]!;
    expect(mail.user).toBe(USER);
    expect(mail.from).toBe('alerts@parrot.test');
    expect(mail.to).toEqual(['oncall@example.com', 'sre@example.com']);
    expect(headerOf(mail.raw, 'From')).toBe('parrot <alerts@parrot.test>');
    expect(headerOf(mail.raw, 'To')).toBe('oncall@example.com, sre@example.com');
    expect(headerOf(mail.raw, 'Subject')).toBe('[parrot] HIGH outage opened: openai/gpt-4');
    expect(headerOf(mail.raw, 'X-Parrot-Incident')).toBe('inc_7f3a');
    expect(headerOf(mail.raw, 'X-Parrot-Event')).toBe('msg_2mQ8dLq0aT');
    expect(bodyOf(mail.raw).replace(/\r\n/g, '\n')).toBe(
      [
        'Incident inc_7f3a opened.',
        '',
        'Incident:   inc_7f3a',
        'Type:       outage',
        'Severity:   high',
        'Status:     open',
        'Started:    2025-03-04T05:06:07.000Z',
        'Affected:   openai/gpt-4',
        'Regions:    us-east-1',
        'Impact:     Every request to openai/gpt-4 failed with 503 for 4 minutes; traffic failed over to anthropic.',
        '',
        'Event msg_2mQ8dLq0aT (incident.opened) at 2025-03-04T05:06:08.000Z.',
        '',
      ].join('\n'),
    );
    const [entry] = log.entries();
    expect(entry).toMatchObject({ channel: 'email', target: 'oncall@example.com, sre@example.com', attempt: 1, status: 'delivered', error: null });
    expect(entry!.detail).toMatch(/^<.+@parrot\.test>$/);
  });

  it('does not send, and does not retry, with a wrong password; the password is in no log entry', async () => {
    const server = await smtp();
    const { n, log } = emailNotifier(server.port, { password: 'wrong-pa55word' });
    n.notify(eventOf(), [sub]);
    await n.idle();
    expect(server.mails).toEqual([]);
    expect(log.entries().map((e) => [e.status, e.next_attempt_at])).toEqual([['failed', null]]);
    expect(log.entries()[0]!.error).toMatch(/^Invalid login: 535/);
    expect(JSON.stringify(log.entries())).not.toContain('pa55word');
  });

  it('refuses to send in the clear when STARTTLS is required and the server does not offer it', async () => {
    const server = await smtp(false);
    const { n, log } = emailNotifier(server.port, { starttls: 'required' });
    n.notify(eventOf(), [sub]);
    await n.idle();
    expect(server.mails).toEqual([]);
    expect(log.entries()[0]).toMatchObject({ status: 'failed', attempt: 1 });
    expect(log.entries()[0]!.error).toMatch(/STARTTLS/);
  });

  it('retries a 4xx reply on the schedule and delivers; a 5xx reply is final', async () => {
    const server = await smtp();
    const { n, log, clock } = emailNotifier(server.port);
    server.failRcpt(451, 451);
    n.notify(eventOf(), [sub]);
    await n.idle();
    expect(server.mails).toEqual([]);
    clock.increment(1000);
    await n.idle();
    expect(server.mails).toHaveLength(1);
    expect(log.entries().map((e) => [e.attempt, e.status, e.next_attempt_at])).toEqual([
      [1, 'failed', 1000],
      [2, 'delivered', null],
    ]);
    expect(log.entries()[0]!.error).toMatch(/451/);

    server.failRcpt(550, 550);
    n.notify(eventOf({ id: 'msg_other' }), [sub]);
    await n.idle();
    expect(server.mails).toHaveLength(1);
    expect(log.entries().slice(2).map((e) => [e.attempt, e.status, e.next_attempt_at])).toEqual([[1, 'failed', null]]);
    expect(log.entries()[2]!.error).toMatch(/550/);
  });

  it('counts a message some recipients took as delivered, naming the ones refused', async () => {
    const server = await smtp();
    const { n, log } = emailNotifier(server.port);
    server.failRcpt(451);
    n.notify(eventOf(), [sub]);
    await n.idle();
    expect(server.mails.map((m) => m.to)).toEqual([['sre@example.com']]);
    expect(log.entries().map((e) => [e.status, e.next_attempt_at])).toEqual([['delivered', null]]);
    expect(log.entries()[0]!.detail).toMatch(/^<.+@parrot\.test> \(rejected: oncall@example\.com\)$/);
  });

  it('retries when the server cannot be reached', async () => {
    const server = await smtp();
    const port = server.port;
    await server.close();
    const { n, log } = emailNotifier(port);
    n.notify(eventOf(), [sub]);
    await n.idle();
    expect(log.entries().map((e) => [e.status, e.next_attempt_at])).toEqual([['failed', 1000]]);
    expect(log.entries()[0]!.error).toMatch(/ECONNREFUSED/);
  });
});
