import assert from 'node:assert/strict';
import { storeTargets, useTestStore } from '../../helpers/test-store.js';

for (const target of storeTargets()) {
  describe(`SequenceRepository (${target})`, function () {
    const ctx = useTestStore(target);
    const seq = () => ctx.store.repos.sequences;

    it('starts at start and increments by one', async function () {
      assert.equal(await seq().next('unix_uid', 5000), 5000);
      assert.equal(await seq().next('unix_uid', 5000), 5001);
      assert.equal(await seq().next('unix_uid', 5000), 5002);
    });

    it('keeps named counters apart', async function () {
      assert.equal(await seq().next('a', 1), 1);
      assert.equal(await seq().next('b', 100), 100);
      assert.equal(await seq().next('a', 1), 2);
      assert.equal(await seq().next('b', 100), 101);
    });

    it('counts beyond 32 bits', async function () {
      assert.equal(await seq().next('big', 2 ** 40), 2 ** 40);
      assert.equal(await seq().next('big', 2 ** 40), 2 ** 40 + 1);
    });

    it('gives 30 distinct consecutive values to 30 concurrent transactions', async function () {
      const values = await Promise.all(Array.from({ length: 30 }, () => ctx.store.transaction((tx) => tx.sequences.next('gid', 7000))));
      assert.deepEqual(
        [...values].sort((a, b) => a - b),
        Array.from({ length: 30 }, (_, i) => 7000 + i),
      );
    });

    it('gives 30 distinct consecutive values to 30 concurrent calls outside a transaction', async function () {
      await seq().next('uid', 9000);
      const values = await Promise.all(Array.from({ length: 30 }, () => seq().next('uid', 9000)));
      assert.deepEqual(
        [...values].sort((a, b) => a - b),
        Array.from({ length: 30 }, (_, i) => 9001 + i),
      );
    });
  });
}
