import assert from 'node:assert/strict';
import { createEpochCache } from '../../src/core/directory/epoch-cache.js';

describe('EpochCache', () => {
  let now = 1_000;
  let epoch = 0;
  let random = 0;
  const cache = () => createEpochCache<string>(2000, 3, () => epoch, () => now, () => random);

  beforeEach(() => {
    now = 1_000;
    epoch = 0;
    random = 0;
  });

  it('returns a value within its lifetime', () => {
    const c = cache();
    c.set('a', 'A', c.mark());
    now += 1999;
    assert.equal(c.get('a'), 'A');
  });

  it('drops a value once the lifetime has passed', () => {
    const c = cache();
    c.set('a', 'A', c.mark());
    now += 2000;
    assert.equal(c.get('a'), undefined);
    assert.equal(c.size, 0);
  });

  it('gives each entry a lifetime between half and all of ttlMs, so that entries read together do not expire together', () => {
    const c = cache();
    random = 1;
    c.set('short', 'S', c.mark());
    random = 0.5;
    c.set('middle', 'M', c.mark());
    now += 1000;
    assert.equal(c.get('short'), undefined);
    assert.equal(c.get('middle'), 'M');
    now += 499;
    assert.equal(c.get('middle'), 'M');
    now += 1;
    assert.equal(c.get('middle'), undefined);
  });

  it('drops every value after a write (a new epoch)', () => {
    const c = cache();
    c.set('a', 'A', c.mark());
    epoch++;
    assert.equal(c.get('a'), undefined);
    c.set('a', 'B', c.mark());
    assert.equal(c.get('a'), 'B');
  });

  it('keeps at most maxEntries, dropping the oldest', () => {
    const c = cache();
    for (const k of ['a', 'b', 'c', 'd']) c.set(k, k.toUpperCase(), c.mark());
    assert.equal(c.get('a'), undefined);
    assert.equal(c.get('d'), 'D');
    assert.equal(c.size, 3);
  });

  it('stores a read that overlapped a commit as already stale', () => {
    const c = cache();
    const m = c.mark();
    epoch++; // an admin change commits while the read is in flight
    c.set('a', 'A', m);
    assert.equal(c.get('a'), undefined);
  });

  it('dates an entry from when its read started', () => {
    const c = cache();
    const m = c.mark();
    now += 1500; // a slow read
    c.set('a', 'A', m);
    now += 600;
    assert.equal(c.get('a'), undefined);
  });

  it('caches nothing with a lifetime of 0', () => {
    const c = createEpochCache<string>(0, 10, () => 0);
    c.set('a', 'A', c.mark());
    assert.equal(c.get('a'), undefined);
  });
});
