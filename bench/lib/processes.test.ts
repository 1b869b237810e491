import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { LagProbeReply } from '../lag-probe.ts';
import { freePort, peakRssBytes, processTree, ROOT, rssBytes, startProcess } from './processes.ts';

const LAG_PROBE = join(ROOT, 'bench/lag-probe.ts');

describe('processTree, rssBytes, peakRssBytes', () => {
  it('finds a child and its grandchild, and reads their memory from /proc', async () => {
    // A node child that starts a sleeping grandchild and prints its pid.
    const s = await startProcess({
      name: 'tree',
      command: process.execPath,
      args: ['-e', "const c = require('node:child_process').spawn('sleep', ['30'], { stdio: 'ignore' }); console.log('grandchild ' + c.pid + ' at http://x'); setInterval(() => {}, 1000);"],
      ready: { pattern: /grandchild \d+ at (http:\/\/x)/ },
    });
    try {
      const tree = processTree(s.pid);
      expect(tree[0]).toBe(s.pid);
      expect(tree).toHaveLength(2);
      expect(rssBytes(s.pid)).toBeGreaterThan(1 << 20);
      expect(peakRssBytes(s.pid)).toBeGreaterThanOrEqual(rssBytes(s.pid));
      expect(rssBytes(2 ** 22 + 12345)).toBeNaN();
    } finally {
      for (const pid of processTree(s.pid).slice(1)) process.kill(pid);
      await s.stop();
    }
  });
});

describe('startProcess', () => {
  it('is ready when its URL answers, and reports the origin', async () => {
    const port = await freePort();
    const s = await startProcess({
      name: 'late server',
      command: process.execPath,
      args: ['-e', `setTimeout(() => require('node:http').createServer((q, r) => r.end()).listen(${port}, '127.0.0.1'), 300)`],
      ready: { url: `http://127.0.0.1:${port}/health` },
    });
    expect(s.url).toBe(`http://127.0.0.1:${port}`);
    await s.stop();
  });

  it('rejects with the output when the process exits before it is ready', async () => {
    await expect(
      startProcess({ name: 'quitter', command: process.execPath, args: ['-e', "console.error('no config'); process.exit(3)"], ready: { pattern: /(never)/ } }),
    ).rejects.toThrow(/quitter exited \(code 3\) before it was ready\nno config/);
  });
});

describe('lag probe', () => {
  it('answers the event-loop delay over IPC and does not keep a finished server alive', async () => {
    const s = await startProcess({
      name: 'probed',
      command: process.execPath,
      args: [
        '--import',
        LAG_PROBE,
        '-e',
        "const srv = require('node:http').createServer((q, r) => r.end()).listen(0, '127.0.0.1', () => console.log('at http://127.0.0.1:' + srv.address().port)); process.on('SIGTERM', () => srv.close());",
      ],
      ready: { pattern: /at (http:\/\/127\.0\.0\.1:\d+)/ },
      ipc: true,
    });
    s.child.send({ type: 'lag-reset' });
    s.child.send({ type: 'lag' });
    const first = await new Promise<LagProbeReply>((resolve) => s.child.once('message', resolve));
    expect(first.type).toBe('lag');
    const exited = new Promise<number | null>((resolve) => s.child.once('exit', (code) => resolve(code)));
    // SIGTERM closes the server; with the probe's channel unref'd the process then ends by itself.
    s.child.kill('SIGTERM');
    expect(await exited).toBe(0);
  });

  it('measures a blocked loop', async () => {
    const s = await startProcess({
      name: 'blocked',
      command: process.execPath,
      args: [
        '--import',
        LAG_PROBE,
        '-e',
        "process.on('message', (m) => { if (m.type === 'block') { const end = Date.now() + 150; while (Date.now() < end); } }); console.log('at http://x'); setInterval(() => {}, 1000);",
      ],
      ready: { pattern: /at (http:\/\/x)/ },
      ipc: true,
    });
    try {
      s.child.send({ type: 'lag-reset' });
      // The first delay after a reset is not recorded (the histogram restarts from that sample).
      await new Promise((r) => setTimeout(r, 100));
      s.child.send({ type: 'block' });
      // The delay is recorded when the probe's timer next runs, after the block: ask well after that.
      await new Promise((r) => setTimeout(r, 500));
      s.child.send({ type: 'lag' });
      const reply = await new Promise<LagProbeReply>((resolve) => s.child.once('message', resolve));
      expect(reply.max).toBeGreaterThanOrEqual(140);
      expect(reply.samples).toBeGreaterThan(0);
    } finally {
      await s.stop();
    }
  });
});
