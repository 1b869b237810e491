import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { openStore } from '../../src/store/open-store.ts';
import type { NewSubscription, Store } from '../../src/store/types.ts';
import { testBackends } from './backends.ts';

const T0 = Date.UTC(2025, 5, 10, 10, 0);
const MIN = 60_000;
const at = (minutes: number) => T0 + minutes * MIN;

/** The store's bookkeeping clock, fixed so updatedAt/createdAt can be asserted. */
let clock = at(0);

const subscription = (owner: string, extra: Partial<NewSubscription> = {}): NewSubscription => ({
  owner,
  channels: ['email', 'webhook', 'sms'],
  severityThreshold: 'medium',
  webhookUrl: 'https://example.test/incidents',
  email: 'ops@example.test',
  phone: '+15550100',
  includeTypes: ['outage', 'degraded_performance', 'partial_outage'],
  regions: ['us-east-1', 'eu-west-1'],
  secret: 'whsec_test',
  ...extra,
});

describe.each(testBackends())('store on $name', (backend) => {
  let store: Store;

  beforeAll(() => backend.setUp(), 60_000);
  afterAll(() => backend.tearDown(), 60_000);
  beforeEach(async () => {
    clock = at(0);
    await backend.fresh();
    store = await backend.open({ now: () => clock });
  });
  afterEach(() => store.close());

  async function reopen(): Promise<Store> {
    await store.close();
    store = await backend.open({ now: () => clock });
    return store;
  }

  it('is chosen by DATABASE_URL and names a location safe to log', async () => {
    const env = backend.childEnv();
    const other = await openStore({ env: { DATABASE_URL: env.DATABASE_URL }, sqlitePath: env.PARROT_TEST_SQLITE_PATH });
    try {
      expect(other.backend).toBe(backend.name);
      if (backend.name === 'postgres') {
        const password = new URL(env.DATABASE_URL).password;
        expect(password).not.toBe('');
        expect(other.location).not.toContain(password);
        expect(other.location).toMatch(/^postgres:\/\/parrot:\*\*\*@127\.0\.0\.1:\d+\/parrot_test_/);
      } else {
        expect(other.location).toBe(backend.file);
      }
      // the same database as the store under test
      await store.snapshots.put('k', 'v');
      expect(await other.snapshots.get('k')).toBe('v');
    } finally {
      await other.close();
    }
  });

  describe('incidents', () => {
    it('creates an ongoing incident with its first timeline entries', async () => {
      const inc = await store.incidents.create({
        title: 'openai down',
        impact: 'outage',
        severity: 'high',
        region: 'us-east-1',
        affectedServices: ['openai', 'openai/gpt-4-turbo-preview'],
        startedAt: at(0),
        timeline: [
          { at: at(0), type: 'breaker_open', message: 'breaker opened', details: { actor: 'breaker:openai/gpt-4-turbo-preview#default', failures: 5 } },
          { at: at(0), type: 'provider_down', message: 'openai is down' },
        ],
      });
      expect(inc.id).toMatch(/^inc_[A-Za-z0-9_-]{14}$/);
      expect(inc).toEqual({
        id: inc.id,
        title: 'openai down',
        status: 'ongoing',
        impact: 'outage',
        severity: 'high',
        region: 'us-east-1',
        affectedServices: ['openai', 'openai/gpt-4-turbo-preview'],
        startedAt: at(0),
        resolvedAt: null,
        resolution: { summary: '', routedTo: [], requestsRescued: 0 },
        updatedAt: at(0),
        timeline: [
          { id: inc.timeline[0].id, incidentId: inc.id, at: at(0), type: 'breaker_open', message: 'breaker opened', details: { actor: 'breaker:openai/gpt-4-turbo-preview#default', failures: 5 } },
          { id: inc.timeline[1].id, incidentId: inc.id, at: at(0), type: 'provider_down', message: 'openai is down', details: null },
        ],
      });
      expect(inc.timeline[1].id).toBeGreaterThan(inc.timeline[0].id);
      expect(await store.incidents.get(inc.id)).toEqual(inc);
    });

    it('update changes only the given fields, adds to the rescued count, and appends its entry', async () => {
      const inc = await store.incidents.create({ title: 'openai errors', impact: 'partial_outage', severity: 'medium', region: 'eu-west-1', affectedServices: ['openai/gpt-4-turbo-preview'], startedAt: at(0) });
      clock = at(3);
      await store.incidents.update(inc.id, { rescuedDelta: 3, routedTo: ['anthropic/claude-3-opus'] });
      clock = at(5);
      const updated = await store.incidents.update(
        inc.id,
        { impact: 'outage', severity: 'critical', affectedServices: ['openai'], summary: 'openai answered 503 to every request', rescuedDelta: 4 },
        { at: at(5), type: 'escalated', message: 'every openai model failing' },
      );
      const { timeline: _, ...fields } = inc;
      expect(updated).toEqual({
        ...fields,
        impact: 'outage',
        severity: 'critical',
        affectedServices: ['openai'],
        resolution: { summary: 'openai answered 503 to every request', routedTo: ['anthropic/claude-3-opus'], requestsRescued: 7 },
        updatedAt: at(5),
      });
      expect((await store.incidents.get(inc.id))!.timeline.map((e) => e.type)).toEqual(['escalated']);
    });

    it('concurrent updates of one incident all count', async () => {
      const inc = await store.incidents.create({ title: 't', impact: 'outage', severity: 'low', region: 'r', affectedServices: [], startedAt: at(0) });
      await Promise.all(Array.from({ length: 20 }, (_, i) => store.incidents.update(inc.id, { rescuedDelta: 1 }, { at: at(i), type: 'rescued', message: `${i}` })));
      const got = await store.incidents.get(inc.id);
      expect(got!.resolution.requestsRescued).toBe(20);
      expect(got!.timeline).toHaveLength(20);
    });

    it('resolve sets resolvedAt once (never before the start); a replayed resolve changes nothing', async () => {
      const inc = await store.incidents.create({ title: 't', impact: 'outage', severity: 'high', region: 'r', affectedServices: ['openai'], startedAt: at(10) });
      clock = at(55);
      const resolved = await store.incidents.resolve(inc.id, at(55), { summary: 'recovered', rescuedDelta: 2 }, { at: at(55), type: 'resolved', message: 'openai recovered' });
      expect(resolved).toMatchObject({ status: 'resolved', resolvedAt: at(55), resolution: { summary: 'recovered', requestsRescued: 2 }, updatedAt: at(55) });
      clock = at(60);
      const again = await store.incidents.resolve(inc.id, at(60), { summary: 'other', rescuedDelta: 5 }, { at: at(60), type: 'resolved', message: 'again' });
      expect(again).toEqual(resolved);
      expect((await store.incidents.get(inc.id))!.timeline.map((e) => e.message)).toEqual(['openai recovered']);

      const early = await store.incidents.create({ title: 'e', impact: 'outage', severity: 'high', region: 'r', affectedServices: [], startedAt: at(10) });
      expect((await store.incidents.resolve(early.id, at(9)))!.resolvedAt).toBe(at(10));
    });

    it('unknown ids answer undefined and write nothing', async () => {
      expect(await store.incidents.get('inc_missing')).toBeUndefined();
      expect(await store.incidents.update('inc_missing', { rescuedDelta: 1 }, { at: at(0), type: 'x', message: 'x' })).toBeUndefined();
      expect(await store.incidents.resolve('inc_missing', at(1))).toBeUndefined();
      expect(await store.incidents.appendTimeline('inc_missing', { at: at(0), type: 'x', message: 'x' })).toBeUndefined();
      expect(await store.incidents.list()).toEqual([]);
    });

    it('the timeline is ordered by time, then by arrival', async () => {
      const inc = await store.incidents.create({ title: 't', impact: 'outage', severity: 'high', region: 'r', affectedServices: [], startedAt: at(0) });
      await store.incidents.appendTimeline(inc.id, { at: at(7), type: 'b', message: 'second at 7' });
      await store.incidents.appendTimeline(inc.id, { at: at(2), type: 'a', message: 'at 2' });
      const last = await store.incidents.appendTimeline(inc.id, { at: at(7), type: 'c', message: 'third at 7', details: { nested: { list: [1, 'two', null, true] } } });
      expect(last).toMatchObject({ incidentId: inc.id, at: at(7), type: 'c', details: { nested: { list: [1, 'two', null, true] } } });
      expect((await store.incidents.get(inc.id))!.timeline.map((e) => e.message)).toEqual(['at 2', 'second at 7', 'third at 7']);
    });

    it('list returns the incidents ongoing at some time in [from, to), newest first, by status, limited', async () => {
      const mk = async (title: string, start: number, end: number | null) => {
        const i = await store.incidents.create({ title, impact: 'outage', severity: 'high', region: 'r', affectedServices: [], startedAt: at(start) });
        if (end !== null) await store.incidents.resolve(i.id, at(end));
        return i.id;
      };
      await mk('before', 0, 10);
      await mk('ends-at-from', 5, 20);
      await mk('across-from', 15, 25);
      await mk('inside', 30, 40);
      await mk('still-open', 35, null);
      await mk('starts-at-to', 60, 70);
      const titles = async (q: Parameters<Store['incidents']['list']>[0]) => (await store.incidents.list(q)).map((i) => i.title);
      expect(await titles({ from: at(20), to: at(60) })).toEqual(['still-open', 'inside', 'across-from']);
      expect(await titles({ from: at(20), to: at(60), status: 'ongoing' })).toEqual(['still-open']);
      expect(await titles({ status: 'ongoing' })).toEqual(['still-open']);
      expect(await titles({ from: at(20), to: at(60), limit: 2 })).toEqual(['still-open', 'inside']);
      expect(await titles({})).toHaveLength(6);
    });

    it('a write that fails part-way leaves nothing behind', async () => {
      const bad = store.incidents.create({
        id: 'inc_partial',
        title: 't',
        impact: 'outage',
        severity: 'high',
        region: 'r',
        affectedServices: [],
        startedAt: at(0),
        // NOT NULL violated by the second statement of the transaction
        timeline: [{ at: at(0), type: 'ok', message: 'fine' }, { at: at(0), type: null as never, message: 'bad' }],
      });
      await expect(bad).rejects.toThrow();
      expect(await store.incidents.get('inc_partial')).toBeUndefined();
      // and the store still works
      await store.incidents.create({ id: 'inc_after', title: 't', impact: 'outage', severity: 'high', region: 'r', affectedServices: [], startedAt: at(0) });
      expect((await store.incidents.list()).map((i) => i.id)).toEqual(['inc_after']);
    });

    it('refuses bad numbers and enum values before anything is written', async () => {
      const inc = await store.incidents.create({ title: 't', impact: 'outage', severity: 'high', region: 'r', affectedServices: [], startedAt: at(0) });
      await expect(store.incidents.update(inc.id, { rescuedDelta: -1 })).rejects.toThrow(/rescuedDelta must be a non-negative integer/);
      await expect(store.incidents.appendTimeline(inc.id, { at: 1.5, type: 'x', message: 'x' })).rejects.toThrow(/at must be an integer time/);
      await expect(store.incidents.update(inc.id, { severity: 'apocalyptic' as never })).rejects.toThrow();
      await expect(store.incidents.list({ limit: 0 })).rejects.toThrow(/limit must be a positive integer/);
      expect(await store.incidents.get(inc.id)).toEqual({ ...inc, timeline: [] });
    });
  });

  describe('subscriptions and deliveries', () => {
    it('creates, lists by owner, gets and deletes subscriptions (only the owner deletes)', async () => {
      clock = at(1);
      const a = await store.subscriptions.create(subscription('key:alice'));
      clock = at(2);
      const b = await store.subscriptions.create(subscription('key:bob', { channels: ['webhook'], email: null, phone: null, includeTypes: [], regions: [] }));
      expect(a).toEqual({ id: a.id, createdAt: at(1), ...subscription('key:alice') });
      expect(a.id).toMatch(/^sub_/);
      expect(await store.subscriptions.list()).toEqual([a, b]);
      expect(await store.subscriptions.list({ owner: 'key:bob' })).toEqual([b]);
      expect(await store.subscriptions.get(b.id)).toEqual(b);
      expect(await store.subscriptions.delete(a.id, 'key:bob')).toBe(false);
      expect(await store.subscriptions.delete(a.id, 'key:alice')).toBe(true);
      expect(await store.subscriptions.delete(a.id)).toBe(false);
      expect(await store.subscriptions.list()).toEqual([b]);
    });

    it('logs deliveries, newest first, by subscription and incident; the log outlives the subscription', async () => {
      const s = await store.subscriptions.create(subscription('key:alice'));
      const d1 = await store.deliveries.append({ subscriptionId: s.id, incidentId: 'inc_1', channel: 'webhook', event: 'opened', at: at(1), attempt: 1, ok: false, statusCode: 503, error: 'receiver answered 503' });
      const d2 = await store.deliveries.append({ subscriptionId: s.id, incidentId: 'inc_1', channel: 'webhook', event: 'opened', at: at(2), attempt: 2, ok: true, statusCode: 200, error: null });
      const d3 = await store.deliveries.append({ subscriptionId: s.id, incidentId: 'inc_2', channel: 'email', event: 'resolved', at: at(3), attempt: 1, ok: true, statusCode: null, error: null });
      const other = await store.deliveries.append({ subscriptionId: 'sub_other', incidentId: 'inc_1', channel: 'sms', event: 'opened', at: at(4), attempt: 1, ok: true, statusCode: 202, error: null });
      expect(d1).toEqual({ id: d1.id, subscriptionId: s.id, incidentId: 'inc_1', channel: 'webhook', event: 'opened', at: at(1), attempt: 1, ok: false, statusCode: 503, error: 'receiver answered 503' });
      expect(await store.deliveries.list({ subscriptionId: s.id })).toEqual([d3, d2, d1]);
      expect(await store.deliveries.list({ incidentId: 'inc_1' })).toEqual([other, d2, d1]);
      expect(await store.deliveries.list({ subscriptionId: s.id, incidentId: 'inc_1' })).toEqual([d2, d1]);
      expect(await store.deliveries.list({ from: at(2), to: at(4) })).toEqual([d3, d2]);
      expect(await store.deliveries.list({ limit: 1 })).toEqual([other]);
      await store.subscriptions.delete(s.id);
      expect(await store.deliveries.list({ subscriptionId: s.id })).toHaveLength(3);
      await expect(store.deliveries.append({ ...d1, attempt: 0 })).rejects.toThrow(/attempt must be a positive integer/);
    });
  });

  describe('availability records', () => {
    it('one open down interval per subject: opening again returns it, closing ends it, the next open starts another', async () => {
      const first = await store.availability.openDownInterval('openai/gpt-4-turbo-preview', 'breaker_open', at(0));
      expect(first).toEqual({ id: first.id, subject: 'openai/gpt-4-turbo-preview', cause: 'breaker_open', startedAt: at(0), endedAt: null });
      expect(await store.availability.openDownInterval('openai/gpt-4-turbo-preview', 'health_check', at(5))).toEqual(first);
      expect(await store.availability.closeDownInterval('openai/gpt-4-turbo-preview', at(45))).toEqual({ ...first, endedAt: at(45) });
      expect(await store.availability.closeDownInterval('openai/gpt-4-turbo-preview', at(46))).toBeUndefined();
      const second = await store.availability.openDownInterval('openai/gpt-4-turbo-preview', 'health_check', at(50));
      expect(second.id).not.toBe(first.id);
      // a close stamped before the start (clock skew between replicas) ends it at its start
      expect(await store.availability.closeDownInterval('openai/gpt-4-turbo-preview', at(49))).toMatchObject({ startedAt: at(50), endedAt: at(50) });
    });

    it('concurrent opens of one subject (replicas) leave exactly one open interval', async () => {
      const opened = await Promise.all(Array.from({ length: 10 }, (_, i) => store.availability.openDownInterval('google/gemini-pro', `c${i}`, at(i))));
      expect(new Set(opened.map((o) => o.id)).size).toBe(1);
      expect(await store.availability.listDownIntervals({ from: at(0), to: at(100) })).toHaveLength(1);
    });

    it('lists the intervals overlapping [from, to), open ones included, optionally by subject', async () => {
      const mk = async (subject: string, start: number, end: number | null) => {
        await store.availability.openDownInterval(subject, 'breaker_open', at(start));
        if (end !== null) await store.availability.closeDownInterval(subject, at(end));
      };
      await mk('a/1', 0, 10); // ends at from: not overlapping
      await mk('a/1', 15, 25);
      await mk('b/1', 30, null);
      await mk('c/1', 60, 70); // starts at to
      const subjects = async (q: { from: number; to: number; subjects?: string[] }) => (await store.availability.listDownIntervals(q)).map((i) => `${i.subject}@${(i.startedAt - T0) / MIN}`);
      expect(await subjects({ from: at(10), to: at(60) })).toEqual(['a/1@15', 'b/1@30']);
      expect(await subjects({ from: at(10), to: at(60), subjects: ['b/1'] })).toEqual(['b/1@30']);
      expect(await subjects({ from: at(100), to: at(200) })).toEqual(['b/1@30']);
    });

    it('unserved failures add up per model and UTC minute', async () => {
      await store.availability.recordUnserved('gpt-4-turbo-preview', at(3) + 59_999);
      await store.availability.recordUnserved('gpt-4-turbo-preview', at(3), 4);
      await store.availability.recordUnserved('gpt-4-turbo-preview', at(4) + 1);
      await store.availability.recordUnserved('claude-3-opus', at(3) + 30_000, 2);
      expect(await store.availability.listUnservedMinutes({ from: at(0), to: at(10) })).toEqual([
        { minute: at(3), model: 'claude-3-opus', failures: 2 },
        { minute: at(3), model: 'gpt-4-turbo-preview', failures: 5 },
        { minute: at(4), model: 'gpt-4-turbo-preview', failures: 1 },
      ]);
      expect(await store.availability.listUnservedMinutes({ from: at(4), to: at(5) })).toHaveLength(1);
      await expect(store.availability.recordUnserved('m', at(0), 0)).rejects.toThrow(/failures must be a positive integer/);
    });
  });

  describe('snapshots', () => {
    it('keeps one JSON value per key: put, overwrite, get, list by prefix, delete', async () => {
      await store.snapshots.put('breaker:openai/gpt-4-turbo-preview#default', { state: 'open', openedAt: at(0), failures: [at(0), at(1)] });
      clock = at(2);
      await store.snapshots.putMany([
        ['breaker:openai/gpt-4-turbo-preview#default', { state: 'half_open' }],
        ['breaker:anthropic/claude-3-opus#default', { state: 'closed' }],
        ['health:openai/gpt-4-turbo-preview', { healthy: false, consecutiveFailures: 3 }],
        ['Breaker:case', 'upper case is another prefix'],
        ['breaker%_x', 'LIKE wildcards are plain characters'],
        ['scalar:null', null],
        ['scalar:string', 'text'],
        ['scalar:number', 1.5],
      ]);
      expect(await store.snapshots.get('breaker:openai/gpt-4-turbo-preview#default')).toEqual({ state: 'half_open' });
      expect(await store.snapshots.get('scalar:null')).toBeNull();
      expect(await store.snapshots.get('scalar:string')).toBe('text');
      expect(await store.snapshots.get('scalar:number')).toBe(1.5);
      expect(await store.snapshots.get('missing')).toBeUndefined();
      expect(await store.snapshots.list('breaker:')).toEqual([
        { key: 'breaker:anthropic/claude-3-opus#default', value: { state: 'closed' }, updatedAt: at(2) },
        { key: 'breaker:openai/gpt-4-turbo-preview#default', value: { state: 'half_open' }, updatedAt: at(2) },
      ]);
      expect((await store.snapshots.list('breaker%')).map((s) => s.key)).toEqual(['breaker%_x']);
      expect(await store.snapshots.list()).toHaveLength(8);
      expect(await store.snapshots.delete('scalar:null')).toBe(true);
      expect(await store.snapshots.delete('scalar:null')).toBe(false);
      expect(await store.snapshots.get('scalar:null')).toBeUndefined();
    });

    it('putMany is all or nothing', async () => {
      const cyclic: Record<string, unknown> = {};
      cyclic.self = cyclic;
      await expect(store.snapshots.putMany([['a', 1], ['b', cyclic as never]])).rejects.toThrow();
      expect(await store.snapshots.list()).toEqual([]);
    });
  });

  it('prune deletes history that ended before the cut and keeps what is open, subscriptions and snapshots', async () => {
    const old = await store.incidents.create({ title: 'old', impact: 'outage', severity: 'high', region: 'r', affectedServices: [], startedAt: at(0), timeline: [{ at: at(0), type: 'x', message: 'x' }] });
    await store.incidents.resolve(old.id, at(10));
    const open = await store.incidents.create({ title: 'open', impact: 'outage', severity: 'high', region: 'r', affectedServices: [], startedAt: at(0) });
    const recent = await store.incidents.create({ title: 'recent', impact: 'outage', severity: 'high', region: 'r', affectedServices: [], startedAt: at(0) });
    await store.incidents.resolve(recent.id, at(100));
    await store.availability.openDownInterval('a/1', 'x', at(0));
    await store.availability.closeDownInterval('a/1', at(10));
    await store.availability.openDownInterval('a/1', 'x', at(20));
    await store.availability.recordUnserved('m', at(48));
    await store.availability.recordUnserved('m', at(49));
    await store.availability.recordUnserved('m', at(50));
    const sub = await store.subscriptions.create(subscription('k'));
    await store.deliveries.append({ subscriptionId: sub.id, incidentId: old.id, channel: 'sms', event: 'opened', at: at(1), attempt: 1, ok: true, statusCode: 200, error: null });
    await store.deliveries.append({ subscriptionId: sub.id, incidentId: old.id, channel: 'sms', event: 'resolved', at: at(60), attempt: 1, ok: true, statusCode: 200, error: null });
    await store.snapshots.put('k', 1);

    expect(await store.prune(at(50))).toEqual({ incidents: 1, deliveries: 1, downIntervals: 1, unservedMinutes: 2 });
    expect((await store.incidents.list()).map((i) => i.title).sort()).toEqual(['open', 'recent']);
    expect(await store.incidents.get(old.id)).toBeUndefined();
    expect(await store.incidents.get(open.id)).toBeDefined();
    expect(await store.availability.listDownIntervals({ from: at(0), to: at(100) })).toMatchObject([{ startedAt: at(20), endedAt: null }]);
    expect(await store.availability.listUnservedMinutes({ from: at(0), to: at(100) })).toEqual([{ minute: at(50), model: 'm', failures: 1 }]);
    expect(await store.subscriptions.list()).toHaveLength(1);
    expect(await store.deliveries.list()).toHaveLength(1);
    expect(await store.snapshots.get('k')).toBe(1);
  });

  it('everything written is there after a restart', async () => {
    const inc = await store.incidents.create({ title: 't', impact: 'degraded_performance', severity: 'low', region: 'eu-west-1', affectedServices: ['google'], startedAt: at(0), timeline: [{ at: at(0), type: 'slow', message: 'p95 over threshold' }] });
    const sub = await store.subscriptions.create(subscription('k'));
    const delivery = await store.deliveries.append({ subscriptionId: sub.id, incidentId: inc.id, channel: 'webhook', event: 'opened', at: at(1), attempt: 1, ok: true, statusCode: 204, error: null });
    const interval = await store.availability.openDownInterval('google/gemini-pro', 'health_check', at(0));
    await store.availability.recordUnserved('gemini-pro', at(0), 3);
    await store.snapshots.put('health:google/gemini-pro', { down: true, since: at(0) });

    await reopen();
    expect(await store.incidents.get(inc.id)).toEqual(inc);
    expect(await store.subscriptions.list()).toEqual([sub]);
    expect(await store.deliveries.list()).toEqual([delivery]);
    expect(await store.availability.listDownIntervals({ from: at(0), to: at(1) })).toEqual([interval]);
    expect(await store.availability.listUnservedMinutes({ from: at(0), to: at(1) })).toEqual([{ minute: at(0), model: 'gemini-pro', failures: 3 }]);
    expect(await store.snapshots.get('health:google/gemini-pro')).toEqual({ down: true, since: at(0) });
    // the open interval is still the open one: a later close ends it
    expect(await store.availability.closeDownInterval('google/gemini-pro', at(30))).toEqual({ ...interval, endedAt: at(30) });
  });
});
