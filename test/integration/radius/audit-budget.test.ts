import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { startAppliance, type RunningAppliance } from '../../helpers/appliance.js';
import { Attr, Code, bind, buildAccessRequest, checkReply, createRadiusServer, createUser, radiusEvents, udpClient, type UdpClient } from './support.js';

const SECRET = 'integration-secret-0123456789';
const PASSWORD = 'Radius-Garden-Path-77';

/**
 * Access-Requests refused before any password check (CHAP, EAP, a malformed User-Password) are
 * answered every time, and recorded within the NAS's budget of requests that prove nothing; a
 * refusal after a password proven right, and every password checked, are recorded in full.
 */
describe('RADIUS audit events of requests that prove nothing', function () {
  this.timeout(60_000);
  let gh: RunningAppliance;
  let nas: UdpClient;

  before(async () => {
    gh = await startAppliance();
    const serverId = await createRadiusServer(gh, { sharedSecret: SECRET });
    const alice = await createUser(gh, 'alice', PASSWORD);
    await bind(gh, { type: 'user', id: alice }, serverId);
    nas = await udpClient(gh.radiusPort);
  });
  after(async () => {
    await nas?.close();
    await gh?.stop();
  });

  it('answers 1,000 CHAP requests with Access-Reject and records at most the budget of them; a checked password still is', async () => {
    const t0 = Date.now();
    const N = 1_000;
    // One at a time: the test client matches replies by Identifier.
    for (let i = 0; i < N; i++) {
      const req = buildAccessRequest({ secret: SECRET, userName: 'alice', password: undefined, extra: [Buffer.from([Attr.ChapPassword, 19, 1, ...randomBytes(16)])] });
      const raw = await nas.exchange(req);
      assert.ok(raw, `request ${i} answered`);
      assert.equal(checkReply(req, raw, SECRET).code, Code.AccessReject);
    }
    const seconds = (Date.now() - t0) / 1000;
    const wrong = buildAccessRequest({ secret: SECRET, userName: 'alice', password: 'not-the-password-1' });
    assert.equal(checkReply(wrong, (await nas.exchange(wrong))!, SECRET).code, Code.AccessReject);
    const events = await radiusEvents(gh);
    const chap = events.filter((e) => e.auth_type === 'chap').length;
    assert.ok(chap >= 100 && chap <= 200 + 20 * (seconds + 1), `${chap} events of ${N} CHAP requests in ${seconds.toFixed(1)} s`);
    assert.ok(events.some((e) => e.auth_type === 'pap' && e.error_message === 'invalid password'), 'the checked password is recorded');
  });
});
