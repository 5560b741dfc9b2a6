import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { startAppliance, type RunningAppliance } from '../../helpers/appliance.js';
import { setPasswordPolicy } from '../api/support.js';
import {
  Attr,
  Code,
  bind,
  buildAccessRequest,
  buildAccountingRequest,
  buildStatusServer,
  checkReply,
  createGroup,
  addMember,
  createRadiusServer,
  createUser,
  radiusEvents,
  settle,
  udpClient,
  type UdpClient,
} from './support.js';

const SECRET = 'integration-secret-0123456789';
const PASSWORD = 'Radius-Garden-Path-77';

describe('RADIUS Access-Request (PAP) on the in-process appliance', function () {
  let gh: RunningAppliance;
  let nas: UdpClient;
  let serverId: string;
  let aliceId: string;

  const request = (spec: Partial<Parameters<typeof buildAccessRequest>[0]> = {}) =>
    buildAccessRequest({ secret: SECRET, userName: 'alice', password: PASSWORD, ...spec });
  const failures = async (userId: string) => (await gh.appliance.store.repos.authState.get(userId)).failedCount;
  const resetFailures = () => gh.appliance.store.repos.authState.clearFailures(aliceId);

  before(async function () {
    gh = await startAppliance();
    assert.ok(gh.radiusPort > 0 && gh.radiusAccountingPort > 0, 'RADIUS ports are reported');
    await setPasswordPolicy(gh, { maxLoginAttempts: 5 });
    serverId = await createRadiusServer(gh, { sharedSecret: SECRET });
    aliceId = await createUser(gh, 'alice', PASSWORD);
    await createUser(gh, 'bob', PASSWORD); // exists, not bound to the server
    const staff = await createGroup(gh, 'staff');
    await addMember(gh, staff, aliceId);
    await bind(gh, { type: 'user_group', id: staff }, serverId);
    nas = await udpClient(gh.radiusPort);
  });

  after(async () => {
    await nas?.close();
    await gh?.stop();
  });

  describe('answers', () => {
    it('accepts a bound user with the right password, with a valid Message-Authenticator first', async () => {
      const req = request();
      const raw = await nas.exchange(req);
      assert.ok(raw, 'no reply');
      const r = checkReply(req, raw, SECRET);
      assert.equal(r.code, Code.AccessAccept);
      assert.ok(r.messageAuthenticatorFirst, 'Message-Authenticator is not the first attribute');
      assert.ok(r.messageAuthenticatorValid, 'Message-Authenticator does not verify');
      assert.ok(r.responseAuthenticatorValid, 'Response Authenticator does not verify');
      assert.equal(raw[1], req[1], 'Identifier echoed');
    });

    it('records the acceptance as a radius_auth_attempt event with JumpCloud fields and nas_ip', async () => {
      const [e] = await radiusEvents(gh);
      assert.ok(e);
      assert.equal(e.success, true);
      assert.equal(e.service, 'radius');
      assert.equal(e.username, 'alice');
      assert.equal(e.auth_type, 'pap');
      assert.equal(e.nas_mfa_state, 'DISABLED');
      assert.equal(e.mfa, false);
      assert.equal(e.client_ip, '127.0.0.1');
      assert.equal(e.nas_ip, '127.0.0.1');
      assert.deepEqual(e.initiated_by, { id: aliceId, type: 'user', username: 'alice' });
      assert.equal(e.resource.id, serverId);
    });

    it('rejects a wrong password, an unknown user and an unbound user with the same bare Access-Reject', async () => {
      const replies = [];
      for (const spec of [{ password: 'wrong-password' }, { userName: 'nobody' }, { userName: 'bob' }]) {
        const req = request(spec);
        const raw = await nas.exchange(req);
        assert.ok(raw, `no reply for ${JSON.stringify(spec)}`);
        const r = checkReply(req, raw, SECRET);
        assert.equal(r.code, Code.AccessReject);
        assert.ok(r.messageAuthenticatorFirst && r.messageAuthenticatorValid);
        assert.ok(r.responseAuthenticatorValid);
        // Nothing but the Message-Authenticator: no Reply-Message, no reason.
        assert.deepEqual(r.attributes.map((a) => a.type), [Attr.MessageAuthenticator]);
        replies.push(raw.length);
      }
      assert.equal(new Set(replies).size, 1, 'all rejects have the same length');
      const reasons = (await radiusEvents(gh)).slice(0, 3).map((e) => e.error_message);
      assert.deepEqual(reasons.sort(), ['invalid password', 'user is not bound to radius_server ' + (await gh.appliance.core.radiusServers.get(serverId)).name, 'user not found'].sort());
      await resetFailures();
    });

    it('accepts a Message-Authenticator placed anywhere in the request', async () => {
      const req = request({ messageAuthenticator: 'first' });
      const r = checkReply(req, (await nas.exchange(req))!, SECRET);
      assert.equal(r.code, Code.AccessAccept);
    });

    it('accepts a password of 128 octets (RFC 2865 §5.2)', async () => {
      const long = 'L'.repeat(120) + 'Aa1-xyz!';
      const id = await createUser(gh, 'longpw', long);
      await bind(gh, { type: 'user', id }, serverId);
      const req = request({ userName: 'longpw', password: long });
      assert.equal(checkReply(req, (await nas.exchange(req))!, SECRET).code, Code.AccessAccept);
    });

    it('answers Status-Server with an Access-Accept carrying a Message-Authenticator first (RFC 5997)', async () => {
      const req = buildStatusServer(SECRET);
      const raw = await nas.exchange(req);
      assert.ok(raw);
      const r = checkReply(req, raw, SECRET);
      assert.equal(r.code, Code.AccessAccept);
      assert.ok(r.messageAuthenticatorFirst && r.messageAuthenticatorValid && r.responseAuthenticatorValid);
    });

    describe('requests that cannot carry a valid password: a bare Access-Reject, audited, no failure counted', () => {
      const refused = async (req: Buffer, reason: string) => {
        const raw = await nas.exchange(req);
        assert.ok(raw, 'no reply');
        const r = checkReply(req, raw, SECRET);
        assert.equal(r.code, Code.AccessReject);
        assert.deepEqual(r.attributes.map((a) => a.type), [Attr.MessageAuthenticator]);
        const [e] = await radiusEvents(gh);
        assert.equal(e!.error_message, reason);
        assert.equal(e!.username, 'alice');
        assert.equal(await failures(aliceId), 0);
      };
      /** An Access-Request for alice whose User-Password attribute holds these octets as they are. */
      const withHidden = (hidden: Buffer) =>
        request({ password: undefined, extra: [Buffer.concat([Buffer.from([Attr.UserPassword, 2 + hidden.length]), hidden])] });

      for (const n of [1, 15, 17, 144]) {
        it(`a User-Password of ${n} octets (RFC 2865 §5.2: 16 to 128, in blocks of 16)`, async () => {
          await refused(withHidden(randomBytes(n)), 'malformed User-Password');
        });
      }

      it('both User-Password and CHAP-Password (RFC 2865 §4.1)', async () => {
        await refused(request({ extra: [Buffer.from([Attr.ChapPassword, 19, 1, ...randomBytes(16)])] }), 'both User-Password and CHAP-Password');
      });

      it('a password whose octets are not UTF-8 (compared as octets, not folded into U+FFFD)', async () => {
        await refused(request({ password: Buffer.concat([Buffer.from('Radius-Garden'), Buffer.from([0xff]), Buffer.from('-Path-77')]) }), 'User-Password is not UTF-8 text');
      });
    });

    it('accepts a password containing U+FFFD only from its own UTF-8 octets', async () => {
      const pw = 'Tr\ufffdck-Horse-99';
      const id = await createUser(gh, 'frank', pw);
      await bind(gh, { type: 'user', id }, serverId);
      const ok = request({ userName: 'frank', password: pw });
      assert.equal(checkReply(ok, (await nas.exchange(ok))!, SECRET).code, Code.AccessAccept);
      for (const stray of [0xff, 0x80, 0xc3]) {
        const req = request({ userName: 'frank', password: Buffer.concat([Buffer.from('Tr'), Buffer.from([stray]), Buffer.from('ck-Horse-99')]) });
        assert.equal(checkReply(req, (await nas.exchange(req))!, SECRET).code, Code.AccessReject, `octet ${stray.toString(16)} stood for U+FFFD`);
      }
    });

    it('refuses MS-CHAPv2 (Microsoft Vendor-Specifics) with an Access-Reject and says why in the audit trail', async () => {
      // Vendor-Specific 311: MS-CHAP-Challenge (11, 16 octets) and MS-CHAP2-Response (25, 50 octets), RFC 2548.
      const vsa = (type: number, value: Buffer) => Buffer.concat([Buffer.from([Attr.VendorSpecific, 8 + value.length, 0, 0, 0x01, 0x37, type, 2 + value.length]), value]);
      const req = request({ password: undefined, extra: [vsa(11, randomBytes(16)), vsa(25, randomBytes(50))] });
      assert.equal(checkReply(req, (await nas.exchange(req))!, SECRET).code, Code.AccessReject);
      const [e] = await radiusEvents(gh);
      assert.equal(e!.auth_type, 'mschap');
      assert.match(e!.error_message, /MS-CHAP is not supported/);
    });

    it('refuses CHAP with an Access-Reject and says why in the audit trail', async () => {
      const req = request({ password: undefined, extra: [Buffer.from([Attr.ChapPassword, 19, 1, ...randomBytes(16)])] });
      assert.equal(checkReply(req, (await nas.exchange(req))!, SECRET).code, Code.AccessReject);
      const [e] = await radiusEvents(gh);
      assert.equal(e!.auth_type, 'chap');
      assert.match(e!.error_message, /CHAP is not supported/);
    });
  });

  describe('duplicate detection (RFC 5080 §2.2.2)', () => {
    it('answers a retransmission with the cached reply and processes it once', async () => {
      const before = (await radiusEvents(gh)).length;
      const req = request();
      const first = await nas.exchange(req);
      const again = await nas.exchange(req);
      assert.ok(first && again);
      assert.ok(first.equals(again), 'the retransmission got different bytes');
      assert.equal((await radiusEvents(gh)).length, before + 1, 'processed more than once');
    });

    it('counts a wrong password once, however often it is retransmitted', async () => {
      await resetFailures();
      const req = request({ password: 'not-the-password' });
      for (let i = 0; i < 4; i++) assert.equal(checkReply(req, (await nas.exchange(req))!, SECRET).code, Code.AccessReject);
      assert.equal(await failures(aliceId), 1);
      // A new request (new Authenticator) is a new attempt.
      await nas.exchange(request({ password: 'not-the-password' }));
      assert.equal(await failures(aliceId), 2);
      await resetFailures();
    });

    it('drops a duplicate that arrives while the first is processed, then answers from the cache', async () => {
      const stats0 = gh.appliance.radius.stats();
      const req = request({ password: 'Another-wrong-pw-1' }); // a cache miss: argon2id keeps it in progress
      const first = nas.exchange(req, 3000);
      await nas.send(req);
      const reply = await first;
      assert.ok(reply);
      const stats1 = gh.appliance.radius.stats();
      assert.equal(stats1.duplicatesDropped - stats0.duplicatesDropped, 1);
      const later = await nas.exchange(req);
      assert.ok(later?.equals(reply));
      assert.equal(await failures(aliceId), 1);
      await resetFailures();
    });
  });

  describe('silent discards', () => {
    const noReply = async (client: UdpClient, req: Buffer, reason: string) => {
      const before = gh.appliance.radius.stats().discarded[reason] ?? 0;
      const events = (await radiusEvents(gh)).length;
      assert.equal(await client.exchange(req, 400), null, 'a discarded request was answered');
      await settle();
      assert.equal((gh.appliance.radius.stats().discarded[reason] ?? 0) - before, 1, `not counted as ${reason}`);
      assert.equal((await radiusEvents(gh)).length, events, 'a discarded request left an audit event');
    };

    it('ignores a datagram from an unknown client', async () => {
      const stranger = await udpClient(gh.radiusPort, '127.0.0.1', '127.0.0.2');
      try {
        await noReply(stranger, request(), 'unknown_client');
      } finally {
        await stranger.close();
      }
    });

    it('ignores a request signed with the wrong secret, and counts no failure', async () => {
      await noReply(nas, buildAccessRequest({ secret: 'wrong-secret-0123456789', userName: 'alice', password: 'x' }), 'bad_message_authenticator');
      assert.equal(await failures(aliceId), 0);
    });

    it('ignores a request without Message-Authenticator while the server requires it', async () => {
      await noReply(nas, request({ messageAuthenticator: false, password: 'wrong' }), 'missing_message_authenticator');
      assert.equal(await failures(aliceId), 0);
    });

    it('ignores a header Length beyond the datagram', async () => {
      const req = request();
      await noReply(nas, req.subarray(0, req.length - 3), 'bad_length');
    });

    it('ignores a Message-Authenticator attribute of the wrong length', async () => {
      const req = Buffer.concat([request({ messageAuthenticator: false }), Buffer.from([Attr.MessageAuthenticator, 10, 0, 0, 0, 0, 0, 0, 0, 0])]);
      req.writeUInt16BE(req.length, 2);
      await noReply(nas, req, 'bad_message_authenticator_attribute');
    });

    it('accepts requests without Message-Authenticator when the server allows legacy gear, still signing replies', async () => {
      const put = await gh.api('PUT', `/api/radiusservers/${serverId}`, { requireMessageAuthenticator: false });
      assert.equal(put.status, 200, JSON.stringify(put.body));
      await gh.appliance.radius.refreshClients();
      try {
        const req = request({ messageAuthenticator: false });
        const r = checkReply(req, (await nas.exchange(req))!, SECRET);
        assert.equal(r.code, Code.AccessAccept);
        assert.ok(r.messageAuthenticatorFirst && r.messageAuthenticatorValid);
      } finally {
        await gh.api('PUT', `/api/radiusservers/${serverId}`, { requireMessageAuthenticator: true });
        await gh.appliance.radius.refreshClients();
      }
      await noReply(nas, request({ messageAuthenticator: false }), 'missing_message_authenticator');
    });

    describe('legacy gear, as FreeRADIUS 3.2.5+ limits it (BlastRADIUS)', () => {
      const proxyState = Buffer.from([Attr.ProxyState, 6, 1, 2, 3, 4]);
      let legacy: UdpClient;
      let legacyId: string;
      before(async () => {
        legacyId = await createRadiusServer(gh, { name: 'legacy', networkSourceIp: '127.0.0.3', sharedSecret: SECRET, requireMessageAuthenticator: false });
        await bind(gh, { type: 'user', id: aliceId }, legacyId);
        await gh.appliance.radius.refreshClients();
        legacy = await udpClient(gh.radiusPort, '127.0.0.1', '127.0.0.3');
      });
      after(async () => legacy?.close());

      it('ignores an unsigned request carrying Proxy-State (limit_proxy_state), and counts no failure', async () => {
        await noReply(legacy, request({ messageAuthenticator: false, password: 'wrong', extra: [proxyState] }), 'proxy_state_without_message_authenticator');
        assert.equal(await failures(aliceId), 0);
        const unsigned = request({ messageAuthenticator: false });
        assert.equal(checkReply(unsigned, (await legacy.exchange(unsigned))!, SECRET).code, Code.AccessAccept, 'unsigned without Proxy-State still served');
        const signed = request({ extra: [proxyState] });
        const r = checkReply(signed, (await legacy.exchange(signed))!, SECRET);
        assert.equal(r.code, Code.AccessAccept, 'a signed request with Proxy-State is served');
      });

      it('requires signatures from a NAS once it has signed (require_message_authenticator = auto)', async () => {
        const signed = request();
        assert.equal(checkReply(signed, (await legacy.exchange(signed))!, SECRET).code, Code.AccessAccept);
        await noReply(legacy, request({ messageAuthenticator: false }), 'missing_message_authenticator');
      });

      it('learns per NAS address, and not from EAP (which must be signed anyway)', async () => {
        const blockId = await createRadiusServer(gh, { name: 'legacy-block', networkSourceIp: '127.0.4.0/24', sharedSecret: SECRET, requireMessageAuthenticator: false });
        await bind(gh, { type: 'user', id: aliceId }, blockId);
        const [eapNas, otherNas] = await Promise.all([udpClient(gh.radiusPort, '127.0.0.1', '127.0.4.1'), udpClient(gh.radiusPort, '127.0.0.1', '127.0.4.2')]);
        try {
          // A signed EAP request (refused: EAP is not offered) teaches nothing.
          const eap = request({ password: undefined, extra: [Buffer.from([Attr.EapMessage, 6, 2, 1, 0, 4])] });
          assert.equal(checkReply(eap, (await eapNas.exchange(eap))!, SECRET).code, Code.AccessReject);
          const pap = request({ messageAuthenticator: false });
          assert.equal(checkReply(pap, (await eapNas.exchange(pap))!, SECRET).code, Code.AccessAccept, 'unsigned PAP after signed EAP');
          // A signed PAP request teaches its own address only, not the rest of the block.
          const signed = request();
          assert.equal(checkReply(signed, (await eapNas.exchange(signed))!, SECRET).code, Code.AccessAccept);
          await noReply(eapNas, request({ messageAuthenticator: false }), 'missing_message_authenticator');
          const fromOther = request({ messageAuthenticator: false });
          assert.equal(checkReply(fromOther, (await otherNas.exchange(fromOther))!, SECRET).code, Code.AccessAccept, 'another NAS of the block');
        } finally {
          await Promise.all([eapNas.close(), otherNas.close()]);
        }
      });
    });
  });

  describe('accounting (RFC 2866)', () => {
    it('answers an Accounting-Request and records it', async () => {
      const req = buildAccountingRequest(SECRET, [
        ['User-Name', 'alice'],
        ['Acct-Status-Type', 'Start'],
        ['Acct-Session-Id', 'sess-0001'],
        ['NAS-IP-Address', '127.0.0.1'],
      ]);
      const raw = await nas.exchange(req, 1500, gh.radiusAccountingPort);
      assert.ok(raw);
      const r = checkReply(req, raw, SECRET);
      assert.equal(r.code, Code.AccountingResponse);
      assert.ok(r.responseAuthenticatorValid);
      const [e] = await radiusEvents(gh, 'radius_accounting');
      assert.equal(e?.username, 'alice');
      assert.equal(e?.acct_status_type, 'Start');
      assert.equal(e?.acct_session_id, 'sess-0001');
      assert.equal(e?.resource.id, serverId);
    });

    it('ignores an Accounting-Request with a wrong Request Authenticator', async () => {
      const req = buildAccountingRequest('another-secret-0123456789', [['User-Name', 'alice'], ['Acct-Status-Type', 'Stop']]);
      assert.equal(await nas.exchange(req, 400, gh.radiusAccountingPort), null);
    });

    it('records Interim-Updates of a session at most once per interval', async () => {
      const before = (await radiusEvents(gh, 'radius_accounting')).length;
      for (let i = 0; i < 3; i++) {
        const req = buildAccountingRequest(SECRET, [['User-Name', 'alice'], ['Acct-Status-Type', 'Interim-Update'], ['Acct-Session-Id', 'sess-0002']]);
        assert.ok(await nas.exchange(req, 1500, gh.radiusAccountingPort));
      }
      assert.equal((await radiusEvents(gh, 'radius_accounting')).length, before + 1);
    });
  });
});
