import assert from 'node:assert/strict';
import { DomainError } from '../../../src/core/errors.js';
import { makeAuditEvent, makeCredentials, makeGroup, makeUser, T0 } from '../../helpers/factories.js';
import { storeTargets, useTestStore } from '../../helpers/test-store.js';
import { newId } from '../../../src/util/ids.js';

for (const target of storeTargets()) {
  describe(`Store.transaction (${target})`, function () {
    const ctx = useTestStore(target);

    it('returns what the function returns, with its writes committed', async function () {
      const u = makeUser();
      const result = await ctx.store.transaction(async (tx) => {
        await tx.users.create(u, makeCredentials());
        return { created: u.id };
      });
      assert.deepEqual(result, { created: u.id });
      assert.deepEqual(await ctx.store.repos.users.get(u.id), u);
    });

    it('sees its own writes before it commits', async function () {
      const u = makeUser();
      await ctx.store.transaction(async (tx) => {
        await tx.users.create(u, makeCredentials());
        assert.equal((await tx.users.getByUsername(u.username))?.id, u.id);
        assert.equal((await tx.users.query({ filter: { op: 'eq', attr: 'id', value: u.id }, limit: 1, offset: 0 })).total, 1);
      });
    });

    it('rolls back every write when the function throws, and rethrows its error', async function () {
      const existing = makeUser();
      await ctx.store.repos.users.create(existing, makeCredentials());
      await ctx.store.repos.sequences.next('uid', 100);
      const u = makeUser();
      const g = makeGroup();
      const event = makeAuditEvent();
      const boom = new Error('boom');
      await assert.rejects(
        ctx.store.transaction(async (tx) => {
          await tx.users.create(u, makeCredentials());
          await tx.userGroups.create(g);
          await tx.userGroups.addMember(g.id, u.id);
          await tx.users.update(existing.id, { department: 'Changed' });
          await tx.associations.add({ fromType: 'user', fromId: u.id, toType: 'application', toId: newId(), createdAt: T0 });
          await tx.authState.recordFailure(existing.id, T0, { maxAttempts: 1, lockoutSeconds: 0, resetCounterSeconds: 0 });
          await tx.sequences.next('uid', 100);
          await tx.audit.append([event]);
          throw boom;
        }),
        (err) => err === boom,
      );
      assert.equal(await ctx.store.repos.users.get(u.id), null);
      assert.equal(await ctx.store.repos.userGroups.get(g.id), null);
      assert.deepEqual(await ctx.store.repos.users.get(existing.id), existing);
      assert.deepEqual(await ctx.store.repos.associations.listFrom('user', u.id), []);
      assert.equal((await ctx.store.repos.authState.get(existing.id)).failedCount, 0);
      assert.deepEqual(await ctx.store.repos.authState.lockedSubjects(), []);
      assert.equal(await ctx.store.repos.sequences.next('uid', 100), 101);
      assert.deepEqual(
        await ctx.store.repos.audit.query({ services: 'all', startTime: new Date(0), endTime: new Date(T0.getTime() + 1), limit: 10, skip: 0 }),
        [],
      );
    });

    it('surfaces a unique violation as a DomainError of kind conflict, and rolls back', async function () {
      const taken = makeUser({ username: 'taken' });
      await ctx.store.repos.users.create(taken, makeCredentials());
      const g = makeGroup();
      const err = await ctx.store
        .transaction(async (tx) => {
          await tx.userGroups.create(g);
          await tx.users.create(makeUser({ username: 'taken' }), makeCredentials());
        })
        .then(
          () => assert.fail('the transaction should have failed'),
          (e: unknown) => e,
        );
      assert.ok(err instanceof DomainError, `expected a DomainError, got ${String(err)}`);
      assert.equal(err.kind, 'conflict');
      assert.equal(err.code, 'directory.conflict');
      assert.equal(await ctx.store.repos.userGroups.get(g.id), null);
      assert.deepEqual(await ctx.store.repos.users.getByUsername('taken'), taken);
    });

    it('names the conflicting column in the conflict error', async function () {
      const taken = makeUser({ email: 'dup@example.com' });
      await ctx.store.repos.users.create(taken, makeCredentials());
      const conflictOf = (u: ReturnType<typeof makeUser>) =>
        ctx.store.transaction((tx) => tx.users.create(u, makeCredentials())).then(
          () => assert.fail('the transaction should have failed'),
          (e: unknown) => (e instanceof DomainError ? { kind: e.kind, field: e.field, message: e.message } : e),
        );
      assert.deepEqual(await conflictOf(makeUser({ username: taken.username })), {
        kind: 'conflict',
        field: 'username',
        message: 'username is already in use',
      });
      assert.deepEqual(await conflictOf(makeUser({ email: 'dup@example.com' })), {
        kind: 'conflict',
        field: 'email',
        message: 'email is already in use',
      });
    });

    it('runs 50 concurrent write transactions to completion', async function () {
      this.timeout(60_000);
      const made = Array.from({ length: 50 }, () => makeUser());
      const results = await Promise.allSettled(
        made.map((u, i) =>
          ctx.store.transaction(async (tx) => {
            await tx.users.create(u, makeCredentials());
            await tx.authState.recordFailure(u.id, T0, { maxAttempts: 5, lockoutSeconds: 0, resetCounterSeconds: 0 });
            await tx.sequences.next('concurrent', 1);
            return i;
          }),
        ),
      );
      const failed = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
      assert.deepEqual(failed.map((r) => String(r.reason)), []);
      assert.equal((await ctx.store.repos.users.query({ limit: 1, offset: 0 })).total, 50);
      assert.equal(await ctx.store.repos.sequences.next('concurrent', 1), 51);
    });

    it('lets stand-alone writes and reads proceed while transactions run', async function () {
      this.timeout(60_000);
      const inTx = Array.from({ length: 10 }, () => makeUser());
      const outside = Array.from({ length: 10 }, () => makeUser());
      await Promise.all([
        ...inTx.map((u) => ctx.store.transaction((tx) => tx.users.create(u, makeCredentials()))),
        ...outside.map((u) => ctx.store.repos.users.create(u, makeCredentials())),
        ...outside.map(() => ctx.store.repos.users.query({ limit: 1, offset: 0 })),
      ]);
      assert.equal((await ctx.store.repos.users.query({ limit: 1, offset: 0 })).total, 20);
    });
  });
}
