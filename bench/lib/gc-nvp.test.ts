import { describe, expect, it } from 'vitest';
import { sumGcPhases, sumGcTrace } from './gc-nvp.ts';

describe('sumGcTrace', () => {
  it('sums --trace-gc-nvp lines by kind and ignores everything else', () => {
    const lines = [
      '[1:0x1:0]       84 ms: pause=0.7 mutator=79.6 gc=s reduce_memory=0 scavenge=0.65 allocated=9701520 promoted=0 new_space_survived=542288 nodes_promoted=0',
      'parrot listening on http://127.0.0.1:1234',
      '[1:0x1:0]       94 ms: pause=1.5 mutator=9.1 gc=s reduce_memory=0 allocated=1000 promoted=200 new_space_survived=300',
      '[1:0x1:0]      120 ms: pause=12.0 mutator=20.0 gc=mc reduce_memory=0 allocated=50 promoted=7 new_space_survived=0',
    ];
    expect(Object.fromEntries(sumGcTrace(lines))).toEqual({
      s: { count: 2, pauseMs: 2.2, allocated: 9702520, survived: 542588, promoted: 200 },
      mc: { count: 1, pauseMs: 12, allocated: 50, survived: 0, promoted: 7 },
    });
  });
});

describe('sumGcPhases', () => {
  it('sums the time fields of each kind, largest first, and leaves out sizes, counts and rates', () => {
    const lines = [
      '[1:0x1:0]       84 ms: pause=0.7 mutator=79.6 gc=s scavenge=0.65 scavenge.roots=0.10 allocated=9701520 promoted=0 new_space_survived=542288 nodes_promoted=0 promotion_rate=0.0% start_object_size=9692856',
      '[1:0x1:0]       94 ms: pause=1.5 mutator=9.1 gc=s scavenge=1.40 scavenge.roots=0.30 allocated=1000',
      '[1:0x1:0]      120 ms: pause=12.0 gc=mc evacuate=3.5 old_gen_allocation_limit=277619248',
    ];
    const phases = sumGcPhases(lines);
    expect(phases.get('s')!.map(([k, v]) => [k, Number(v.toFixed(2))])).toEqual([
      ['mutator', 88.7],
      ['pause', 2.2],
      ['scavenge', 2.05],
      ['scavenge.roots', 0.4],
    ]);
    expect(phases.get('mc')).toEqual([
      ['pause', 12],
      ['evacuate', 3.5],
    ]);
  });
});
