import type { Span } from './spans.ts';

/** UTC days and months: the periods daily figures and the monthly SLA are counted over. */

export const MINUTE_MS = 60_000;
export const DAY_MS = 86_400_000;

/** 00:00 UTC of the day containing `t`. */
export function utcDayStart(t: number): number {
  return Math.floor(t / DAY_MS) * DAY_MS;
}

/** `YYYY-MM-DD` of the UTC day containing `t`. */
export function utcDate(t: number): string {
  return new Date(t).toISOString().slice(0, 10);
}

export interface UtcMonth {
  readonly year: number;
  /** 1 to 12. */
  readonly month: number;
}

export function utcMonthOf(t: number): UtcMonth {
  const d = new Date(t);
  return { year: d.getUTCFullYear(), month: d.getUTCMonth() + 1 };
}

/** The whole month: 00:00 UTC of its first day to 00:00 UTC of the next month's. */
export function utcMonthSpan(m: UtcMonth): Span {
  return [Date.UTC(m.year, m.month - 1, 1), Date.UTC(m.year, m.month, 1)];
}

/** `YYYY-MM`. */
export function monthLabel(m: UtcMonth): string {
  return `${m.year}-${String(m.month).padStart(2, '0')}`;
}

/** The calendar months [from, to) touches, oldest first. */
export function utcMonthsBetween(from: number, to: number): UtcMonth[] {
  const out: UtcMonth[] = [];
  if (to <= from) return out;
  let m = utcMonthOf(from);
  while (utcMonthSpan(m)[0] < to) {
    out.push(m);
    m = m.month === 12 ? { year: m.year + 1, month: 1 } : { year: m.year, month: m.month + 1 };
  }
  return out;
}

/**
 * The window of `days` UTC days ending with today: from 00:00 UTC `days - 1` days ago up to
 * `now` (today counts for the part that has passed).
 */
export function lastUtcDays(now: number, days: number): Span {
  if (!Number.isSafeInteger(days) || days < 1) throw new RangeError(`days must be a positive integer, got ${days}`);
  return [utcDayStart(now) - (days - 1) * DAY_MS, now];
}

/** [from, to) cut at each 00:00 UTC, with each piece's date. */
export function utcDays(from: number, to: number): Array<{ date: string; span: Span }> {
  const out: Array<{ date: string; span: Span }> = [];
  for (let s = from; s < to; ) {
    const e = Math.min(utcDayStart(s) + DAY_MS, to);
    out.push({ date: utcDate(s), span: [s, e] });
    s = e;
  }
  return out;
}
