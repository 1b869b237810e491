import { describe, expect, it } from 'vitest';
import { LOCAL_LIMIT_LOG_INTERVAL_MS, LocalLimit } from '../../src/targets/local-limit.ts';

describe('LocalLimit', () => {
  it('is full at max_in_flight', () => {
    const limit = new LocalLimit('p/m', 2);
    limit.inFlight = 1;
    expect(limit.full).toBe(false);
    limit.inFlight = 2;
    expect(limit.full).toBe(true);
  });

  it('logs the first refusal, then at most one line per interval with what was refused since', () => {
    const lines: Array<Record<string, unknown>> = [];
    const limit = new LocalLimit('p/m', 5, (l) => {
      const { at: _at, ...rest } = JSON.parse(l) as Record<string, unknown>;
      lines.push(rest);
    });
    limit.inFlight = 5;
    limit.waiting = 3;
    limit.refused('in_flight_limit', 0);
    for (let t = 1; t < LOCAL_LIMIT_LOG_INTERVAL_MS; t += 100) limit.refused(t % 200 === 1 ? 'wait_limit' : 'in_flight_limit', t);
    expect(lines).toHaveLength(1);
    limit.refused('wait_limit', LOCAL_LIMIT_LOG_INTERVAL_MS);
    expect(lines).toEqual([
      { event: 'local_limit', target: 'p/m', in_flight_limit: 1, wait_limit: 0, local_resources: 0, in_flight: 5, waiting: 3, max_in_flight: 5 },
      { event: 'local_limit', target: 'p/m', in_flight_limit: 50, wait_limit: 51, local_resources: 0, in_flight: 5, waiting: 3, max_in_flight: 5 },
    ]);
    expect({ inFlight: limit.refusedInFlight, wait: limit.refusedWait }).toEqual({ inFlight: 51, wait: 51 });
  });
});
