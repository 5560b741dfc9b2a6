import assert from 'node:assert/strict';
import { userPortalResource } from '../../../src/core/auth/resources.js';
import { startAppliance, type RunningAppliance } from '../../helpers/appliance.js';
import { setPasswordPolicy } from '../api/support.js';
import { Code, bind, buildAccessRequest, checkReply, createRadiusServer, createUser, radiusEvents, udpClient, type UdpClient } from './support.js';

const SECRET = 'policy-secret-0123456789ab';
const PASSWORD = 'Locked-Or-Expired-Pass-3';

describe('RADIUS: locked and expired accounts (userLockoutAction / userPasswordExpirationAction)', function () {
  let gh: RunningAppliance;
  let nas: UdpClient;
  let serverId: string;

  const code = async (userName: string, password = PASSWORD) => {
    const req = buildAccessRequest({ secret: SECRET, userName, password });
    const raw = await nas.exchange(req);
    assert.ok(raw, 'no reply');
    return checkReply(req, raw, SECRET).code;
  };
  const setServer = async (body: Record<string, unknown>) => {
    assert.equal((await gh.api('PUT', `/api/radiusservers/${serverId}`, body)).status, 200);
    await gh.appliance.radius.refreshClients();
  };

  before(async function () {
    gh = await startAppliance();
    await setPasswordPolicy(gh, { maxLoginAttempts: 3 });
    serverId = await createRadiusServer(gh, { sharedSecret: SECRET });
    for (const name of ['lena', 'mona']) await bind(gh, { type: 'user', id: await createUser(gh, name, PASSWORD) }, serverId);
    nas = await udpClient(gh.radiusPort);
  });

  after(async () => {
    await nas?.close();
    await gh?.stop();
  });

  describe('a locked account', () => {
    it('is locked by wrong passwords sent over RADIUS, and the lock holds for other protocols', async () => {
      for (let i = 0; i < 3; i++) assert.equal(await code('lena', `wrong-${i}`), Code.AccessReject);
      const user = (await gh.api('GET', '/api/systemusers?filter=username:$eq:lena')).body.results[0];
      assert.equal(user.account_locked, true);
      const portal = await gh.appliance.core.auth.authenticate({ protocol: 'portal', login: 'lena', password: PASSWORD, clientIp: '127.0.0.1', resource: userPortalResource });
      assert.equal(portal.status, 'locked');
    });

    it('is refused with the right password when the server removes locked users', async () => {
      assert.equal(await code('lena'), Code.AccessReject);
      assert.equal((await radiusEvents(gh))[0]!.error_message, 'account locked');
    });

    it('is accepted when the server maintains locked users', async () => {
      await setServer({ userLockoutAction: 'maintain' });
      try {
        assert.equal(await code('lena'), Code.AccessAccept);
      } finally {
        await setServer({ userLockoutAction: 'remove' });
      }
    });
  });

  describe('an expired password', () => {
    before(async () => {
      const id = (await gh.api('GET', '/api/systemusers?filter=username:$eq:mona')).body.results[0]._id;
      assert.equal((await gh.api('POST', `/api/systemusers/${id}/expire`)).status, 200);
    });

    it('is refused when the server removes users with expired passwords', async () => {
      assert.equal(await code('mona'), Code.AccessReject);
      assert.equal((await radiusEvents(gh))[0]!.error_message, 'password expired');
    });

    it('is accepted when the server maintains them', async () => {
      await setServer({ userPasswordExpirationAction: 'maintain' });
      assert.equal(await code('mona'), Code.AccessAccept);
    });
  });
});
