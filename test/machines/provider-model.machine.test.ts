import { describe, expect, it } from 'vitest';
import { createActor, type AnyActorRef } from 'xstate';
import { providerMachine, modelSystemId } from '../../machines/provider.machine.ts';
import { gatewayMachine } from '../../machines/gateway.machine.ts';

function system(models: string[]) {
  const root = createActor(gatewayMachine, { input: { providers: [{ name: 'p', models }] } }).start();
  const model = (m: string) => root.system.get(modelSystemId('p', m)) as AnyActorRef;
  const provider = () => root.system.get('provider:p') as AnyActorRef;
  let requests = 0;
  let failures = 0;
  const outcome = (m: string, ok: boolean, kind?: string) => {
    requests++;
    if (!ok && kind !== 'bad_request') failures++;
    model(m).send({ type: 'OUTCOME', ok, kind, latencyMs: 10, at: 0, requests, failures, latencyEwmaMs: 10 });
  };
  return { root, model, provider, outcome };
}

describe('model and provider actors', () => {
  it('a model is failing after 3 consecutive failures and healthy again on the next success', () => {
    const s = system(['a']);
    s.outcome('a', false, 'server_error');
    s.outcome('a', false, 'timeout');
    expect(s.model('a').getSnapshot().value).toBe('healthy');
    s.outcome('a', false, 'server_error');
    expect(s.model('a').getSnapshot().value).toBe('failing');
    s.outcome('a', true);
    expect(s.model('a').getSnapshot().value).toBe('healthy');
    expect(s.model('a').getSnapshot().context).toMatchObject({ requests: 4, failures: 3, consecutiveFailures: 0, lastErrorKind: 'server_error' });
  });

  it("a client's bad request never counts against the model", () => {
    const s = system(['a']);
    for (let i = 0; i < 5; i++) s.outcome('a', false, 'bad_request');
    expect(s.model('a').getSnapshot().value).toBe('healthy');
    expect(s.model('a').getSnapshot().context.consecutiveFailures).toBe(0);
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
