import { monthLabel, utcMonthsBetween, utcMonthSpan, type UtcMonth } from './calendar.ts';
import { downtimeMinutes, uptimePercentage } from './figures.ts';
import { clip, measure, type Span } from './spans.ts';

/** A service credit earned when the month's availability is strictly below `belowPercent`. */
export interface CreditTier {
  readonly belowPercent: number;
  /** Of the month's fee. */
  readonly creditPercent: number;
}

export interface SlaPolicy {
  /** The availability promised each calendar month (UTC), in percent. */
  readonly targetPercent: number;
  /** The highest credit among the tiers the month falls below is earned. */
  readonly tiers: readonly CreditTier[];
}

/** 99.9 % promised; 10 % credit below 99.9 %, 25 % below 99.0 %, 100 % below 95.0 %. */
export const DEFAULT_SLA_POLICY: SlaPolicy = {
  targetPercent: 99.9,
  tiers: [
    { belowPercent: 99.9, creditPercent: 10 },
    { belowPercent: 99.0, creditPercent: 25 },
    { belowPercent: 95.0, creditPercent: 100 },
  ],
};

export interface MonthlySla {
  /** `YYYY-MM` (UTC). */
  readonly month: string;
  readonly from: number;
  readonly to: number;
  /** The whole month's minutes (43 200 for 30 days), the denominator even while it is running. */
  readonly totalMinutes: number;
  readonly downtimeMinutes: number;
  /** To three decimals (99.896); `met` and the credit are decided on the exact value. */
  readonly availabilityPercentage: number;
  readonly targetPercentage: number;
  readonly met: boolean;
  readonly creditPercentage: number;
  /** False for the month in progress: its remaining minutes count as up, so the credit shown is already earned. */
  readonly complete: boolean;
}

/**
 * Percentages are compared in integer thousandths of a percent, so they may have at most
 * three decimals: 99.9 and 99.95 are fine, 99.9995 is refused.
 */
function milliPercent(name: string, p: number): number {
  const m = Math.round(p * 1000);
  if (!(p > 0 && p <= 100) || Math.abs(m - p * 1000) > 1e-6) {
    throw new RangeError(`${name} must be a percentage in (0, 100] with at most three decimals, got ${p}`);
  }
  return m;
}

/** Checks a policy from config; throws a RangeError naming the field. */
export function checkSlaPolicy(p: SlaPolicy): SlaPolicy {
  milliPercent('sla.target_percent', p.targetPercent);
  p.tiers.forEach((t, i) => {
    milliPercent(`sla.credit_tiers[${i}].below_percent`, t.belowPercent);
    if (!(t.creditPercent >= 0 && t.creditPercent <= 100)) {
      throw new RangeError(`sla.credit_tiers[${i}].credit_percent must be within [0, 100], got ${t.creditPercent}`);
    }
  });
  return p;
}

/** Is availability (total - down) / total strictly below `percent`? Exact: integers only. */
function below(downMs: number, totalMs: number, percent: number): boolean {
  return (totalMs - downMs) * 100_000 < milliPercent('percent', percent) * totalMs;
}

/** The credit (percent of the fee) a month with `downMs` down out of `totalMs` earns. */
export function serviceCredit(downMs: number, totalMs: number, policy: SlaPolicy = DEFAULT_SLA_POLICY): number {
  let credit = 0;
  for (const t of policy.tiers) if (t.creditPercent > credit && below(downMs, totalMs, t.belowPercent)) credit = t.creditPercent;
  return credit;
}

/**
 * The gateway's availability in one calendar month (UTC) against the SLA. Down time outside
 * the month does not count: an interval across the boundary is split at 00:00 UTC of the 1st.
 *
 * @example
 * const sla = monthlySla(downSpans(records, topology, now).gateway, utcMonthOf(now), now);
 * // 45 minutes down in a 30-day month: { availabilityPercentage: 99.896, met: false, creditPercentage: 10, ... }
 */
export function monthlySla(gatewayDown: readonly Span[], month: UtcMonth, now: number, policy: SlaPolicy = DEFAULT_SLA_POLICY): MonthlySla {
  const [from, to] = utcMonthSpan(month);
  const totalMs = to - from;
  const downMs = measure(clip(gatewayDown, from, Math.min(to, Math.max(from, now))));
  return {
    month: monthLabel(month),
    from,
    to,
    totalMinutes: totalMs / 60_000,
    downtimeMinutes: downtimeMinutes(downMs),
    availabilityPercentage: uptimePercentage(downMs, totalMs),
    targetPercentage: policy.targetPercent,
    met: !below(downMs, totalMs, policy.targetPercent),
    creditPercentage: serviceCredit(downMs, totalMs, policy),
    complete: now >= to,
  };
}

/** monthlySla for each calendar month [from, to) touches, oldest first. */
export function monthlySlas(gatewayDown: readonly Span[], from: number, to: number, now: number, policy: SlaPolicy = DEFAULT_SLA_POLICY): MonthlySla[] {
  return utcMonthsBetween(from, to).map((m) => monthlySla(gatewayDown, m, now, policy));
}
