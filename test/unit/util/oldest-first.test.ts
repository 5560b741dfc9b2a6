import assert from 'node:assert/strict';
import fc from 'fast-check';
import { OldestFirst } from '../../../src/util/oldest-first.js';

type Op = { kind: 'set'; key: number } | { kind: 'delete'; key: number } | { kind: 'evict' };

const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constant('set' as const), key: fc.integer({ min: 0, max: 30 }) }),
  fc.record({ kind: fc.constant('delete' as const), key: fc.integer({ min: 0, max: 30 }) }),
  fc.constant({ kind: 'evict' as const }),
);

describe('OldestFirst', () => {
  it('evicts in insertion order, like a fresh iterator, across sets, re-sets and deletes', () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 300 }), (ops) => {
        const map = new Map<number, { n: number }>();
        const oldest = new OldestFirst(map);
        // The reference: a plain array of keys in Map order.
        let model: number[] = [];
        let n = 0;
        for (const o of ops) {
          if (o.kind === 'set') {
            // Re-setting an existing key keeps its place in a Map; only delete-then-set moves it.
            if (!map.has(o.key)) model.push(o.key);
            map.set(o.key, { n: n++ });
          } else if (o.kind === 'delete') {
            map.delete(o.key);
            model = model.filter((k) => k !== o.key);
          } else {
            assert.equal(oldest.evictOldest()?.[0], model[0]);
            model.shift();
          }
          assert.deepEqual([...map.keys()], model);
        }
      }),
      { numRuns: 3000 },
    );
  });

  it('finds entries added after the map was emptied', () => {
    const map = new Map<string, number>();
    const oldest = new OldestFirst(map);
    map.set('a', 1);
    assert.deepEqual(oldest.evictOldest(), ['a', 1]);
    assert.equal(oldest.evictOldest(), undefined);
    map.set('b', 2);
    map.set('c', 3);
    assert.deepEqual(oldest.evictOldest(), ['b', 2]);
    assert.deepEqual([...map.keys()], ['c']);
  });
});
