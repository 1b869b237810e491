import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { serveArgs } from '../../bench/lib/systems.ts';
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

  it('are on every bench launcher of the gateway: they all build their arguments with serveArgs', () => {
    expect(serveArgs('g.yaml', ['--import', 'probe.ts'])).toEqual([...GATEWAY_NODE_FLAGS, '--import', 'probe.ts', 'bin/parrot.js', 'serve', '--config', 'g.yaml']);
    // A baseline checkout starts with its own flags.
    expect(serveArgs('g.yaml', [], [])).toEqual(['bin/parrot.js', 'serve', '--config', 'g.yaml']);
    const launchers = readdirSync(join(ROOT, 'bench'), { recursive: true, encoding: 'utf8' })
      .filter((f) => f.endsWith('.ts') && f !== join('lib', 'systems.ts'))
      .filter((f) => readFileSync(join(ROOT, 'bench', f), 'utf8').includes("'bin/parrot.js', 'serve'"));
    expect(launchers).toEqual([]);
  });
});
