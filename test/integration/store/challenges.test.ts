import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type { AuthChallenge } from '../../../src/core/directory/types.js';
import { newId } from '../../../src/util/ids.js';
import { T0 } from '../../helpers/factories.js';
import { storeTargets, useTestStore } from '../../helpers/test-store.js';

const challenge = (overrides: Partial<AuthChallenge> = {}): AuthChallenge => ({
  id: randomBytes(16).toString('hex'),
  subjectId: newId(),
  protocol: 'radius',
  resourceType: 'radius_server',
  resourceId: newId(),
  createdAt: T0,
  expiresAt: new Date(T0.getTime() + 60_000),
  ...overrides,
});

for (const target of storeTargets()) {
  describe(`ChallengeRepository (${target})`, function () {
    const ctx = useTestStore(target);
    const repo = () => ctx.store.repos.challenges;

    it('names no challenge with an id that is not 32 hex digits (a hostile RADIUS State)', async function () {
      const c = challenge();
      await repo().create(c);
      for (const id of ['', 'a\u0000b', c.id.toUpperCase(), `${c.id}\u0000`, c.id.slice(1)]) assert.equal(await repo().consume(id, T0), null, JSON.stringify(id));
      assert.deepEqual(await repo().consume(c.id, T0), c);
    });

    it('returns a challenge once, with every field', async function () {
      const c = challenge();
      await repo().create(c);
      assert.deepEqual(await repo().consume(c.id, T0), c);
      assert.equal(await repo().consume(c.id, T0), null);
    });

    it('does not return an expired challenge, and removes it', async function () {
      const c = challenge();
      await repo().create(c);
      assert.equal(await repo().consume(c.id, c.expiresAt), null);
      assert.equal(await repo().consume(c.id, T0), null);
    });

    it('gives a challenge to exactly one of 20 concurrent consumers', async function () {
      const c = challenge();
      await repo().create(c);
      const results = await Promise.all(Array.from({ length: 20 }, () => repo().consume(c.id, T0)));
      assert.equal(results.filter((r) => r !== null).length, 1);
    });

    it('purges expired challenges only', async function () {
      const old = challenge({ expiresAt: new Date(T0.getTime() - 1) });
      const live = challenge();
      await repo().create(old);
      await repo().create(live);
      assert.equal(await repo().purgeExpired(T0), 1);
      assert.deepEqual(await repo().consume(live.id, T0), live);
    });
  });
}
