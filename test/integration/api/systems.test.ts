import assert from 'node:assert/strict';
import { startAppliance, type RunningAppliance } from '../../helpers/appliance.js';
import { assertError, HEX24, MISSING_ID } from './support.js';

describe('systems (v1) and system groups (v2)', function () {
  let run: RunningAppliance;
  // `any`: system and group JSON as the API returns them.
  let build: any;
  let web: any;
  let servers: any;

  before(async function () {
    run = await startAppliance();
  });

  after(async function () {
    await run?.stop();
  });

  describe('systems', function () {
    it('creates a system with 201 and JumpCloud fields', async function () {
      const res = await run.api('POST', '/api/systems', {
        displayName: 'build-01',
        hostname: 'build-01.example.com',
        os: 'Ubuntu',
        version: '24.04',
        arch: 'x86_64',
        allowMultiFactorAuthentication: true,
      });
      assert.equal(res.status, 201, JSON.stringify(res.body));
      build = res.body;
      assert.match(build._id, HEX24);
      assert.equal(build.displayName, 'build-01');
      assert.equal(build.hostname, 'build-01.example.com');
      assert.equal(build.os, 'Ubuntu');
      assert.equal(build.version, '24.04');
      assert.equal(build.arch, 'x86_64');
      assert.equal(build.allowMultiFactorAuthentication, true);
      assert.equal(typeof build.active, 'boolean');
      assert.equal(typeof build.systemInsights.state, 'string');
      for (const k of ['agentVersion', 'lastContact']) assert.ok(k in build, `system JSON lacks ${k}`);
    });

    it('lists systems with totalCount', async function () {
      web = (await run.api('POST', '/api/systems', { displayName: 'web-01', os: 'Debian' })).body;
      const res = await run.api('GET', '/api/systems?sort=displayName');
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.equal(res.body.totalCount, 2);
      assert.deepEqual(res.body.results.map((s: { displayName: string }) => s.displayName), ['build-01', 'web-01']);
    });

    it('filters systems by os', async function () {
      const res = await run.api('GET', '/api/systems?filter=os:$eq:Debian');
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.deepEqual(res.body.results.map((s: { _id: string }) => s._id), [web._id]);
    });

    it('returns a system by id, 404 for an unknown one', async function () {
      const res = await run.api('GET', `/api/systems/${build._id}`);
      assert.equal(res.status, 200);
      assert.deepEqual(res.body, build);
      assertError(await run.api('GET', `/api/systems/${MISSING_ID}`), 404);
    });

    it('updates only the fields given', async function () {
      const res = await run.api('PUT', `/api/systems/${build._id}`, { displayName: 'build-01a', active: true });
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.equal(res.body.displayName, 'build-01a');
      assert.equal(res.body.active, true);
      assert.equal(res.body.hostname, 'build-01.example.com');
      assert.equal((await run.api('GET', `/api/systems/${build._id}`)).body.displayName, 'build-01a');
    });

    it('refuses wrong types with 400 naming the field', async function () {
      assertError(await run.api('PUT', `/api/systems/${build._id}`, { active: 'maybe' }), 400, 'active');
      assertError(await run.api('POST', '/api/systems', { displayName: 'x', lastContact: 'yesterday-ish' }), 400, 'lastContact');
      assertError(await run.api('PUT', `/api/systems/${MISSING_ID}`, { displayName: 'ghost' }), 404);
    });
  });

  describe('system groups', function () {
    const members = async () => {
      const res = await run.api('GET', `/api/v2/systemgroups/${servers.id}/members`);
      assert.equal(res.status, 200, JSON.stringify(res.body));
      return res.body as { to: { id: string; type: string } }[];
    };
    const change = (op: string, id: string, type = 'system') => run.api('POST', `/api/v2/systemgroups/${servers.id}/members`, { op, type, id });

    it('creates a group with 201', async function () {
      const res = await run.api('POST', '/api/v2/systemgroups', { name: 'servers', description: 'All servers' });
      assert.equal(res.status, 201, JSON.stringify(res.body));
      servers = res.body;
      assert.match(servers.id, HEX24);
      assert.equal(servers.name, 'servers');
      assert.equal(servers.description, 'All servers');
      assert.equal(servers.type, 'system_group');
    });

    it('refuses a duplicate name with 409', async function () {
      assertError(await run.api('POST', '/api/v2/systemgroups', { name: 'servers' }), 409, 'name');
    });

    it('lists groups as an array with x-total-count', async function () {
      await run.api('POST', '/api/v2/systemgroups', { name: 'laptops' });
      const res = await run.api('GET', '/api/v2/systemgroups');
      assert.equal(res.status, 200);
      assert.deepEqual(res.body.map((g: { name: string }) => g.name).sort(), ['laptops', 'servers']);
      assert.equal(res.headers.get('x-total-count'), '2');
    });

    it('gets and updates a group', async function () {
      assert.equal((await run.api('GET', `/api/v2/systemgroups/${servers.id}`)).body.name, 'servers');
      const res = await run.api('PUT', `/api/v2/systemgroups/${servers.id}`, { description: 'Every server' });
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.equal(res.body.description, 'Every server');
      assert.equal(res.body.name, 'servers');
      assertError(await run.api('GET', `/api/v2/systemgroups/${MISSING_ID}`), 404);
    });

    it('adds systems as members (204, idempotent) and lists them', async function () {
      assert.equal((await change('add', build._id)).status, 204);
      assert.equal((await change('add', build._id)).status, 204);
      assert.equal((await change('add', web._id)).status, 204);
      const list = await members();
      assert.deepEqual(list.map((m) => m.to.id).sort(), [build._id, web._id].sort());
      for (const m of list) assert.equal(m.to.type, 'system');
    });

    it('refuses a bad type, a bad op and an unknown system', async function () {
      assertError(await change('add', build._id, 'user'), 400, 'type');
      assertError(await change('merge', build._id), 400, 'op');
      assertError(await change('add', MISSING_ID), 404);
    });

    it('removes a member with 204', async function () {
      assert.equal((await change('remove', web._id)).status, 204);
      assert.deepEqual((await members()).map((m) => m.to.id), [build._id]);
    });

    it('drops a deleted system from the group', async function () {
      const res = await run.api('DELETE', `/api/systems/${build._id}`);
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assertError(await run.api('GET', `/api/systems/${build._id}`), 404);
      assert.deepEqual(await members(), []);
    });

    it('deletes a group, then answers 404', async function () {
      assert.equal((await run.api('DELETE', `/api/v2/systemgroups/${servers.id}`)).status, 200);
      assertError(await run.api('GET', `/api/v2/systemgroups/${servers.id}`), 404);
      assertError(await run.api('GET', `/api/v2/systemgroups/${servers.id}/members`), 404);
      assert.equal((await run.api('GET', '/api/v2/systemgroups')).headers.get('x-total-count'), '1');
    });
  });
});
