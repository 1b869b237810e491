import { describe, expect, it } from 'vitest';
import { createActor, type AnyActorRef } from 'xstate';
import { providerMachine, modelSystemId } from '../../machines/provider.machine.ts';
import { gatewayMachine } from '../../machines/gateway.machine.ts';
import type { ErrorKind } from '../../src/core/error-kinds.ts';
import { TargetStats } from '../../src/targets/stats.ts';

function system(models: string[]) {
  const root = createActor(gatewayMachine, { input: { providers: [{ name: 'p', models }] } }).start();
  const model = (m: string) => root.system.get(modelSystemId('p', m)) as AnyActorRef;
  const provider = () => root.system.get('provider:p') as AnyActorRef;
  // Each model's totals come from a real TargetStats, as the engine's `report` keeps them
  // (src/targets/target.ts): record the outcome, then send the running totals.
  const stats = new Map(models.map((m) => [m, new TargetStats()]));
  /** Sends the outcome to the model; returns what TargetStats.record said (must the model hear it). */
  const outcome = (m: string, ok: boolean, kind?: ErrorKind, latencyMs = 10): boolean => {
    const st = stats.get(m)!;
    const mustHear = st.record(ok, kind, latencyMs);
    // Sent whether or not the engine would (it skips what record() says cannot move the
    // model), so the model machine's own handling of such outcomes stays under test.
    model(m).send({ type: 'OUTCOME', ok, kind, at: 0, requests: st.requests, failures: st.failures, consecutiveFailures: st.consecutiveFailures, latencyEwmaMs: st.latencyEwmaMs });
    return mustHear;
  };
  /** Exactly the engine's `report`: only what record() says can move the model is sent. */
  const report = (m: string, ok: boolean, kind?: ErrorKind, latencyMs = 10): void => {
    const st = stats.get(m)!;
    if (st.record(ok, kind, latencyMs)) {
      model(m).send({ type: 'OUTCOME', ok, kind, at: 0, requests: st.requests, failures: st.failures, consecutiveFailures: st.consecutiveFailures, latencyEwmaMs: st.latencyEwmaMs });
    }
  };
  return { root, model, provider, outcome, report, stats: (m: string) => stats.get(m)! };
}

describe('model and provider actors', () => {
  it('a model is failing after 3 consecutive failures and healthy again on the next success', () => {
    const s = system(['a']);
    s.outcome('a', false, 'server_error');
    s.outcome('a', false, 'timeout');
    expect(s.model('a').getSnapshot().value).toBe('healthy');
    s.outcome('a', false, 'server_error');
    expect(s.model('a').getSnapshot().value).toBe('failing');
    // The first success after failures is one the model must hear.
    expect(s.outcome('a', true)).toBe(true);
    expect(s.model('a').getSnapshot().value).toBe('healthy');
    expect(s.model('a').getSnapshot().context).toMatchObject({ requests: 4, failures: 3, consecutiveFailures: 0, lastErrorKind: 'server_error' });
    expect(s.model('a').getSnapshot().context.latencyEwmaMs).toBe(10);
    expect(s.stats('a')).toMatchObject({ requests: 4, failures: 3, consecutiveFailures: 0, latencyEwmaMs: 10 });
    // A success on a healthy model need not be sent; the latency still moves the average.
    expect(s.outcome('a', true, undefined, 20)).toBe(false);
    expect(s.stats('a')).toMatchObject({ requests: 5, failures: 3, latencyEwmaMs: 12 });
  });

  it("a client's bad request never counts against the model", () => {
    const s = system(['a']);
    // TargetStats counts them as requests, never as failures, and tells the engine not to send them.
    for (let i = 0; i < 5; i++) expect(s.outcome('a', false, 'bad_request')).toBe(false);
    expect(s.model('a').getSnapshot().value).toBe('healthy');
    expect(s.model('a').getSnapshot().context.consecutiveFailures).toBe(0);
    expect(s.model('a').getSnapshot().context).toMatchObject({ requests: 5, failures: 0 });
    // A real failure after them counts from zero: 6 requests, 1 failure, 1 in a row.
    expect(s.outcome('a', false, 'server_error')).toBe(true);
    expect(s.model('a').getSnapshot().value).toBe('healthy');
    expect(s.model('a').getSnapshot().context).toMatchObject({ requests: 6, failures: 1, consecutiveFailures: 1, lastErrorKind: 'server_error', latencyEwmaMs: null });
    expect(s.stats('a')).toMatchObject({ requests: 6, failures: 1, consecutiveFailures: 1 });
  });

  it('takes its totals from TargetStats, outcomes it never heard included (as the engine reports)', () => {
    const s = system(['a']);
    // Successes on a healthy model are counted in place and never sent.
    for (let i = 0; i < 4; i++) s.report('a', true, undefined, 100);
    expect(s.model('a').getSnapshot().context).toMatchObject({ requests: 0, failures: 0, latencyEwmaMs: null });
    s.report('a', false, 'timeout');
    expect(s.model('a').getSnapshot().context).toMatchObject({ requests: 5, failures: 1, consecutiveFailures: 1, latencyEwmaMs: 100, lastErrorKind: 'timeout' });
    s.report('a', true, undefined, 50);
    expect(s.model('a').getSnapshot().context).toMatchObject({ requests: 6, failures: 1, consecutiveFailures: 0, latencyEwmaMs: 90 });
  });

  it('the provider is degraded when some of its models fail, down when all do, healthy when none', () => {
    const s = system(['a', 'b']);
    for (let i = 0; i < 3; i++) s.outcome('a', false, 'server_error');
    expect(s.provider().getSnapshot().value).toBe('degraded');
    for (let i = 0; i < 3; i++) s.outcome('b', false, 'model_overloaded');
    expect(s.provider().getSnapshot().value).toBe('down');
    s.outcome('a', true);
    expect(s.provider().getSnapshot().value).toBe('degraded');
    s.outcome('b', true);
    expect(s.provider().getSnapshot().value).toBe('healthy');
  });

  it('registers every actor by systemId', () => {
    const s = system(['a', 'b']);
    expect(s.provider().getSnapshot().context).toMatchObject({ name: 'p', modelCount: 2 });
    expect(['a', 'b'].map((m) => s.model(m).getSnapshot().context)).toMatchObject([
      { provider: 'p', model: 'a' },
      { provider: 'p', model: 'b' },
    ]);
    expect(s.root.system.get(modelSystemId('p', 'c'))).toBeUndefined();
    expect(s.provider().id).toBe('p');
    expect(providerMachine.id).toBe('provider');
  });
});
