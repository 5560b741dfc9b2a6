import assert from 'node:assert/strict';
import type { DirectoryFilter, SystemAttr } from '../../../src/core/directory/filter.js';
import type { System } from '../../../src/core/directory/types.js';
import { makeSystem, makeSystemGroup } from '../../helpers/factories.js';
import { storeTargets, useTestStore } from '../../helpers/test-store.js';

for (const target of storeTargets()) {
  describe(`SystemRepository (${target})`, function () {
    const ctx = useTestStore(target);
    const systems = () => ctx.store.repos.systems;

    it('reads back every field of a created system', async function () {
      const s = makeSystem({
        active: false,
        lastContact: new Date('2024-04-30T23:59:59.999Z'),
        allowMultiFactorAuthentication: true,
        systemInsightsState: 'enabled',
      });
      await systems().create(s);
      assert.deepEqual(await systems().get(s.id), s);
      assert.equal(await systems().get('000000000000000000000000'), null);
    });

    it('updates only the given fields and moves updatedAt', async function () {
      const s = makeSystem();
      await systems().create(s);
      const before = Date.now();
      const seen = new Date('2024-05-02T00:00:00Z');
      await systems().update(s.id, { hostname: 'renamed.example.com', lastContact: seen, active: false });
      const got = await systems().get(s.id);
      assert.ok(got && got.updatedAt.getTime() >= before);
      assert.deepEqual(got, { ...s, hostname: 'renamed.example.com', lastContact: seen, active: false, updatedAt: got.updatedAt });
    });

    it('deletes a system together with its group memberships', async function () {
      const s = makeSystem();
      const g = makeSystemGroup();
      await systems().create(s);
      await ctx.store.repos.systemGroups.create(g);
      await ctx.store.repos.systemGroups.addMember(g.id, s.id);
      await systems().delete(s.id);
      assert.equal(await systems().get(s.id), null);
      assert.deepEqual(await ctx.store.repos.systemGroups.memberIds(g.id, 10, 0), { total: 0, items: [] });
    });

    describe('query', function () {
      let web: System, db: System, mac: System;
      const names = async (filter?: DirectoryFilter<SystemAttr>) =>
        (await systems().query({ filter, limit: 100, offset: 0 })).items.map((s) => s.displayName).sort();

      beforeEach(async function () {
        web = makeSystem({ displayName: 'web-01', hostname: 'web-01.example.com', os: 'Ubuntu', active: true });
        db = makeSystem({ displayName: 'db_01', hostname: 'db-01.example.com', os: 'Ubuntu', active: false, allowMultiFactorAuthentication: true });
        mac = makeSystem({ displayName: 'Mac-Studio', hostname: 'studio.local', os: 'Mac OS X', arch: 'arm64', active: true });
        for (const s of [web, db, mac]) await systems().create(s);
      });

      it('filters by text case-insensitively, by booleans, and literally on _', async function () {
        assert.deepEqual(await names({ op: 'eq', attr: 'os', value: 'ubuntu' }), ['db_01', 'web-01']);
        assert.deepEqual(await names({ op: 'substr', attr: 'hostname', any: [], final: '.EXAMPLE.COM' }), ['db_01', 'web-01']);
        assert.deepEqual(await names({ op: 'substr', attr: 'displayName', any: ['_'] }), ['db_01']);
        assert.deepEqual(await names({ op: 'eq', attr: 'active', value: false }), ['db_01']);
        assert.deepEqual(await names({ op: 'eq', attr: 'allowMultiFactorAuthentication', value: 'true' }), ['db_01']);
        assert.deepEqual(
          await names({ op: 'and', filters: [{ op: 'eq', attr: 'active', value: true }, { op: 'not', filter: { op: 'eq', attr: 'arch', value: 'ARM64' } }] }),
          ['web-01'],
        );
      });

      it('sorts and pages with the total', async function () {
        const page = await systems().query({ sort: [{ attr: 'displayName', desc: false }], limit: 2, offset: 0 });
        assert.equal(page.total, 3);
        assert.deepEqual(page.items.map((s) => s.displayName), ['db_01', 'Mac-Studio']);
        const rest = await systems().query({ sort: [{ attr: 'displayName', desc: false }], limit: 2, offset: 2 });
        assert.deepEqual(rest.items.map((s) => s.id), [web.id]);
        const desc = await systems().query({ sort: [{ attr: 'displayName', desc: true }], limit: 10, offset: 0 });
        assert.deepEqual(desc.items.map((s) => s.id), [web.id, mac.id, db.id]);
      });
    });
  });

  describe(`SystemGroupRepository (${target})`, function () {
    const ctx = useTestStore(target);
    const groups = () => ctx.store.repos.systemGroups;

    it('creates, reads by id and by name whatever its case, updates and deletes', async function () {
      const g = makeSystemGroup({ name: 'Linux Servers' });
      await groups().create(g);
      assert.deepEqual(await groups().get(g.id), g);
      assert.equal((await groups().getByName('linux servers'))?.id, g.id);
      assert.equal((await groups().getByName('LINUX SERVERS'))?.id, g.id);

      const before = Date.now();
      await groups().update(g.id, { description: 'all of them' });
      const got = await groups().get(g.id);
      assert.ok(got && got.updatedAt.getTime() >= before);
      assert.deepEqual(got, { ...g, description: 'all of them', updatedAt: got.updatedAt });

      await groups().delete(g.id);
      assert.equal(await groups().get(g.id), null);
      assert.equal(await groups().getByName('Linux Servers'), null);
    });

    it('rejects a second group with the same name', async function () {
      await groups().create(makeSystemGroup({ name: 'dup' }));
      await assert.rejects(groups().create(makeSystemGroup({ name: 'dup' })));
    });

    it('lists groups by name with paging and the total', async function () {
      for (const name of ['gamma', 'alpha', 'beta']) await groups().create(makeSystemGroup({ name }));
      const p1 = await groups().list(2, 0);
      const p2 = await groups().list(2, 2);
      assert.equal(p1.total, 3);
      assert.deepEqual(p1.items.map((g) => g.name), ['alpha', 'beta']);
      assert.deepEqual(p2.items.map((g) => g.name), ['gamma']);
    });

    it('adds members idempotently, removes them, pages them and lists a system’s groups', async function () {
      const [a, b] = [makeSystemGroup(), makeSystemGroup()];
      const systems = [makeSystem(), makeSystem(), makeSystem()];
      for (const g of [a, b]) await groups().create(g);
      for (const s of systems) await ctx.store.repos.systems.create(s);
      const [s0, s1, s2] = systems as [System, System, System];

      assert.equal(await groups().addMember(a.id, s0.id), true);
      assert.equal(await groups().addMember(a.id, s0.id), false);
      await groups().addMember(a.id, s1.id);
      await groups().addMember(a.id, s2.id);
      await groups().addMember(b.id, s0.id);

      const p1 = await groups().memberIds(a.id, 2, 0);
      const p2 = await groups().memberIds(a.id, 2, 2);
      assert.deepEqual([p1.total, p2.total], [3, 3]);
      assert.deepEqual([...p1.items, ...p2.items].sort(), systems.map((s) => s.id).sort());
      assert.deepEqual((await groups().groupIdsOf(s0.id)).sort(), [a.id, b.id].sort());

      assert.equal(await groups().removeMember(a.id, s0.id), true);
      assert.equal(await groups().removeMember(a.id, s0.id), false);
      assert.deepEqual(await groups().groupIdsOf(s0.id), [b.id]);

      await groups().delete(a.id);
      assert.deepEqual(await groups().groupIdsOf(s1.id), []);
      assert.deepEqual(await groups().memberIds(a.id, 10, 0), { total: 0, items: [] });
    });
  });
}
