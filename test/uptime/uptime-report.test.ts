import { describe, expect, it } from 'vitest';
import type { Incident } from '../../src/store/types.ts';
import { lastUtcDays } from '../../src/uptime/calendar.ts';
import { downSpans, type Topology } from '../../src/uptime/down-spans.ts';
import { uptimeReport } from '../../src/uptime/uptime-report.ts';

const MIN = 60_000;
const DAY = 1440 * MIN;
/** 12:00 UTC on 2025-06-03: the 3-day window is 06-01 00:00 .. now. */
const NOW = Date.UTC(2025, 5, 3, 12, 0);

const topology: Topology = {
  targets: [
    { key: 'openai/gpt-4-turbo-preview', provider: 'openai', model: 'gpt-4-turbo-preview' },
    { key: 'anthropic/claude-3-opus', provider: 'anthropic', model: 'claude-3-opus' },
  ],
  servedBy: {
    'gpt-4-turbo-preview': ['openai/gpt-4-turbo-preview', 'anthropic/claude-3-opus'],
    'claude-3-opus': ['anthropic/claude-3-opus'],
  },
};

function incident(id: string, startedAt: number, affectedServices: string[]): Incident {
  return {
    id,
    title: id,
    status: 'resolved',
    impact: 'outage',
    severity: 'high',
    region: 'us-east-1',
    affectedServices,
    startedAt,
    resolvedAt: startedAt + MIN,
    resolution: { summary: '', routedTo: [], requestsRescued: 0 },
    updatedAt: startedAt,
  };
}

describe('uptimeReport', () => {
  it('per day, per target, per provider, per client model and overall, over UTC days ending now', () => {
    const [from, to] = lastUtcDays(NOW, 3);
    expect(from).toBe(Date.UTC(2025, 5, 1));
    const d1 = Date.UTC(2025, 5, 1);
    const d2 = d1 + DAY;
    const records = {
      intervals: [
        // openai down 60 min on day 1; anthropic down 30 min of that time and 15 min alone on day 2
        { id: 1, subject: 'openai/gpt-4-turbo-preview', cause: 'breaker_open', startedAt: d1 + 600 * MIN, endedAt: d1 + 660 * MIN },
        { id: 2, subject: 'anthropic/claude-3-opus', cause: 'health_check', startedAt: d1 + 630 * MIN, endedAt: d1 + 660 * MIN },
        { id: 3, subject: 'anthropic/claude-3-opus', cause: 'health_check', startedAt: d2 + 100 * MIN, endedAt: d2 + 115 * MIN },
      ],
      unserved: [],
    };
    const incidents = [
      incident('inc_a', d1 + 600 * MIN, ['openai', 'openai/gpt-4-turbo-preview']),
      incident('inc_b', d2 + 100 * MIN, ['anthropic/claude-3-opus']),
      incident('inc_old', d1 - DAY, ['openai']),
    ];
    const report = uptimeReport({ down: downSpans(records, topology, to), incidents, topology, from, to });

    const total = 2.5 * DAY;
    const pct = (downMin: number, ms: number) => Math.round(((ms - downMin * MIN) * 100_000) / ms) / 1000;
    // overall: gpt-4 down 30 min (both targets) on day 1, claude-3-opus down 30 + 15 min: 45 min in all
    expect(report.overall).toEqual({
      uptimePercentage: pct(45, total),
      downtimeMinutes: 45,
      incidents: 2,
      daily: [
        { date: '2025-06-01', uptimePercentage: pct(30, DAY), downtimeMinutes: 30, incidents: 1 },
        { date: '2025-06-02', uptimePercentage: pct(15, DAY), downtimeMinutes: 15, incidents: 1 },
        { date: '2025-06-03', uptimePercentage: 100, downtimeMinutes: 0, incidents: 0 },
      ],
    });
    expect(report.models.map((m) => [m.name, m.downtimeMinutes, m.incidents])).toEqual([
      ['gpt-4-turbo-preview', 30, 2],
      ['claude-3-opus', 45, 1],
    ]);
    const [openai, anthropic] = report.providers;
    expect([openai.name, openai.downtimeMinutes, openai.incidents]).toEqual(['openai', 60, 1]);
    expect(openai.models).toMatchObject([{ name: 'gpt-4-turbo-preview', key: 'openai/gpt-4-turbo-preview', downtimeMinutes: 60, incidents: 1 }]);
    expect(openai.daily.map((d) => d.downtimeMinutes)).toEqual([60, 0, 0]);
    expect([anthropic.name, anthropic.downtimeMinutes, anthropic.incidents]).toEqual(['anthropic', 45, 1]);
    expect(anthropic.daily.map((d) => d.incidents)).toEqual([0, 1, 0]);
  });

  it('a partial last day counts only its elapsed part', () => {
    const [from, to] = lastUtcDays(NOW, 1);
    const records = {
      intervals: [{ id: 1, subject: 'anthropic/claude-3-opus', cause: 'breaker_open', startedAt: NOW - 72 * MIN, endedAt: null }],
      unserved: [],
    };
    const report = uptimeReport({ down: downSpans(records, topology, to), incidents: [], topology, from, to });
    // 72 of the 720 minutes since midnight: 90 %
    expect(report.models.find((m) => m.name === 'claude-3-opus')).toMatchObject({ uptimePercentage: 90, downtimeMinutes: 72 });
    expect(report.overall.daily).toEqual([{ date: '2025-06-03', uptimePercentage: 90, downtimeMinutes: 72, incidents: 0 }]);
  });

  it('lastUtcDays refuses a non-positive or fractional day count', () => {
    expect(() => lastUtcDays(NOW, 0)).toThrow(RangeError);
    expect(() => lastUtcDays(NOW, 1.5)).toThrow(RangeError);
  });
});
