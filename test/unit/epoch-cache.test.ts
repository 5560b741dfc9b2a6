import assert from 'node:assert/strict';
import { createEpochCache } from '../../src/core/directory/epoch-cache.js';

describe('EpochCache', () => {
  let now = 1_000;
  let epoch = 0;
  const cache = () => createEpochCache<string>(2000, 3, () => epoch, () => now);

  beforeEach(() => {
    now = 1_000;
    epoch = 0;
  });

  it('returns a value within its lifetime', () => {
    const c = cache();
    c.set('a', 'A');
    now += 1999;
    assert.equal(c.get('a'), 'A');
  });

  it('drops a value once the lifetime has passed', () => {
    const c = cache();
    c.set('a', 'A');
    now += 2000;
    assert.equal(c.get('a'), undefined);
    assert.equal(c.size, 0);
  });

  it('drops every value after a write (a new epoch)', () => {
    const c = cache();
    c.set('a', 'A');
    epoch++;
    assert.equal(c.get('a'), undefined);
    c.set('a', 'B');
    assert.equal(c.get('a'), 'B');
  });

  it('keeps at most maxEntries, dropping the oldest', () => {
    const c = cache();
    for (const k of ['a', 'b', 'c', 'd']) c.set(k, k.toUpperCase());
    assert.equal(c.get('a'), undefined);
    assert.equal(c.get('d'), 'D');
    assert.equal(c.size, 3);
  });

  it('caches nothing with a lifetime of 0', () => {
    const c = createEpochCache<string>(0, 10, () => 0);
    c.set('a', 'A');
    assert.equal(c.get('a'), undefined);
  });
});
