import { describe, expect, it } from 'vitest';
import { fileLimitWarning, openFilesLimit } from '../../src/runtime/file-limit.ts';

const LIMITS = `Limit                     Soft Limit           Hard Limit           Units
Max processes             unlimited            unlimited            processes
Max open files            20000                20000                files
Max locked memory         8388608              8388608              bytes
`;

describe('the open-file limit against server.max_in_flight', () => {
  it('reads the soft limit from /proc/self/limits', () => {
    expect(openFilesLimit(LIMITS)).toBe(20_000);
    expect(openFilesLimit(LIMITS.replace('20000                20000', 'unlimited            unlimited'))).toBeUndefined();
    expect(openFilesLimit('')).toBeUndefined();
  });

  it('warns when two files per request in flight (and some spare) do not fit, naming both fixes', () => {
    expect(fileLimitWarning(10_000, 20_000)).toBe(
      'warning: the open-file limit is 20000, but holding server.max_in_flight (10000) requests takes about 20256 (a client and an upstream socket each): raise it (ulimit -n 20256) or lower server.max_in_flight to 9872',
    );
    expect(fileLimitWarning(10_000, 20_256)).toBeUndefined();
    expect(fileLimitWarning(10_000, undefined)).toBeUndefined();
    expect(fileLimitWarning(10_000, 100)).toContain('lower server.max_in_flight to 1');
  });
});
