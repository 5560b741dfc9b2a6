import assert from 'node:assert/strict';
import { startAppliance, type RunningAppliance } from '../../helpers/appliance.js';
import { assertError, HEX24, MISSING_ID } from './support.js';

describe('LDAP servers (v2)', function () {
  let run: RunningAppliance;
  let serverId: string;

  before(async function () {
    run = await startAppliance();
  });

  after(async function () {
    await run?.stop();
  });

  describe('GET /api/v2/ldapservers', function () {
    it('lists exactly one server with JumpCloud fields', async function () {
      const res = await run.api('GET', '/api/v2/ldapservers');
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.ok(Array.isArray(res.body));
      assert.equal(res.body.length, 1);
      const s = res.body[0];
      assert.match(s.id, HEX24);
      assert.equal(typeof s.name, 'string');
      assert.ok(s.name.length > 0);
      assert.ok(['disable', 'remove'].includes(s.userLockoutAction), s.userLockoutAction);
      assert.ok(['disable', 'remove'].includes(s.userPasswordExpirationAction), s.userPasswordExpirationAction);
      serverId = s.id;
    });

    it('answers the server by id', async function () {
      const res = await run.api('GET', `/api/v2/ldapservers/${serverId}`);
      assert.equal(res.status, 200);
      assert.equal(res.body.id, serverId);
    });
  });

  describe('PATCH /api/v2/ldapservers/{id}', function () {
    it('sets userLockoutAction to remove', async function () {
      const res = await run.api('PATCH', `/api/v2/ldapservers/${serverId}`, { userLockoutAction: 'remove' });
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.equal(res.body.userLockoutAction, 'remove');
      assert.equal((await run.api('GET', '/api/v2/ldapservers')).body[0].userLockoutAction, 'remove');
    });

    it('sets it back to disable without touching the other action', async function () {
      const before = (await run.api('GET', `/api/v2/ldapservers/${serverId}`)).body;
      const res = await run.api('PATCH', `/api/v2/ldapservers/${serverId}`, { userLockoutAction: 'disable' });
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.equal(res.body.userLockoutAction, 'disable');
      assert.equal(res.body.userPasswordExpirationAction, before.userPasswordExpirationAction);
    });

    it('refuses a bad value with 400 naming the field and changes nothing', async function () {
      assertError(await run.api('PATCH', `/api/v2/ldapservers/${serverId}`, { userLockoutAction: 'explode' }), 400, 'userLockoutAction');
      assertError(await run.api('PATCH', `/api/v2/ldapservers/${serverId}`, { userPasswordExpirationAction: 7 }), 400, 'userPasswordExpirationAction');
      assert.equal((await run.api('GET', `/api/v2/ldapservers/${serverId}`)).body.userLockoutAction, 'disable');
    });

    it('answers 404 for an unknown id', async function () {
      assertError(await run.api('PATCH', `/api/v2/ldapservers/${MISSING_ID}`, { userLockoutAction: 'remove' }), 404);
    });

    it('still lists exactly one server', async function () {
      assert.equal((await run.api('GET', '/api/v2/ldapservers')).body.length, 1);
    });
  });
});
