import assert from 'node:assert/strict';
import fc from 'fast-check';
import { systemActor } from '../../../src/core/access/actor.js';
import type { UserFilter } from '../../../src/core/directory/filter.js';
import type { LdapPrincipal, UserEntry } from '../../../src/core/directory/ldap-directory.js';
import { hidingFilters, hidingRules, lastingVisibility } from '../../../src/core/directory/ldap-visibility.js';
import type { User } from '../../../src/core/directory/types.js';
import { OldestMark } from '../../../src/core/directory/epoch-cache.js';
import type { Store } from '../../../src/core/ports.js';
import { createFakeClock, type FakeClock } from '../../helpers/fake-clock.js';
import { makeCredentials, makeGroup, makeUser } from '../../helpers/factories.js';
import { storeTargets, useTestStore } from '../../helpers/test-store.js';
import { createTestCore, testHasher } from '../../helpers/test-core.js';
import { ldapServerResource } from '../../../src/core/auth/resources.js';

/**
 * The user index (src/core/directory/user-index.ts) answers uid lookups from memory with the hiding
 * rules applied at lookup (hiddenBy). Here its answers are compared with the store's for the same
 * lookup (the visibility filter, hidingFilters, in SQL), for random users (state, binding direct or
 * through groups, locks and password ages on either side of the rules' limits, the expired flag),
 * under every combination of the LDAP server's actions and the lockout and expiry policy, at times
 * on either side of the turns: a difference between the two forms of a rule fails here.
 */
const DAY = 86_400_000;
const LOCKOUT_S = 120;
const EXPIRY_DAYS = 30;

const coreOn = (store: Store, clock: FakeClock) => createTestCore({ store, clock, revalidateSeconds: 600 });

