import { describe, expect, it } from 'vitest';
import { checkSlaPolicy, monthlySla, monthlySlas, serviceCredit } from '../../src/uptime/sla.ts';
import type { Span } from '../../src/uptime/spans.ts';

const MIN = 60_000;
/** June 2025 has 30 days: 43 200 minutes. */
const JUNE = { year: 2025, month: 6 };
const JUNE_START = Date.UTC(2025, 5, 1);
const JULY_START = Date.UTC(2025, 6, 1);
const JUNE_MS = 30 * 1440 * MIN;

/** `ms` down starting mid-June, checked after the month ended. */
function june(downMs: number) {
  const start = Date.UTC(2025, 5, 10, 12, 0, 0);
  return monthlySla([[start, start + downMs]], JUNE, JULY_START);
}

describe('monthly SLA (99.9 % by default)', () => {
  it('a 45-minute outage in a 30-day month: 99.896 % and a 10 % credit', () => {
    expect(june(45 * MIN)).toEqual({
      month: '2025-06',
      from: JUNE_START,
      to: JULY_START,
      totalMinutes: 43_200,
      downtimeMinutes: 45,
      availabilityPercentage: 99.896,
      targetPercentage: 99.9,
      met: false,
      creditPercentage: 10,
      complete: true,
    });
  });

  it('43 minutes stays within the SLA: 99.900 %, no credit', () => {
    const sla = june(43 * MIN);
    expect(sla.availabilityPercentage).toBe(99.9);
    expect(sla.met).toBe(true);
    expect(sla.creditPercentage).toBe(0);
    expect(june(44 * MIN)).toMatchObject({ availabilityPercentage: 99.898, met: false, creditPercentage: 10 });
  });

  it('exactly 99.9 % is met; one millisecond more down is not, though it still shows 99.900', () => {
    const limit = JUNE_MS / 1000; // 43.2 minutes
    expect(june(limit)).toMatchObject({ availabilityPercentage: 99.9, met: true, creditPercentage: 0 });
    expect(june(limit + 1)).toMatchObject({ availabilityPercentage: 99.9, met: false, creditPercentage: 10 });
  });

  it('tier boundaries: 10 % down to 99.0, 25 % below it down to 95.0, 100 % below that', () => {
    const at = (pctDown: number, extraMs = 0) => serviceCredit((JUNE_MS * pctDown) / 100 + extraMs, JUNE_MS);
    expect(at(0)).toBe(0);
    expect(at(1)).toBe(10); // exactly 99.0 %: not below 99.0
    expect(at(1, 1)).toBe(25);
    expect(at(5)).toBe(25); // exactly 95.0 %
    expect(at(5, 1)).toBe(100);
    expect(at(100)).toBe(100);
  });

  it('a 31-day month allows 44.64 minutes', () => {
    const jul = (ms: number) => monthlySla([[Date.UTC(2025, 6, 3), Date.UTC(2025, 6, 3) + ms]], { year: 2025, month: 7 }, Date.UTC(2025, 7, 1));
    expect(jul(44 * MIN)).toMatchObject({ totalMinutes: 44_640, availabilityPercentage: 99.901, met: true, creditPercentage: 0 });
    expect(jul(45 * MIN)).toMatchObject({ availabilityPercentage: 99.899, met: false, creditPercentage: 10 });
  });

  it('an outage across a month boundary is split at 00:00 UTC of the 1st', () => {
    const feb1 = Date.UTC(2025, 1, 1);
    const down: Span[] = [[feb1 - 20 * MIN, feb1 + 25 * MIN]];
    const [jan, feb] = monthlySlas(down, Date.UTC(2025, 0, 15), Date.UTC(2025, 1, 15), Date.UTC(2025, 2, 1));
    expect(jan).toMatchObject({ month: '2025-01', downtimeMinutes: 20, totalMinutes: 44_640, met: true, creditPercentage: 0 });
    // February 2025: 28 days, 40 320 minutes; 25 down -> 99.938 %
    expect(feb).toMatchObject({ month: '2025-02', downtimeMinutes: 25, totalMinutes: 40_320, availabilityPercentage: 99.938, met: true });
  });

  it('the month in progress counts down time up to now, over the whole month: the credit already earned', () => {
    const now = Date.UTC(2025, 5, 2, 0, 0);
    // an outage still open (spans come clipped to now by downSpans; here one runs past now)
    const sla = monthlySla([[now - 45 * MIN, now + 600 * MIN]], JUNE, now);
    expect(sla).toMatchObject({ downtimeMinutes: 45, availabilityPercentage: 99.896, creditPercentage: 10, complete: false });
  });

  it('custom tiers and target; policies with impossible numbers are refused naming the field', () => {
    const policy = { targetPercent: 99.95, tiers: [{ belowPercent: 99.95, creditPercent: 5 }, { belowPercent: 99.5, creditPercent: 50 }] };
    expect(checkSlaPolicy(policy)).toBe(policy);
    const sla = monthlySla([[JUNE_START, JUNE_START + 30 * MIN]], JUNE, JULY_START, policy);
    expect(sla).toMatchObject({ availabilityPercentage: 99.931, targetPercentage: 99.95, met: false, creditPercentage: 5 });
    expect(() => checkSlaPolicy({ targetPercent: 100.5, tiers: [] })).toThrow(/sla\.target_percent/);
    expect(() => checkSlaPolicy({ targetPercent: 99.9, tiers: [{ belowPercent: 99.0001, creditPercent: 5 }] })).toThrow(
      /sla\.credit_tiers\[0\]\.below_percent/,
    );
    expect(() => checkSlaPolicy({ targetPercent: 99.9, tiers: [{ belowPercent: 99, creditPercent: 120 }] })).toThrow(
      /sla\.credit_tiers\[0\]\.credit_percent/,
    );
  });
});
