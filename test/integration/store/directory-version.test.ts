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

    /** Asserts that `write` moves the version (or leaves it, with `moves` false). */
    const expectBump = async (moves: boolean, write: () => Promise<unknown>) => {
      const before = await version();
      await write();
      const after = await version();
      if (moves) assert.ok(after > before, `expected the version to move (${before} → ${after})`);
      else assert.equal(after, before, 'expected the version to stay');
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
      await expectBump(true, () => ctx.store.repos.users.create(user, makeCredentials()));
      await expectBump(true, () => ctx.store.repos.users.update(user.id, { state: 'SUSPENDED' }));
      const group = makeGroup();
      await expectBump(true, () => ctx.store.transaction((tx) => tx.userGroups.create(group)));
      await expectBump(true, () => ctx.store.repos.userGroups.addMember(group.id, user.id));
      await expectBump(true, () => ctx.store.repos.associations.add({ fromType: 'user_group', fromId: group.id, toType: 'radius_server', toId: 'r1', createdAt: T0 }));
    });

    it('moves when an account gets its first failure, its lock, or its failures cleared; not with more failures, the TOTP replay guard or the rows of unknown logins', async function () {
      const user = makeUser();
      await ctx.store.repos.users.create(user, makeCredentials());
      await ctx.store.repos.authState.ensure(user.id);
      await expectBump(true, () => ctx.store.repos.authState.recordFailure(user.id, T0, policy));
      for (let i = 2; i < policy.maxAttempts; i++) await expectBump(false, () => ctx.store.repos.authState.recordFailure(user.id, T0, policy));
      await expectBump(true, async () => assert.equal((await ctx.store.repos.authState.recordFailure(user.id, T0, policy)).justLocked, true));
      await expectBump(true, () => ctx.store.repos.authState.unlock(user.id));
      await ctx.store.repos.authState.recordFailure(user.id, T0, policy);
      await expectBump(true, () => ctx.store.repos.authState.clearFailures(user.id));
      await expectBump(false, () => ctx.store.repos.authState.clearFailures(user.id));
      await expectBump(false, () => ctx.store.repos.authState.acceptTotpStep(user.id, 1234));
      const unknown = unknownLoginSubject('nobody');
      await ctx.store.repos.authState.ensure(unknown);
      await expectBump(false, () => ctx.store.repos.authState.recordFailure(unknown, T0, { maxAttempts: 0, lockoutSeconds: 0, resetCounterSeconds: 0 }));
    });

    if (target === 'postgres') {
      it('moves once per transaction, at its commit, and with a TRUNCATE', async function () {
        const before = await version();
        await ctx.store.transaction(async (tx) => {
          for (let i = 0; i < 3; i++) await tx.userGroups.create(makeGroup());
        });
        assert.equal(await version(), before + 1);
        await expectBump(true, () => ctx.current.sequelize.query('TRUNCATE system_group_members'));
      });
    }

    it('stays with writes to the audit trail', async function () {
      await expectBump(false, () => ctx.store.repos.audit.append([makeAuditEvent(), makeAuditEvent()]));
    });
  });
}