for (const target of storeTargets()) {
  describe(`LDAP user index (${target})`, function () {
    this.timeout(120_000);
    const ctx = useTestStore(target);

    it('answers username lookups as the store does, for random users, settings and times, without reading the store', async function () {
      const clock = createFakeClock('2025-06-01T12:00:00.000Z');
      const T = clock.ms();
      let storeReads = 0;
      const base = ctx.store;
      // The users repository with its LDAP page query counted: the index must answer without it.
      const users = new Proxy(base.repos.users, {
        get(t, k, r) {
          if (k === 'queryWithGroupNames') {
            return (...args: Parameters<typeof t.queryWithGroupNames>) => {
              storeReads++;
              return t.queryWithGroupNames(...args);
            };
          }
          return Reflect.get(t, k, r) as unknown;
        },
      });
      // And the groups' query with a member condition: the index names the member's groups instead.
      let memberReads = 0;
      const userGroups = new Proxy(base.repos.userGroups, {
        get(t, k, r) {
          if (k === 'query') {
            return (...args: Parameters<typeof t.query>) => {
              if (args[1] !== undefined) memberReads++;
              return t.query(...args);
            };
          }
          return Reflect.get(t, k, r) as unknown;
        },
      });
      const spied: Record<string, unknown> = { users, userGroups };
      const store: Store = Object.create(base, { repos: { value: new Proxy(base.repos, { get: (t, k, r) => (typeof k === 'string' && k in spied ? spied[k] : (Reflect.get(t, k, r) as unknown)) }) } });
      const core = coreOn(store, clock);
      try {
        const boot = await core.bootstrap({ organizationName: 'Org', adminEmail: 'admin@example.com', adminPassword: 'Quiet-River-Stone-9', apiKey: '' });
        const server = (await core.ldapServers.list())[0]!;
        const repos = base.repos;
        const [bound, unbound] = [makeGroup({ name: 'Bound' }), makeGroup({ name: 'Unbound' })];
        const [bound2] = [makeGroup({ name: 'Also Bound' })];
        for (const g of [bound, unbound, bound2]) await repos.userGroups.create(g);
        for (const g of [bound, bound2]) await repos.associations.add({ fromType: 'user_group', fromId: g.id, toType: 'ldap_server', toId: server.id, createdAt: clock.now() });

        // Random users: each field on either side of the limits the rules draw.
        const rnd = fc.sample(
          fc.record({
            state: fc.constantFrom<User['state']>('ACTIVATED', 'ACTIVATED', 'ACTIVATED', 'SUSPENDED', 'STAGED'),
            binding: fc.constantFrom('direct', 'group', 'both groups', 'unbound group', 'none'),
            // Ages that meet the times below exactly at the limits (a lock ends when age + dt = 120 s,
            // a password expires when changedAgoS = dt), so that `>` against `>=` shows.
            lockedAgoS: fc.option(fc.constantFrom(0, 1, 59, 60, 61, 119, 120, 121, 300), { freq: 2 }),
            changedAgoS: fc.option(fc.constantFrom(-300, -1, 0, 1, 59, 60, 61, 119, 120, 300, 600), { freq: 5 }),
            expiredFlag: fc.boolean(),
            ldapBindingUser: fc.boolean(),
          }),
          { numRuns: 80, seed: 20261202 },
        );
        const made: User[] = [];
        for (const [i, r] of rnd.entries()) {
          const u = makeUser({
            username: `u${i}.${r.state.toLowerCase()}`,
            state: r.state,
            passwordExpiredFlag: r.expiredFlag,
            ldapBindingUser: r.ldapBindingUser,
            // Around the expiry limit (EXPIRY_DAYS old at T plus changedAgoS).
            passwordChangedAt: r.changedAgoS === null ? null : new Date(T - EXPIRY_DAYS * DAY + r.changedAgoS * 1000),
          });
          await repos.users.create(u, makeCredentials());
          await repos.authState.ensure(u.id);
          if (r.lockedAgoS !== null) await repos.authState.recordFailure(u.id, new Date(T - r.lockedAgoS * 1000), { maxAttempts: 1, lockoutSeconds: LOCKOUT_S, resetCounterSeconds: 0 });
          if (r.binding === 'direct') await repos.associations.add({ fromType: 'user', fromId: u.id, toType: 'ldap_server', toId: server.id, createdAt: clock.now() });
          if (r.binding === 'group' || r.binding === 'both groups') await repos.userGroups.addMember(bound.id, u.id);
          if (r.binding === 'both groups') await repos.userGroups.addMember(bound2.id, u.id);
          if (r.binding === 'unbound group') await repos.userGroups.addMember(unbound.id, u.id);
          made.push(u);
        }
        // The searcher: a bind account bound to the server, never hidden.
        const binder = makeUser({ username: 'binder', ldapBindingUser: true });
        await repos.users.create(binder, makeCredentials());
        await repos.associations.add({ fromType: 'user', fromId: binder.id, toType: 'ldap_server', toId: server.id, createdAt: clock.now() });
        const principals: LdapPrincipal[] = [
          { kind: 'user', user: binder },
          // An ordinary user sees its own entry only.
          { kind: 'user', user: { ...made[0]!, ldapBindingUser: false } },
        ];
        const dir = core.ldapDirectory;
        const names = [...made.map((u) => u.username), ...made.slice(0, 5).map((u) => u.username.toUpperCase()), 'nobody', 'u1\u0000', 'Binder'];

        /** The store's answer: the visibility filter as the directory writes it, and the lookup. */
        const fromStore = async (p: LdapPrincipal, name: string, exact: boolean): Promise<UserEntry[]> => {
          const s = (await core.ldapServers.list())[0]!;
          const org = await repos.organizations.get();
          const filters: UserFilter[] = [...lastingVisibility(s), ...hidingFilters(hidingRules(s, org!, clock.now())), { op: 'eq', attr: 'username', value: name, ...(exact ? { exact } : {}) }];
          if (p.kind === 'user' && !p.user.ldapBindingUser) filters.push({ op: 'eq', attr: 'id', value: p.user.id });
          return (await repos.users.queryWithGroupNames({ filter: { op: 'and', filters }, limit: 2, offset: 0, withTotal: false }, `ldap_server:${s.id}`)).items;
        };
        /** The store's groups with `name` as a visible member (the directory's own member condition). */
        const groupsFromStore = async (name: string, exact: boolean) => {
          const s = (await core.ldapServers.list())[0]!;
          const org = await repos.organizations.get();
          const member: UserFilter = {
            op: 'and',
            filters: [...lastingVisibility(s), ...hidingFilters(hidingRules(s, org!, clock.now())), { op: 'eq', attr: 'username', value: name, ...(exact ? { exact } : {}) }],
          };
          const page = await repos.userGroups.query({ filter: { op: 'eq', attr: 'boundTo', value: `ldap_server:${s.id}` }, sort: [{ attr: 'name', desc: false }], limit: 10, offset: 0 }, member);
          return page.items.map((g) => g.name);
        };
        const show = (es: UserEntry[]) => es.map((e) => ({ id: e.user.id, username: e.user.username, lockedAt: e.user.lockedAt, groups: [...e.groupNames].sort() }));

        let compared = 0;
        let found = 0;
        let memberships = 0;
        const settings = [
          { lock: 'remove', expiry: 'remove', lockout: true, days: true },
          { lock: 'remove', expiry: 'remove', lockout: false, days: false },
          { lock: 'disable', expiry: 'remove', lockout: true, days: true },
          { lock: 'remove', expiry: 'disable', lockout: true, days: false },
          { lock: 'disable', expiry: 'disable', lockout: true, days: true },
        ] as const;
        for (const st of settings) {
          clock.set(T);
          await core.ldapServers.update(server.id, { userLockoutAction: st.lock, userPasswordExpirationAction: st.expiry }, systemActor);
          await core.organization.update(
            boot.organization.id,
            {
              settings: {
                passwordPolicy: {
                  enableLockoutTimeInSeconds: st.lockout,
                  lockoutTimeInSeconds: LOCKOUT_S,
                  enablePasswordExpirationInDays: st.days,
                  passwordExpirationInDays: EXPIRY_DAYS,
                },
              },
            },
            systemActor,
          );
          assert.equal(await dir.userIndexReady(), true, 'the index builds');
          // Times within the version watch's lifetime (600 s), across lock ends and password expiries.
          for (const dt of [0, 1, 59, 60, 61, 119, 120, 121, 301, 599]) {
            clock.set(T + dt * 1000);
            for (const p of principals) {
              // The ordinary user sees itself only: a few names show that (its own among them).
              for (const name of p === principals[0] ? names : [...names.slice(0, 3), names[names.length - 1]!]) {
                for (const exact of [false, true]) {
                  const before = storeReads;
                  const got = await dir.users(p, { op: 'eq', attr: 'username', value: name, ...(exact ? { exact } : {}) }, { limit: 10, offset: 0 }, true);
                  assert.equal(storeReads, before, `answered from the index (${name}, +${dt}s)`);
                  const want = await fromStore(p, name, exact);
                  assert.deepEqual(show(got.items), show(want), `${JSON.stringify(st)} +${dt}s ${p.kind === 'user' ? p.user.username : ''} ${JSON.stringify(name)} exact=${exact}`);
                  assert.equal(got.total, want.length);
                  compared++;
                  found += want.length;
                  // `(memberUid=name)` (exact) and `(member=<DN of name>)`: the member's visible groups.
                  const reads = memberReads;
                  const groups = await dir.groups(p, { op: 'eq', attr: 'memberName', value: name, ...(exact ? { exact } : {}) }, { limit: 10, offset: 0 }, true, undefined, { groupNames: false, members: false });
                  assert.equal(memberReads, reads, 'the member resolved from the index');
                  const wantGroups = p.kind === 'user' && p.user.ldapBindingUser ? await groupsFromStore(name, exact) : [];
                  assert.deepEqual(groups.items.map((g) => g.group.name), wantGroups, `groups of ${JSON.stringify(name)} exact=${exact}`);
                  assert.equal(groups.total, wantGroups.length);
                  memberships += wantGroups.length;
                }
              }
            }
          }
        }
        // The comparison covered both outcomes many times over.
        assert.ok(compared > 5_000 && found > 500 && compared - found > 500, `${compared} lookups, ${found} found`);
        assert.ok(memberships > 200, `${memberships} groups found by member`);
      } finally {
        await core.close();
      }
    });

    it('is dropped by a commit here, and left once the directory version moves through another instance', async function () {
      const clock = createFakeClock('2025-06-01T12:00:00.000Z');
      // Two instances on one database: each counts its own commits (the epoch); what one writes,
      // the other learns from the directory version alone.
      let ownCommits = 0;
      const hereStore: Store = Object.create(ctx.store, {
        commits: { get: () => ownCommits },
        transaction: { value: (fn: Parameters<Store['transaction']>[0]) => ctx.store.transaction(fn).finally(() => ownCommits++) },
      });
      const here = coreOn(hereStore, clock);
      const there = coreOn(ctx.store, clock);
      try {
        await here.bootstrap({ organizationName: 'Org', adminEmail: 'admin@example.com', adminPassword: 'Quiet-River-Stone-9', apiKey: '' });
        const server = (await here.ldapServers.list())[0]!;
        const repos = ctx.store.repos;
        const make = async (username: string, ldapBindingUser = false) => {
          const u = makeUser({ username, ldapBindingUser });
          await repos.users.create(u, makeCredentials());
          await repos.associations.add({ fromType: 'user', fromId: u.id, toType: 'ldap_server', toId: server.id, createdAt: clock.now() });
          return u;
        };
        const binder = await make('binder', true);
        const ann = await make('ann');
        const bob = await make('bob');
        const dir = here.ldapDirectory;
        const p: LdapPrincipal = { kind: 'user', user: binder };
        const find = async (name: string) => (await dir.users(p, { op: 'eq', attr: 'username', value: name }, { limit: 10, offset: 0 })).items.map((e) => e.user.username);
        assert.equal(await dir.userIndexReady(), true);
        assert.deepEqual(await find('ann'), ['ann']);
        assert.deepEqual(await find('BOB'), ['bob']);
        // An answer from the index is as old as the confirmation of the version it holds, not as
        // the lookup: kept answers built from it (search-answers.ts) must not outlive that by the gap.
        clock.advance(100_000);
        const marks = new OldestMark();
        const before = Date.now();
        assert.deepEqual((await dir.users(p, { op: 'eq', attr: 'username', value: 'ann' }, { limit: 10, offset: 0 }, false, marks)).items.length, 1);
        assert.ok(marks.mark && marks.mark.at <= before - 100_000, `marked ${before - (marks.mark?.at ?? 0)} ms old`);

        // A change here: the next lookup already sees it (the index is dropped; the store answers).
        await here.users.update(ann.id, { state: 'SUSPENDED' }, systemActor);
        assert.deepEqual(await find('ann'), []);
        assert.equal(await dir.userIndexReady(), true, 'rebuilt');
        assert.deepEqual(await find('ann'), []);

        // A change through another instance: seen once this one's watch confirms the new version,
        // within its lifetime (half of it here, when a confirmation starts on use).
        await there.users.update(bob.id, { state: 'SUSPENDED' }, systemActor);
        clock.advance(301_000);
        await find('bob');
        for (let i = 0; i < 50 && (await find('bob')).length > 0; i++) await new Promise((r) => setTimeout(r, 10));
        assert.deepEqual(await find('bob'), [], 'the suspension through the other instance is seen');
        assert.equal(await dir.userIndexReady(), true, 'rebuilt');
        assert.deepEqual(await find('bob'), []);
        assert.deepEqual(await find('binder'), ['binder']);
      } finally {
        await here.close();
        await there.close();
      }
    });

    it('is kept through wrong passwords and the successes that clear them, on either instance; a lock through another instance still drops it', async function () {
      const clock = createFakeClock('2025-06-01T12:00:00.000Z');
      let pageReads = 0;
      const users = new Proxy(ctx.store.repos.users, {
        get(t, k, r) {
          if (k !== 'queryWithGroupNames') return Reflect.get(t, k, r) as unknown;
          return (...args: Parameters<typeof t.queryWithGroupNames>) => {
            pageReads++;
            return t.queryWithGroupNames(...args);
          };
        },
      });
      // Two instances on one database, as above; this one's user page reads are counted.
      let ownCommits = 0;
      const hereStore: Store = Object.create(ctx.store, {
        commits: { get: () => ownCommits },
        transaction: { value: (fn: Parameters<Store['transaction']>[0]) => ctx.store.transaction(fn).finally(() => ownCommits++) },
        repos: { value: new Proxy(ctx.store.repos, { get: (t, k, r) => (k === 'users' ? users : (Reflect.get(t, k, r) as unknown)) }) },
      });
      const here = coreOn(hereStore, clock);
      const there = coreOn(ctx.store, clock);
      try {
        const boot = await here.bootstrap({ organizationName: 'Org', adminEmail: 'admin@example.com', adminPassword: 'Quiet-River-Stone-9', apiKey: '' });
        await here.organization.update(boot.organization.id, { settings: { passwordPolicy: { enableMaxLoginAttempts: true, maxLoginAttempts: 3 } } }, systemActor);
        const server = (await here.ldapServers.list())[0]!;
        await here.ldapServers.update(server.id, { userLockoutAction: 'remove' }, systemActor);
        const resource = ldapServerResource((await here.ldapServers.list())[0]!);
        const repos = ctx.store.repos;
        const make = async (username: string, ldapBindingUser = false) => {
          const u = makeUser({ username, ldapBindingUser });
          await repos.users.create(u, makeCredentials({ passwordHash: await testHasher.hash('Right-Password-1') }));
          await repos.associations.add({ fromType: 'user', fromId: u.id, toType: 'ldap_server', toId: server.id, createdAt: clock.now() });
          return u;
        };
        const binder = await make('binder', true);
        await make('ann');
        const p: LdapPrincipal = { kind: 'user', user: binder };
        const find = async () => (await here.ldapDirectory.users(p, { op: 'eq', attr: 'username', value: 'ann' }, { limit: 10, offset: 0 })).items.map((e) => e.user.username);
        const bind = (core: typeof here, password: string) => core.auth.authenticate({ protocol: 'ldap', login: 'ann', password, clientIp: '127.0.0.1', resource });
        /** Lets time pass beyond half the watch's lifetime and the watch confirm what it finds. */
        const confirm = async () => {
          clock.advance(301_000);
          await find();
          await new Promise((r) => setTimeout(r, 50));
        };
        assert.equal(await here.ldapDirectory.userIndexReady(), true);
        assert.deepEqual(await find(), ['ann']);
        const built = pageReads;

        for (const core of [there, here]) {
          assert.equal((await bind(core, 'wrong')).status, 'invalid');
          await confirm();
          assert.deepEqual(await find(), ['ann']);
          assert.equal((await bind(core, 'Right-Password-1')).status, 'ok', 'the success clears the failure');
          assert.equal((await repos.authState.get((await repos.users.getByUsername('ann'))!.id)).failedCount, 0);
          await confirm();
          assert.deepEqual(await find(), ['ann']);
        }
        assert.equal(pageReads, built, 'no user page read again: the index was kept');

        // Three wrong passwords through the other instance lock ann: the lock moves the directory
        // version, and the lockout action hides her here once the watch confirms it.
        for (let i = 0; i < 3; i++) await bind(there, 'wrong');
        await confirm();
        for (let i = 0; i < 50 && (await find()).length > 0; i++) await new Promise((r) => setTimeout(r, 10));
        assert.deepEqual(await find(), [], 'the lock through the other instance is seen');
        assert.ok(pageReads > built, 'the index was dropped and read again');
      } finally {
        await here.close();
        await there.close();
      }
    });
  });
}
