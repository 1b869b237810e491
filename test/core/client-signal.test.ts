import { describe, expect, it } from 'vitest';
import { ClientDeparture, type AbortListener } from '../../src/core/client-signal.ts';

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

  it('takes the place of an AbortSignal: a real one fits the same interface', () => {
    const c = new AbortController();
    const calls: string[] = [];
    const asSignal: import('../../src/core/client-signal.ts').ClientSignal = c.signal;
    asSignal.addEventListener('abort', { handleEvent: () => calls.push('signal') }, { once: true });
    c.abort();
    expect(calls).toEqual(['signal']);
  });
});
