import assert from 'node:assert/strict';
import type { LockoutPolicy } from '../../../src/core/directory/organization.js';
import type { AuthState } from '../../../src/core/directory/types.js';
import { T0 } from '../../helpers/factories.js';
import { storeTargets, useTestStore } from '../../helpers/test-store.js';
import { newId } from '../../../src/util/ids.js';

const ZERO: AuthState = { failedCount: 0, lastFailedAt: null, lockedAt: null, lastTotpStep: null };
const policy = (p: Partial<LockoutPolicy> = {}): LockoutPolicy => ({ maxAttempts: 5, lockoutSeconds: 600, resetCounterSeconds: 600, ...p });
const at = (seconds: number) => new Date(T0.getTime() + seconds * 1000);

for (const target of storeTargets()) {
  describe(`AuthStateRepository (${target})`, function () {
    const ctx = useTestStore(target);
    const auth = () => ctx.store.repos.authState;

    describe('ensure and get', function () {
      it('reads a zero state for an account that never failed', async function () {
        assert.deepEqual(await auth().get(newId()), ZERO);
      });

      it('ensure is idempotent and never resets an existing state', async function () {
        const id = newId();
        await auth().ensure(id);
        await auth().ensure(id);
        assert.deepEqual(await auth().get(id), ZERO);
        await auth().recordFailure(id, at(0), policy());
        await auth().ensure(id);
        assert.equal((await auth().get(id)).failedCount, 1);
      });
    });

    describe('recordFailure', function () {
      it('counts failures and locks exactly at maxAttempts', async function () {
        const id = newId();
        await auth().ensure(id);
        for (let i = 1; i <= 4; i++) {
          assert.deepEqual(await auth().recordFailure(id, at(i), policy()), { failedCount: i, locked: false, justLocked: false });
        }
        assert.deepEqual(await auth().get(id), { failedCount: 4, lastFailedAt: at(4), lockedAt: null, lastTotpStep: null });
        assert.deepEqual(await auth().recordFailure(id, at(5), policy()), { failedCount: 5, locked: true, justLocked: true });
        assert.deepEqual(await auth().get(id), { failedCount: 5, lastFailedAt: at(5), lockedAt: at(5), lastTotpStep: null });
        // Later failures keep counting; the lock and its time stay.
        assert.deepEqual(await auth().recordFailure(id, at(6), policy()), { failedCount: 6, locked: true, justLocked: false });
        assert.deepEqual((await auth().get(id)).lockedAt, at(5));
      });

      it('works for an account without a state row yet', async function () {
        const id = newId();
        assert.deepEqual(await auth().recordFailure(id, at(0), policy()), { failedCount: 1, locked: false, justLocked: false });
        assert.deepEqual(await auth().get(id), { ...ZERO, failedCount: 1, lastFailedAt: at(0) });
      });

      it('locks on the first failure when maxAttempts is 1', async function () {
        const id = newId();
        assert.deepEqual(await auth().recordFailure(id, at(0), policy({ maxAttempts: 1 })), { failedCount: 1, locked: true, justLocked: true });
      });

      it('neither counts nor locks when maxAttempts is 0, and counts from 1 once lockout is on', async function () {
        const id = newId();
        let last = { failedCount: -1, locked: false, justLocked: false };
        for (let i = 0; i < 30; i++) last = await auth().recordFailure(id, at(i), policy({ maxAttempts: 0 }));
        assert.deepEqual(last, { failedCount: 0, locked: false, justLocked: false });
        assert.deepEqual(await auth().recordFailure(id, at(31), policy({ maxAttempts: 3 })), { failedCount: 1, locked: false, justLocked: false });
        await auth().clearFailures(id);
        assert.equal((await auth().get(id)).lockedAt, null);
        assert.deepEqual(await auth().lockedSubjects(), []);
      });

      it('restarts the count when the previous failure is older than the reset window', async function () {
        const id = newId();
        const p = policy({ maxAttempts: 3, resetCounterSeconds: 600 });
        await auth().recordFailure(id, at(0), p);
        assert.equal((await auth().recordFailure(id, at(599), p)).failedCount, 2, 'inside the window');
        // 600 s + 1 ms after the previous failure.
        const later = new Date(at(599).getTime() + 600_001);
        assert.deepEqual(await auth().recordFailure(id, later, p), { failedCount: 1, locked: false, justLocked: false });
        assert.deepEqual((await auth().get(id)).lastFailedAt, later);
        // The window slides from the latest failure: two more close together lock.
        await auth().recordFailure(id, new Date(later.getTime() + 300_000), p);
        assert.deepEqual(await auth().recordFailure(id, new Date(later.getTime() + 600_000), p), { failedCount: 3, locked: true, justLocked: true });
      });

      it('never restarts the count when the reset window is 0', async function () {
        const id = newId();
        const p = policy({ maxAttempts: 3, resetCounterSeconds: 0 });
        await auth().recordFailure(id, at(0), p);
        await auth().recordFailure(id, at(86_400), p);
        assert.deepEqual(await auth().recordFailure(id, at(86_400 * 365), p), { failedCount: 3, locked: true, justLocked: true });
      });

      it('keeps accounts apart', async function () {
        const [a, b] = [newId(), newId()];
        await auth().recordFailure(a, at(0), policy());
        await auth().recordFailure(a, at(1), policy());
        await auth().recordFailure(b, at(2), policy());
        assert.equal((await auth().get(a)).failedCount, 2);
        assert.equal((await auth().get(b)).failedCount, 1);
      });

      for (const maxAttempts of [50, 10]) {
        it(`reports justLocked exactly once for 50 concurrent failures (maxAttempts ${maxAttempts})`, async function () {
          const id = newId();
          await auth().ensure(id);
          const now = at(10);
          const results = await Promise.all(Array.from({ length: 50 }, () => auth().recordFailure(id, now, policy({ maxAttempts }))));
          const just = results.filter((r) => r.justLocked);
          assert.equal(just.length, 1, `justLocked ${just.length} times`);
          assert.equal(just[0]?.failedCount, maxAttempts);
          // Every failure saw its own count: the increments never interleaved.
          assert.deepEqual(
            results.map((r) => r.failedCount).sort((x, y) => x - y),
            Array.from({ length: 50 }, (_, i) => i + 1),
          );
          assert.ok(results.every((r) => r.locked === r.failedCount >= maxAttempts));
          const state = await auth().get(id);
          assert.equal(state.failedCount, 50);
          assert.deepEqual(state.lockedAt, now);
        });
      }

      it('reports justLocked exactly once for 50 concurrent failures on an account without a state row', async function () {
        const id = newId();
        const results = await Promise.all(Array.from({ length: 50 }, () => auth().recordFailure(id, at(0), policy({ maxAttempts: 10 }))));
        assert.equal(results.filter((r) => r.justLocked).length, 1);
        assert.equal((await auth().get(id)).failedCount, 50);
      });
    });

    describe('clearFailures', function () {
      it('resets the counter so that the next failure counts from 1', async function () {
        const id = newId();
        for (let i = 0; i < 3; i++) await auth().recordFailure(id, at(i), policy());
        await auth().clearFailures(id);
        const s = await auth().get(id);
        assert.equal(s.failedCount, 0);
        assert.equal(s.lockedAt, null);
        assert.equal((await auth().recordFailure(id, at(10), policy())).failedCount, 1);
      });
    });

    describe('unlock', function () {
      it('clears a lock and the counter, and reports whether there was a lock', async function () {
        const id = newId();
        assert.equal(await auth().unlock(id), false, 'no state');
        await auth().recordFailure(id, at(0), policy({ maxAttempts: 2 }));
        assert.equal(await auth().unlock(id), false, 'not locked');
        await auth().recordFailure(id, at(1), policy({ maxAttempts: 2 }));
        assert.equal(await auth().unlock(id), true);
        assert.deepEqual(await auth().get(id), ZERO);
        assert.equal(await auth().unlock(id), false, 'already unlocked');
        // The next lock is a new one: justLocked again at the threshold.
        await auth().recordFailure(id, at(2), policy({ maxAttempts: 2 }));
        assert.deepEqual(await auth().recordFailure(id, at(3), policy({ maxAttempts: 2 })), { failedCount: 2, locked: true, justLocked: true });
      });

      it('with onlyIfLockedAt clears only that lock', async function () {
        const id = newId();
        await auth().recordFailure(id, at(0), policy({ maxAttempts: 1 }));
        const lockedAt = (await auth().get(id)).lockedAt;
        assert.deepEqual(lockedAt, at(0));
        assert.equal(await auth().unlock(id, at(-60)), false, 'stale lockedAt');
        assert.deepEqual((await auth().get(id)).lockedAt, at(0));
        assert.equal(await auth().unlock(id, at(0)), true);
        assert.equal((await auth().get(id)).lockedAt, null);
        assert.equal(await auth().unlock(id, at(0)), false, 'the lock is gone');
      });

      it('with onlyIfLockedAt does not clear a newer lock (the auto-unlock race)', async function () {
        const id = newId();
        await auth().recordFailure(id, at(0), policy({ maxAttempts: 1 }));
        const first = (await auth().get(id)).lockedAt!;
        assert.equal(await auth().unlock(id), true);
        await auth().recordFailure(id, at(700), policy({ maxAttempts: 1 }));
        assert.equal(await auth().unlock(id, first), false);
        assert.deepEqual((await auth().get(id)).lockedAt, at(700));
      });
    });

    describe('TOTP replay guard', function () {
      it('accepts a step once, refuses it and lower steps after, and accepts higher ones', async function () {
        const id = newId();
        await auth().ensure(id);
        assert.equal(await auth().acceptTotpStep(id, 57_000_000), true, 'first');
        assert.equal(await auth().acceptTotpStep(id, 57_000_000), false, 'same step');
        assert.equal(await auth().acceptTotpStep(id, 56_999_999), false, 'lower step');
        assert.equal(await auth().acceptTotpStep(id, 57_000_001), true, 'higher step');
        assert.equal(await auth().acceptTotpStep(id, 57_000_000), false, 'now lower');
        assert.equal((await auth().get(id)).lastTotpStep, 57_000_001);
      });

      it('works for an account without a state row yet', async function () {
        const id = newId();
        assert.equal(await auth().acceptTotpStep(id, 1), true);
        assert.equal(await auth().acceptTotpStep(id, 1), false);
      });

      it('accepts exactly one of 20 concurrent uses of the same step', async function () {
        const id = newId();
        await auth().ensure(id);
        await auth().acceptTotpStep(id, 100);
        const results = await Promise.all(Array.from({ length: 20 }, () => auth().acceptTotpStep(id, 101)));
        assert.equal(results.filter(Boolean).length, 1);
      });

      it('accepts exactly one of 20 concurrent uses of the same step on an account without a state row', async function () {
        const id = newId();
        const results = await Promise.all(Array.from({ length: 20 }, () => auth().acceptTotpStep(id, 101)));
        assert.equal(results.filter(Boolean).length, 1);
      });

      it('forgets the guard on resetTotpGuard, leaving the lockout counters alone', async function () {
        const id = newId();
        await auth().recordFailure(id, at(0), policy());
        await auth().acceptTotpStep(id, 500);
        await auth().resetTotpGuard(id);
        assert.deepEqual(await auth().get(id), { failedCount: 1, lastFailedAt: at(0), lockedAt: null, lastTotpStep: null });
        assert.equal(await auth().acceptTotpStep(id, 10), true);
      });

      it('leaves the lockout counters alone when accepting a step', async function () {
        const id = newId();
        await auth().recordFailure(id, at(0), policy({ maxAttempts: 1 }));
        await auth().acceptTotpStep(id, 7);
        assert.deepEqual(await auth().get(id), { failedCount: 1, lastFailedAt: at(0), lockedAt: at(0), lastTotpStep: 7 });
      });
    });

    describe('lockedSubjects and delete', function () {
      it('lists exactly the accounts with a lock set', async function () {
        const [a, b, c] = [newId(), newId(), newId()];
        await auth().recordFailure(a, at(0), policy({ maxAttempts: 1 }));
        await auth().recordFailure(b, at(0), policy({ maxAttempts: 1 }));
        await auth().recordFailure(c, at(0), policy({ maxAttempts: 2 }));
        assert.deepEqual((await auth().lockedSubjects()).sort(), [a, b].sort());
        await auth().unlock(a);
        assert.deepEqual(await auth().lockedSubjects(), [b]);
      });

      it('forgets an account’s state on delete', async function () {
        const id = newId();
        await auth().recordFailure(id, at(0), policy({ maxAttempts: 1 }));
        await auth().delete(id);
        assert.deepEqual(await auth().get(id), ZERO);
        assert.deepEqual(await auth().lockedSubjects(), []);
      });
    });
  });
}
