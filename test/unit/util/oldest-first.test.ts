import assert from 'node:assert/strict';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import fc from 'fast-check';
import { OldestFirst } from '../../../src/util/oldest-first.js';

type Op = { kind: 'set'; key: number } | { kind: 'delete'; key: number } | { kind: 'evict' };

const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constant('set' as const), key: fc.integer({ min: 0, max: 30 }) }),
  fc.record({ kind: fc.constant('delete' as const), key: fc.integer({ min: 0, max: 30 }) }),
  fc.constant({ kind: 'evict' as const }),
);

/** The one oldest entry `trim` evicts, when the map is over a limit one below its size. */
function evictOne<K, V>(oldest: OldestFirst<K, V>, map: Map<K, V>): [K, V] | undefined {
  let out: [K, V] | undefined;
  oldest.trim(Math.max(0, map.size - 1), (k, v) => (out = [k, v]));
  return out;
}

describe('OldestFirst', () => {
  it('evicts in insertion order, like a fresh iterator, across sets, re-sets, deletes and idle trims', () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 300 }), fc.array(fc.boolean(), { maxLength: 300 }), (ops, idleTrims) => {
        const map = new Map<number, { n: number }>();
        const oldest = new OldestFirst(map);
        // The reference: a plain array of keys in Map order.
        let model: number[] = [];
        let n = 0;
        ops.forEach((o, i) => {
          if (o.kind === 'set') {
            // Re-setting an existing key keeps its place in a Map; only delete-then-set moves it.
            if (!map.has(o.key)) model.push(o.key);
            map.set(o.key, { n: n++ });
          } else if (o.kind === 'delete') {
            map.delete(o.key);
            model = model.filter((k) => k !== o.key);
          } else {
            assert.equal(evictOne(oldest, map)?.[0], model[0]);
            model.shift();
          }
          // A trim with nothing to evict (after enough of them it lets the iterator go) changes nothing either.
          if (idleTrims[i]) oldest.trim(map.size);
          assert.deepEqual([...map.keys()], model);
        });
      }),
      { numRuns: 3000 },
    );
  });

  it('trims to the limit, handing over each evicted entry, oldest first', () => {
    const map = new Map<string, number>([
      ['a', 1],
      ['b', 2],
      ['c', 3],
      ['d', 4],
    ]);
    const out: [string, number][] = [];
    new OldestFirst(map).trim(1, (k, v) => out.push([k, v]));
    assert.deepEqual(out, [
      ['a', 1],
      ['b', 2],
      ['c', 3],
    ]);
    assert.deepEqual([...map.keys()], ['d']);
  });

  it('finds entries added after the map was emptied', () => {
    const map = new Map<string, number>();
    const oldest = new OldestFirst(map);
    map.set('a', 1);
    assert.deepEqual(evictOne(oldest, map), ['a', 1]);
    assert.equal(evictOne(oldest, map), undefined);
    map.set('b', 2);
    map.set('c', 3);
    assert.deepEqual(evictOne(oldest, map), ['b', 2]);
    assert.deepEqual([...map.keys()], ['c']);
  });

  it('keeps no value alive once the map is below its limit (a V8 iterator pins every rebuilt table)', async () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const map = new Map<number, object>();
    const oldest = new OldestFirst(map);
    for (let i = 0; i < 20; i++) map.set(i, {});
    oldest.trim(10); // evicts, so an iterator exists
    const ref = (() => {
      const value = {};
      map.set(1_000, value);
      return new WeakRef(value);
    })();
    // Entries expire and are read again, below the limit: the Map rebuilds its table many times
    // while the value is in it, then the value goes.
    const churn = () => {
      for (let i = 0; i < 5_000; i++) {
        map.delete(i % 10);
        map.set(i % 10, {});
        oldest.trim(100);
      }
    };
    churn();
    map.delete(1_000);
    churn();
    await new Promise((r) => setImmediate(r));
    gc();
    assert.equal(ref.deref(), undefined);
  });
});
