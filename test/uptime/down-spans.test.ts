import { describe, expect, it } from 'vitest';
import { ERROR_KINDS } from '../../src/core/error-kinds.ts';
import type { DownInterval, UnservedMinute } from '../../src/store/types.ts';
import { downSpans, GATEWAY_SUBJECT, type Topology } from '../../src/uptime/down-spans.ts';
import { measure } from '../../src/uptime/spans.ts';
import { countsAsUnserved, type RequestFailure } from '../../src/uptime/unserved.ts';

const MIN = 60_000;
const T0 = Date.UTC(2025, 5, 10, 10, 0);
const at = (minutes: number) => T0 + minutes * MIN;

const topology: Topology = {
  targets: [
    { key: 'openai/gpt-4-turbo-preview', provider: 'openai', model: 'gpt-4-turbo-preview' },
    { key: 'openai/gpt-3.5-turbo', provider: 'openai', model: 'gpt-3.5-turbo' },
    { key: 'anthropic/claude-3-opus', provider: 'anthropic', model: 'claude-3-opus' },
  ],
  servedBy: {
    'gpt-4-turbo-preview': ['openai/gpt-4-turbo-preview', 'anthropic/claude-3-opus'],
    'gpt-3.5-turbo': ['openai/gpt-3.5-turbo'],
  },
};

let nextId = 1;
function down(subject: string, fromMin: number, toMin: number | null): DownInterval {
  return { id: nextId++, subject, cause: 'breaker_open', startedAt: at(fromMin), endedAt: toMin === null ? null : at(toMin) };
}
const minutes = (spans: ReadonlyArray<readonly [number, number]> | undefined) => measure(spans ?? []) / MIN;

describe('downSpans', () => {
  it('a model is down only while every target serving it is down', () => {
    const d = downSpans(
      { intervals: [down('openai/gpt-4-turbo-preview', 0, 45), down('anthropic/claude-3-opus', 30, 60)], unserved: [] },
      topology,
      at(120),
    );
    expect(minutes(d.targets.get('openai/gpt-4-turbo-preview'))).toBe(45);
    expect(d.models.get('gpt-4-turbo-preview')).toEqual([[at(30), at(45)]]);
    expect(minutes(d.models.get('gpt-3.5-turbo'))).toBe(0);
    expect(d.gateway).toEqual([[at(30), at(45)]]);
  });

  it('a provider is down only while all of its targets are', () => {
    const d = downSpans(
      { intervals: [down('openai/gpt-4-turbo-preview', 0, 45), down('openai/gpt-3.5-turbo', 10, 20)], unserved: [] },
      topology,
      at(120),
    );
    expect(d.providers.get('openai')).toEqual([[at(10), at(20)]]);
    expect(minutes(d.providers.get('anthropic'))).toBe(0);
    // gpt-3.5-turbo has a single target: its down time is the gateway's
    expect(d.gateway).toEqual([[at(10), at(20)]]);
  });

  it('an unserved request marks its whole UTC minute down, merged with the intervals', () => {
    const unserved: UnservedMinute[] = [
      { minute: at(5), model: 'gpt-4-turbo-preview', failures: 3 },
      { minute: at(6), model: 'gpt-4-turbo-preview', failures: 1 },
      { minute: at(40), model: 'gpt-3.5-turbo', failures: 9 },
    ];
    const d = downSpans({ intervals: [down('openai/gpt-3.5-turbo', 40, 42)], unserved }, topology, at(120));
    expect(d.models.get('gpt-4-turbo-preview')).toEqual([[at(5), at(7)]]);
    expect(d.models.get('gpt-3.5-turbo')).toEqual([[at(40), at(42)]]);
    expect(minutes(d.gateway)).toBe(4);
  });

  it('an interval still open is down until now', () => {
    const d = downSpans({ intervals: [down('openai/gpt-3.5-turbo', 100, null)], unserved: [] }, topology, at(130));
    expect(d.targets.get('openai/gpt-3.5-turbo')).toEqual([[at(100), at(130)]]);
    expect(minutes(d.gateway)).toBe(30);
  });

  it("the gateway's own intervals and unserved minutes of models no longer configured count for the gateway", () => {
    const d = downSpans(
      { intervals: [down(GATEWAY_SUBJECT, 0, 3)], unserved: [{ minute: at(10), model: 'retired-model', failures: 1 }] },
      topology,
      at(60),
    );
    expect(d.gateway).toEqual([[at(0), at(3)], [at(10), at(11)]]);
    expect([...d.models.keys()]).toEqual(['gpt-4-turbo-preview', 'gpt-3.5-turbo']);
  });

  it('down intervals of subjects not in the topology do not make a model down', () => {
    const d = downSpans({ intervals: [down('google/gemini-pro', 0, 60)], unserved: [] }, topology, at(60));
    expect(d.gateway).toEqual([]);
  });
});

describe('countsAsUnserved', () => {
  it("counts every provider-side failure and the gateway's refusals, never what the client caused", () => {
    const all: RequestFailure[] = [...ERROR_KINDS, 'circuit_open', 'no_available_target'];
    const counted = Object.fromEntries(all.map((k) => [k, countsAsUnserved(k)]));
    expect(counted).toEqual({
      timeout: true,
      rate_limit: true,
      quota_exceeded: true,
      model_overloaded: true,
      server_error: true,
      connection_error: true,
      context_length_exceeded: false,
      content_filter: false,
      auth_error: true,
      bad_request: false,
      circuit_open: true,
      no_available_target: true,
    });
  });
});
