import assert from 'node:assert/strict';
import type { UserAttr, UserFilter } from '../../../src/core/directory/filter.js';
import type { User } from '../../../src/core/directory/types.js';
import { makeCredentials, makeGroup, makeUser, T0 } from '../../helpers/factories.js';
import { createUserRepository } from '../../../src/store/repositories/users.js';
import type { Sql } from '../../../src/store/sql.js';
import { storeTargets, useTestStore } from '../../helpers/test-store.js';

const NEVER_LOCK = { maxAttempts: 0, lockoutSeconds: 0, resetCounterSeconds: 0 };

for (const target of storeTargets()) {
  describe(`UserRepository (${target})`, function () {
    const ctx = useTestStore(target);
    const users = () => ctx.store.repos.users;

    describe('create and read', function () {
      it('reads back every field of a created user by id', async function () {
        const u = makeUser({
          state: 'STAGED',
          passwordExpiredFlag: true,
          totpEnrolled: true,
          enableUserPortalMultifactor: true,
          mfaExclusion: true,
          mfaExclusionUntil: new Date('2024-06-01T00:00:00.123Z'),
          ldapBindingUser: true,
          unixUid: 70001,
          unixGuid: 70501,
          description: 'multi\nline – ünïcode',
          attributes: [
            { name: 'costCenter', value: '42' },
            { name: 'shell', value: '/bin/zsh' },
          ],
          createdAt: new Date('2024-01-02T03:04:05.678Z'),
          updatedAt: new Date('2024-01-02T03:04:06.789Z'),
        });
        await users().create(u, makeCredentials());
        assert.deepEqual(await users().get(u.id), u);
      });

      it('returns null for an unknown id, username or email', async function () {
        assert.equal(await users().get('000000000000000000000000'), null);
        assert.equal(await users().getByUsername('nobody'), null);
        assert.equal(await users().getByEmail('nobody@example.com'), null);
      });

      it('reports hasPassword false when the credentials carry no hash', async function () {
        const u = makeUser({ hasPassword: false, passwordChangedAt: null });
        await users().create(u, makeCredentials({ passwordHash: null }));
        assert.deepEqual(await users().get(u.id), u);
      });

      it('finds a user by username whatever the case of the input', async function () {
        const u = makeUser({ username: 'grace.hopper' });
        await users().create(u, makeCredentials());
        assert.equal((await users().getByUsername('grace.hopper'))?.id, u.id);
        assert.equal((await users().getByUsername('Grace.HOPPER'))?.id, u.id);
      });

      it('finds a user by email whatever the case of the input', async function () {
        const u = makeUser({ email: 'grace@navy.example' });
        await users().create(u, makeCredentials());
        assert.equal((await users().getByEmail('grace@navy.example'))?.id, u.id);
        assert.equal((await users().getByEmail('Grace@NAVY.example'))?.id, u.id);
      });

      it('getMany returns the users asked for and skips unknown ids', async function () {
        const [a, b, c] = [makeUser(), makeUser(), makeUser()];
        for (const u of [a, b, c]) await users().create(u, makeCredentials());
        const got = await users().getMany([c.id, a.id, '000000000000000000000000']);
        assert.deepEqual(got.map((u) => u.id).sort(), [a.id, c.id].sort());
        assert.deepEqual(await users().getMany([]), []);
      });

      it('returns the stored credentials', async function () {
        const u = makeUser();
        const c = makeCredentials({ passwordHistory: ['$argon2id$old1', '$argon2id$old2'], totpSecret: 'sealed-seed', totpPendingSecret: null });
        await users().create(u, c);
        assert.deepEqual(await users().getCredentials(u.id), c);
        assert.equal(await users().getCredentials('000000000000000000000000'), null);
      });
    });

    describe('update', function () {
      it('changes only the given fields and moves updatedAt', async function () {
        const u = makeUser();
        await users().create(u, makeCredentials());
        const before = Date.now();
        await users().update(u.id, { firstname: 'Augusta', department: 'Mathematics', ldapBindingUser: true, mfaExclusionUntil: new Date('2025-01-01T00:00:00Z') });
        const got = await users().get(u.id);
        assert.ok(got);
        assert.ok(got.updatedAt.getTime() >= before, `updatedAt ${got.updatedAt.toISOString()} should have moved`);
        assert.deepEqual(got, {
          ...u,
          firstname: 'Augusta',
          department: 'Mathematics',
          ldapBindingUser: true,
          mfaExclusionUntil: new Date('2025-01-01T00:00:00Z'),
          updatedAt: got.updatedAt,
        });
      });

      it('touch and touchMembersOf move updatedAt only, of the user and of a group\'s members', async function () {
        const [a, b, c] = [makeUser({ updatedAt: T0 }), makeUser({ updatedAt: T0 }), makeUser({ updatedAt: T0 })];
        for (const u of [a, b, c]) await users().create(u, makeCredentials());
        const g = makeGroup({ updatedAt: T0 });
        await ctx.store.repos.userGroups.create(g);
        await ctx.store.repos.userGroups.addMember(g.id, b.id);
        await ctx.store.repos.userGroups.addMember(g.id, c.id);
        await users().touch(a.id);
        await users().touchMembersOf(g.id);
        for (const u of [a, b, c]) {
          const got = await users().get(u.id);
          assert.ok(got && got.updatedAt.getTime() > T0.getTime(), `${u.username}: updatedAt moved`);
          assert.deepEqual({ ...got, updatedAt: T0 }, { ...u, updatedAt: T0 });
        }
        await ctx.store.repos.userGroups.touch(g.id);
        assert.ok((await ctx.store.repos.userGroups.get(g.id))!.updatedAt.getTime() > T0.getTime());
      });

      it('clears a nullable field set to null and leaves undefined fields alone', async function () {
        const u = makeUser({ mfaExclusion: true, mfaExclusionUntil: new Date('2024-07-01T00:00:00Z') });
        await users().create(u, makeCredentials());
        await users().update(u.id, { mfaExclusion: false, mfaExclusionUntil: null, lastname: undefined });
        const got = await users().get(u.id);
        assert.equal(got?.mfaExclusion, false);
        assert.equal(got?.mfaExclusionUntil, null);
        assert.equal(got?.lastname, u.lastname);
      });

      it('changes nothing, updatedAt included, for an empty patch', async function () {
        const u = makeUser();
        await users().create(u, makeCredentials());
        await users().update(u.id, {});
        assert.deepEqual(await users().get(u.id), u);
      });

      it('renames a user so that the new username and email find it and the old ones do not', async function () {
        const u = makeUser();
        await users().create(u, makeCredentials());
        await users().update(u.id, { username: 'renamed', email: 'renamed@example.com' });
        assert.equal((await users().getByUsername('renamed'))?.id, u.id);
        assert.equal((await users().getByEmail('renamed@example.com'))?.id, u.id);
        assert.equal(await users().getByUsername(u.username), null);
      });

      it('updateCredentials changes only the given credentials, and hasPassword follows the hash', async function () {
        const u = makeUser();
        const c = makeCredentials({ passwordHistory: ['$argon2id$old'] });
        await users().create(u, c);
        await users().updateCredentials(u.id, { totpSecret: 'sealed-totp' });
        assert.deepEqual(await users().getCredentials(u.id), { ...c, totpSecret: 'sealed-totp' });

        await users().updateCredentials(u.id, { passwordHash: null });
        assert.deepEqual(await users().getCredentials(u.id), { ...c, totpSecret: 'sealed-totp', passwordHash: null });
        assert.equal((await users().get(u.id))?.hasPassword, false);

        await users().updateCredentials(u.id, { passwordHash: '$argon2id$new', passwordHistory: ['$argon2id$x', '$argon2id$old'] });
        assert.deepEqual(await users().getCredentials(u.id), {
          passwordHash: '$argon2id$new',
          passwordHistory: ['$argon2id$x', '$argon2id$old'],
          totpSecret: 'sealed-totp',
          totpPendingSecret: null,
        });
        assert.equal((await users().get(u.id))?.hasPassword, true);
      });
    });

    describe('delete', function () {
      it('removes the user and its group memberships, and leaves other users alone', async function () {
        const [u, other] = [makeUser(), makeUser()];
        const g = makeGroup();
        await users().create(u, makeCredentials());
        await users().create(other, makeCredentials());
        await ctx.store.repos.userGroups.create(g);
        await ctx.store.repos.userGroups.addMember(g.id, u.id);
        await ctx.store.repos.userGroups.addMember(g.id, other.id);

        await users().delete(u.id);
        assert.equal(await users().get(u.id), null);
        assert.equal(await users().getByUsername(u.username), null);
        assert.deepEqual(await ctx.store.repos.userGroups.groupIdsOf(u.id), []);
        assert.deepEqual(await ctx.store.repos.userGroups.memberIds(g.id, 10, 0), { total: 1, items: [other.id] });
        assert.ok(await users().get(other.id));
      });
    });

    describe('findForAuth', function () {
      it('returns the user, its credentials and a zero auth state by username', async function () {
        const u = makeUser();
        const c = makeCredentials({ totpSecret: 'sealed' });
        await users().create(u, c);
        assert.deepEqual(await users().findForAuth(u.username), {
          user: u,
          credentials: c,
          authState: { failedCount: 0, lastFailedAt: null, lockedAt: null, lastTotpStep: null },
        });
      });

      it('returns the same by email', async function () {
        const u = makeUser({ email: 'margaret@hamilton.example' });
        const c = makeCredentials();
        await users().create(u, c);
        const got = await users().findForAuth('margaret@hamilton.example');
        assert.equal(got?.user.id, u.id);
        assert.deepEqual(got?.credentials, c);
      });

      it('carries the failure count, lock and TOTP step of the auth state', async function () {
        const u = makeUser();
        await users().create(u, makeCredentials());
        const at = new Date(T0.getTime() + 5000);
        await ctx.store.repos.authState.recordFailure(u.id, T0, { maxAttempts: 2, lockoutSeconds: 600, resetCounterSeconds: 600 });
        await ctx.store.repos.authState.recordFailure(u.id, at, { maxAttempts: 2, lockoutSeconds: 600, resetCounterSeconds: 600 });
        await ctx.store.repos.authState.acceptTotpStep(u.id, 57_000_123);
        const got = await users().findForAuth(u.username);
        assert.deepEqual(got?.authState, { failedCount: 2, lastFailedAt: at, lockedAt: at, lastTotpStep: 57_000_123 });
        assert.deepEqual(got?.user.lockedAt, at);
      });

      it('answers concurrent logins each with its own result, access and object', async function () {
        this.timeout(60_000);
        // 150 logins in one turn: more than one batch (64), users and not, names and emails,
        // one login asked twice; half of the users are bound to the resource.
        const made = Array.from({ length: 100 }, (_, i) => makeUser({ username: `batch${i}`, email: `batch${i}@example.com` }));
        for (const u of made) await users().create(u, makeCredentials());
        const resource = { type: 'radius_server' as const, id: '5f0c1a2b3c4d5e6f70819999' };
        for (const u of made.slice(0, 50)) await ctx.store.repos.associations.add({ fromType: 'user', fromId: u.id, toType: resource.type, toId: resource.id, createdAt: T0 });
        const logins = [
          ...made.map((u, i) => (i % 3 === 0 ? u.email : u.username)),
          ...Array.from({ length: 48 }, (_, i) => (i % 2 ? `ghost${i}` : `ghost${i}@example.com`)),
          made[7]!.username,
          made[7]!.username,
        ];
        const got = await Promise.all(logins.map((l) => users().findForAuth(l, resource)));
        const plain = await Promise.all(logins.slice(0, 5).map((l) => users().findForAuth(l)));
        made.forEach((u, i) => {
          assert.equal(got[i]?.user.id, u.id, logins[i]);
          assert.equal(got[i]?.hasAccess, i < 50, logins[i]);
        });
        for (const g of got.slice(100, 148)) assert.equal(g, null);
        assert.equal(got[148]?.user.id, made[7]!.id);
        assert.notEqual(got[148], got[149], 'each caller its own object');
        assert.deepEqual(got[148], got[149]);
        plain.forEach((p, i) => {
          assert.equal(p?.user.id, made[i]!.id);
          assert.equal(p?.hasAccess, undefined);
        });
      });

      it('answers logins no user can have with null, without failing the others read with them', async function () {
        const u = makeUser();
        await users().create(u, makeCredentials());
        const got = await Promise.all(['a\u0000b', 'x\ud800', 'tab\there', u.username].map((l) => users().findForAuth(l)));
        assert.deepEqual(got.slice(0, 3), [null, null, null]);
        assert.equal(got[3]?.user.id, u.id);
      });

      it('returns null for an unknown login', async function () {
        assert.equal(await users().findForAuth('nobody'), null);
        assert.equal(await users().findForAuth('nobody@example.com'), null);
      });
    });

    describe('uniqueness', function () {
      it('rejects a second user with the same username', async function () {
        const u = makeUser({ username: 'taken' });
        await users().create(u, makeCredentials());
        await assert.rejects(users().create(makeUser({ username: 'taken', email: 'other@example.com' }), makeCredentials()));
        assert.deepEqual(await users().get(u.id), u);
      });

      it('rejects a second user with the same email', async function () {
        await users().create(makeUser({ email: 'same@example.com' }), makeCredentials());
        await assert.rejects(users().create(makeUser({ email: 'same@example.com' }), makeCredentials()));
      });

      it('rejects a second user with the same unix uid', async function () {
        await users().create(makeUser({ unixUid: 12345 }), makeCredentials());
        await assert.rejects(users().create(makeUser({ unixUid: 12345 }), makeCredentials()));
      });

      it('rejects an update onto another user’s username', async function () {
        const [a, b] = [makeUser(), makeUser()];
        await users().create(a, makeCredentials());
        await users().create(b, makeCredentials());
        await assert.rejects(users().update(b.id, { username: a.username }));
        assert.equal((await users().get(b.id))?.username, b.username);
      });
    });

    describe('unixIdInUse', function () {
      it('sees uids, user gids and group gids, and nothing else', async function () {
        await users().create(makeUser({ unixUid: 20001, unixGuid: 30001 }), makeCredentials());
        await ctx.store.repos.userGroups.create(makeGroup({ posixGid: 40001, posixName: 'staff' }));
        assert.equal(await users().unixIdInUse(20001), true);
        assert.equal(await users().unixIdInUse(30001), true);
        assert.equal(await users().unixIdInUse(40001), true);
        assert.equal(await users().unixIdInUse(20002), false);
      });
    });

    describe('query', function () {
      let alice: User, bob: User, carol: User, daveOps: User, davexOps: User, erin: User;
      let groupId: string;

      const q = async (filter: UserFilter | undefined, extra: { sort?: { attr: UserAttr; desc: boolean }[]; limit?: number; offset?: number } = {}) =>
        users().query({ filter, sort: extra.sort, limit: extra.limit ?? 100, offset: extra.offset ?? 0 });
      const names = async (filter: UserFilter) => (await q(filter)).items.map((u) => u.username).sort();

      beforeEach(async function () {
        alice = makeUser({ username: 'alice', firstname: 'Alice', lastname: 'Archer', unixUid: 10001, unixGuid: 10001, department: 'Research', jobTitle: '100% Engineer' });
        bob = makeUser({ username: 'bob', firstname: 'Bob', lastname: 'Baker', unixUid: 10002, unixGuid: 10002, department: 'Sales', jobTitle: 'Sales_Lead', ldapBindingUser: true });
        carol = makeUser({ username: 'carol', firstname: 'Carol', lastname: 'Cooper', unixUid: 10003, unixGuid: 10003, department: 'Research', jobTitle: '1000 Engineer', state: 'SUSPENDED' });
        daveOps = makeUser({ username: 'dave_ops', firstname: 'Dave', lastname: 'Dunn', unixUid: 10004, unixGuid: 10004, department: '', jobTitle: 'SalesXLead' });
        davexOps = makeUser({ username: 'davexops', firstname: 'davey', lastname: 'Dunn', unixUid: 10005, unixGuid: 10005, department: '', jobTitle: 'Operator' });
        erin = makeUser({ username: 'erin', firstname: 'Erin', lastname: 'Evans', unixUid: 10006, unixGuid: 10006, department: 'Sales', totpEnrolled: true, hasPassword: false, passwordChangedAt: null, state: 'STAGED' });
        for (const u of [alice, bob, carol, daveOps, davexOps, erin]) {
          await users().create(u, makeCredentials({ passwordHash: u.hasPassword ? '$argon2id$hash' : null }));
        }
        const g = makeGroup();
        groupId = g.id;
        await ctx.store.repos.userGroups.create(g);
        await ctx.store.repos.userGroups.addMember(g.id, alice.id);
        await ctx.store.repos.userGroups.addMember(g.id, bob.id);
      });

      it('returns every user with a total when there is no filter', async function () {
        const page = await q(undefined);
        assert.equal(page.total, 6);
        assert.equal(page.items.length, 6);
        assert.deepEqual(page.items.find((u) => u.id === bob.id), bob);
      });

      it('matches username equality case-insensitively', async function () {
        assert.deepEqual(await names({ op: 'eq', attr: 'username', value: 'ALICE' }), ['alice']);
        assert.deepEqual(await names({ op: 'eq', attr: 'email', value: 'Bob@Example.com' }), ['bob']);
        assert.deepEqual(await names({ op: 'eq', attr: 'firstname', value: 'cAROL' }), ['carol']);
      });

      it('matches nothing with text no stored value can hold (NUL, a lone surrogate), on either store', async function () {
        const all = ['alice', 'bob', 'carol', 'dave_ops', 'davexops', 'erin'];
        for (const value of ['al\u0000ice', 'x\ud800']) {
          assert.deepEqual(await names({ op: 'eq', attr: 'username', value }), [], JSON.stringify(value));
          assert.deepEqual(await names({ op: 'eq', attr: 'id', value }), []);
          assert.deepEqual(await names({ op: 'eq', attr: 'memberOf', value }), []);
          assert.deepEqual(await names({ op: 'in', attr: 'username', values: [value, 'bob'] }), ['bob']);
          assert.deepEqual(await names({ op: 'substr', attr: 'firstname', any: [value] }), []);
          assert.deepEqual(await names({ op: 'ne', attr: 'username', value }), all);
          assert.deepEqual(await names({ op: 'not', filter: { op: 'eq', attr: 'lastname', value } }), all);
        }
      });

      it('matches non-ASCII text case-insensitively, the exact stored value included', async function () {
        const zoe = makeUser({ firstname: 'Zoë', lastname: 'ÖZTÜRK' });
        await users().create(zoe, makeCredentials());
        assert.deepEqual(await names({ op: 'eq', attr: 'lastname', value: 'ÖZTÜRK' }), [zoe.username], 'exact value');
        assert.deepEqual(await names({ op: 'eq', attr: 'lastname', value: 'öztürk' }), [zoe.username], 'lower-case value');
        assert.deepEqual(await names({ op: 'eq', attr: 'firstname', value: 'ZOË' }), [zoe.username], 'upper-case value');
        assert.deepEqual(await names({ op: 'substr', attr: 'lastname', any: ['ztür'] }), [zoe.username], 'substring');
      });

      it('matches state equality whatever the case of the value', async function () {
        assert.deepEqual(await names({ op: 'eq', attr: 'state', value: 'suspended' }), ['carol']);
      });

      it('matches substrings at the start, anywhere and at the end', async function () {
        assert.deepEqual(await names({ op: 'substr', attr: 'username', initial: 'ca', any: [] }), ['carol']);
        assert.deepEqual(await names({ op: 'substr', attr: 'username', any: ['ro'] }), ['carol']);
        assert.deepEqual(await names({ op: 'substr', attr: 'username', any: [], final: 'ops' }), ['dave_ops', 'davexops']);
        assert.deepEqual(await names({ op: 'substr', attr: 'username', initial: 'a', any: ['li'], final: 'e' }), ['alice']);
        assert.deepEqual(await names({ op: 'substr', attr: 'lastname', any: ['ARCH'] }), ['alice']);
        assert.deepEqual(await names({ op: 'substr', attr: 'username', initial: 'ALI', any: [] }), ['alice']);
      });

      it('treats % and _ in a substring value as literal characters', async function () {
        assert.deepEqual(await names({ op: 'substr', attr: 'username', any: ['e_o'] }), ['dave_ops']);
        assert.deepEqual(await names({ op: 'substr', attr: 'username', initial: 'dave_', any: [] }), ['dave_ops']);
        assert.deepEqual(await names({ op: 'substr', attr: 'jobTitle', any: ['0%'] }), ['alice']);
        assert.deepEqual(await names({ op: 'substr', attr: 'jobTitle', any: ['s_l'] }), ['bob']);
        assert.deepEqual(await names({ op: 'substr', attr: 'jobTitle', initial: '%', any: [] }), []);
        assert.deepEqual(await names({ op: 'substr', attr: 'jobTitle', any: ['\\'] }), []);
      });

      it('matches presence, an empty string counting as absent', async function () {
        assert.deepEqual(await names({ op: 'present', attr: 'department' }), ['alice', 'bob', 'carol', 'erin']);
        assert.deepEqual(await names({ op: 'present', attr: 'username' }), ['alice', 'bob', 'carol', 'dave_ops', 'davexops', 'erin']);
      });

      it('combines conditions with not, and, or', async function () {
        assert.deepEqual(await names({ op: 'not', filter: { op: 'eq', attr: 'department', value: 'research' } }), ['bob', 'dave_ops', 'davexops', 'erin']);
        assert.deepEqual(
          await names({
            op: 'and',
            filters: [
              { op: 'eq', attr: 'department', value: 'Research' },
              { op: 'not', filter: { op: 'eq', attr: 'state', value: 'SUSPENDED' } },
            ],
          }),
          ['alice'],
        );
        assert.deepEqual(
          await names({
            op: 'or',
            filters: [
              { op: 'eq', attr: 'username', value: 'erin' },
              { op: 'substr', attr: 'username', initial: 'dave', any: [] },
            ],
          }),
          ['dave_ops', 'davexops', 'erin'],
        );
        assert.deepEqual(await names({ op: 'and', filters: [] }), ['alice', 'bob', 'carol', 'dave_ops', 'davexops', 'erin']);
        assert.deepEqual(await names({ op: 'or', filters: [] }), []);
        assert.deepEqual(await names({ op: 'true' }), ['alice', 'bob', 'carol', 'dave_ops', 'davexops', 'erin']);
        assert.deepEqual(await names({ op: 'false' }), []);
      });

      it('includes users without a value in "not equal"', async function () {
        assert.deepEqual(await names({ op: 'ne', attr: 'department', value: 'Research' }), ['bob', 'dave_ops', 'davexops', 'erin']);
      });

      it('compares unix ids numerically with gte, lte, gt and lt', async function () {
        assert.deepEqual(await names({ op: 'gte', attr: 'unixUid', value: 10005 }), ['davexops', 'erin']);
        assert.deepEqual(await names({ op: 'lte', attr: 'unixUid', value: '10002' }), ['alice', 'bob']);
        assert.deepEqual(
          await names({ op: 'and', filters: [{ op: 'gt', attr: 'unixUid', value: 10002 }, { op: 'lt', attr: 'unixUid', value: 10004 }] }),
          ['carol'],
        );
        // 9999 < 10001 numerically although "9999" > "10001" as text.
        assert.deepEqual(await names({ op: 'gte', attr: 'unixGuid', value: 9999 }), ['alice', 'bob', 'carol', 'dave_ops', 'davexops', 'erin']);
      });

      it('matches any of a list with in', async function () {
        assert.deepEqual(await names({ op: 'in', attr: 'username', values: ['ALICE', 'bob', 'nobody'] }), ['alice', 'bob']);
        assert.deepEqual(await names({ op: 'in', attr: 'unixUid', values: [10001, 'not-a-number', '10003'] }), ['alice', 'carol']);
        assert.deepEqual(await names({ op: 'in', attr: 'username', values: [] }), []);
      });

      it('matches boolean attributes given as booleans or as text', async function () {
        assert.deepEqual(await names({ op: 'eq', attr: 'ldapBindingUser', value: true }), ['bob']);
        assert.deepEqual(await names({ op: 'eq', attr: 'ldapBindingUser', value: 'TRUE' }), ['bob']);
        assert.deepEqual(await names({ op: 'eq', attr: 'totpEnrolled', value: true }), ['erin']);
        assert.deepEqual(await names({ op: 'eq', attr: 'hasPassword', value: false }), ['erin']);
        assert.deepEqual(await names({ op: 'eq', attr: 'hasPassword', value: 'true' }), ['alice', 'bob', 'carol', 'dave_ops', 'davexops']);
        assert.deepEqual(await names({ op: 'eq', attr: 'ldapBindingUser', value: 'maybe' }), []);
      });

      it('matches group membership with memberOf', async function () {
        assert.deepEqual(await names({ op: 'eq', attr: 'memberOf', value: groupId }), ['alice', 'bob']);
        assert.deepEqual(await names({ op: 'in', attr: 'memberOf', values: [groupId, '000000000000000000000000'] }), ['alice', 'bob']);
        assert.deepEqual(await names({ op: 'present', attr: 'memberOf' }), ['alice', 'bob']);
        assert.deepEqual(await names({ op: 'not', filter: { op: 'eq', attr: 'memberOf', value: groupId } }), ['carol', 'dave_ops', 'davexops', 'erin']);
        assert.deepEqual(await names({ op: 'eq', attr: 'memberOf', value: '000000000000000000000000' }), []);
      });

      it('sees lockedAt once an account is locked', async function () {
        assert.deepEqual(await names({ op: 'present', attr: 'lockedAt' }), []);
        const at = new Date(T0.getTime() + 60_000);
        const r = await ctx.store.repos.authState.recordFailure(carol.id, at, { maxAttempts: 1, lockoutSeconds: 0, resetCounterSeconds: 0 });
        assert.equal(r.justLocked, true);
        await ctx.store.repos.authState.recordFailure(erin.id, at, NEVER_LOCK);
        const page = await q({ op: 'present', attr: 'lockedAt' });
        assert.deepEqual(page.items.map((u) => u.username), ['carol']);
        assert.deepEqual(page.items[0]?.lockedAt, at);
        assert.deepEqual(await names({ op: 'gte', attr: 'lockedAt', value: at.toISOString() }), ['carol']);
      });

      it('matches by id and by creation time', async function () {
        assert.deepEqual(await names({ op: 'eq', attr: 'id', value: erin.id }), ['erin']);
        assert.equal((await q({ op: 'gte', attr: 'createdAt', value: T0.toISOString() })).total, 6);
        assert.equal((await q({ op: 'lt', attr: 'createdAt', value: T0.getTime() })).total, 0);
      });

      it('sorts ascending and descending, text case-insensitively and numbers numerically', async function () {
        const asc = await q(undefined, { sort: [{ attr: 'username', desc: false }] });
        assert.deepEqual(asc.items.map((u) => u.username), ['alice', 'bob', 'carol', 'dave_ops', 'davexops', 'erin']);
        const desc = await q(undefined, { sort: [{ attr: 'unixUid', desc: true }] });
        assert.deepEqual(desc.items.map((u) => u.username), ['erin', 'davexops', 'dave_ops', 'carol', 'bob', 'alice']);
        const byDeptThenName = await q(undefined, {
          sort: [
            { attr: 'department', desc: true },
            { attr: 'username', desc: false },
          ],
        });
        assert.deepEqual(byDeptThenName.items.map((u) => u.username), ['bob', 'erin', 'alice', 'carol', 'dave_ops', 'davexops']);
        // "davey" is stored lower-case: a binary sort would put it after "Erin".
        const byFirstname = await q(undefined, { sort: [{ attr: 'firstname', desc: false }] });
        assert.deepEqual(byFirstname.items.map((u) => u.firstname), ['Alice', 'Bob', 'Carol', 'Dave', 'davey', 'Erin']);
      });

      it('pages with limit and offset and reports the total of the whole match', async function () {
        const sort = [{ attr: 'username' as const, desc: false }];
        const p1 = await q(undefined, { sort, limit: 2, offset: 0 });
        const p2 = await q(undefined, { sort, limit: 2, offset: 2 });
        const p4 = await q(undefined, { sort, limit: 2, offset: 6 });
        assert.deepEqual([p1.total, p2.total, p4.total], [6, 6, 6]);
        assert.deepEqual(p1.items.map((u) => u.username), ['alice', 'bob']);
        assert.deepEqual(p2.items.map((u) => u.username), ['carol', 'dave_ops']);
        assert.deepEqual(p4.items, []);
        const filtered = await q({ op: 'eq', attr: 'department', value: 'research' }, { sort, limit: 1, offset: 1 });
        assert.equal(filtered.total, 2);
        assert.deepEqual(filtered.items.map((u) => u.username), ['carol']);
      });

      it('matches nothing, without throwing, for a non-numeric value on a number or time column', async function () {
        for (const f of [
          { op: 'eq', attr: 'unixUid', value: 'abc' },
          { op: 'gte', attr: 'unixUid', value: '10001abc' },
          { op: 'lte', attr: 'unixGuid', value: '1e9' },
          { op: 'in', attr: 'unixUid', values: ['x', 'y'] },
          { op: 'substr', attr: 'unixUid', any: ['100'] },
          { op: 'eq', attr: 'createdAt', value: 'yesterday-ish' },
        ] satisfies UserFilter[]) {
          const page = await q(f);
          assert.deepEqual(page, { total: 0, items: [] }, JSON.stringify(f));
        }
      });

      it('matches nothing for an attribute it does not know', async function () {
        const page = await q({ op: 'eq', attr: 'shoeSize' as UserAttr, value: '42' });
        assert.deepEqual(page, { total: 0, items: [] });
      });
    });
  });
}

describe('UserRepository.findForAuth batching', function () {
  it('reads the logins asked for in one turn with one statement per 64, padded to a few list lengths', async function () {
    const statements: { text: string; params: unknown[] }[] = [];
    const sql = {
      dialect: 'sqlite',
      rows: async (text: string, params: unknown[]) => {
        statements.push({ text, params });
        return [];
      },
    } as unknown as Sql;
    const repo = createUserRepository(sql);
    const access = { type: 'ldap_server' as const, id: 'l1' };
    await Promise.all([
      ...Array.from({ length: 70 }, (_, i) => repo.findForAuth(`u${i}`, access)),
      repo.findForAuth('a@example.com', access),
      repo.findForAuth('u1'),
    ]);
    const lists = statements.map((s) => (s.text.match(/IN \(([^)]*)\)/)?.[1] ?? '').split(',').length).sort((a, b) => a - b);
    // 70 names for access l1 (64 + 6 padded to 16), one email, one name without access.
    assert.deepEqual(lists, [1, 1, 16, 64]);
    assert.equal(statements.length, 4);
  });
});
