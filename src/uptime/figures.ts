/** How exact down time becomes the figures shown: the rounding lives here only. */

/** Uptime in percent, to three decimals (99.896), of a period of `totalMs` with `downMs` down. */
export function uptimePercentage(downMs: number, totalMs: number): number {
  if (totalMs <= 0) return 100;
  // Integer thousandths of a percent, then one division: no binary-fraction drift in the digits.
  return Math.round(((totalMs - downMs) * 100_000) / totalMs) / 1000;
}

/** Down time in minutes, to two decimals. */
export function downtimeMinutes(downMs: number): number {
  return Math.round(downMs / 600) / 100;
}
