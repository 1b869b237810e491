import { describe, expect, it } from 'vitest';
import { heapByConstructor } from './heap-compare.ts';

describe('heapByConstructor', () => {
  it('sums self sizes by node type and constructor, strings and code by kind only', () => {
    // node_fields: type, name, id, self_size, edge_count
    const file = {
      snapshot: { meta: { node_fields: ['type', 'name', 'id', 'self_size', 'edge_count'], node_types: [['hidden', 'object', 'string', 'closure', 'code']] as [string[]] } },
      strings: ['Actor', 'hello', 'world', 'callAttempt', ''],
      nodes: [1, 0, 1, 96, 0, 1, 0, 3, 96, 0, 2, 1, 5, 20, 0, 2, 2, 7, 24, 0, 3, 3, 9, 32, 0, 4, 4, 11, 100, 0],
    };
    expect(Object.fromEntries(heapByConstructor(file))).toEqual({
      'object Actor': { count: 2, bytes: 192 },
      string: { count: 2, bytes: 44 },
      'closure callAttempt': { count: 1, bytes: 32 },
      code: { count: 1, bytes: 100 },
    });
  });
});
