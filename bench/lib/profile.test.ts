import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { originOf, summarizeProfile } from './profile.ts';

describe('originOf', () => {
  it('names packages, our files, node internals and V8 pseudo-frames', () => {
    expect(originOf('file:///w/node_modules/xstate/dist/raise.cjs.js', 'microstep')).toBe('xstate');
    expect(originOf('file:///w/node_modules/@scope/pkg/index.js', 'f')).toBe('@scope/pkg');
    expect(originOf('file:///w/main/src/http/chat.ts', 'handleChat')).toBe('src/http/chat.ts');
    expect(originOf('node:internal/streams/writable', 'write')).toBe('node:internal/streams');
    expect(originOf('node:net', 'write')).toBe('node:net');
    expect(originOf('', '(garbage collector)')).toBe('(garbage collector)');
    expect(originOf('', 'writev')).toBe('(native)');
  });
});

describe('summarizeProfile', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bench-profile-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const frame = (functionName: string, url: string) => ({ functionName, url, lineNumber: 9, columnNumber: 0, scriptId: '1' });
  const file = join(dir, 'p.cpuprofile');
  writeFileSync(
    file,
    JSON.stringify({
      startTime: 1000,
      endTime: 2000,
      nodes: [
        { id: 1, callFrame: frame('(root)', '') },
        { id: 2, callFrame: frame('(idle)', '') },
        { id: 3, callFrame: frame('microstep', 'file:///w/node_modules/xstate/x.js') },
        { id: 4, callFrame: frame('handleChat', 'file:///w/src/http/chat.ts') },
      ],
      // Sample times: 1100 (xstate), 1200 (idle), 1500 (chat), 1600 (xstate)
      samples: [3, 2, 4, 3],
      timeDeltas: [100, 100, 300, 100],
    }),
  );

  it('attributes each sample its time delta, leaves idle out of busy time, ranks by self time', () => {
    const s = summarizeProfile(file);
    expect(s.busyMs).toBeCloseTo(0.5, 10);
    expect(s.idleMs).toBeCloseTo(0.1, 10);
    expect(s.byOrigin.map((o) => [o.name, Math.round(o.pct)])).toEqual([
      ['src/http/chat.ts', 60],
      ['xstate', 40],
    ]);
    expect(s.topFunctions[0].name).toBe('handleChat src/http/chat.ts:10');
  });

  it('keeps only samples inside the window, and divides self time by the requests completed in it', () => {
    const s = summarizeProfile(file, 15, [1150, 1700], 4);
    expect(s.busyMs).toBeCloseTo(0.4, 10);
    expect(s.byOrigin.map((o) => [o.name, o.usPerRequest])).toEqual([
      ['src/http/chat.ts', 75],
      ['xstate', 25],
    ]);
  });
});
