import { describe, expect, it } from 'vitest';
import { ClientDeparture, type AbortListener, type ClientSignal } from '../../src/core/client-signal.ts';
import { PriorityQueue } from '../../src/degraded/queue.ts';

describe('ClientDeparture', () => {
  it('calls each listener once, in the order added, functions and handleEvent objects alike', () => {
    const d = new ClientDeparture();
    const calls: string[] = [];
    const obj = { handleEvent: () => calls.push('object') };
    d.addEventListener('abort', () => calls.push('first'));
    d.addEventListener('abort', obj);
    d.addEventListener('abort', () => calls.push('third'));
    d.abort('gone');
    d.abort('again');
    expect(calls).toEqual(['first', 'object', 'third']);
    expect(d.aborted).toBe(true);
    expect(d.reason).toBe('gone');
  });

  it('never calls a removed listener, whichever slot it was in', () => {
    const d = new ClientDeparture();
    const calls: string[] = [];
    const a: AbortListener = () => calls.push('a');
    const b: AbortListener = () => calls.push('b');
    const c: AbortListener = () => calls.push('c');
    d.addEventListener('abort', a);
    d.addEventListener('abort', b);
    d.addEventListener('abort', c);
    d.removeEventListener('abort', a);
    d.removeEventListener('abort', c);
    d.removeEventListener('abort', () => calls.push('never added'));
    d.abort();
    expect(calls).toEqual(['b']);
  });

  it('ignores a listener added after the abort, as an AbortSignal does, and gives an AbortError by default', () => {
    const d = new ClientDeparture();
    d.abort();
    let called = false;
    d.addEventListener('abort', () => (called = true));
    expect(called).toBe(false);
    expect((d.reason as DOMException).name).toBe('AbortError');
  });

  it.each(['ClientDeparture', 'AbortSignal'] as const)('takes the place of an AbortSignal where the gateway listens: a %s takes a waiter out of the degraded-mode queue', async (kind) => {
    const clock = { setTimeout: () => 0, clearTimeout: () => {}, now: () => 0 };
    const queue = new PriorityQueue({ maxSize: 4, clock, retryAfterS: 1 });
    const departure = new ClientDeparture();
    const controller = new AbortController();
    const signal: ClientSignal = kind === 'ClientDeparture' ? departure : controller.signal;
    const waiting = queue.wait({ priority: 'normal', maxWaitMs: 1_000, batchSize: 1, byPriority: true, signal });
    expect(queue.size).toBe(1);
    if (kind === 'ClientDeparture') departure.abort('gone');
    else controller.abort('gone');
    await expect(waiting).rejects.toBe('gone');
    expect(queue.size).toBe(0);
  });
});
