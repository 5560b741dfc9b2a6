import assert from 'node:assert/strict';
import { requireBinary } from '../../helpers/binaries.js';
import { startAppliance } from '../../helpers/appliance.js';
import {
  RawConnection,
  asUser,
  berInt,
  berString,
  exec,
  isNoticeOfDisconnection,
  ldapEnv,
  ldapMessage,
  ldapsearch,
  presentFilter,
  probeSearch,
  searchRequest,
  seedDirectory,
  simpleBindRequest,
  STANDARD_USERS,
  tlv,
  type Directory,
} from '../../integration/ldap/support.js';

const PROTOCOL_ERROR = 2;
const UNAVAILABLE_CRITICAL_EXTENSION = 12;
const BIND_RESPONSE = 0x61;
const SEARCH_DONE = 0x65;
const EXTENDED_RESPONSE = 0x78;
const PPOLICY = '1.3.6.1.4.1.42.2.27.8.5.1';

/** Control ::= SEQUENCE { controlType, criticality DEFAULT FALSE, controlValue OPTIONAL } (RFC 4511 §4.1.11). */
const control = (oid: string, critical: boolean, value?: Buffer) =>
  tlv(0x30, berString(oid), ...(critical ? [Buffer.from([0x01, 0x01, 0xff])] : []), ...(value ? [berString(value)] : []));
const controls = (...cs: Buffer[]) => tlv(0xa0, ...cs);

/**
 * Request controls as sssd, nslcd and ldap-utils send them (RFC 4511 §4.1.11): ones Gatehouse does
 * not apply are ignored when not critical and refuse the operation when critical, on every
 * operation; none disconnects the client.
 */
