import assert from 'node:assert/strict';
import { makeApplication, makeLdapServer, makeRadiusServer } from '../../helpers/factories.js';
import { storeTargets, useTestStore } from '../../helpers/test-store.js';

for (const target of storeTargets()) {
  describe(`LdapServerRepository (${target})`, function () {
    const ctx = useTestStore(target);
    const servers = () => ctx.store.repos.ldapServers;

    it('creates, reads, updates only the given fields, and lists', async function () {
      const a = makeLdapServer({ name: 'Primary' });
      const b = makeLdapServer({ name: 'Secondary', createdAt: new Date('2024-05-02T00:00:00Z'), updatedAt: new Date('2024-05-02T00:00:00Z') });
      await servers().create(a);
      await servers().create(b);
      assert.deepEqual(await servers().get(a.id), a);
      assert.equal(await servers().get('000000000000000000000000'), null);

      const before = Date.now();
      await servers().update(a.id, { userLockoutAction: 'remove' });
      const got = await servers().get(a.id);
      assert.ok(got && got.updatedAt.getTime() >= before);
      assert.deepEqual(got, { ...a, userLockoutAction: 'remove', updatedAt: got.updatedAt });

      await servers().update(b.id, {});
      assert.deepEqual(await servers().get(b.id), b);
      assert.deepEqual((await servers().list()).map((s) => s.id), [a.id, b.id]);
    });
  });

  describe(`RadiusServerRepository (${target})`, function () {
    const ctx = useTestStore(target);
    const servers = () => ctx.store.repos.radiusServers;

    it('creates and reads back every field, by id and by name', async function () {
      const s = makeRadiusServer({ name: 'Office Wi-Fi', networkSourceIp: '203.0.113.0/24', mfa: 'REQUIRED', requireMessageAuthenticator: false, sharedSecretLength: 48 });
      await servers().create(s, 'v1.sealed.secret');
      assert.deepEqual(await servers().get(s.id), s);
      assert.deepEqual(await servers().getByName('Office Wi-Fi'), s);
      assert.equal(await servers().get('000000000000000000000000'), null);
      assert.equal(await servers().getByName('nope'), null);
    });

    it('stores the sealed secret and returns it only through getSealedSecret', async function () {
      const s = makeRadiusServer();
      await servers().create(s, 'v1.sealed.AAAA');
      assert.equal(await servers().getSealedSecret(s.id), 'v1.sealed.AAAA');
      assert.equal(await servers().getSealedSecret('000000000000000000000000'), null);
      assert.ok(!JSON.stringify(await servers().get(s.id)).includes('v1.sealed'));
      assert.ok(!JSON.stringify(await servers().list()).includes('v1.sealed'));
    });

    it('updates the secret only when one is given', async function () {
      const s = makeRadiusServer();
      await servers().create(s, 'v1.sealed.first');
      await servers().update(s.id, { mfa: 'ALWAYS' });
      assert.equal(await servers().getSealedSecret(s.id), 'v1.sealed.first');
      const afterMfa = await servers().get(s.id);
      assert.deepEqual(afterMfa, { ...s, mfa: 'ALWAYS', updatedAt: afterMfa?.updatedAt });

      await servers().update(s.id, {}, 'v1.sealed.second');
      assert.equal(await servers().getSealedSecret(s.id), 'v1.sealed.second');
      const afterSecret = await servers().get(s.id);
      assert.equal(afterSecret?.mfa, 'ALWAYS');

      await servers().update(s.id, { sharedSecretLength: 64, networkSourceIp: '198.51.100.7' }, 'v1.sealed.third');
      assert.equal(await servers().getSealedSecret(s.id), 'v1.sealed.third');
      const got = await servers().get(s.id);
      assert.equal(got?.sharedSecretLength, 64);
      assert.equal(got?.networkSourceIp, '198.51.100.7');
      assert.ok(got && got.updatedAt.getTime() > s.updatedAt.getTime());
    });

    it('rejects a second server for the same network source', async function () {
      const s = makeRadiusServer({ networkSourceIp: '192.0.2.1' });
      await servers().create(s, 'x');
      await assert.rejects(servers().create(makeRadiusServer({ networkSourceIp: '192.0.2.1' }), 'y'));
      const t = makeRadiusServer();
      await servers().create(t, 'z');
      await assert.rejects(servers().update(t.id, { networkSourceIp: '192.0.2.1' }));
      assert.equal((await servers().get(t.id))?.networkSourceIp, t.networkSourceIp);
    });

    it('lists servers and deletes one', async function () {
      const [a, b] = [makeRadiusServer({ name: 'b-server' }), makeRadiusServer({ name: 'a-server' })];
      await servers().create(a, 'x');
      await servers().create(b, 'y');
      assert.deepEqual((await servers().list()).map((s) => s.name), ['a-server', 'b-server']);
      await servers().delete(a.id);
      assert.equal(await servers().get(a.id), null);
      assert.equal(await servers().getSealedSecret(a.id), null);
      assert.deepEqual((await servers().list()).map((s) => s.id), [b.id]);
    });
  });

  describe(`ApplicationRepository (${target})`, function () {
    const ctx = useTestStore(target);
    const apps = () => ctx.store.repos.applications;

    it('creates and reads back an application with its SAML config, by id and by name', async function () {
      const a = makeApplication({ name: 'grafana' });
      a.config.constantAttributes = [{ name: 'tenant', value: 'acme ✓' }];
      a.config.acsUrls.push('https://grafana.example.com/saml/acs2?x=1&y=2');
      await apps().create(a);
      assert.deepEqual(await apps().get(a.id), a);
      assert.deepEqual(await apps().getByName('grafana'), a);
      assert.equal(await apps().get('000000000000000000000000'), null);
      assert.equal(await apps().getByName('kibana'), null);
    });

    it('updates only the given fields and moves updatedAt', async function () {
      const a = makeApplication();
      await apps().create(a);
      const before = Date.now();
      const config = { ...a.config, signResponse: true, acsUrls: ['https://new.example.com/acs'] };
      await apps().update(a.id, { config });
      const got = await apps().get(a.id);
      assert.ok(got && got.updatedAt.getTime() >= before);
      assert.deepEqual(got, { ...a, config, updatedAt: got.updatedAt });
      await apps().update(a.id, { displayLabel: 'Renamed' });
      assert.deepEqual(await apps().get(a.id), { ...a, config, displayLabel: 'Renamed', updatedAt: (await apps().get(a.id))?.updatedAt });
    });

    it('rejects a second application with the same name', async function () {
      await apps().create(makeApplication({ name: 'wiki' }));
      await assert.rejects(apps().create(makeApplication({ name: 'wiki' })));
      const other = makeApplication({ name: 'blog' });
      await apps().create(other);
      await assert.rejects(apps().update(other.id, { name: 'wiki' }));
    });

    it('lists by name with paging and the total, and deletes', async function () {
      const made = ['zulu', 'alpha', 'mike'].map((name) => makeApplication({ name }));
      for (const a of made) await apps().create(a);
      const p1 = await apps().list(2, 0);
      const p2 = await apps().list(2, 2);
      assert.equal(p1.total, 3);
      assert.deepEqual([...p1.items, ...p2.items].map((a) => a.name), ['alpha', 'mike', 'zulu']);
      await apps().delete(made[0]!.id);
      assert.equal(await apps().get(made[0]!.id), null);
      assert.equal((await apps().list(10, 0)).total, 2);
    });
  });
}
