import assert from 'node:assert/strict';
import { ldapServerResource } from '../../../src/core/auth/resources.js';
import { startAppliance, type RunningAppliance } from '../../helpers/appliance.js';
import { requireBinary } from '../../helpers/binaries.js';
import { setPasswordPolicy } from '../../integration/api/support.js';
import { Attr, Code, addMember, bind, checkReply, createGroup, createRadiusServer, createUser, radiusEvents } from '../../integration/radius/support.js';
import { capturingProxy, oathtool, radclient, runAsync, stateFrom, type CapturingProxy } from './support.js';

const SECRET = 'interop-radclient-secret-0123';
const PASSWORD = 'Radclient-Interop-Pass-21';

/**
 * FreeRADIUS's own clients (radtest, radclient from freeradius-utils) against the listener, through
 * a relay that keeps the raw replies: what real gear would see.
 */
describe('RADIUS interop: radclient and radtest (freeradius-utils)', function () {
  this.timeout(60_000);
  let gh: RunningAppliance;
  let proxy: CapturingProxy;
  let serverId: string;
  const seeds = new Map<string, string>();

  const lastReply = () => {
    const e = proxy.exchanges[proxy.exchanges.length - 1];
    assert.ok(e?.reply, 'no reply went through the relay');
    return checkReply(e.request, e.reply, SECRET);
  };
  const assertSigned = (r: ReturnType<typeof checkReply>) => {
    assert.ok(r.messageAuthenticatorFirst, `Message-Authenticator is not first: types ${r.attributes.map((a) => a.type).join(',')}`);
    assert.ok(r.messageAuthenticatorValid, 'Message-Authenticator does not verify');
    assert.ok(r.responseAuthenticatorValid, 'Response Authenticator does not verify');
  };
  const enrol = async (name: string) => {
    const id = await createUser(gh, name, PASSWORD);
    await bind(gh, { type: 'user', id }, serverId);
    const r = await gh.api('POST', `/api/systemusers/${id}/totp`, {});
    assert.equal(r.status, 201);
    seeds.set(name, r.body.secret);
  };

  before(async function () {
    requireBinary(this, 'radclient', 'freeradius-utils');
    requireBinary(this, 'radtest', 'freeradius-utils');
    requireBinary(this, 'oathtool', 'oathtool');
    gh = await startAppliance();
    await setPasswordPolicy(gh, { maxLoginAttempts: 3 });
    serverId = await createRadiusServer(gh, { sharedSecret: SECRET, mfa: 'ENABLED' });
    const vlan = await createGroup(gh, 'vlan-300', [
      { name: 'Tunnel-Type', value: 'VLAN' },
      { name: 'Tunnel-Medium-Type', value: 'IEEE-802' },
      { name: 'Tunnel-Private-Group-Id', value: '300' },
      { name: 'Filter-Id', value: 'engineering' },
    ]);
    await bind(gh, { type: 'user_group', id: vlan }, serverId);
    for (const name of ['amy', 'lou']) await addMember(gh, vlan, await createUser(gh, name, PASSWORD));
    await enrol('cid');
    await enrol('dot');
    proxy = await capturingProxy(gh.radiusPort);
  });

  after(async () => {
    await proxy?.close();
    await gh?.stop();
  });

  it('radtest: PAP Access-Accept with the VLAN attributes, Message-Authenticator first on the raw reply', async () => {
    const r = await runAsync('radtest', ['amy', PASSWORD, `127.0.0.1:${proxy.port}`, '0', SECRET]);
    assert.match(r.stdout, /Received Access-Accept/, r.stdout + r.stderr);
    assert.match(r.stdout, /Tunnel-Type(:0)? = VLAN/);
    assert.match(r.stdout, /Tunnel-Medium-Type(:0)? = IEEE-802/);
    assert.match(r.stdout, /Tunnel-Private-Group-Id(:0)? = "300"/);
    assert.match(r.stdout, /Filter-Id = "engineering"/);
    const reply = lastReply();
    assert.equal(reply.code, Code.AccessAccept);
    assertSigned(reply);
    const [e] = await radiusEvents(gh);
    assert.equal(e!.success, true);
    assert.equal(e!.username, 'amy');
    assert.equal(e!.auth_type, 'pap');
    assert.equal(e!.nas_mfa_state, 'ENABLED');
  });

  it('radclient: a wrong password gets a bare Access-Reject, signed', async () => {
    const r = await radclient(proxy.port, SECRET, ['User-Name = "amy"', 'User-Password = "wrong-one"', 'Message-Authenticator = 0x00']);
    assert.match(r.stdout, /Received Access-Reject/, r.stdout + r.stderr);
    const reply = lastReply();
    assertSigned(reply);
    assert.deepEqual(reply.attributes.map((a) => a.type), [Attr.MessageAuthenticator]);
    assert.equal((await radiusEvents(gh))[0]!.error_message, 'invalid password');
    await gh.appliance.store.repos.authState.clearFailures((await gh.appliance.core.users.list({ limit: 10, offset: 0 })).items.find((u) => u.username === 'amy')!.id);
  });

  it('radclient: a request without Message-Authenticator is discarded', async () => {
    const before = (await radiusEvents(gh)).length;
    const r = await radclient(gh.radiusPort, SECRET, ['User-Name = "amy"', `User-Password = "${PASSWORD}"`]);
    assert.notEqual(r.code, 0);
    assert.match(r.stdout + r.stderr, /No reply from server/);
    assert.equal((await radiusEvents(gh)).length, before);
  });

  it('radclient: a request with the wrong secret is discarded', async () => {
    const before = (await radiusEvents(gh)).length;
    const r = await radclient(gh.radiusPort, 'not-the-right-secret-01234', ['User-Name = "amy"', `User-Password = "${PASSWORD}"`, 'Message-Authenticator = 0x00']);
    assert.notEqual(r.code, 0);
    assert.match(r.stdout + r.stderr, /No reply from server/);
    assert.equal((await radiusEvents(gh)).length, before);
  });

  it('radclient: Access-Challenge round trip with an oathtool code, and the State is single use', async () => {
    const first = await radclient(proxy.port, SECRET, ['User-Name = "cid"', `User-Password = "${PASSWORD}"`, 'Message-Authenticator = 0x00']);
    assert.match(first.stdout, /Received Access-Challenge/, first.stdout + first.stderr);
    assert.match(first.stdout, /Reply-Message = "Enter the 6-digit code/);
    assertSigned(lastReply());
    const state = stateFrom(first.stdout);
    assert.ok(state, first.stdout);
    const code = await oathtool(seeds.get('cid')!);
    const second = await radclient(proxy.port, SECRET, ['User-Name = "cid"', `User-Password = "${code}"`, `State = 0x${state}`, 'Message-Authenticator = 0x00']);
    assert.match(second.stdout, /Received Access-Accept/, second.stdout + second.stderr);
    assertSigned(lastReply());
    const [e] = await radiusEvents(gh);
    assert.equal(e!.success, true);
    assert.equal(e!.mfa, true);
    const again = await radclient(proxy.port, SECRET, ['User-Name = "cid"', `User-Password = "${code}"`, `State = 0x${state}`, 'Message-Authenticator = 0x00']);
    assert.match(again.stdout, /Received Access-Reject/);
    assert.equal((await radiusEvents(gh))[0]!.error_message, 'unknown or expired challenge');
  });

  it('radtest: a code appended to the password is accepted once; the replay is refused', async () => {
    const code = await oathtool(seeds.get('dot')!);
    const ok = await runAsync('radtest', ['dot', `${PASSWORD};${code}`, `127.0.0.1:${proxy.port}`, '0', SECRET]);
    assert.match(ok.stdout, /Received Access-Accept/, ok.stdout + ok.stderr);
    const replay = await runAsync('radtest', ['dot', `${PASSWORD};${code}`, `127.0.0.1:${proxy.port}`, '0', SECRET]);
    assert.match(replay.stdout, /Received Access-Reject/);
    assert.equal((await radiusEvents(gh))[0]!.error_message, 'TOTP code already used');
  });

  it('radclient: failures over RADIUS lock the account for every protocol', async () => {
    for (let i = 0; i < 3; i++) {
      const r = await radclient(proxy.port, SECRET, ['User-Name = "lou"', `User-Password = "bad-${i}"`, 'Message-Authenticator = 0x00']);
      assert.match(r.stdout, /Received Access-Reject/);
    }
    const user = (await gh.api('GET', '/api/systemusers?filter=username:$eq:lou')).body.results[0];
    assert.equal(user.account_locked, true);
    const ldap = (await gh.appliance.core.ldapServers.list())[0]!;
    const viaLdap = await gh.appliance.core.auth.authenticate({ protocol: 'ldap', login: 'lou', password: PASSWORD, clientIp: '127.0.0.1', resource: ldapServerResource(ldap) });
    assert.equal(viaLdap.status, 'locked');
    const r = await radclient(proxy.port, SECRET, ['User-Name = "lou"', `User-Password = "${PASSWORD}"`, 'Message-Authenticator = 0x00']);
    assert.match(r.stdout, /Received Access-Reject/);
    const lockouts = (await gh.api('POST', '/insights/directory/v1/events', { service: ['directory'], start_time: '2000-01-01T00:00:00Z' })).body.filter(
      (e: { event_type: string }) => e.event_type === 'user_lockout',
    );
    assert.equal(lockouts.length, 1);
  });

  it('radclient + ldapwhoami: an account locked through RADIUS can no longer bind over LDAP', async function () {
    requireBinary(this, 'ldapwhoami', 'ldap-utils');
    if (!gh.endpoints.ldap) this.skip();
    const id = await createUser(gh, 'ray', PASSWORD);
    await bind(gh, { type: 'user', id }, serverId);
    const ldapServer = (await gh.appliance.core.ldapServers.list())[0]!;
    assert.equal((await gh.api('POST', `/api/v2/users/${id}/associations`, { op: 'add', type: 'ldap_server', id: ldapServer.id })).status, 204);
    const org = (await gh.api('GET', '/api/organizations')).body.results[0]._id;
    const whoami = () =>
      runAsync('ldapwhoami', ['-x', '-H', `ldap://127.0.0.1:${gh.endpoints.ldap!.port}`, '-D', `uid=ray,ou=Users,o=${org},dc=gatehouse,dc=local`, '-w', PASSWORD]);
    const before = await whoami();
    assert.equal(before.code, 0, `LDAP bind failed before the lockout: ${before.stdout}${before.stderr}`);
    for (let i = 0; i < 3; i++) {
      const r = await radclient(proxy.port, SECRET, ['User-Name = "ray"', `User-Password = "bad-${i}"`, 'Message-Authenticator = 0x00']);
      assert.match(r.stdout, /Received Access-Reject/);
    }
    const after = await whoami();
    assert.notEqual(after.code, 0);
    assert.match(after.stderr, /Invalid credentials \(49\)/);
  });

  it('radclient: Status-Server is answered with a signed Access-Accept', async () => {
    const r = await radclient(proxy.port, SECRET, ['Message-Authenticator = 0x00'], 'status');
    assert.match(r.stdout, /Received Access-Accept/, r.stdout + r.stderr);
    assertSigned(lastReply());
  });

  it('radclient: accounting Start is answered and recorded', async () => {
    const r = await runAsync('radclient', ['-x', '-r', '1', '-t', '1', `127.0.0.1:${gh.radiusAccountingPort}`, 'acct', SECRET], 'User-Name = "amy"\nAcct-Status-Type = Start\nAcct-Session-Id = "interop-1"\nNAS-IP-Address = 127.0.0.1\n');
    assert.match(r.stdout, /Received Accounting-Response/, r.stdout + r.stderr);
    const [e] = await radiusEvents(gh, 'radius_accounting');
    assert.equal(e!.acct_session_id, 'interop-1');
    assert.equal(e!.username, 'amy');
  });
});
