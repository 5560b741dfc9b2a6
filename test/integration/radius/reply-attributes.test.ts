import assert from 'node:assert/strict';
import { storeUnavailable } from '../../../src/core/errors.js';
import { startAppliance, type RunningAppliance } from '../../helpers/appliance.js';
import { assertError, queryEvents } from '../api/support.js';
import { Attr, Code, addMember, bind, buildAccessRequest, checkReply, createGroup, createRadiusServer, createUser, udpClient, type UdpClient } from './support.js';

const SECRET = 'attributes-secret-0123456789';
const PASSWORD = 'Vlan-Assignment-Pass-5';

const VLAN = (id: string) => [
  { name: 'Tunnel-Type', value: 'VLAN' },
  { name: 'Tunnel-Medium-Type', value: 'IEEE-802' },
  { name: 'Tunnel-Private-Group-Id', value: id },
];

describe('RADIUS reply attributes from user groups', function () {
  let gh: RunningAppliance;
  let nas: UdpClient;
  let serverId: string;
  let otherServerId: string;

  const accept = async (userName: string) => {
    const req = buildAccessRequest({ secret: SECRET, userName, password: PASSWORD });
    const raw = await nas.exchange(req);
    assert.ok(raw, 'no reply');
    const r = checkReply(req, raw, SECRET);
    assert.equal(r.code, Code.AccessAccept);
    assert.ok(r.messageAuthenticatorFirst && r.messageAuthenticatorValid && r.responseAuthenticatorValid);
    return r;
  };
  const tick = () => new Promise((r) => setTimeout(r, 15)); // distinct createdAt for newest-wins

  before(async function () {
    gh = await startAppliance();
    serverId = await createRadiusServer(gh, { sharedSecret: SECRET });
    otherServerId = await createRadiusServer(gh, { sharedSecret: 'other-secret-0123456789', networkSourceIp: '10.9.9.0/24' });

    const older = await createGroup(gh, 'vlan-100', [
      ...VLAN('100'),
      { name: 'Filter-Id', value: 'staff-acl' },
      { name: 'Class', value: '0x636c6173732d61' },
      { name: 'Session-Timeout', value: '3600' },
    ]);
    await tick();
    const newer = await createGroup(gh, 'vlan-200', [...VLAN('200'), { name: 'Cisco-AVPair', value: 'shell:priv-lvl=15' }, { name: 'Cisco-AVPair', value: 'shell:roles=admin' }]);
    await tick();
    const elsewhere = await createGroup(gh, 'guests-elsewhere', [{ name: 'Filter-Id', value: 'guest-acl' }, { name: 'Reply-Message', value: 'hello' }]);
    for (const g of [older, newer]) await bind(gh, { type: 'user_group', id: g }, serverId);
    await bind(gh, { type: 'user_group', id: elsewhere }, otherServerId);

    const ivan = await createUser(gh, 'ivan', PASSWORD);
    await addMember(gh, older, ivan);
    const judy = await createUser(gh, 'judy', PASSWORD);
    await addMember(gh, older, judy);
    await addMember(gh, newer, judy);
    const kim = await createUser(gh, 'kim', PASSWORD);
    await addMember(gh, elsewhere, kim);
    await bind(gh, { type: 'user', id: kim }, serverId);
    nas = await udpClient(gh.radiusPort);
  });

  after(async () => {
    await nas?.close();
    await gh?.stop();
  });

  it("sends the VLAN attributes of the user's group, encoded per RFC 2868 / RFC 3580", async () => {
    const r = await accept('ivan');
    const byType = (t: number) => r.attributes.filter((a) => a.type === t).map((a) => a.value.toString('hex'));
    assert.deepEqual(byType(64), ['0000000d'], 'Tunnel-Type = VLAN (13), tag 0');
    assert.deepEqual(byType(65), ['00000006'], 'Tunnel-Medium-Type = IEEE-802 (6)');
    assert.deepEqual(byType(81), [Buffer.from('100').toString('hex')]);
    assert.equal(r.decoded['Filter-Id'], 'staff-acl');
    assert.equal(r.decoded['Session-Timeout'], 3600);
    assert.deepEqual(byType(25), [Buffer.from('class-a').toString('hex')]);
  });

  it('resolves conflicts between groups: the newest group wins per attribute, other attributes merge', async () => {
    const r = await accept('judy');
    assert.deepEqual(
      r.attributes.filter((a) => a.type === 81).map((a) => a.value.toString()),
      ['200'],
      'Tunnel-Private-Group-Id from the newest group only',
    );
    assert.equal(r.decoded['Filter-Id'], 'staff-acl', 'an attribute only the older group sets is kept');
    // Vendor-Specific (26): vendor id (4 octets), vendor type, vendor length, value (RFC 2865 §5.26).
    const avpairs = r.attributes.filter((a) => a.type === 26 && a.value.readUInt32BE(0) === 9 && a.value[4] === 1).map((a) => a.value.subarray(6).toString());
    assert.deepEqual(avpairs, ['shell:priv-lvl=15', 'shell:roles=admin'], 'Cisco-AVPair (vendor 9) values, all of them');
  });

  describe('when the reply attributes cannot be read after a successful authentication', () => {
    const reply = () => gh.appliance.core.radiusReply;
    let original: ReturnType<typeof reply>['replyAttributesFor'];
    beforeEach(() => {
      original = reply().replyAttributesFor;
    });
    afterEach(() => {
      reply().replyAttributesFor = original;
    });

    it('retries the read, so a passing store error still gives the Accept', async () => {
      let failures = 1;
      reply().replyAttributesFor = async (userId, serverId) => {
        if (failures-- > 0) throw new Error('SQLITE_BUSY: database is locked');
        return original(userId, serverId);
      };
      const r = await accept('ivan');
      assert.ok(r.attributes.some((a) => a.type === 81), 'Tunnel-Private-Group-Id sent');
    });

    it('fails closed with an audited Access-Reject, and gives a retransmission the same Reject', async () => {
      reply().replyAttributesFor = async () => {
        throw new Error('store unavailable');
      };
      const since = new Date().toISOString();
      const req = buildAccessRequest({ secret: SECRET, userName: 'judy', password: PASSWORD });
      const first = await nas.exchange(req);
      assert.ok(first, 'no reply: the NAS would retransmit into a fresh (and, with TOTP, failing) authentication');
      const r = checkReply(req, first, SECRET);
      assert.equal(r.code, Code.AccessReject);
      assert.ok(r.messageAuthenticatorFirst && r.messageAuthenticatorValid);
      reply().replyAttributesFor = original; // even once the store is back, the retransmission gets the cached answer
      const again = await nas.exchange(req);
      assert.deepEqual(again, first);
      // Audit events are written in batches: wait for the event to land (and for a second one, which
      // must not come: the attempt is one event, a failure, not a success followed by a failure).
      let judy: Awaited<ReturnType<typeof queryEvents>> = [];
      for (let i = 0; i < 20; i++) {
        if (i > 0) await new Promise((r) => setTimeout(r, 50));
        const events = await queryEvents(gh, { service: ['radius'], start_time: new Date(Date.now() - 60_000).toISOString() });
        judy = events.filter((e) => e.event_type === 'radius_auth_attempt' && e.username === 'judy' && String(e.timestamp) >= since);
      }
      assert.equal(judy.length, 1, JSON.stringify(judy));
      assert.equal(judy[0]!.success, false);
      assert.match(String(judy[0]!.error_message), /Access-Reject sent after a successful authentication: reply attributes could not be read/);
    });

    it('sends nothing when the store is unavailable (no final Reject for a right password), and answers the retransmission once it is back', async () => {
      reply().replyAttributesFor = async () => {
        throw storeUnavailable();
      };
      const req = buildAccessRequest({ secret: SECRET, userName: 'ivan', password: PASSWORD });
      assert.equal(await nas.exchange(req, 1500), null, 'no reply: the NAS retransmits or fails over');
      reply().replyAttributesFor = original;
      const again = await nas.exchange(req);
      assert.ok(again, 'the retransmission is answered');
      const r = checkReply(req, again, SECRET);
      assert.equal(r.code, Code.AccessAccept);
      assert.ok(r.attributes.some((a) => a.type === 81), 'with its reply attributes');
    });
  });

  it('refuses an Access-Accept that would exceed 4096 octets with one audited failure, not a success and a failure', async () => {
    const big = await createGroup(gh, 'big-avpairs', Array.from({ length: 12 }, (_, i) => ({ name: 'Cisco-AVPair', value: `${String(i).padStart(2, '0')}=${'x'.repeat(240)}` })));
    await bind(gh, { type: 'user_group', id: big }, serverId);
    const gina = await createUser(gh, 'gina', PASSWORD);
    await addMember(gh, big, gina);
    // 12 Vendor-Specifics of 251 octets fit (3,012); 1,212 octets of Proxy-State to echo do not.
    const proxy = Array.from({ length: 6 }, (_, i) => Buffer.concat([Buffer.from([Attr.ProxyState, 202]), Buffer.alloc(200, i)]));
    const req = buildAccessRequest({ secret: SECRET, userName: 'gina', password: PASSWORD, extra: proxy });
    const r = checkReply(req, (await nas.exchange(req))!, SECRET);
    assert.equal(r.code, Code.AccessReject);
    let gin: Awaited<ReturnType<typeof queryEvents>> = [];
    for (let i = 0; i < 20; i++) {
      if (i > 0) await new Promise((res) => setTimeout(res, 50));
      const events = await queryEvents(gh, { service: ['radius'], start_time: new Date(Date.now() - 60_000).toISOString() });
      gin = events.filter((e) => e.event_type === 'radius_auth_attempt' && e.username === 'gina');
    }
    assert.equal(gin.length, 1, JSON.stringify(gin));
    assert.equal(gin[0]!.success, false);
    assert.match(String(gin[0]!.error_message), /Access-Accept would exceed 4096 octets/);
    const small = buildAccessRequest({ secret: SECRET, userName: 'gina', password: PASSWORD });
    assert.equal(checkReply(small, (await nas.exchange(small))!, SECRET).code, Code.AccessAccept, 'without the Proxy-State it fits');
  });

  it('sends nothing from groups bound only to another RADIUS server', async () => {
    const r = await accept('kim');
    assert.deepEqual(r.attributes.map((a) => a.type), [Attr.MessageAuthenticator]);
  });

  it('refuses unknown attribute names and invalid values over the REST API, naming the field', async () => {
    const unknown = await gh.api('POST', '/api/v2/usergroups', { name: 'bad-1', attributes: { radius: { reply: [{ name: 'Tunnel-Private-Group-Idd', value: '1' }] } } });
    assertError(unknown, 400, 'attributes.radius.reply[0]');
    assert.match(unknown.body.message, /Tunnel-Private-Group-Idd/);
    const badValue = await gh.api('POST', '/api/v2/usergroups', {
      name: 'bad-2',
      attributes: { radius: { reply: [{ name: 'Filter-Id', value: 'ok' }, { name: 'Session-Timeout', value: 'one hour' }] } },
    });
    assertError(badValue, 400, 'attributes.radius.reply[1]');
    const protocolOnly = await gh.api('POST', '/api/v2/usergroups', { name: 'bad-3', attributes: { radius: { reply: [{ name: 'Message-Authenticator', value: 'x' }] } } });
    assertError(protocolOnly, 400, 'attributes.radius.reply[0]');
    const ok = await gh.api('POST', '/api/v2/usergroups', { name: 'good', attributes: { radius: { reply: [{ name: 'Tunnel-Type:1', value: 'vlan' }, { name: 'Aruba-User-Role', value: 'staff' }] } } });
    assert.equal(ok.status, 201, JSON.stringify(ok.body));
  });
});
