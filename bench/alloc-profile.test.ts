import { describe, expect, it } from 'vitest';
import { allocationByOrigin } from './lib/alloc-profile.ts';

interface Frame {
  callFrame: { functionName: string; url: string };
  selfSize: number;
  children: Frame[];
}
const frame = (functionName: string, url: string, selfSize: number, children: Frame[] = []): Frame => ({ callFrame: { functionName, url }, selfSize, children });

describe('allocationByOrigin', () => {
  it("counts a builtin's allocation for the nearest caller with a script, grouped by package, node and file", () => {
    const head = frame('(root)', '', 0, [
      frame('serveChat', 'file:///repo/src/serve/serve-chat.ts', 100, [
        frame('createActor', 'file:///repo/node_modules/xstate/dist/raise.cjs.js', 300, [frame('Set', '', 50)]),
        frame('Array', '', 20),
      ]),
      frame('emit', 'node:events', 10, [frame('nextTick', 'node:internal/process/task_queues', 5)]),
      frame('(V8 API)', '', 7),
    ]);
    expect(allocationByOrigin(head)).toEqual({
      total: 492,
      byOrigin: [
        ['xstate', 350],
        ['src/serve/serve-chat.ts', 120],
        ['node (http, streams, timers...)', 15],
        ['(native)', 7],
      ],
    });
  });
});
