import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Store } from '../../src/store/types.ts';
import { lastUtcDays, utcMonthOf } from '../../src/uptime/calendar.ts';
import { downSpans, type Topology } from '../../src/uptime/down-spans.ts';
import { monthlySla, monthlySlas } from '../../src/uptime/sla.ts';
import { uptimeReport } from '../../src/uptime/uptime-report.ts';
import { testBackends } from '../store/backends.ts';

const MIN = 60_000;
const topology: Topology = {
  targets: [
    { key: 'openai/gpt-4-turbo-preview', provider: 'openai', model: 'gpt-4-turbo-preview' },
    { key: 'anthropic/claude-3-opus', provider: 'anthropic', model: 'claude-3-opus' },
  ],
  servedBy: { 'gpt-4-turbo-preview': ['openai/gpt-4-turbo-preview', 'anthropic/claude-3-opus'] },
};

async function recordsFor(store: Store, from: number, to: number) {
  return {
    intervals: await store.availability.listDownIntervals({ from, to }),
    unserved: await store.availability.listUnservedMinutes({ from, to }),
  };
}

describe.each(testBackends())('uptime from records stored on $name', (backend) => {
  let store: Store;

  beforeAll(() => backend.setUp(), 60_000);
  afterAll(() => backend.tearDown(), 60_000);
  beforeEach(async () => {
    await backend.fresh();
    store = await backend.open();
  });
  afterEach(() => store.close());

  it('45 minutes with every target of a model down in a 30-day month: 99.896 % and a 10 % credit; 43 minutes: within the SLA', async () => {
    const start = Date.UTC(2025, 8, 14, 3, 0); // September: 30 days
    // the primary fails first, the fallback 5 minutes later; both recover at +45 and +50
    await store.availability.openDownInterval('openai/gpt-4-turbo-preview', 'breaker_open', start - 5 * MIN);
    await store.availability.openDownInterval('anthropic/claude-3-opus', 'health_check', start);
    await store.availability.closeDownInterval('anthropic/claude-3-opus', start + 45 * MIN);
    await store.availability.closeDownInterval('openai/gpt-4-turbo-preview', start + 50 * MIN);
    const month = utcMonthOf(start);
    const after = Date.UTC(2025, 9, 1);
    const down = downSpans(await recordsFor(store, Date.UTC(2025, 8, 1), after), topology, after);
    expect(monthlySla(down.gateway, month, after)).toMatchObject({ month: '2025-09', downtimeMinutes: 45, availabilityPercentage: 99.896, met: false, creditPercentage: 10 });

    // a second model's 43-minute outage in October, alone
    const oct = Date.UTC(2025, 9, 20, 8, 0);
    await store.availability.openDownInterval('anthropic/claude-3-opus', 'breaker_open', oct);
    await store.availability.openDownInterval('openai/gpt-4-turbo-preview', 'breaker_open', oct);
    await store.availability.closeDownInterval('openai/gpt-4-turbo-preview', oct + 43 * MIN);
    await store.availability.closeDownInterval('anthropic/claude-3-opus', oct + 43 * MIN);
    const end = Date.UTC(2025, 10, 1);
    const both = downSpans(await recordsFor(store, Date.UTC(2025, 8, 1), end), topology, end);
    // October has 31 days: 43 of 44 640 minutes is 99.904 %
    expect(monthlySlas(both.gateway, Date.UTC(2025, 8, 1), end, end).map((m) => [m.month, m.downtimeMinutes, m.met, m.creditPercentage])).toEqual([
      ['2025-09', 45, false, 10],
      ['2025-10', 43, true, 0],
    ]);
  });

  it('unserved minutes and an outage still open across midnight, in the daily report', async () => {
    const now = Date.UTC(2025, 5, 3, 0, 30);
    await store.availability.openDownInterval('openai/gpt-4-turbo-preview', 'breaker_open', now - 60 * MIN);
    await store.availability.openDownInterval('anthropic/claude-3-opus', 'breaker_open', now - 60 * MIN);
    await store.availability.recordUnserved('gpt-4-turbo-preview', now - 90 * MIN + 5_000, 2); // before the intervals
    const inc = await store.incidents.create({ title: 'both down', impact: 'outage', severity: 'critical', region: 'us-east-1', affectedServices: ['openai', 'anthropic'], startedAt: now - 90 * MIN });
    const [from, to] = lastUtcDays(now, 2);
    const report = uptimeReport({
      down: downSpans(await recordsFor(store, from, to), topology, now),
      incidents: await store.incidents.list({ from, to }),
      topology,
      from,
      to,
    });
    expect(report.overall.daily.map((d) => [d.date, d.downtimeMinutes, d.incidents])).toEqual([
      ['2025-06-02', 31, 1], // the unserved minute 22:30 and 23:30..24:00
      ['2025-06-03', 30, 0], // still down at now
    ]);
    expect(report.overall.incidents).toBe(1);
    expect(inc.status).toBe('ongoing');
  });
});
