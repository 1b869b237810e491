import { describe, expect, it } from 'vitest';
import { SimulatedClock, type InspectionEvent } from 'xstate';
import { BreakerSet, breakerSystemId } from '../../src/breaker/registry.ts';
import { breakerConfigKey, DEFAULT_BREAKER_CONFIG, type BreakerConfig } from '../../src/core/breaker/config.ts';

const cfg = (errorThreshold: number, extra: Partial<BreakerConfig> = {}): BreakerConfig => ({
  ...DEFAULT_BREAKER_CONFIG,
  errorThreshold,
  ...extra,
});

function newSet(maxConfigs = 4) {
  const clock = new SimulatedClock();
  const set = new BreakerSet({ target: 'openai/gpt-4o', maxConfigs, actorOptions: () => ({ clock }) });
  return { clock, set };
}

const failAt = (at: number) => ({ ok: false, kind: 'server_error' as const, latencyMs: 5, at });

describe('BreakerSet', () => {
  it('starts with the default-config breaker', () => {
    const { set } = newSet();
    expect(set.size).toBe(1);
    expect(set.get(DEFAULT_BREAKER_CONFIG)).toBe(set.default);
  });

  it('identical configs share one breaker, excluded errors in any order', () => {
    const { set } = newSet();
    const a = set.get(cfg(2, { excludedErrors: ['rate_limit', 'timeout'] }));
    const b = set.get(cfg(2, { excludedErrors: ['timeout', 'rate_limit'] }));
    expect(b).toBe(a);
    expect(set.get(cfg(3))).not.toBe(a);
    expect(set.size).toBe(3);
  });

  it('fans one outcome out to every breaker of the target', () => {
    const { set } = newSet();
    const two = set.get(cfg(2));
    const three = set.get(cfg(3));
    set.observe(failAt(0));
    set.observe(failAt(1));
    expect(two.getSnapshot().value).toBe('open');
    expect(three.getSnapshot().value).toBe('closed');
    expect(set.default.getSnapshot().context.failures).toEqual([0, 1]);
    set.observe(failAt(2));
    expect(three.getSnapshot().value).toBe('open');
  });

  it('evicts the least recently used closed breaker when full', () => {
    const { set } = newSet(4);
    const two = set.get(cfg(2));
    const three = set.get(cfg(3));
    const four = set.get(cfg(4));
    set.get(cfg(2)); // touch: cfg(3) is now the least recently used non-default
    const six = set.get(cfg(6)); // (5 is the default threshold)
    expect(set.size).toBe(4);
    expect([...set.entries()].map(([k]) => k)).toEqual([
      breakerConfigKey(DEFAULT_BREAKER_CONFIG),
      breakerConfigKey(cfg(4)),
      breakerConfigKey(cfg(2)),
      breakerConfigKey(cfg(6)),
    ]);
    expect(three.getSnapshot().status).toBe('stopped');
    expect(two.getSnapshot().status).toBe('active');
    expect(four.getSnapshot().status).toBe('active');
    expect(six.getSnapshot().status).toBe('active');
    expect(set.get(cfg(3))).not.toBe(three); // a fresh one
  });

  it('never evicts an open breaker; a closed one goes instead', () => {
    const { set } = newSet(3);
    const one = set.get(cfg(1));
    const two = set.get(cfg(2));
    set.observe(failAt(0)); // opens cfg(1) only
    expect(one.getSnapshot().value).toBe('open');
    const three = set.get(cfg(3));
    expect(two.getSnapshot().status).toBe('stopped');
    expect(one.getSnapshot().status).toBe('active');
    expect(set.get(cfg(1))).toBe(one);
    expect(three).not.toBe(set.default);
  });

  it('reuses the default breaker when every other one is not closed', () => {
    const { set } = newSet(3);
    const one = set.get(cfg(1));
    const uno = set.get(cfg(1, { openTimeoutMs: 1_000 }));
    set.observe(failAt(0));
    expect(one.getSnapshot().value).toBe('open');
    expect(uno.getSnapshot().value).toBe('open');
    expect(set.get(cfg(7))).toBe(set.default);
    expect(set.size).toBe(3);
  });

  it('a half-open breaker is not evicted either', () => {
    const { set, clock } = newSet(2);
    const one = set.get(cfg(1, { openTimeoutMs: 100 }));
    set.observe(failAt(0));
    clock.increment(100);
    expect(one.getSnapshot().value).toBe('half_open');
    expect(set.get(cfg(9))).toBe(set.default);
    expect(one.getSnapshot().status).toBe('active');
  });

  it('release frees the trial slot in the breaker that admitted it', () => {
    const { set, clock } = newSet();
    const one = set.get(cfg(1, { openTimeoutMs: 100, halfOpenRequests: 1 }));
    set.observe(failAt(0));
    clock.increment(100);
    one.send({ type: 'ACQUIRE', token: 'r1', at: 100 });
    expect(one.getSnapshot().context.trials).toEqual(['r1']);
    set.release('r1');
    expect(one.getSnapshot().context.trials).toEqual([]);
  });

  it('passes the options factory the target, key and input; systemIds follow the convention', () => {
    const clock = new SimulatedClock();
    const seen: string[] = [];
    const events: string[] = [];
    const set = new BreakerSet({
      target: 'anthropic/claude-3-opus',
      trialTimeoutMs: 1_234,
      actorOptions: ({ target, key, input }) => {
        seen.push(`${target}|${key}|${input.trialTimeoutMs}`);
        return {
          clock,
          systemId: breakerSystemId(target, key),
          inspect: (e: InspectionEvent) => {
            if (e.type === '@xstate.snapshot') events.push(String((e.snapshot as { value?: unknown }).value));
          },
        };
      },
    });
    const actor = set.get(cfg(2));
    const key = breakerConfigKey(cfg(2));
    expect(seen).toEqual([
      `anthropic/claude-3-opus|${breakerConfigKey(DEFAULT_BREAKER_CONFIG)}|1234`,
      `anthropic/claude-3-opus|${key}|1234`,
    ]);
    expect(actor.getSnapshot().context.trialTimeoutMs).toBe(1_234);
    expect(actor.system.get(`breaker:anthropic/claude-3-opus#${key}`)).toBe(actor);
    set.observe(failAt(0));
    set.observe(failAt(1));
    expect(events).toContain('open');
  });

  it('stop() stops every breaker', () => {
    const { set } = newSet();
    const a = set.get(cfg(2));
    set.stop();
    expect(a.getSnapshot().status).toBe('stopped');
    expect(set.size).toBe(0);
  });
});
