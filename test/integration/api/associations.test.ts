import assert from 'node:assert/strict';
import { startAppliance, type RunningAppliance } from '../../helpers/appliance.js';
import { assertError, createUser, MISSING_ID } from './support.js';

type Edge = { to: { id: string; type: string } };

describe('associations (v2 graph)', function () {
  let run: RunningAppliance;
  let groupId: string;
  let userId: string;
  /** Resource type → id of one resource of that type. */
  const ids: Record<string, string> = {};
  /** Resource type → the v2 path of its collection. */
  const paths: Record<string, string> = {
    ldap_server: 'ldapservers',
    radius_server: 'radiusservers',
    application: 'applications',
    system: 'systems',
    system_group: 'systemgroups',
  };
  const types = Object.keys(paths);

  const created = async (path: string, body: unknown) => {
    const res = await run.api('POST', path, body);
    assert.equal(res.status, 201, `${path}: ${JSON.stringify(res.body)}`);
    return res.body as { _id?: string; id: string };
  };
  const edges = async (path: string) => {
    const res = await run.api('GET', path);
    assert.equal(res.status, 200, `${path}: ${JSON.stringify(res.body)}`);
    assert.ok(Array.isArray(res.body));
    return (res.body as Edge[]).map((e) => `${e.to.type}:${e.to.id}`).sort();
  };
  const groupOp = (op: string, type: string, id: string) => run.api('POST', `/api/v2/usergroups/${groupId}/associations`, { op, type, id });
  const userOp = (op: string, type: string, id: string) => run.api('POST', `/api/v2/users/${userId}/associations`, { op, type, id });

  before(async function () {
    run = await startAppliance();
    groupId = (await created('/api/v2/usergroups', { name: 'staff' })).id;
    userId = (await createUser(run, { username: 'uma', email: 'uma@example.com' }))._id;
    ids.ldap_server = (await run.api('GET', '/api/v2/ldapservers')).body[0].id;
    ids.radius_server = (await created('/api/radiusservers', { name: 'wifi', networkSourceIp: '10.1.0.0/16' })).id;
    ids.application = (await created('/api/applications', { name: 'wiki', config: { spEntityId: 'https://wiki.example.com', acsUrls: ['https://wiki.example.com/acs'] } })).id;
    ids.system = (await created('/api/systems', { displayName: 'build-01' })).id;
    ids.system_group = (await created('/api/v2/systemgroups', { name: 'servers' })).id;
  });

  after(async function () {
    await run?.stop();
  });

  describe('POST /api/v2/usergroups/{id}/associations', function () {
    for (const type of ['ldap_server', 'radius_server', 'application', 'system', 'system_group']) {
      it(`binds the group to the ${type} with 204`, async function () {
        const res = await groupOp('add', type, ids[type]!);
        assert.equal(res.status, 204, JSON.stringify(res.body));
      });
    }

    it('lists every bound resource back', async function () {
      assert.deepEqual(await edges(`/api/v2/usergroups/${groupId}/associations`), types.map((t) => `${t}:${ids[t]}`).sort());
    });

    it('lists only the types asked for with targets=', async function () {
      assert.deepEqual(await edges(`/api/v2/usergroups/${groupId}/associations?targets=radius_server`), [`radius_server:${ids.radius_server}`]);
      assert.deepEqual(
        await edges(`/api/v2/usergroups/${groupId}/associations?targets=system&targets=application`),
        [`application:${ids.application}`, `system:${ids.system}`].sort(),
      );
    });

    it('is idempotent: binding again is 204 and lists the edge once', async function () {
      assert.equal((await groupOp('add', 'ldap_server', ids.ldap_server!)).status, 204);
      const list = await edges(`/api/v2/usergroups/${groupId}/associations?targets=ldap_server`);
      assert.deepEqual(list, [`ldap_server:${ids.ldap_server}`]);
    });

    it('answers 404 for an unknown target id', async function () {
      assertError(await groupOp('add', 'radius_server', MISSING_ID), 404);
    });

    it('answers 404 for an unknown group', async function () {
      const res = await run.api('POST', `/api/v2/usergroups/${MISSING_ID}/associations`, { op: 'add', type: 'ldap_server', id: ids.ldap_server });
      assertError(res, 404);
      assertError(await run.api('GET', `/api/v2/usergroups/${MISSING_ID}/associations`), 404);
    });

    it('refuses a bad type with 400 naming type', async function () {
      assertError(await groupOp('add', 'printer', ids.system!), 400, 'type');
    });

    it('refuses a bad op with 400 naming op', async function () {
      assertError(await groupOp('attach', 'system', ids.system!), 400, 'op');
    });

    it('refuses an unknown targets= value with 400', async function () {
      assertError(await run.api('GET', `/api/v2/usergroups/${groupId}/associations?targets=printer`), 400, 'targets');
    });
  });

  describe('POST /api/v2/users/{id}/associations', function () {
    it('binds the user to a RADIUS server with 204 and lists it back', async function () {
      assert.equal((await userOp('add', 'radius_server', ids.radius_server!)).status, 204);
      assert.deepEqual(await edges(`/api/v2/users/${userId}/associations`), [`radius_server:${ids.radius_server}`]);
      assert.deepEqual(await edges(`/api/v2/users/${userId}/associations?targets=ldap_server`), []);
    });

    it('binds the user to the LDAP server', async function () {
      assert.equal((await userOp('add', 'ldap_server', ids.ldap_server!)).status, 204);
      assert.deepEqual(await edges(`/api/v2/users/${userId}/associations?targets=ldap_server`), [`ldap_server:${ids.ldap_server}`]);
    });

    it('answers 404 for an unknown target or user, 400 for a bad type', async function () {
      assertError(await userOp('add', 'application', MISSING_ID), 404);
      assertError(await run.api('POST', `/api/v2/users/${MISSING_ID}/associations`, { op: 'add', type: 'system', id: ids.system }), 404);
      assertError(await userOp('add', 'user_group', groupId), 400, 'type');
    });
  });

  describe('the resource side', function () {
    it('lists the user and the group bound to a RADIUS server', async function () {
      assert.deepEqual(await edges(`/api/v2/radiusservers/${ids.radius_server}/associations`), [`user:${userId}`, `user_group:${groupId}`].sort());
      assert.deepEqual(await edges(`/api/v2/radiusservers/${ids.radius_server}/associations?targets=user`), [`user:${userId}`]);
    });

    for (const type of ['ldap_server', 'application', 'system', 'system_group']) {
      it(`lists the group bound to the ${type}`, async function () {
        const list = await edges(`/api/v2/${paths[type]}/${ids[type]}/associations`);
        assert.ok(list.includes(`user_group:${groupId}`), `${type} associations: ${list.join(', ')}`);
      });
    }

    it('binds a user from the resource side', async function () {
      const res = await run.api('POST', `/api/v2/applications/${ids.application}/associations`, { op: 'add', type: 'user', id: userId });
      assert.equal(res.status, 204, JSON.stringify(res.body));
      assert.ok((await edges(`/api/v2/users/${userId}/associations`)).includes(`application:${ids.application}`));
    });

    it('answers 404 for an unknown resource', async function () {
      assertError(await run.api('GET', `/api/v2/radiusservers/${MISSING_ID}/associations`), 404);
    });
  });

  describe('removal', function () {
    it('unbinds with op remove, seen from both sides', async function () {
      assert.equal((await groupOp('remove', 'radius_server', ids.radius_server!)).status, 204);
      assert.deepEqual(await edges(`/api/v2/usergroups/${groupId}/associations?targets=radius_server`), []);
      assert.deepEqual(await edges(`/api/v2/radiusservers/${ids.radius_server}/associations`), [`user:${userId}`]);
      assert.equal((await userOp('remove', 'radius_server', ids.radius_server!)).status, 204);
      assert.deepEqual(await edges(`/api/v2/radiusservers/${ids.radius_server}/associations`), []);
    });

    it('is idempotent', async function () {
      assert.equal((await groupOp('remove', 'radius_server', ids.radius_server!)).status, 204);
    });

    it('drops the edges of a deleted resource', async function () {
      assert.equal((await run.api('DELETE', `/api/systems/${ids.system}`)).status, 200);
      const list = await edges(`/api/v2/usergroups/${groupId}/associations`);
      assert.ok(!list.includes(`system:${ids.system}`), list.join(', '));
    });

    it('drops the edges of a deleted group', async function () {
      assert.equal((await run.api('DELETE', `/api/v2/usergroups/${groupId}`)).status, 200);
      const list = await edges(`/api/v2/ldapservers/${ids.ldap_server}/associations`);
      assert.ok(!list.includes(`user_group:${groupId}`), list.join(', '));
      assert.deepEqual(list, [`user:${userId}`]);
    });
  });
});
