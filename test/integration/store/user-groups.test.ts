import assert from 'node:assert/strict';
import type { GroupFilter, UserFilter } from '../../../src/core/directory/filter.js';
import type { User } from '../../../src/core/directory/types.js';
import { newId } from '../../../src/util/ids.js';
import { makeCredentials, makeGroup, makeUser } from '../../helpers/factories.js';
import { storeTargets, useTestStore } from '../../helpers/test-store.js';

for (const target of storeTargets()) {
  describe(`UserGroupRepository (${target})`, function () {
    const ctx = useTestStore(target);
    const groups = () => ctx.store.repos.userGroups;
    const createUser = async (): Promise<User> => {
      const u = makeUser();
      await ctx.store.repos.users.create(u, makeCredentials());
      return u;
    };
    const createUsers = async (n: number): Promise<User[]> => {
      const out: User[] = [];
      for (let i = 0; i < n; i++) {
        const u = makeUser();
        await ctx.store.repos.users.create(u, makeCredentials());
        out.push(u);
      }
      return out;
    };

    describe('create, read, update, delete', function () {
      it('reads back every field of a created group', async function () {
        const g = makeGroup({
          name: 'Engineering',
          email: 'eng@example.com',
          posixGid: 50001,
          posixName: 'engineering',
          radiusReply: [
            { name: 'Filter-Id', value: 'eng' },
            { name: 'Tunnel-Private-Group-Id', value: '42' },
          ],
          createdAt: new Date('2024-02-03T04:05:06.789Z'),
          updatedAt: new Date('2024-02-03T04:05:06.789Z'),
        });
        await groups().create(g);
        assert.deepEqual(await groups().get(g.id), g);
        assert.equal(await groups().get('000000000000000000000000'), null);
      });

      it('finds a group by name whatever the case of the input', async function () {
        const g = makeGroup({ name: 'VPN Users' });
        await groups().create(g);
        assert.equal((await groups().getByName('VPN Users'))?.id, g.id);
        assert.equal((await groups().getByName('vpn users'))?.id, g.id);
        assert.equal((await groups().getByName('VPN USERS'))?.id, g.id);
        assert.equal(await groups().getByName('VPN'), null);
      });

      it('getMany returns the groups asked for', async function () {
        const [a, b, c] = [makeGroup(), makeGroup(), makeGroup()];
        for (const g of [a, b, c]) await groups().create(g);
        assert.deepEqual((await groups().getMany([a.id, c.id])).map((g) => g.id).sort(), [a.id, c.id].sort());
        assert.deepEqual(await groups().getMany([]), []);
      });

      it('updates only the given fields and moves updatedAt', async function () {
        const g = makeGroup({ posixGid: 50002, posixName: 'ops' });
        await groups().create(g);
        const before = Date.now();
        await groups().update(g.id, { description: 'Operations', radiusReply: [{ name: 'Class', value: 'ops' }] });
        const got = await groups().get(g.id);
        assert.ok(got && got.updatedAt.getTime() >= before);
        assert.deepEqual(got, { ...g, description: 'Operations', radiusReply: [{ name: 'Class', value: 'ops' }], updatedAt: got.updatedAt });
        await groups().update(g.id, { posixGid: null, posixName: null });
        const cleared = await groups().get(g.id);
        assert.equal(cleared?.posixGid, null);
        assert.equal(cleared?.posixName, null);
        assert.equal(cleared?.description, 'Operations');
      });

      it('rejects a second group with the same name or posix gid', async function () {
        await groups().create(makeGroup({ name: 'admins', posixGid: 50003 }));
        await assert.rejects(groups().create(makeGroup({ name: 'admins' })));
        await assert.rejects(groups().create(makeGroup({ posixGid: 50003 })));
      });

      it('rejects a group whose name differs only in case, also when both are created at once', async function () {
        await groups().create(makeGroup({ name: 'Staff' }));
        await assert.rejects(groups().create(makeGroup({ name: 'staff' })));
        const both = await Promise.allSettled([groups().create(makeGroup({ name: 'Ops' })), groups().create(makeGroup({ name: 'OPS' }))]);
        assert.deepEqual(both.map((r) => r.status).sort(), ['fulfilled', 'rejected']);
      });

      it('deletes a group together with its memberships, leaving its users', async function () {
        const [u1, u2] = [await createUser(), await createUser()];
        const [g, other] = [makeGroup(), makeGroup()];
        await groups().create(g);
        await groups().create(other);
        await groups().addMember(g.id, u1.id);
        await groups().addMember(g.id, u2.id);
        await groups().addMember(other.id, u1.id);

        await groups().delete(g.id);
        assert.equal(await groups().get(g.id), null);
        assert.deepEqual(await groups().memberIds(g.id, 10, 0), { total: 0, items: [] });
        assert.deepEqual(await groups().groupIdsOf(u1.id), [other.id]);
        assert.deepEqual(await groups().groupIdsOf(u2.id), []);
        assert.ok(await ctx.store.repos.users.get(u1.id));
        // The name is free again.
        await groups().create(makeGroup({ name: g.name }));
      });
    });

    describe('memberships', function () {
      it('adds a member once: the second add returns false and changes nothing', async function () {
        const u = await createUser();
        const g = makeGroup();
        await groups().create(g);
        assert.equal(await groups().addMember(g.id, u.id), true);
        assert.equal(await groups().addMember(g.id, u.id), false);
        assert.deepEqual(await groups().memberIds(g.id, 10, 0), { total: 1, items: [u.id] });
      });

      it('removes a member: true the first time, false when there is no such membership', async function () {
        const [u, v] = [await createUser(), await createUser()];
        const g = makeGroup();
        await groups().create(g);
        await groups().addMember(g.id, u.id);
        await groups().addMember(g.id, v.id);
        assert.equal(await groups().removeMember(g.id, u.id), true);
        assert.equal(await groups().removeMember(g.id, u.id), false);
        assert.deepEqual(await groups().memberIds(g.id, 10, 0), { total: 1, items: [v.id] });
        assert.deepEqual(await groups().groupIdsOf(u.id), []);
      });

      it('pages member ids in a stable order with the total', async function () {
        const members = await createUsers(5);
        const g = makeGroup();
        await groups().create(g);
        for (const u of members) await groups().addMember(g.id, u.id);
        const pages = [await groups().memberIds(g.id, 2, 0), await groups().memberIds(g.id, 2, 2), await groups().memberIds(g.id, 2, 4)];
        assert.deepEqual(pages.map((p) => p.total), [5, 5, 5]);
        assert.deepEqual(pages.map((p) => p.items.length), [2, 2, 1]);
        assert.deepEqual(pages.flatMap((p) => p.items).sort(), members.map((u) => u.id).sort());
        assert.deepEqual(await groups().memberIds(g.id, 2, 6), { total: 5, items: [] });
      });

      it('lists the groups of a user', async function () {
        const u = await createUser();
        const [a, b, c] = [makeGroup(), makeGroup(), makeGroup()];
        for (const g of [a, b, c]) await groups().create(g);
        await groups().addMember(a.id, u.id);
        await groups().addMember(c.id, u.id);
        assert.deepEqual((await groups().groupIdsOf(u.id)).sort(), [a.id, c.id].sort());
        assert.deepEqual(await groups().groupIdsOf('000000000000000000000000'), []);
      });

      it('keeps concurrent adds of the same membership to one row and one true', async function () {
        const u = await createUser();
        const g = makeGroup();
        await groups().create(g);
        const results = await Promise.all(Array.from({ length: 10 }, () => groups().addMember(g.id, u.id)));
        assert.equal(results.filter(Boolean).length, 1);
        assert.equal((await groups().memberIds(g.id, 10, 0)).total, 1);
      });
    });

    describe('RADIUS reply attributes', function () {
      it('tells whether any group bound to a RADIUS server carries reply attributes', async function () {
        const server = newId();
        const other = newId();
        const bind = (groupId: string, toId: string) =>
          ctx.store.repos.associations.add({ fromType: 'user_group', fromId: groupId, toType: 'radius_server', toId, createdAt: new Date() });
        const plain = makeGroup();
        const vlan = makeGroup({ radiusReply: [{ name: 'Tunnel-Private-Group-Id', value: '100' }] });
        await groups().create(plain);
        await groups().create(vlan);
        assert.equal(await groups().anyBoundWithRadiusReply(server), false, 'nothing bound');
        await bind(plain.id, server);
        assert.equal(await groups().anyBoundWithRadiusReply(server), false, 'only a group without reply attributes');
        await bind(vlan.id, other);
        assert.equal(await groups().anyBoundWithRadiusReply(server), false, 'the VLAN group is bound to another server');
        await bind(vlan.id, server);
        assert.equal(await groups().anyBoundWithRadiusReply(server), true);
        await groups().update(vlan.id, { radiusReply: [] });
        assert.equal(await groups().anyBoundWithRadiusReply(server), false, 'its attributes were removed');
      });
    });

    describe('query', function () {
      let u1: User, u2: User;
      let eng: string, ops: string, sales: string;
      const names = async (filter?: GroupFilter) => (await groups().query({ filter, limit: 100, offset: 0 })).items.map((g) => g.name).sort();

      beforeEach(async function () {
        [u1, u2] = [await createUser(), await createUser()];
        const e = makeGroup({ name: 'Engineering', posixGid: 60001, posixName: 'eng' });
        const o = makeGroup({ name: 'Operations', posixGid: 60002, posixName: 'ops' });
        const s = makeGroup({ name: 'Sales', description: '100% commission' });
        [eng, ops, sales] = [e.id, o.id, s.id];
        for (const g of [e, o, s]) await groups().create(g);
        await groups().addMember(eng, u1.id);
        await groups().addMember(ops, u1.id);
        await groups().addMember(ops, u2.id);
      });

      it('finds the groups of a member with the member filter', async function () {
        assert.deepEqual(await names({ op: 'eq', attr: 'member', value: u1.id }), ['Engineering', 'Operations']);
        assert.deepEqual(await names({ op: 'eq', attr: 'member', value: u2.id }), ['Operations']);
        assert.deepEqual(await names({ op: 'not', filter: { op: 'eq', attr: 'member', value: u1.id } }), ['Sales']);
        assert.deepEqual(await names({ op: 'present', attr: 'member' }), ['Engineering', 'Operations']);
        assert.deepEqual(await names({ op: 'in', attr: 'member', values: [u2.id, '000000000000000000000000'] }), ['Operations']);
      });

      it('keeps only groups with a member matching withMember, in the same query, with the group filter and the total', async function () {
        const having = async (member: UserFilter, filter?: GroupFilter) => {
          const page = await groups().query({ filter, sort: [{ attr: 'name', desc: false }], limit: 100, offset: 0 }, member);
          assert.equal(page.total, page.items.length);
          return page.items.map((g) => g.name);
        };
        const named = (u: User): UserFilter => ({ op: 'eq', attr: 'username', value: u.username.toUpperCase() });
        assert.deepEqual(await having(named(u1)), ['Engineering', 'Operations']);
        assert.deepEqual(await having(named(u2)), ['Operations']);
        assert.deepEqual(await having(named(u1), { op: 'eq', attr: 'posixName', value: 'eng' }), ['Engineering']);
        assert.deepEqual(await having(named(u2), { op: 'eq', attr: 'name', value: 'engineering' }), []);
        // The member's own conditions (here its state, as the LDAP view's visibility has it) count.
        assert.deepEqual(await having({ op: 'and', filters: [named(u2), { op: 'eq', attr: 'state', value: 'SUSPENDED' }] }), []);
        assert.deepEqual(await having({ op: 'and', filters: [named(u2), { op: 'eq', attr: 'state', value: u2.state }] }), ['Operations']);
        assert.deepEqual(await having({ op: 'eq', attr: 'username', value: 'nobody' }), []);
      });

      it('matches names case-insensitively, gids numerically, and totals the match', async function () {
        assert.deepEqual(await names({ op: 'eq', attr: 'name', value: 'engineering' }), ['Engineering']);
        assert.deepEqual(await names({ op: 'substr', attr: 'name', initial: 'OP', any: [] }), ['Operations']);
        assert.deepEqual(await names({ op: 'gte', attr: 'posixGid', value: 60002 }), ['Operations']);
        assert.deepEqual(await names({ op: 'present', attr: 'posixGid' }), ['Engineering', 'Operations']);
        assert.deepEqual(await names({ op: 'eq', attr: 'posixGid', value: 'sixty' }), []);
        assert.deepEqual(await names({ op: 'substr', attr: 'description', any: ['0%'] }), ['Sales']);
        const page = await groups().query({ sort: [{ attr: 'name', desc: true }], limit: 2, offset: 0 });
        assert.equal(page.total, 3);
        assert.deepEqual(page.items.map((g) => g.id), [sales, ops]);
      });
    });
  });
}
