import { describe, expect, it } from 'vitest';
import {
  EMPTY_WINDOW,
  failuresInWindow,
  isTripped,
  recordFailure,
} from '../../src/core/breaker/sliding-window.ts';

describe('sliding failure window', () => {
  it('keeps at most capacity timestamps, newest last', () => {
    let w = EMPTY_WINDOW;
    for (const at of [10, 20, 30, 40]) w = recordFailure(w, at, 3);
    expect(w).toEqual([20, 30, 40]);
  });

  it('inserts a late outcome in time order and drops the oldest', () => {
    expect(recordFailure([10, 30, 50], 20, 3)).toEqual([20, 30, 50]);
    expect(recordFailure([10, 30], 5, 3)).toEqual([5, 10, 30]);
  });

  it('treats a capacity below 1 as 1', () => {
    expect(recordFailure([1, 2], 3, 0)).toEqual([3]);
    expect(isTripped([3], 100, 0)).toBe(true);
  });

  it('does not mutate the window it is given', () => {
    const w = Object.freeze([1, 2]);
    expect(recordFailure(w, 3, 2)).toEqual([2, 3]);
    expect(w).toEqual([1, 2]);
  });

  it('counts a failure until exactly windowMs after it', () => {
    expect(failuresInWindow([0, 500, 900], 999, 1000)).toBe(3);
    expect(failuresInWindow([0, 500, 900], 1000, 1000)).toBe(2);
    expect(failuresInWindow([0, 500, 900], 1900, 1000)).toBe(0);
    expect(failuresInWindow(EMPTY_WINDOW, 0, 1000)).toBe(0);
  });

  it('trips only when capacity failures fit inside one window', () => {
    expect(isTripped([0, 400, 999], 1000, 3)).toBe(true);
    expect(isTripped([0, 400, 1000], 1000, 3)).toBe(false);
    expect(isTripped([0, 400], 1000, 3)).toBe(false);
  });

  it('judges a late-arriving old failure against the newest one', () => {
    // Failures at 2000 and 2500 are known; one from t=100 arrives late. They span 2400 ms.
    const w = recordFailure([2000, 2500], 100, 3);
    expect(w).toEqual([100, 2000, 2500]);
    expect(isTripped(w, 1000, 3)).toBe(false);
  });
});
