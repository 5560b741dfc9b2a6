import assert from 'node:assert/strict';
import { startAppliance, type RunningAppliance } from '../../helpers/appliance.js';
import { assertError, createUser, HEX24, MISSING_ID } from './support.js';

describe('user groups (v2)', function () {
  let run: RunningAppliance;
  // `any`: user and group JSON as the API returns them; the tests assert their fields.
  let ann: any;
  let ben: any;
  let devs: any;
  let opsGid: number;

  before(async function () {
    run = await startAppliance();
    ann = await createUser(run, { username: 'ann', email: 'ann@example.com' });
    ben = await createUser(run, { username: 'ben', email: 'ben@example.com' });
  });

  after(async function () {
    await run?.stop();
  });

  const members = async (groupId: string) => {
    const res = await run.api('GET', `/api/v2/usergroups/${groupId}/members`);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return res.body as { to: { id: string; type: string } }[];
  };
  const memberOf = async (userId: string) => {
    const res = await run.api('GET', `/api/v2/users/${userId}/memberof`);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return (res.body as { id: string; type: string }[]).map((g) => g.id);
  };
  const change = (groupId: string, op: string, id: string, type = 'user') => run.api('POST', `/api/v2/usergroups/${groupId}/members`, { op, type, id });

  describe('POST /api/v2/usergroups', function () {
    it('creates a group with a POSIX group (gid allocated) and RADIUS reply attributes', async function () {
      const res = await run.api('POST', '/api/v2/usergroups', {
        name: 'devs',
        description: 'Developers',
        attributes: { posixGroups: [{ name: 'devs' }], radius: { reply: [{ name: 'Tunnel-Private-Group-Id', value: '100' }] } },
      });
      assert.equal(res.status, 201, JSON.stringify(res.body));
      devs = res.body;
      assert.match(devs.id, HEX24);
      assert.equal(devs.name, 'devs');
      assert.equal(devs.description, 'Developers');
      assert.equal(devs.attributes.posixGroups.length, 1);
      const gid = devs.attributes.posixGroups[0].id;
      assert.ok(Number.isInteger(gid) && gid >= 5000, `gid ${gid}`);
      assert.equal(devs.attributes.posixGroups[0].name, 'devs');
      assert.deepEqual(devs.attributes.radius.reply, [{ name: 'Tunnel-Private-Group-Id', value: '100' }]);
    });

    it('allocates a gid distinct from every user uid and gid, before and after', async function () {
      const cat = await createUser(run, { username: 'cat', email: 'cat@example.com' });
      const gid = devs.attributes.posixGroups[0].id;
      for (const u of [ann, ben, cat]) {
        assert.notEqual(u.unix_uid, gid, `${u.username} uid`);
        assert.notEqual(u.unix_guid, gid, `${u.username} gid`);
      }
      const ops = await run.api('POST', '/api/v2/usergroups', { name: 'ops', attributes: { posixGroups: [{ name: 'ops' }] } });
      assert.equal(ops.status, 201, JSON.stringify(ops.body));
      opsGid = ops.body.attributes.posixGroups[0].id;
      assert.notEqual(opsGid, gid);
      for (const u of [ann, ben, cat]) assert.notEqual(u.unix_uid, opsGid);
    });

    it('refuses an explicit gid another group has with 409 naming attributes.posixGroups[0].id', async function () {
      const res = await run.api('POST', '/api/v2/usergroups', { name: 'clash', attributes: { posixGroups: [{ id: opsGid, name: 'clash' }] } });
      assertError(res, 409, 'attributes.posixGroups[0].id');
    });

    it('accepts an explicit gid equal to a user’s uid (a user’s gidNumber may name a directory group on purpose)', async function () {
      const res = await run.api('POST', '/api/v2/usergroups', { name: 'clash', attributes: { posixGroups: [{ id: ann.unix_uid, name: 'clash' }] } });
      assert.equal(res.status, 201, JSON.stringify(res.body));
      assert.equal(res.body.attributes.posixGroups[0].id, ann.unix_uid);
      await run.api('DELETE', `/api/v2/usergroups/${res.body.id}`);
    });

    it('creates a group without POSIX data with empty posixGroups and reply', async function () {
      const res = await run.api('POST', '/api/v2/usergroups', { name: 'plain' });
      assert.equal(res.status, 201, JSON.stringify(res.body));
      assert.deepEqual(res.body.attributes, { radius: { reply: [] }, posixGroups: [] });
    });

    it('keeps each name NSS looks groups up by (name and POSIX name, both LDAP cn) to one group: 409 otherwise', async function () {
      const px1 = await run.api('POST', '/api/v2/usergroups', { name: 'px1', attributes: { posixGroups: [{ name: 'pxshared' }] } });
      assert.equal(px1.status, 201, JSON.stringify(px1.body));
      assertError(await run.api('POST', '/api/v2/usergroups', { name: 'px2', attributes: { posixGroups: [{ name: 'PXshared' }] } }), 409, 'attributes.posixGroups[0].name');
      assertError(await run.api('POST', '/api/v2/usergroups', { name: 'px3', attributes: { posixGroups: [{ name: 'px1' }] } }), 409, 'attributes.posixGroups[0].name');
      assertError(await run.api('POST', '/api/v2/usergroups', { name: 'pxShared' }), 409, 'name');
      // A POSIX group named after itself by default: that name is taken too.
      assertError(await run.api('POST', '/api/v2/usergroups', { name: 'px4', attributes: { posixGroups: [{ name: 'devs' }] } }), 409, 'attributes.posixGroups[0].name');
      const px5 = await run.api('POST', '/api/v2/usergroups', { name: 'px5' });
      assertError(await run.api('PUT', `/api/v2/usergroups/${px5.body.id}`, { name: 'px5', attributes: { posixGroups: [{ name: 'pxshared' }] } }), 409, 'attributes.posixGroups[0].name');
      // The group itself may keep (or re-send) its own names.
      const same = await run.api('PUT', `/api/v2/usergroups/${px1.body.id}`, { name: 'px1', description: 'kept', attributes: { posixGroups: [{ id: px1.body.attributes.posixGroups[0].id, name: 'pxshared' }] } });
      assert.equal(same.status, 200, JSON.stringify(same.body));
      // Groups that already collide (stored before the rule) stay editable: only names a change
      // gives a group are checked.
      await run.appliance.store.repos.userGroups.update(px5.body.id, { posixGid: 64_001, posixName: 'pxshared' });
      for (const [id, name] of [[px1.body.id, 'px1'], [px5.body.id, 'px5']] as const) {
        const g = (await run.api('GET', `/api/v2/usergroups/${id}`)).body;
        const edit = await run.api('PUT', `/api/v2/usergroups/${id}`, { name, description: 'VLAN change', attributes: { posixGroups: g.attributes.posixGroups } });
        assert.equal(edit.status, 200, `${name}: ${JSON.stringify(edit.body)}`);
      }
      const apart = await run.api('PUT', `/api/v2/usergroups/${px5.body.id}`, { name: 'px5', attributes: { posixGroups: [{ id: 64_001, name: 'px5' }] } });
      assert.equal(apart.status, 200, JSON.stringify(apart.body));
      for (const id of [px1.body.id, px5.body.id]) await run.api('DELETE', `/api/v2/usergroups/${id}`);
    });

    it('refuses a duplicate name with 409 naming name', async function () {
      assertError(await run.api('POST', '/api/v2/usergroups', { name: 'devs' }), 409, 'name');
    });

    it('creates only one of two groups whose names differ only in case, sent at once (409 naming name)', async function () {
      const [a, b] = await Promise.all([run.api('POST', '/api/v2/usergroups', { name: 'Racers' }), run.api('POST', '/api/v2/usergroups', { name: 'RACERS' })]);
      assert.deepEqual([a.status, b.status].sort(), [201, 409]);
      assertError(a.status === 409 ? a : b, 409, 'name');
      const created = a.status === 201 ? a : b;
      assert.equal((await run.api('DELETE', `/api/v2/usergroups/${created.body.id}`)).status, 200);
    });

    it('refuses a missing name with 400 naming name', async function () {
      assertError(await run.api('POST', '/api/v2/usergroups', { description: 'nameless' }), 400, 'name');
    });

    it('refuses a bad RADIUS attribute name with 400 naming it', async function () {
      const res = await run.api('POST', '/api/v2/usergroups', { name: 'badreply', attributes: { radius: { reply: [{ name: 'no spaces allowed', value: '1' }] } } });
      assertError(res, 400, 'attributes.radius.reply[0].name');
    });
  });

  describe('GET /api/v2/usergroups', function () {
    it('answers an array with x-total-count', async function () {
      const res = await run.api('GET', '/api/v2/usergroups');
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.ok(Array.isArray(res.body));
      assert.deepEqual(res.body.map((g: { name: string }) => g.name).sort(), ['devs', 'ops', 'plain']);
      assert.equal(res.headers.get('x-total-count'), '3');
    });

    it('pages with limit and keeps the total in x-total-count', async function () {
      const res = await run.api('GET', '/api/v2/usergroups?limit=1');
      assert.equal(res.body.length, 1);
      assert.equal(res.headers.get('x-total-count'), '3');
    });

    it('filters by name (v2 filter syntax)', async function () {
      const res = await run.api('GET', '/api/v2/usergroups?filter=name:eq:ops');
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.deepEqual(res.body.map((g: { name: string }) => g.name), ['ops']);
    });
  });

  describe('GET|PUT /api/v2/usergroups/{id}', function () {
    it('returns the group', async function () {
      const res = await run.api('GET', `/api/v2/usergroups/${devs.id}`);
      assert.equal(res.status, 200);
      assert.deepEqual(res.body.attributes, devs.attributes);
    });

    it('answers 404 for an unknown id', async function () {
      assertError(await run.api('GET', `/api/v2/usergroups/${MISSING_ID}`), 404);
    });

    it('updates only the fields given', async function () {
      const res = await run.api('PUT', `/api/v2/usergroups/${devs.id}`, { description: 'All developers' });
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.equal(res.body.description, 'All developers');
      assert.equal(res.body.name, 'devs');
      assert.deepEqual(res.body.attributes, devs.attributes);
    });

    it('refuses renaming onto another group’s name with 409', async function () {
      assertError(await run.api('PUT', `/api/v2/usergroups/${devs.id}`, { name: 'ops' }), 409, 'name');
    });
  });

  describe('members', function () {
    it('adds a user with 204', async function () {
      const res = await change(devs.id, 'add', ann._id);
      assert.equal(res.status, 204, JSON.stringify(res.body));
      assert.equal(res.body, null);
    });

    it('is idempotent: adding again is 204 and lists the user once', async function () {
      assert.equal((await change(devs.id, 'add', ann._id)).status, 204);
      const list = await members(devs.id);
      assert.equal(list.length, 1);
      assert.deepEqual(list[0]!.to.id, ann._id);
      assert.deepEqual(list[0]!.to.type, 'user');
    });

    it('lists the group in GET /api/v2/users/{id}/memberof', async function () {
      assert.deepEqual(await memberOf(ann._id), [devs.id]);
      const res = await run.api('GET', `/api/v2/users/${ann._id}/memberof`);
      assert.equal(res.body[0].type, 'user_group');
      assert.deepEqual(await memberOf(ben._id), []);
    });

    it('answers 404 to memberof of an unknown user', async function () {
      assertError(await run.api('GET', `/api/v2/users/${MISSING_ID}/memberof`), 404);
    });

    it('removes a user with 204, idempotently', async function () {
      assert.equal((await change(devs.id, 'add', ben._id)).status, 204);
      assert.equal((await members(devs.id)).length, 2);
      assert.equal((await change(devs.id, 'remove', ben._id)).status, 204);
      assert.equal((await change(devs.id, 'remove', ben._id)).status, 204);
      assert.deepEqual((await members(devs.id)).map((m) => m.to.id), [ann._id]);
      assert.deepEqual(await memberOf(ben._id), []);
    });

    it('refuses a bad op with 400 naming op', async function () {
      assertError(await change(devs.id, 'toggle', ben._id), 400, 'op');
    });

    it('refuses a non-user type with 400 naming type', async function () {
      assertError(await change(devs.id, 'add', ben._id, 'system'), 400, 'type');
    });

    it('answers 404 for an unknown user', async function () {
      assertError(await change(devs.id, 'add', MISSING_ID), 404);
    });

    it('answers 404 for an unknown group', async function () {
      assertError(await change(MISSING_ID, 'add', ann._id), 404);
      assertError(await run.api('GET', `/api/v2/usergroups/${MISSING_ID}/members`), 404);
    });

    it('drops a deleted user from the group', async function () {
      const temp = await createUser(run, { username: 'temp', email: 'temp@example.com' });
      assert.equal((await change(devs.id, 'add', temp._id)).status, 204);
      assert.equal((await run.api('DELETE', `/api/systemusers/${temp._id}`)).status, 200);
      assert.deepEqual((await members(devs.id)).map((m) => m.to.id), [ann._id]);
    });
  });

  describe('DELETE /api/v2/usergroups/{id}', function () {
    it('deletes the group, then answers 404, and drops it from memberof', async function () {
      const res = await run.api('DELETE', `/api/v2/usergroups/${devs.id}`);
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.equal(res.body.id, devs.id);
      assertError(await run.api('GET', `/api/v2/usergroups/${devs.id}`), 404);
      assertError(await run.api('DELETE', `/api/v2/usergroups/${devs.id}`), 404);
      assert.deepEqual(await memberOf(ann._id), []);
      assert.equal((await run.api('GET', '/api/v2/usergroups')).headers.get('x-total-count'), '2');
    });

    it('frees the name', async function () {
      const res = await run.api('POST', '/api/v2/usergroups', { name: 'devs' });
      assert.equal(res.status, 201, JSON.stringify(res.body));
      assert.notEqual(res.body.id, devs.id);
    });
  });
});
