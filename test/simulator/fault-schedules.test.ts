import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { compileBehaviour } from '../../src/simulator/behaviour.ts';
import { startSimulator, type SimFault, type SimulatorHandle } from '../../src/simulator/index.ts';
import { admitCall, type ModelSlot } from '../../src/simulator/models.ts';
import { seededRng } from '../../src/simulator/rng.ts';
import { openaiBody, post } from './helpers.ts';

function slot(faults: SimFault[], setAt = 0): ModelSlot {
  return { behaviour: compileBehaviour({ faults }, {}), setAt, calls: 0 };
}

describe('admitCall (schedule logic, explicit clock)', () => {
  it('first_n applies to the first N calls only', () => {
    const s = slot([{ type: 'reset', first_n: 2 }]);
    const rng = seededRng(1);
    expect([0, 1, 2, 3].map(() => admitCall(s, false, 0, rng)?.type ?? null)).toEqual(['reset', 'reset', null, null]);
  });

  it('for_ms applies while less than for_ms has passed since the config was set', () => {
    const s = slot([{ type: 'hang', for_ms: 100 }], 1000);
    const rng = seededRng(1);
    expect(admitCall(s, false, 1000, rng)?.type).toBe('hang');
    expect(admitCall(s, false, 1099, rng)?.type).toBe('hang');
    expect(admitCall(s, false, 1100, rng)).toBeNull();
  });

  it('the first matching fault wins, in list order', () => {
    const s = slot([
      { type: 'error', kind: 'rate_limit', first_n: 1 },
      { type: 'error', kind: 'server_error', first_n: 2 },
      { type: 'error', kind: 'timeout' },
    ]);
    const rng = seededRng(1);
    const kinds = [0, 1, 2, 3].map(() => {
      const f = admitCall(s, false, 0, rng);
      return f?.type === 'error' ? f.kind : null;
    });
    expect(kinds).toEqual(['rate_limit', 'server_error', 'timeout', 'timeout']);
  });

  it('conditions AND together', () => {
    const s = slot([{ type: 'reset', first_n: 3, probability: 1 }, { type: 'hang', first_n: 5, probability: 0 }]);
    const rng = seededRng(1);
    expect([0, 1, 2, 3, 4].map(() => admitCall(s, false, 0, rng)?.type ?? null)).toEqual(['reset', 'reset', 'reset', null, null]);
  });

  it('probability follows the seed: same seed, same pattern; about the asked rate', () => {
    const pattern = (seed: number): string => {
      const s = slot([{ type: 'reset', probability: 0.3 }]);
      const rng = seededRng(seed);
      return Array.from({ length: 1000 }, () => (admitCall(s, false, 0, rng) === null ? '.' : 'x')).join('');
    };
    expect(pattern(42)).toBe(pattern(42));
    expect(pattern(42)).not.toBe(pattern(43));
    const hits = pattern(42).split('').filter((c) => c === 'x').length;
    expect(hits).toBeGreaterThan(250);
    expect(hits).toBeLessThan(350);
  });
});

describe('schedules over HTTP', () => {
  let sim: SimulatorHandle;
  beforeAll(async () => {
    sim = await startSimulator({ seed: 7 });
  });
  afterAll(() => sim.close());
  beforeEach(() => sim.reset());

  const statuses = async (n: number, model = 'gpt-4o'): Promise<number[]> => {
    const out: number[] = [];
    for (let i = 0; i < n; i++) out.push((await post(sim.url, '/v1/chat/completions', openaiBody({ model }))).status);
    return out;
  };

  it('first_n: faulty for the first calls to that model, then healthy', async () => {
    sim.setModel('gpt-4o', { faults: [{ type: 'error', kind: 'rate_limit', first_n: 2 }] });
    expect(await statuses(1, 'other-model')).toEqual([200]);
    expect(await statuses(4)).toEqual([429, 429, 200, 200]);
  });

  it('for_ms: faulty right after the config is set, healthy once it has passed; setModel restarts the clock', async () => {
    sim.setModel('gpt-4o', { faults: [{ type: 'error', kind: 'server_error', for_ms: 40 }] });
    expect(await statuses(1)).toEqual([500]);
    await new Promise((r) => setTimeout(r, 50));
    expect(await statuses(1)).toEqual([200]);
    sim.setModel('gpt-4o', { faults: [{ type: 'error', kind: 'server_error', for_ms: 40 }] });
    expect(await statuses(1)).toEqual([500]);
  });

  it('probability: reset() re-seeds, so a run replays identically', async () => {
    sim.setModel('gpt-4o', { faults: [{ type: 'error', kind: 'model_overloaded', probability: 0.5 }] });
    const first = await statuses(16);
    expect(first).toContain(503);
    expect(first).toContain(200);
    sim.reset();
    sim.setModel('gpt-4o', { faults: [{ type: 'error', kind: 'model_overloaded', probability: 0.5 }] });
    expect(await statuses(16)).toEqual(first);
  });

  it('defaults apply to every model without its own config', async () => {
    sim.setDefaults({ faults: [{ type: 'error', kind: 'auth_error', first_n: 1 }] });
    expect(await statuses(2, 'model-a')).toEqual([401, 200]);
    expect(await statuses(2, 'model-b')).toEqual([401, 200]);
  });
});
