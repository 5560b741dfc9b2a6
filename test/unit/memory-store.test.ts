/**
 * The in-memory store is only useful if it keeps the port contracts that the SQL store keeps;
 * these tests pin the ones core relies on.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'mocha';
import type { AuditEvent } from '../../src/core/audit/event.js';
import type { UserFilter } from '../../src/core/directory/filter.js';
import type { LockoutPolicy } from '../../src/core/directory/organization.js';
import type { User, UserGroup } from '../../src/core/directory/types.js';
import { DomainError } from '../../src/core/errors.js';
import type { FailureResult, Store } from '../../src/core/ports.js';
import { createFakeClock } from '../helpers/fake-clock.js';
import { createMemoryStore } from '../helpers/memory-store.js';

const T0 = new Date('2025-01-15T10:00:00.000Z');
const at = (seconds: number) => new Date(T0.getTime() + seconds * 1000);
const SUBJECT = '0123456789abcdef01234567';

function user(n: number, o: Partial<User> = {}): User {
  return {
    id: `00000000000000000000000${n}`.slice(-24),
    username: `user${n}`,
    email: `user${n}@example.com`,
    firstname: `First${n}`,
    lastname: `Last${n}`,
    displayname: '',
    state: 'ACTIVATED',
    hasPassword: true,
    passwordChangedAt: T0,
    passwordExpiredFlag: false,
    totpEnrolled: false,
    enableUserPortalMultifactor: false,
    mfaExclusion: false,
    mfaExclusionUntil: null,
    ldapBindingUser: false,
    unixUid: 5000 + n,
    unixGuid: 5000 + n,
    jobTitle: '',
    department: '',
    company: '',
    location: '',
    employeeIdentifier: '',
    description: '',
    attributes: [],
    lockedAt: null,
    createdAt: T0,
    updatedAt: T0,
    ...o,
  };
}

const creds = (hash: string | null = '$argon2id$fake') => ({ passwordHash: hash, passwordHistory: [], totpSecret: null, totpPendingSecret: null });

function group(n: number): UserGroup {
  return { id: `g${n}`.padStart(24, '0'), name: `group${n}`, description: '', email: '', posixGid: null, posixName: null, radiusReply: [], createdAt: T0, updatedAt: T0 };
}

describe('memory store', () => {
  describe('authState.recordFailure', () => {
    const policy: LockoutPolicy = { maxAttempts: 3, lockoutSeconds: 600, resetCounterSeconds: 60 };
    const brief = (r: FailureResult) => `${r.failedCount}${r.locked ? 'L' : ''}${r.justLocked ? '!' : ''}`;

    /** Runs failures at the given seconds after T0 and returns "count[L][!]" per failure. */
    async function run(times: number[], p: LockoutPolicy = policy, s: Store = createMemoryStore()): Promise<string[]> {
      const out: string[] = [];
      for (const t of times) out.push(brief(await s.repos.authState.recordFailure(SUBJECT, at(t), p)));
      return out;
    }

    const cases: [string, number[], LockoutPolicy, string[]][] = [
      ['counts from 1, locks at maxAttempts, keeps counting after the lock', [0, 1, 2, 3, 4], policy, ['1', '2', '3L!', '4L', '5L']],
      ['restarts at 1 when the last failure is as old as the reset window', [0, 1, 61], policy, ['1', '2', '1']],
      ['keeps counting when the last failure is younger than the window', [0, 59, 118], policy, ['1', '2', '3L!']],
      ['does not restart the count of a locked account', [0, 1, 2, 1000], policy, ['1', '2', '3L!', '4L']],
      ['never restarts when the window is 0', [0, 10_000, 20_000], { ...policy, resetCounterSeconds: 0 }, ['1', '2', '3L!']],
      ['neither counts nor locks when maxAttempts is 0', [0, 1, 2, 3], { ...policy, maxAttempts: 0 }, ['0', '0', '0', '0']],
      ['locks on the first failure when maxAttempts is 1', [0, 1], { ...policy, maxAttempts: 1 }, ['1L!', '2L']],
    ];
    for (const [what, times, p, expected] of cases) {
      it(what, async () => {
        assert.deepEqual(await run(times, p), expected);
      });
    }

    it('works for a subject whose row was never ensured', async () => {
      const s = createMemoryStore();
      assert.deepEqual(await run([0], policy, s), ['1']);
      assert.equal((await s.repos.authState.get(SUBJECT)).failedCount, 1);
    });

    it('records the lock time and the last failure time', async () => {
      const s = createMemoryStore();
      await run([0, 5, 9], policy, s);
      const st = await s.repos.authState.get(SUBJECT);
      assert.deepEqual(st.lockedAt, at(9));
      assert.deepEqual(st.lastFailedAt, at(9));
      assert.deepEqual(await s.repos.authState.lockedSubjects(), [SUBJECT]);
    });

    it('is atomic under concurrency: distinct counts, one justLocked', async () => {
      const s = createMemoryStore();
      const rs = await Promise.all(Array.from({ length: 25 }, () => s.repos.authState.recordFailure(SUBJECT, at(0), policy)));
      assert.deepEqual(
        rs.map((r) => r.failedCount).sort((a, b) => a - b),
        Array.from({ length: 25 }, (_, i) => i + 1),
      );
      assert.equal(rs.filter((r) => r.justLocked).length, 1);
      assert.equal(rs.find((r) => r.justLocked)?.failedCount, 3);
    });

    it('reports justLocked only for the failure that set the lock, also after clearFailures on a locked account', async () => {
      const s = createMemoryStore();
      await run([0, 1, 2], policy, s);
      await s.repos.authState.clearFailures(SUBJECT);
      assert.deepEqual(await run([3, 4, 5, 6], policy, s), ['1L', '2L', '3L', '4L']);
    });
  });

  describe('authState.unlock', () => {
    const policy: LockoutPolicy = { maxAttempts: 1, lockoutSeconds: 600, resetCounterSeconds: 0 };

    it('clears only the lock it was given when onlyIfLockedAt is set', async () => {
      const s = createMemoryStore();
      await s.repos.authState.recordFailure(SUBJECT, at(0), policy);
      assert.equal(await s.repos.authState.unlock(SUBJECT, at(1)), false);
      assert.equal(await s.repos.authState.unlock(SUBJECT, at(0)), true);
      assert.equal(await s.repos.authState.unlock(SUBJECT, at(0)), false);
      const st = await s.repos.authState.get(SUBJECT);
      assert.deepEqual([st.lockedAt, st.failedCount, st.lastFailedAt], [null, 0, null]);
    });

    it('clears any lock without onlyIfLockedAt, and answers false when there is none', async () => {
      const s = createMemoryStore();
      assert.equal(await s.repos.authState.unlock(SUBJECT), false);
      await s.repos.authState.recordFailure(SUBJECT, at(0), policy);
      assert.equal(await s.repos.authState.unlock(SUBJECT), true);
      assert.deepEqual(await s.repos.authState.lockedSubjects(), []);
    });

    it('lets exactly one of concurrent unlocks of the same lock succeed', async () => {
      const s = createMemoryStore();
      await s.repos.authState.recordFailure(SUBJECT, at(0), policy);
      const rs = await Promise.all(Array.from({ length: 5 }, () => s.repos.authState.unlock(SUBJECT, at(0))));
      assert.equal(rs.filter(Boolean).length, 1);
    });
  });

  describe('authState.acceptTotpStep', () => {
    it('accepts only a step strictly greater than the last accepted', async () => {
      const s = createMemoryStore();
      const steps = [100, 100, 99, 101, 101, 150, 149];
      const got: boolean[] = [];
      for (const step of steps) got.push(await s.repos.authState.acceptTotpStep(SUBJECT, step));
      assert.deepEqual(got, [true, false, false, true, false, true, false]);
      assert.equal((await s.repos.authState.get(SUBJECT)).lastTotpStep, 150);
    });

    it('accepts a step once when it is offered concurrently', async () => {
      const s = createMemoryStore();
      const rs = await Promise.all(Array.from({ length: 6 }, () => s.repos.authState.acceptTotpStep(SUBJECT, 7)));
      assert.equal(rs.filter(Boolean).length, 1);
    });

    it('starts afresh after resetTotpGuard', async () => {
      const s = createMemoryStore();
      await s.repos.authState.ensure(SUBJECT);
      await s.repos.authState.acceptTotpStep(SUBJECT, 500);
      await s.repos.authState.resetTotpGuard(SUBJECT);
      assert.equal(await s.repos.authState.acceptTotpStep(SUBJECT, 10), true);
    });
  });

  describe('users', () => {
    it('derives hasPassword from the credentials and lockedAt from the auth state', async () => {
      const s = createMemoryStore();
      await s.repos.users.create(user(1, { hasPassword: true, lockedAt: at(5) }), creds(null));
      let u = await s.repos.users.get(user(1).id);
      assert.equal(u?.hasPassword, false);
      assert.equal(u?.lockedAt, null);
      await s.repos.authState.recordFailure(user(1).id, at(0), { maxAttempts: 1, lockoutSeconds: 0, resetCounterSeconds: 0 });
      u = await s.repos.users.get(user(1).id);
      assert.deepEqual(u?.lockedAt, at(0));
    });

    it('bumps updatedAt on a change, from the clock it was given', async () => {
      const clock = createFakeClock(at(100));
      const s = createMemoryStore({ clock });
      await s.repos.users.create(user(1), creds());
      await s.repos.users.update(user(1).id, {});
      assert.deepEqual((await s.repos.users.get(user(1).id))?.updatedAt, T0);
      await s.repos.users.update(user(1).id, { jobTitle: 'Engineer' });
      const u = await s.repos.users.get(user(1).id);
      assert.equal(u?.jobTitle, 'Engineer');
      assert.deepEqual(u?.updatedAt, at(100));
    });

    const conflicts: [string, Partial<User>, string][] = [
      ['username', { username: 'user1' }, 'username'],
      ['email', { email: 'user1@example.com' }, 'email'],
      ['unix uid', { unixUid: 5001 }, 'unix_uid'],
    ];
    for (const [what, o, field] of conflicts) {
      it(`refuses a second user with the same ${what} with a conflict DomainError`, async () => {
        const s = createMemoryStore();
        await s.repos.users.create(user(1), creds());
        await assert.rejects(s.repos.users.create(user(2, o), creds()), (e: unknown) => e instanceof DomainError && e.kind === 'conflict' && e.field === field);
      });
    }

    it('hands out copies: changing a returned user changes nothing stored', async () => {
      const s = createMemoryStore();
      await s.repos.users.create(user(1), creds());
      const u = (await s.repos.users.get(user(1).id))!;
      u.username = 'mallory';
      u.createdAt.setTime(0);
      const again = (await s.repos.users.get(user(1).id))!;
      assert.equal(again.username, 'user1');
      assert.deepEqual(again.createdAt, T0);
    });

    it('finds a user for authentication by exact username, or by email when the login has an @', async () => {
      const s = createMemoryStore();
      await s.repos.users.create(user(1), creds());
      assert.equal((await s.repos.users.findForAuth('user1'))?.user.id, user(1).id);
      assert.equal((await s.repos.users.findForAuth('user1@example.com'))?.user.id, user(1).id);
      assert.equal(await s.repos.users.findForAuth('USER1'), null);
    });

    it('removes memberships with the user (foreign key cascade)', async () => {
      const s = createMemoryStore();
      await s.repos.users.create(user(1), creds());
      await s.repos.userGroups.create(group(1));
      await s.repos.userGroups.addMember(group(1).id, user(1).id);
      await s.repos.users.delete(user(1).id);
      assert.deepEqual(await s.repos.userGroups.memberIds(group(1).id, 10, 0), { total: 0, items: [] });
    });
  });

  describe('associations.userHasAccess', () => {
    it('sees direct and group associations, and nothing else', async () => {
      const s = createMemoryStore();
      await s.repos.users.create(user(1), creds());
      await s.repos.users.create(user(2), creds());
      await s.repos.userGroups.create(group(1));
      await s.repos.userGroups.addMember(group(1).id, user(2).id);
      await s.repos.associations.add({ fromType: 'user', fromId: user(1).id, toType: 'ldap_server', toId: 'L1', createdAt: T0 });
      await s.repos.associations.add({ fromType: 'user_group', fromId: group(1).id, toType: 'ldap_server', toId: 'L1', createdAt: T0 });
      assert.equal(await s.repos.associations.userHasAccess(user(1).id, 'ldap_server', 'L1'), true);
      assert.equal(await s.repos.associations.userHasAccess(user(2).id, 'ldap_server', 'L1'), true);
      assert.equal(await s.repos.associations.userHasAccess(user(1).id, 'ldap_server', 'L2'), false);
      assert.equal(await s.repos.associations.userHasAccess(user(1).id, 'radius_server', 'L1'), false);
      assert.equal(await s.repos.associations.add({ fromType: 'user', fromId: user(1).id, toType: 'ldap_server', toId: 'L1', createdAt: T0 }), false);
    });
  });

  describe('transaction', () => {
    it('keeps the writes of a transaction that returns', async () => {
      const s = createMemoryStore();
      const r = await s.transaction(async (tx) => {
        await tx.users.create(user(1), creds());
        return 42;
      });
      assert.equal(r, 42);
      assert.notEqual(await s.repos.users.get(user(1).id), null);
    });

    it('undoes every write of a transaction that throws', async () => {
      const s = createMemoryStore();
      await s.repos.users.create(user(1), creds());
      await assert.rejects(
        s.transaction(async (tx) => {
          await tx.users.update(user(1).id, { firstname: 'Changed' });
          await tx.users.create(user(2), creds());
          await tx.authState.recordFailure(user(1).id, T0, { maxAttempts: 1, lockoutSeconds: 0, resetCounterSeconds: 0 });
          throw new Error('boom');
        }),
        /boom/,
      );
      assert.equal((await s.repos.users.get(user(1).id))?.firstname, 'First1');
      assert.equal(await s.repos.users.get(user(2).id), null);
      assert.equal((await s.repos.authState.get(user(1).id)).failedCount, 0);
    });

    it('holds stand-alone writes until the transaction ends, so a rollback does not lose them', async () => {
      const s = createMemoryStore();
      let release!: () => void;
      const gate = new Promise<void>((r) => (release = r));
      const tx = s.transaction(async (t) => {
        await t.users.create(user(1), creds());
        await gate;
        throw new Error('rollback');
      });
      await Promise.resolve();
      const outside = s.repos.users.create(user(2), creds());
      release();
      await assert.rejects(tx, /rollback/);
      await outside;
      assert.equal(await s.repos.users.get(user(1).id), null);
      assert.notEqual(await s.repos.users.get(user(2).id), null);
    });

    it('fails loudly when a transaction awaits a write through store.repos (a deadlock on SQLite)', async () => {
      const s = createMemoryStore({ lockTimeoutMs: 20 });
      await assert.rejects(
        s.transaction(async () => {
          await s.repos.sequences.next('n', 1);
        }),
        /writer lock timed out/,
      );
    });
  });

  describe('users.query', () => {
    async function seeded() {
      const s = createMemoryStore();
      await s.repos.users.create(user(1, { firstname: 'Ada', department: 'R&D' }), creds());
      await s.repos.users.create(user(2, { firstname: 'alan', department: '' }), creds());
      await s.repos.users.create(user(3, { firstname: 'Grace', state: 'SUSPENDED' }), creds());
      await s.repos.userGroups.create(group(1));
      await s.repos.userGroups.addMember(group(1).id, user(3).id);
      await s.repos.authState.recordFailure(user(1).id, at(0), { maxAttempts: 1, lockoutSeconds: 0, resetCounterSeconds: 0 });
      return s;
    }
    const names = async (s: Store, filter: UserFilter) => (await s.repos.users.query({ filter, limit: 10, offset: 0 })).items.map((u) => u.username);

    const cases: [string, UserFilter, string[]][] = [
      ['text equality, case-insensitively', { op: 'eq', attr: 'firstname', value: 'ALAN' }, ['user2']],
      ['state whatever the case of the value', { op: 'eq', attr: 'state', value: 'suspended' }, ['user3']],
      ['a substring', { op: 'substr', attr: 'firstname', initial: 'a', any: [], final: undefined }, ['user1', 'user2']],
      ['presence, the empty string counting as absent', { op: 'present', attr: 'department' }, ['user1']],
      ['numbers numerically', { op: 'gte', attr: 'unixUid', value: '5002' }, ['user2', 'user3']],
      ['membership', { op: 'eq', attr: 'memberOf', value: group(1).id }, ['user3']],
      ['lockedAt present', { op: 'present', attr: 'lockedAt' }, ['user1']],
      ['"not equal" including rows without a value', { op: 'ne', attr: 'lockedAt', value: at(5).getTime() }, ['user1', 'user2', 'user3']],
      // A comparison with a missing value is false, so its negation matches (filter-sql compiles NOT COALESCE(x, FALSE)).
      ['not over a NULL column, keeping rows without the value', { op: 'not', filter: { op: 'eq', attr: 'lockedAt', value: at(5).getTime() } }, ['user1', 'user2', 'user3']],
      ['an unknown attribute as false', { op: 'eq', attr: 'shoeSize' as never, value: 1 }, []],
      ['a non-numeric value on a number column as false', { op: 'eq', attr: 'unixUid', value: 'abc' }, []],
      ['and/or/not combined', { op: 'or', filters: [{ op: 'eq', attr: 'username', value: 'user1' }, { op: 'not', filter: { op: 'present', attr: 'memberOf' } }] }, ['user1', 'user2']],
    ];
    for (const [what, filter, expected] of cases) {
      it(`matches ${what}`, async () => {
        assert.deepEqual(await names(await seeded(), filter), expected);
      });
    }

    it('sorts, pages and counts the whole match', async () => {
      const s = await seeded();
      const p = await s.repos.users.query({ sort: [{ attr: 'firstname', desc: true }], limit: 2, offset: 1 });
      assert.equal(p.total, 3);
      assert.deepEqual(
        p.items.map((u) => u.firstname),
        ['alan', 'Ada'],
      );
    });

    it('throws "not supported in memory store" for a filter shape it does not know', async () => {
      const s = await seeded();
      await assert.rejects(s.repos.users.query({ filter: { op: 'regex', attr: 'username', value: '.*' } as never, limit: 10, offset: 0 }), /not supported in memory store/);
    });
  });

  describe('audit.query', () => {
    const ev = (n: number, o: Partial<AuditEvent>): AuditEvent => ({
      id: `e${n}`.padStart(24, '0'),
      timestamp: at(n).toISOString(),
      organization: 'org',
      event_type: 'ldap_bind',
      service: 'ldap',
      success: true,
      client_ip: '',
      initiated_by: { type: 'user', username: `u${n}` },
      username: `u${n}`,
      ...o,
    });
    const all = { services: 'all' as const, startTime: at(0), endTime: at(100), limit: 100, skip: 0 };

    it('filters by time, service, exact fields and text, newest first unless ascending', async () => {
      const s = createMemoryStore();
      await s.repos.audit.append([
        ev(1, {}),
        ev(2, { service: 'radius', event_type: 'radius_auth_attempt', success: false }),
        ev(3, { error_message: 'Account LOCKED' }),
        ev(200, {}),
      ]);
      const ids = (es: AuditEvent[]) => es.map((e) => e.username);
      assert.deepEqual(ids(await s.repos.audit.query(all)), ['u3', 'u2', 'u1']);
      assert.deepEqual(ids(await s.repos.audit.query({ ...all, ascending: true })), ['u1', 'u2', 'u3']);
      assert.deepEqual(ids(await s.repos.audit.query({ ...all, services: ['radius'] })), ['u2']);
      assert.deepEqual(ids(await s.repos.audit.query({ ...all, searchText: 'locked' })), ['u3']);
      assert.deepEqual(ids(await s.repos.audit.query({ ...all, match: { mode: 'and', terms: [{ path: 'success', value: 'false' }] } })), ['u2']);
      assert.deepEqual(
        ids(await s.repos.audit.query({ ...all, match: { mode: 'or', terms: [{ path: 'username', value: 'u1' }, { path: 'initiated_by.username', value: 'u3' }] } })),
        ['u3', 'u1'],
      );
      assert.deepEqual(ids(await s.repos.audit.query({ ...all, limit: 1, skip: 1 })), ['u2']);
    });

    it('refuses a duplicate event id', async () => {
      const s = createMemoryStore();
      await s.repos.audit.append([ev(1, {})]);
      await assert.rejects(s.repos.audit.append([ev(1, {})]), (e: unknown) => e instanceof DomainError && e.kind === 'conflict');
    });
  });

  describe('sequences.next', () => {
    it('starts at start and counts up per name', async () => {
      const s = createMemoryStore();
      assert.deepEqual(
        await Promise.all([s.repos.sequences.next('a', 5000), s.repos.sequences.next('a', 5000), s.repos.sequences.next('b', 1)]),
        [5000, 5001, 1],
      );
    });
  });
});
