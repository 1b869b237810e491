import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '../..');

/** Every .ts module under `dirs` and the modules of the same tree it imports (type imports included). */
function importGraph(dirs: readonly string[]): Map<string, string[]> {
  const files = dirs.flatMap((d) => readdirSync(join(ROOT, d), { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.ts')).map((f) => resolve(ROOT, d, f)));
  const known = new Set(files);
  const graph = new Map<string, string[]>();
  for (const file of files) {
    const text = readFileSync(file, 'utf8');
    const deps = [...text.matchAll(/\bfrom '(\.{1,2}\/[^']+)'/g)].map((m) => resolve(dirname(file), m[1])).filter((d) => known.has(d));
    graph.set(file, deps);
  }
  return graph;
}

/** One cycle per back edge a depth-first walk finds, as paths relative to the repository. */
function cycles(graph: Map<string, string[]>): string[] {
  const state = new Map<string, 'open' | 'done'>();
  const found: string[] = [];
  const walk = (node: string, stack: string[]): void => {
    state.set(node, 'open');
    stack.push(node);
    for (const dep of graph.get(node) ?? []) {
      if (state.get(dep) === 'open') found.push([...stack.slice(stack.indexOf(dep)), dep].map((f) => relative(ROOT, f)).join(' -> '));
      else if (state.get(dep) === undefined) walk(dep, stack);
    }
    stack.pop();
    state.set(node, 'done');
  };
  for (const node of graph.keys()) if (state.get(node) === undefined) walk(node, []);
  return found;
}

describe('the import graph of src/ and machines/', () => {
  const graph = importGraph(['src', 'machines']);

  it('is read whole (the walk sees the modules it should)', () => {
    expect(graph.size).toBeGreaterThan(150);
    expect(graph.get(join(ROOT, 'src/serve/flow-runtime.ts'))).toContain(join(ROOT, 'src/serve/hedge-runtime.ts'));
  });

  it('has no cycles, type imports included', () => {
    expect(cycles(graph)).toEqual([]);
  });

  it('finds a cycle when there is one', () => {
    const a = join(ROOT, 'a.ts');
    const b = join(ROOT, 'b.ts');
    expect(cycles(new Map([[a, [b]], [b, [a]]]))).toEqual(['a.ts -> b.ts -> a.ts']);
  });

  it('keeps machines free of everything but xstate, src/core and each other', () => {
    const outside = [...graph]
      .filter(([file]) => file.startsWith(join(ROOT, 'machines')))
      .flatMap(([file, deps]) => deps.filter((d) => !d.startsWith(join(ROOT, 'machines')) && !d.startsWith(join(ROOT, 'src/core'))).map((d) => `${relative(ROOT, file)} -> ${relative(ROOT, d)}`));
    expect(outside).toEqual([]);
  });
});
