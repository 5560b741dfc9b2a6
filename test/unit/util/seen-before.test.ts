import assert from 'node:assert/strict';
import { SeenBefore } from '../../../src/util/seen-before.js';

describe('SeenBefore (a doorkeeper for cache admission)', () => {
  it('remembers keys it was given (few false positives) and forgets after 2^18 of them', () => {
    const seen = new SeenBefore();
    const keys = Array.from({ length: 50_000 }, (_, i) => `user-${i}\0(uid=u${i})`);
    let falsePositives = 0;
    for (const k of keys) if (seen.testAndSet(k)) falsePositives++;
    assert.ok(falsePositives < 500, `${falsePositives} of 50,000 new keys taken as seen`);
    for (const k of keys) assert.equal(seen.testAndSet(k), true);
    for (let i = 0; i < 1 << 18; i++) seen.testAndSet(`other ${i}`);
    const remembered = keys.filter((k) => seen.testAndSet(k)).length;
    assert.ok(remembered < 25_000, `forgotten after 2^18 more keys: ${remembered} of 50,000 still seen`);
  });
});
