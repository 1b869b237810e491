import { setFlagsFromString } from 'node:v8';
import { describe, expect, it, vi } from 'vitest';
import { tuneGc } from '../../src/runtime/gc-tuning.ts';

// Deterministic counterpart of gc-tuning.test.ts: that test measures the effect (bytes
// promoted per request actor), which an untuned process sometimes also stays under; this one
// pins the flag tuneGc() hands to V8, without changing the test process's own V8 flags.
vi.mock('node:v8', async (orig) => ({
  ...(await orig<typeof import('node:v8')>()),
  setFlagsFromString: vi.fn(),
}));

describe('tuneGc', () => {
  it('turns off allocation-site pretenuring, and nothing else', () => {
    const set = vi.mocked(setFlagsFromString);
    set.mockClear();
    tuneGc();
    expect(set).toHaveBeenCalledTimes(1);
    expect(set).toHaveBeenCalledWith('--no-allocation-site-pretenuring');
  });
});
