import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { GATEWAY_NODE_FLAGS } from '../../src/runtime/gc-tuning.ts';

const ROOT = join(import.meta.dirname, '../..');

// V8 fixes the heap's sizes at start-up, so these flags live where node is launched; this keeps
// every launcher of `parrot serve` in step with src/runtime/gc-tuning.ts.
describe('the node flags parrot serve starts with', () => {
  it('are on npm start and on bin/parrot.js shebang line', () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
    expect(pkg.scripts.start).toBe(`exec node ${GATEWAY_NODE_FLAGS.join(' ')} bin/parrot.js serve`);
    const shebang = readFileSync(join(ROOT, 'bin/parrot.js'), 'utf8').split('\n')[0];
    expect(shebang).toBe(`#!/usr/bin/env -S node ${GATEWAY_NODE_FLAGS.join(' ')}`);
  });

  it('reach the process that the shebang starts', () => {
    // bin/parrot.js run as a program: `env -S` splits the line, so node gets the flags.
    const out = execFileSync(join(ROOT, 'bin/parrot.js'), ['--help'], { encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: '--import data:text/javascript,console.log(JSON.stringify(process.execArgv))' } });
    expect(JSON.parse(out.split('\n')[0])).toEqual([...GATEWAY_NODE_FLAGS]);
  });

  it('are on every bench launcher of the gateway', () => {
    for (const file of ['bench/lib/systems.ts', 'bench/inflight.ts', 'bench/tails.ts', 'bench/chaos/run-scenario.ts']) {
      const text = readFileSync(join(ROOT, file), 'utf8');
      expect(text, file).toMatch(/\[\.\.\.GATEWAY_NODE_FLAGS,[^\]]*'bin\/parrot\.js', 'serve'/);
    }
    // The throughput bench also runs a baseline checkout, with that checkout's own flags.
    const throughput = readFileSync(join(ROOT, 'bench/throughput.ts'), 'utf8');
    expect(throughput).toContain('const flags = checkout === undefined ? GATEWAY_NODE_FLAGS : await nodeFlagsOf(checkout);');
    expect(throughput).toMatch(/\[\.\.\.flags,[^\]]*'bin\/parrot\.js', 'serve'/);
  });
});
