import assert from 'node:assert/strict';
import { QueryTypes } from 'sequelize';
import { UNWATCHED_TABLES, WATCHED_TABLES } from '../../../src/store/migrations/0012-directory-version.js';
import { unknownLoginSubject } from '../../../src/core/auth/authenticate.js';
import { makeAuditEvent, makeCredentials, makeGroup, makeUser, T0 } from '../../helpers/factories.js';
import { storeTargets, useTestStore } from '../../helpers/test-store.js';

const policy = { maxAttempts: 5, lockoutSeconds: 600, resetCounterSeconds: 600 };

for (const target of storeTargets()) {
  describe(`directory version (${target})`, function () {
    const ctx = useTestStore(target);
    const version = () => ctx.store.directoryVersion!();
    type Counter = 'directory' | 'failures';

    /** Asserts that `write` moves exactly the counters in `moves`. */
    const expectBump = async (moves: Counter[], write: () => Promise<unknown>) => {
      const before = await version();
      await write();
      const after = await version();
      for (const c of ['directory', 'failures'] as const) {
        if (moves.includes(c)) assert.ok(after[c] > before[c], `expected ${c} to move (${before[c]} → ${after[c]})`);
        else assert.equal(after[c], before[c], `expected ${c} to stay`);
      }
    };

    it('classifies every table: a new table must say whether its writes change what the caches keep', async function () {
      const rows = await ctx.current.sequelize.query<{ name: string }>(
        target === 'postgres'
          ? "SELECT table_name AS name FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'"
          : "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'",
        { type: QueryTypes.SELECT },
      );
      const known = new Set<string>([...WATCHED_TABLES, ...UNWATCHED_TABLES, 'auth_state']);
      const unclassified = rows.map((r) => r.name).filter((n) => !known.has(n));
      assert.deepEqual(unclassified, []);
    });

    it('moves with directory writes, through repositories and transactions alike', async function () {
      const user = makeUser();
      await expectBump(['directory'], () => ctx.store.repos.users.create(user, makeCredentials()));
      await expectBump(['directory'], () => ctx.store.repos.users.update(user.id, { state: 'SUSPENDED' }));
      const group = makeGroup();
      await expectBump(['directory'], () => ctx.store.transaction((tx) => tx.userGroups.create(group)));
      await expectBump(['directory'], () => ctx.store.repos.userGroups.addMember(group.id, user.id));
      await expectBump(['directory'], () => ctx.store.repos.associations.add({ fromType: 'user_group', fromId: group.id, toType: 'radius_server', toId: 'r1', createdAt: T0 }));
    });

    it('moves the failures counter alone with an account\'s first failure or its failures cleared; the directory with a lock or an unlock; neither with more failures, the TOTP replay guard or the rows of unknown logins', async function () {
      const user = makeUser();
      await ctx.store.repos.users.create(user, makeCredentials());
      await ctx.store.repos.authState.ensure(user.id);
      await expectBump(['failures'], () => ctx.store.repos.authState.recordFailure(user.id, T0, policy));
      for (let i = 2; i < policy.maxAttempts; i++) await expectBump([], () => ctx.store.repos.authState.recordFailure(user.id, T0, policy));
      await expectBump(['directory'], async () => assert.equal((await ctx.store.repos.authState.recordFailure(user.id, T0, policy)).justLocked, true));
      await expectBump(['directory', 'failures'], () => ctx.store.repos.authState.unlock(user.id));
      await expectBump(['failures'], () => ctx.store.repos.authState.recordFailure(user.id, T0, policy));
      await expectBump(['failures'], () => ctx.store.repos.authState.clearFailures(user.id));
      await expectBump([], () => ctx.store.repos.authState.clearFailures(user.id));
      await expectBump([], () => ctx.store.repos.authState.acceptTotpStep(user.id, 1234));
      // A lock at the first failure moves both.
      await expectBump(['directory', 'failures'], () => ctx.store.repos.authState.recordFailure(user.id, T0, { ...policy, maxAttempts: 1 }));
      await expectBump(['directory'], () => ctx.store.repos.authState.delete(user.id));
      const unknown = unknownLoginSubject('nobody');
      await ctx.store.repos.authState.ensure(unknown);
      await expectBump([], () => ctx.store.repos.authState.recordFailure(unknown, T0, { maxAttempts: 0, lockoutSeconds: 0, resetCounterSeconds: 0 }));
      await expectBump([], () => ctx.store.repos.authState.recordFailure(unknown, T0, policy));
    });

    if (target === 'postgres') {
      it('moves each counter once per transaction, at its commit, and with a TRUNCATE', async function () {
        const before = await version();
        await ctx.store.transaction(async (tx) => {
          for (let i = 0; i < 3; i++) await tx.userGroups.create(makeGroup());
        });
        assert.deepEqual(await version(), { directory: before.directory + 1, failures: before.failures });
        const users = [makeUser(), makeUser()];
        for (const u of users) {
          await ctx.store.repos.users.create(u, makeCredentials());
          await ctx.store.repos.authState.ensure(u.id);
        }
        const mid = await version();
        await ctx.store.transaction(async (tx) => {
          for (const u of users) await tx.authState.recordFailure(u.id, T0, policy);
          await tx.userGroups.create(makeGroup());
        });
        assert.deepEqual(await version(), { directory: mid.directory + 1, failures: mid.failures + 1 });
        await expectBump(['directory'], () => ctx.current.sequelize.query('TRUNCATE system_group_members'));
      });
    }

    it('stays with writes to the audit trail', async function () {
      await expectBump([], () => ctx.store.repos.audit.append([makeAuditEvent(), makeAuditEvent()]));
    });
  });
}
