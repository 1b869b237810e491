import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { finishBody } from '../../src/providers/finish-body.ts';

/** A body that has delivered `chunks`; `end` says whether its end has arrived too. */
function body(chunks: string[], end: boolean): Readable {
  const r = new Readable({ read() {} });
  for (const c of chunks) r.push(c);
  if (end) r.push(null);
  return r;
}

const settled = (r: Readable): Promise<void> => new Promise((resolve) => r.once('close', () => resolve()));

describe('finishBody', () => {
  it('reads a body whose end already arrived to its end: no error, ended cleanly', async () => {
    const r = body(['data: [DONE]\n\n'], true);
    const it = r[Symbol.asyncIterator]();
    expect((await it.next()).value.toString()).toBe('data: [DONE]\n\n');
    finishBody(r, it);
    await settled(r);
    expect(r.errored).toBeNull();
    expect(r.readableEnded).toBe(true);
  });

  it('cuts a body still open after the end marker', async () => {
    const r = body(['data: [DONE]\n\n'], false);
    const it = r[Symbol.asyncIterator]();
    await it.next();
    finishBody(r, it);
    await settled(r);
    expect(r.destroyed).toBe(true);
    expect(r.readableEnded).toBe(false);
    expect((r.errored as Error | null)?.name).toBe('AbortError');
  });

  it('cuts a body with unread bytes after the marker', async () => {
    const r = new Readable({ read() {} });
    r.push('data: [DONE]\n\n');
    const it = r[Symbol.asyncIterator]();
    await it.next();
    r.push('junk');
    r.push(null);
    finishBody(r, it);
    await settled(r);
    expect(r.readableEnded).toBe(false);
    expect((r.errored as Error | null)?.name).toBe('AbortError');
  });
});