describe('LDAP request controls with ldap-utils', function () {
  this.timeout(60_000);
  let dir: Directory;
  const raws: RawConnection[] = [];
  const raw = async () => {
    const c = new RawConnection(dir.run.endpoints.ldap!.port);
    raws.push(c);
    await c.connected;
    return c;
  };

  before(async function () {
    requireBinary(this, 'ldapwhoami', 'ldap-utils');
    const run = await startAppliance();
    dir = await seedDirectory(run, STANDARD_USERS.filter((u) => ['binder', 'alice', 'bob'].includes(u.username)).map((u) => ({ ...u, bound: true })), []);
  });
  afterEach(() => raws.splice(0).forEach((c) => c.destroy()));
  after(async () => dir?.run.stop());

  it('binds with the password policy request control (no value), as sssd and nslcd send it', async () => {
    const r = await exec('ldapwhoami', [...asUser(dir, 'alice'), '-e', 'ppolicy'], { env: ldapEnv(dir) });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^dn:uid=alice,/i);
  });

  it('searches with the password policy control, and with other valueless controls it does not apply', async () => {
    const s = await ldapsearch(dir, [...asUser(dir, 'binder'), '-e', 'ppolicy'], ['-b', dir.base, '(uid=bob)', '1.1']);
    assert.equal(s.code, 0, s.stderr);
    assert.equal(s.entries.length, 1);
    // VLV, persistent search and entry change notification, all without their values, non-critical.
    for (const oid of ['2.16.840.1.113730.3.4.9', '2.16.840.1.113730.3.4.3', '2.16.840.1.113730.3.4.7', PPOLICY]) {
      const c = await raw();
      c.write(ldapMessage(1, simpleBindRequest(dir.users.binder!.dn, dir.users.binder!.password), controls(control(oid, false))));
      c.write(ldapMessage(2, searchRequest(dir.base, 2, presentFilter('uid'), ['1.1']), controls(control(oid, false))));
      const rs = await c.waitFor((x) => x.some((r) => r.op === SEARCH_DONE), 5000);
      assert.equal(rs.find((r) => r.op === BIND_RESPONSE)?.code, 0, `${oid}: bind`);
      assert.equal(rs.find((r) => r.op === SEARCH_DONE)?.code, 0, `${oid}: search`);
      assert.equal(c.closed, false, `${oid}: disconnected`);
    }
  });

  it('refuses a bind, WhoAmI and compare carrying an unknown critical control with unavailableCriticalExtension (12)', async () => {
    // ldapwhoami's critical proxied authorization control: acting as alice is not what would happen.
    // (ldapwhoami and ldapcompare print the result code and exit with 1 for it.)
    const who = await exec('ldapwhoami', [...asUser(dir, 'binder'), '-e', `!authzid=dn:${dir.userDn('alice')}`], { env: ldapEnv(dir) });
    assert.match(who.stdout + who.stderr, /Critical extension is unavailable \(12\)/);
    assert.doesNotMatch(who.stdout, /^dn:/m);
    const cmp = await exec('ldapcompare', [...asUser(dir, 'binder'), '-e', `!authzid=dn:${dir.userDn('alice')}`, dir.userDn('bob'), 'uid:bob'], { env: ldapEnv(dir) });
    assert.match(cmp.stdout + cmp.stderr, /Critical extension is unavailable \(12\)/);
    assert.doesNotMatch(cmp.stdout, /TRUE/);
    const c = await raw();
    c.write(ldapMessage(1, simpleBindRequest(dir.users.alice!.dn, dir.users.alice!.password), controls(control('1.2.3.4', true))));
    const rs = await c.waitFor((x) => x.some((r) => r.op === BIND_RESPONSE), 5000);
    assert.equal(rs.find((r) => r.op === BIND_RESPONSE)?.code, UNAVAILABLE_CRITICAL_EXTENSION);
    // The bind was not performed: the session is still anonymous and may read the Root DSE only.
    const anon = await ldapsearch(dir, ['-x', '-H', dir.url, '-e', '!1.2.3.4'], ['-b', dir.base, '(uid=bob)', '1.1']);
    assert.equal(anon.code, UNAVAILABLE_CRITICAL_EXTENSION, anon.stderr);
  });

  it('answers a paged results control without a value, or with a malformed one, with protocolError and keeps the connection', async () => {
    for (const value of [undefined, Buffer.from([0x30, 0x03, 0x02, 0x01]), Buffer.from('junk')]) {
      const c = await raw();
      c.write(ldapMessage(1, simpleBindRequest(dir.users.binder!.dn, dir.users.binder!.password)));
      c.write(ldapMessage(2, searchRequest(dir.base, 2, presentFilter('uid'), ['1.1']), controls(control('1.2.840.113556.1.4.319', false, value))));
      const rs = await c.waitFor((x) => x.some((r) => r.op === SEARCH_DONE), 5000);
      assert.equal(rs.find((r) => r.op === SEARCH_DONE)?.code, PROTOCOL_ERROR, `value ${value?.toString('hex')}`);
      c.write(ldapMessage(3, searchRequest(dir.base, 2, presentFilter('uid'), ['1.1'])));
      const more = await c.waitFor((x) => x.filter((r) => r.op === SEARCH_DONE).length === 2, 5000);
      assert.equal(more.filter((r) => r.op === SEARCH_DONE)[1]?.code, 0, 'the connection still serves');
    }
    const paged = await ldapsearch(dir, asUser(dir, 'binder'), ['-b', dir.base, '-E', 'pr=1/noprompt', '(uid=*)', '1.1']);
    assert.equal(paged.code, 0, paged.stderr);
    assert.equal(paged.entries.length, 3);
  });

  it('answers a StartTLS request that carries a value with protocolError (RFC 4511 §4.14.1)', async () => {
    const c = await raw();
    c.write(ldapMessage(1, tlv(0x77, berString('1.3.6.1.4.1.1466.20037', 0x80), berString('x', 0x81))));
    const rs = await c.waitFor((x) => x.some((r) => r.op === EXTENDED_RESPONSE), 5000);
    assert.equal(rs.find((r) => r.op === EXTENDED_RESPONSE && r.messageId === 1)?.code, PROTOCOL_ERROR);
  });

  it('survives cut controls and attribute lists sent before any bind, and keeps serving', async () => {
    // A cut control on an abandon, a cut attribute list on a search, a cut add request (ldapjs's
    // AddRequest decoder looped on it): each ran the process out of memory before the fixes; a
    // substring piece overrunning its SEQUENCE made ldapjs's filter decoder loop forever.
    for (const hex of ['3010020101500105a008300504017804000004', '3026020101632104000a01000a0100020100020100010100870b6f626a656374436c617373300104', '3006020101683904', '3079020101637404036f3d780a01020a0100020100020100010100a058a11fa30804037569640401618702636ea40f0402636e3009807f61810162820163a21ca91a810e6361736545786163744d617463688202636e8301788401ffa50e04097569644e756d626572040135a8070402636e04017830040402636e']) {
      const c = await raw();
      c.write(Buffer.from(hex, 'hex'));
      await c.closesWithin(1000);
      c.destroy();
    }
    assert.deepEqual(await probeSearch(dir), [dir.userDn('bob').toLowerCase()]);
  });

  it('drops what a client queued before its unbind (RFC 4511 §4.3) instead of answering it', async () => {
    const c = await raw();
    const searches = Array.from({ length: 5 }, (_, i) => ldapMessage(2 + i, searchRequest(dir.base, 2, presentFilter('objectClass'), [])));
    c.write(Buffer.concat([ldapMessage(1, simpleBindRequest(dir.users.binder!.dn, dir.users.binder!.password)), ...searches, ldapMessage(7, tlv(0x42))]));
    assert.ok(await c.closesWithin(3000), 'closed on unbind');
    assert.equal(c.responses().filter((r) => r.op === SEARCH_DONE).length, 0, 'no queued search answered');
  });

  it('compares a bind password as octets: bytes that are not UTF-8 match no password (not even one with U+FFFD)', async () => {
    const alice = dir.users.alice!;
    const pw = 'Tr\ufffdck-Horse-99x';
    assert.equal((await dir.run.api('PUT', `/api/systemusers/${alice.id}`, { password: pw })).status, 200);
    alice.password = pw;
    const bindWith = async (password: Buffer) => {
      const c = await raw();
      c.write(ldapMessage(1, tlv(0x60, berInt(3), berString(alice.dn), berString(password, 0x80))));
      const rs = await c.waitFor((x) => x.some((r) => r.op === BIND_RESPONSE), 5000);
      return rs.find((r) => r.op === BIND_RESPONSE)?.code;
    };
    assert.equal(await bindWith(Buffer.from(pw, 'utf8')), 0, 'the password as UTF-8');
    for (const stray of [0xff, 0x80, 0xc3]) {
      assert.equal(await bindWith(Buffer.concat([Buffer.from('Tr'), Buffer.from([stray]), Buffer.from('ck-Horse-99x')])), 49, `octet ${stray.toString(16)} stood for U+FFFD`);
    }
  });

  it('disconnects a client that uses message id 0, reserved for notices (RFC 4511 §4.1.1)', async () => {
    const c = await raw();
    c.write(ldapMessage(0, searchRequest('', 0, presentFilter('objectClass'), ['1.1'])));
    const rs = await c.waitFor((x) => x.some((r) => r.messageId === 0), 5000);
    assert.ok(isNoticeOfDisconnection(rs[0], PROTOCOL_ERROR), c.received.toString('hex'));
    assert.deepEqual(await probeSearch(dir), [dir.userDn('bob').toLowerCase()]);
  });
});
