import assert from 'node:assert/strict';
import type { Association } from '../../../src/core/directory/types.js';
import { makeCredentials, makeGroup, makeUser, T0 } from '../../helpers/factories.js';
import { storeTargets, useTestStore } from '../../helpers/test-store.js';
import { newId } from '../../../src/util/ids.js';

const edge = (a: Omit<Association, 'createdAt'>, createdAt = T0): Association => ({ ...a, createdAt });

for (const target of storeTargets()) {
  describe(`AssociationRepository (${target})`, function () {
    const ctx = useTestStore(target);
    const assoc = () => ctx.store.repos.associations;

    describe('add and remove', function () {
      it('adds an edge once: the second add returns false', async function () {
        const e = edge({ fromType: 'user', fromId: newId(), toType: 'ldap_server', toId: newId() });
        assert.equal(await assoc().add(e), true);
        assert.equal(await assoc().add({ ...e, createdAt: new Date(T0.getTime() + 1000) }), false);
        assert.deepEqual(await assoc().listFrom('user', e.fromId), [e]);
      });

      it('removes an edge: true once, then false', async function () {
        const e = edge({ fromType: 'user_group', fromId: newId(), toType: 'application', toId: newId() });
        await assoc().add(e);
        const { createdAt: _, ...key } = e;
        assert.equal(await assoc().remove(key), true);
        assert.equal(await assoc().remove(key), false);
        assert.deepEqual(await assoc().listFrom('user_group', e.fromId), []);
        assert.deepEqual(await assoc().listTo('application', e.toId), []);
      });

      it('tells edges apart by every part of the key', async function () {
        const [id1, id2] = [newId(), newId()];
        const base = edge({ fromType: 'user', fromId: id1, toType: 'radius_server', toId: id2 });
        await assoc().add(base);
        assert.equal(await assoc().add({ ...base, fromType: 'user_group' }), true);
        assert.equal(await assoc().add({ ...base, toType: 'application' }), true);
        assert.equal(await assoc().remove({ fromType: 'user', fromId: id1, toType: 'ldap_server', toId: id2 }), false);
        assert.equal((await assoc().listFrom('user', id1)).length, 2);
      });
    });

    describe('listFrom and listTo', function () {
      it('lists the edges leaving an object and the edges reaching a resource', async function () {
        const user = newId();
        const group = newId();
        const ldap = newId();
        const radius = newId();
        const app = newId();
        const edges = [
          edge({ fromType: 'user', fromId: user, toType: 'ldap_server', toId: ldap }),
          edge({ fromType: 'user', fromId: user, toType: 'application', toId: app }, new Date('2024-05-03T00:00:00.001Z')),
          edge({ fromType: 'user_group', fromId: group, toType: 'application', toId: app }),
          edge({ fromType: 'user_group', fromId: group, toType: 'radius_server', toId: radius }),
        ];
        for (const e of edges) await assoc().add(e);
        const sortKey = (a: Association) => `${a.fromType}/${a.fromId}/${a.toType}/${a.toId}`;
        const sorted = (xs: Association[]) => [...xs].sort((a, b) => sortKey(a).localeCompare(sortKey(b)));
        assert.deepEqual(sorted(await assoc().listFrom('user', user)), sorted([edges[0]!, edges[1]!]));
        assert.deepEqual(sorted(await assoc().listFrom('user_group', group)), sorted([edges[2]!, edges[3]!]));
        assert.deepEqual(sorted(await assoc().listTo('application', app)), sorted([edges[1]!, edges[2]!]));
        assert.deepEqual(await assoc().listTo('radius_server', radius), [edges[3]]);
        // The type is part of the address: the same id under another type has no edges.
        assert.deepEqual(await assoc().listFrom('user_group', user), []);
        assert.deepEqual(await assoc().listTo('ldap_server', app), []);
      });
    });

    describe('removeAllFor', function () {
      it('removes every edge touching the object in both directions, and no other', async function () {
        const system = newId();
        const user = newId();
        const sysGroup = newId();
        const ldap = newId();
        const keep = edge({ fromType: 'user', fromId: user, toType: 'ldap_server', toId: ldap });
        await assoc().add(edge({ fromType: 'user', fromId: user, toType: 'system', toId: system }));
        await assoc().add(edge({ fromType: 'system', fromId: system, toType: 'system_group', toId: sysGroup }));
        await assoc().add(keep);

        await assoc().removeAllFor('system', system);
        assert.deepEqual(await assoc().listTo('system', system), []);
        assert.deepEqual(await assoc().listFrom('system', system), []);
        assert.deepEqual(await assoc().listFrom('user', user), [keep]);
      });

      it('removes the edges of a deleted user and of a deleted resource', async function () {
        const [u1, u2, ldap, app] = [newId(), newId(), newId(), newId()];
        await assoc().add(edge({ fromType: 'user', fromId: u1, toType: 'ldap_server', toId: ldap }));
        await assoc().add(edge({ fromType: 'user', fromId: u1, toType: 'application', toId: app }));
        await assoc().add(edge({ fromType: 'user', fromId: u2, toType: 'application', toId: app }));
        await assoc().removeAllFor('user', u1);
        assert.deepEqual(await assoc().listFrom('user', u1), []);
        assert.deepEqual((await assoc().listTo('application', app)).map((a) => a.fromId), [u2]);
        await assoc().removeAllFor('application', app);
        assert.deepEqual(await assoc().listFrom('user', u2), []);
      });
    });

    describe('userHasAccess', function () {
      it('grants access through a direct edge, through a group, and not after leaving the group', async function () {
        const alice = makeUser();
        const bob = makeUser();
        const g = makeGroup();
        await ctx.store.repos.users.create(alice, makeCredentials());
        await ctx.store.repos.users.create(bob, makeCredentials());
        await ctx.store.repos.userGroups.create(g);
        const [radius, otherRadius, app] = [newId(), newId(), newId()];

        assert.equal(await assoc().userHasAccess(alice.id, 'radius_server', radius), false);

        await assoc().add(edge({ fromType: 'user', fromId: alice.id, toType: 'radius_server', toId: radius }));
        assert.equal(await assoc().userHasAccess(alice.id, 'radius_server', radius), true, 'direct');
        assert.equal(await assoc().userHasAccess(alice.id, 'radius_server', otherRadius), false, 'another server');
        assert.equal(await assoc().userHasAccess(alice.id, 'application', radius), false, 'another type, same id');
        assert.equal(await assoc().userHasAccess(bob.id, 'radius_server', radius), false, 'another user');

        await assoc().add(edge({ fromType: 'user_group', fromId: g.id, toType: 'application', toId: app }));
        assert.equal(await assoc().userHasAccess(bob.id, 'application', app), false, 'not yet a member');
        await ctx.store.repos.userGroups.addMember(g.id, bob.id);
        assert.equal(await assoc().userHasAccess(bob.id, 'application', app), true, 'via group');
        assert.equal(await assoc().userHasAccess(bob.id, 'radius_server', radius), false, 'group has no edge to it');
        assert.equal(await assoc().userHasAccess(alice.id, 'application', app), false, 'alice is not in the group');

        await ctx.store.repos.userGroups.removeMember(g.id, bob.id);
        assert.equal(await assoc().userHasAccess(bob.id, 'application', app), false, 'after leaving the group');
      });

      it('does not grant access through a user_group edge whose id happens to be the user id', async function () {
        const u = makeUser();
        await ctx.store.repos.users.create(u, makeCredentials());
        const app = newId();
        await assoc().add(edge({ fromType: 'system', fromId: u.id, toType: 'application', toId: app }));
        assert.equal(await assoc().userHasAccess(u.id, 'application', app), false);
      });
    });
  });
}
