import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { Attribute, Change, type Client } from 'ldapts';
import { startAppliance, type RunningAppliance } from '../../helpers/appliance.js';
import { createFakeClock, type FakeClock } from '../../helpers/fake-clock.js';
import { queryEvents, setPasswordPolicy } from '../api/support.js';
import {
  STANDARD_GROUPS,
  STANDARD_USERS,
  client,
  exec,
  failsWith,
  lastLdapEventId,
  ldapEnv,
  ldapEvents,
  berInt,
  berString,
  ldapMessage,
  ok,
  patchLdapServer,
  readResponses,
  resultCode,
  seedDirectory,
  simpleBindRequest,
  tlv,
  type Directory,
} from './support.js';

const TOTP_SECRET = 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP';
const WHO_AM_I = '1.3.6.1.4.1.4203.1.11.3';

/** Sends one raw simple BindRequest on a fresh connection; returns the whole response PDU and the time it took. */
function rawBind(port: number, dn: string, password: string): Promise<{ bytes: Buffer; ms: number }> {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1');
    let buf = Buffer.alloc(0);
    const t0 = process.hrtime.bigint();
    s.on('error', reject);
    s.on('connect', () => s.write(ldapMessage(1, simpleBindRequest(dn, password))));
    s.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      const { responses } = readResponses(buf);
      if (responses.length > 0) {
        const ms = Number(process.hrtime.bigint() - t0) / 1e6;
        s.destroy();
        resolve({ bytes: buf, ms });
      }
    });
  });
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/**
 * Who may bind and who sees what over LDAP (contract "LDAP directory layout", security.md items 1,
 * 4 and 8), driven by ldapts as an independent JS client, with the audit trail checked.
 */
describe('LDAP access and bind semantics', function () {
  this.timeout(60_000);
  let run: RunningAppliance;
  let dir: Directory;
  let clock: FakeClock;
  const open: Client[] = [];

  const connected = () => {
    const c = client(dir);
    open.push(c);
    return c;
  };
  const bindAs = async (username: string) => {
    const c = connected();
    await c.bind(dir.users[username]!.dn, dir.users[username]!.password);
    return c;
  };
  const dnsOf = async (c: Client, base: string, filter = '(objectClass=*)', scope: 'base' | 'one' | 'sub' = 'sub') =>
    (await c.search(base, { filter, scope, attributes: ['1.1'] })).searchEntries.map((e) => e.dn.toLowerCase()).sort();
  const bindCode = async (dn: string, password: string) => {
    const c = connected();
    return resultCode(c.bind(dn, password));
  };

  before(async () => {
    // Close to real time (the TLS certificate is issued by real time), on a TOTP step boundary.
    clock = createFakeClock(Math.floor(Date.now() / 30_000) * 30_000 + 5_000);
    run = await startAppliance({}, { clock });
    dir = await seedDirectory(
      run,
      [
        ...STANDARD_USERS,
        { username: 'wanda', password: 'Wrong-Way-123x', firstname: 'Wanda', lastname: 'Wrong', uidNumber: 7020, bound: true },
        { username: 'lou', password: 'Key-Smith-124x', firstname: 'Lou', lastname: 'Locked', uidNumber: 7021, bound: true },
        { username: 'eve', password: 'Green-Leaf-125x', firstname: 'Eve', lastname: 'Expired', uidNumber: 7022, bound: true },
        { username: 'tom', password: 'Time-Based-126x', firstname: 'Tom', lastname: 'Totp', uidNumber: 7023, bound: true },
        { username: 'rita', password: 'Race-Cond-127x', firstname: 'Rita', lastname: 'Racer', uidNumber: 7024, bound: true },
        { username: 'sid', password: 'Semi;Colon-128x', firstname: 'Sid', lastname: 'Semicolon', uidNumber: 7025, bound: true },
        { username: 'noel', password: 'Digits-At-End;123456', firstname: 'Noel', lastname: 'Notp', uidNumber: 7026, bound: true },
      ],
      [...STANDARD_GROUPS, { name: 'lockers', gidNumber: 8010, members: ['lou', 'eve', 'dave'] }],
    );
  });

  afterEach(async () => {
    await Promise.all(open.splice(0).map((c) => c.unbind().catch(() => undefined)));
  });

  after(async () => run?.stop());

  describe('who sees what', () => {
    it('refuses an anonymous search below the naming context with insufficientAccessRights (50) and audits it', async () => {
      const since = await lastLdapEventId(run);
      const c = connected();
      await failsWith(c.search(dir.base, { filter: '(uid=alice)' }), 50);
      await failsWith(c.search(dir.userDn('alice'), { scope: 'base' }), 50);
      // the Root DSE stays readable
      const dse = await c.search('', { scope: 'base', attributes: ['namingContexts'] });
      assert.deepEqual(dse.searchEntries[0]?.namingContexts, dir.base);
      const evs = await ldapEvents(run, since, (e) => e.filter((x) => x.event_type === 'ldap_search').length >= 3);
      const refused = evs.filter((e) => e.event_type === 'ldap_search' && e.success === false);
      assert.equal(refused.length, 2);
      assert.equal(refused[0]?.base, dir.base);
      assert.equal(refused[0]?.filter, '(uid=alice)');
      assert.equal(refused[0]?.number_of_results, 0);
    });

    it('shows an ordinary user its own entry only', async () => {
      const c = await bindAs('alice');
      assert.deepEqual(await dnsOf(c, dir.base), [dir.userDn('alice').toLowerCase()]);
      assert.deepEqual(await dnsOf(c, dir.base, '(uid=bob)'), []);
      assert.deepEqual(await dnsOf(c, dir.usersBase, '(objectClass=posixGroup)'), []);
      await failsWith(c.search(dir.userDn('bob'), { scope: 'base' }), 32);
      await failsWith(c.search(dir.groupDn('staff'), { scope: 'base' }), 32);
      const self = await c.search(dir.userDn('alice'), { scope: 'base', attributes: ['memberOf', 'uidNumber'] });
      assert.deepEqual(self.searchEntries[0]?.uidNumber, '7001');
      assert.deepEqual([...(self.searchEntries[0]?.memberOf as string[])].sort(), [dir.groupDn('plain'), dir.groupDn('staff')].sort());
    });

    it('shows the bind account every visible user and group, and nothing else', async () => {
      const c = await bindAs('binder');
      const expected = [
        dir.base,
        dir.usersBase,
        ...['alice', 'binder', 'bob', 'dave', 'eve', 'lou', 'noel', 'rita', 'sid', 'tom', 'wanda'].map((u) => dir.userDn(u)),
        ...['lockers', 'plain', 'staff'].map((g) => dir.groupDn(g)),
      ].map((d) => d.toLowerCase());
      assert.deepEqual(await dnsOf(c, dir.base), expected.sort());
    });

    it('evaluates filters of up to 1,999 alternatives or conditions (SQLite refuses expression trees over 1,000 deep)', async () => {
      const c = await bindAs('binder');
      const many = (n: number) => Array.from({ length: n }, (_, i) => `(uid=nobody${i})`).join('');
      for (const n of [999, 1200, 1990]) {
        assert.deepEqual(await dnsOf(c, dir.base, `(|${many(n)}(uid=bob))`), [dir.userDn('bob').toLowerCase()], `${n} alternatives`);
      }
      const present = Array.from({ length: 999 }, () => '(uid=*)').join('');
      assert.deepEqual(await dnsOf(c, dir.base, `(&${present}(uid=alice))`), [dir.userDn('alice').toLowerCase()]);
    });

    for (const [who, why] of [
      ['carol', 'not bound to the LDAP server'],
      ['stella', 'STAGED'],
      ['sam', 'SUSPENDED'],
    ] as const) {
      it(`hides ${who} (${why}) from searches and refuses the bind with invalidCredentials (49)`, async () => {
        const since = await lastLdapEventId(run);
        const c = await bindAs('binder');
        assert.deepEqual(await dnsOf(c, dir.base, `(uid=${who})`), []);
        await failsWith(c.search(dir.userDn(who), { scope: 'base' }), 32);
        assert.equal(await bindCode(dir.userDn(who), dir.users[who]!.password), 49);
        const evs = await ldapEvents(run, since, (e) => e.some((x) => x.event_type === 'ldap_bind' && x.initiated_by?.username === who));
        const ev = evs.find((x) => x.event_type === 'ldap_bind' && x.initiated_by?.username === who);
        assert.equal(ev?.success, false);
        assert.match(String(ev?.error_message), who === 'carol' ? /not bound/ : who === 'stella' ? /staged/ : /suspended/);
      });
    }

    it('lets a user bind and appear once a bound group takes it in', async () => {
      assert.equal(await bindCode(dir.userDn('carol'), dir.users.carol!.password), 49);
      await ok(run.api('POST', `/api/v2/usergroups/${dir.groups.plain!.id}/members`, { op: 'add', type: 'user', id: dir.users.carol!.id }), 204, 'add carol to plain');
      try {
        assert.equal(await bindCode(dir.userDn('carol'), dir.users.carol!.password), 0);
        const c = await bindAs('binder');
        assert.deepEqual(await dnsOf(c, dir.base, '(memberOf=cn=plain,ou=Users,' + dir.base + ')'), [dir.userDn('alice'), dir.userDn('carol')].map((d) => d.toLowerCase()).sort());
      } finally {
        await ok(run.api('POST', `/api/v2/usergroups/${dir.groups.plain!.id}/members`, { op: 'remove', type: 'user', id: dir.users.carol!.id }), 204, 'remove carol');
      }
      assert.equal(await bindCode(dir.userDn('carol'), dir.users.carol!.password), 49);
    });

    it('drops an open connection to anonymous once its user is suspended, and a bind account that loses the flag to its own entry', async () => {
      const dave = dir.users.dave!;
      const binder = dir.users.binder!;
      const asDave = await bindAs('dave');
      const asBinder = await bindAs('binder');
      assert.deepEqual(await dnsOf(asDave, dir.base), [dave.dn.toLowerCase()]);
      assert.ok((await dnsOf(asBinder, dir.base, '(objectClass=posixAccount)')).length > 1);
      await ok(run.api('PUT', `/api/systemusers/${dave.id}`, { state: 'SUSPENDED' }), 200, 'suspend dave');
      await ok(run.api('PUT', `/api/systemusers/${binder.id}`, { ldap_binding_user: false }), 200, 'demote binder');
      try {
        // The same connections, no re-bind: the change applies to their next operation.
        await failsWith(asDave.search(dir.base, { filter: '(uid=dave)' }), 50);
        assert.equal((await asDave.exop(WHO_AM_I)).value ?? '', '');
        await failsWith(asDave.exop('1.3.6.1.4.1.4203.1.11.1'), 53); // Password Modify, no longer authenticated
        assert.deepEqual(await dnsOf(asBinder, dir.base), [binder.dn.toLowerCase()]);
      } finally {
        await ok(run.api('PUT', `/api/systemusers/${dave.id}`, { state: 'ACTIVATED' }), 200, 'reactivate dave');
        await ok(run.api('PUT', `/api/systemusers/${binder.id}`, { ldap_binding_user: true }), 200, 'promote binder');
      }
      assert.ok((await dnsOf(asBinder, dir.base, '(objectClass=posixAccount)')).length > 1, 'a demotion that is undone applies again');
    });

    it('matches (member=*) on members the searcher can see only, and (memberOf=*) on users of visible groups', async () => {
      const g = await ok(run.api('POST', '/api/v2/usergroups', { name: 'ghosts' }), 201, 'create ghosts');
      try {
        await ok(run.api('POST', `/api/v2/usergroups/${g.id}/members`, { op: 'add', type: 'user', id: dir.users.sam!.id }), 204, 'add sam (suspended)');
        await ok(run.api('POST', `/api/v2/usergroups/${g.id}/associations`, { op: 'add', type: 'ldap_server', id: dir.ldapServerId }), 204, 'bind ghosts');
        const c = await bindAs('binder');
        const ghosts = dir.groupDn('ghosts').toLowerCase();
        const entry = await c.search(dir.groupDn('ghosts'), { scope: 'base', attributes: ['member'] });
        assert.deepEqual([entry.searchEntries[0]?.member ?? []].flat(), [], 'the entry shows no member');
        assert.deepEqual(await dnsOf(c, dir.base, '(&(cn=ghosts)(member=*))'), []);
        assert.deepEqual(await dnsOf(c, dir.base, '(&(cn=ghosts)(!(member=*)))'), [ghosts]);
        // A hidden member names no group, whether its DN is the whole filter or a term of it.
        assert.deepEqual(await dnsOf(c, dir.base, `(&(objectClass=groupOfNames)(member=${dir.userDn('sam')}))`), []);
        assert.deepEqual(await dnsOf(c, dir.base, `(member=${dir.userDn('sam')})`), []);
        assert.deepEqual(await dnsOf(c, dir.base, '(memberUid=sam)'), []);
        assert.ok((await dnsOf(c, dir.base, '(&(objectClass=groupOfNames)(member=*))')).includes(dir.groupDn('staff').toLowerCase()));
        // (memberOf=*) selects exactly the users whose entries show a memberOf value.
        const all = await c.search(dir.base, { filter: '(objectClass=posixAccount)', attributes: ['memberOf'] });
        const withGroups = all.searchEntries.filter((e) => [e.memberOf ?? []].flat().length > 0).map((e) => e.dn.toLowerCase()).sort();
        assert.ok(withGroups.length > 0);
        assert.deepEqual(await dnsOf(c, dir.base, '(memberOf=*)'), withGroups);
      } finally {
        await ok(run.api('DELETE', `/api/v2/usergroups/${g.id}`), 200, 'delete ghosts');
      }
    });

    it('shows member list changes at once, however the group is found (member lists are reused between searches)', async () => {
      const c = await bindAs('binder');
      const plain = dir.groupDn('plain');
      const membersOf = async (filter: string) => {
        // "plain" has no POSIX data: its members show as DNs (member), named here by their uid.
        const r = await c.search(dir.base, { filter, attributes: ['member'] });
        return r.searchEntries.map((e) => [e.member ?? []].flat().map((m) => /^uid=([^,]+)/i.exec(String(m))![1]!.toLowerCase()).sort());
      };
      const before = await membersOf('(cn=plain)');
      assert.deepEqual(before, [['alice']]);
      // Found through another filter, the same group shows the same (reused) list.
      assert.deepEqual(await membersOf(`(&(cn=plain)(member=${dir.userDn('alice')}))`), [['alice']]);
      await ok(run.api('POST', `/api/v2/usergroups/${dir.groups.plain!.id}/members`, { op: 'add', type: 'user', id: dir.users.dave!.id }), 204, 'add dave');
      try {
        assert.deepEqual(await membersOf(`(&(objectClass=groupOfNames)(member=${dir.userDn('alice')})(cn=pl*))`), [['alice', 'dave']]);
        await ok(run.api('PUT', `/api/systemusers/${dir.users.dave!.id}`, { state: 'SUSPENDED' }), 200, 'suspend dave');
        assert.deepEqual(await membersOf(`(&(cn=plain)(member=${dir.userDn('alice')}))`), [['alice']]);
        const entry = await c.search(plain, { scope: 'base', attributes: ['member'] });
        assert.deepEqual([entry.searchEntries[0]?.member ?? []].flat().map((m) => String(m).toLowerCase()), [dir.userDn('alice').toLowerCase()]);
      } finally {
        await ok(run.api('PUT', `/api/systemusers/${dir.users.dave!.id}`, { state: 'ACTIVATED' }), 200, 'reactivate dave');
        await ok(run.api('POST', `/api/v2/usergroups/${dir.groups.plain!.id}/members`, { op: 'remove', type: 'user', id: dir.users.dave!.id }), 204, 'remove dave');
      }
      assert.deepEqual(await membersOf('(cn=plain)'), [['alice']]);
    });

    it('does not reveal membership of a group that is not bound to the LDAP server through a memberOf filter', async () => {
      const c = await bindAs('binder');
      // "hidden" is not bound: its DN names no entry, and alice's memberOf does not list it.
      await failsWith(c.search(dir.groupDn('hidden'), { scope: 'base' }), 32);
      assert.deepEqual(await dnsOf(c, dir.base, `(memberOf=${dir.groupDn('hidden')})`), []);
    });
  });

  describe('bind results (RFC 4513)', () => {
    it('answers unwillingToPerform (53) to a DN with an empty password', async () => {
      assert.equal(await bindCode(dir.userDn('alice'), ''), 53);
      // ...and the connection stays anonymous
      const c = connected();
      await failsWith(c.bind(dir.userDn('alice'), ''), 53);
      await failsWith(c.search(dir.base, { filter: '(uid=alice)' }), 50);
    });

    it('answers every failed bind with the same invalidCredentials (49) response, and audits the real reason', async () => {
      const since = await lastLdapEventId(run);
      // (a locked account is compared with a wrong password in the lockout tests)
      const cases: [string, string, string, RegExp][] = [
        ['wrong password', dir.userDn('wanda'), 'not-her-password', /invalid password/],
        ['unknown user', dir.userDn('nobody'), 'whatever-password', /user not found/],
        ['a DN of another shape', 'cn=admin,dc=example,dc=com', 'whatever-password', /user not found/],
        ['a DN outside the tree with a real uid', 'uid=wanda,dc=example,dc=com', dir.users.wanda!.password, /user not found/],
        ['a suspended user with the right password', dir.userDn('sam'), dir.users.sam!.password, /suspended/],
        ['an unbound user with the right password', dir.userDn('carol'), dir.users.carol!.password, /not bound/],
      ];
      const replies: Buffer[] = [];
      for (const [, dn, password] of cases) replies.push((await rawBind(run.endpoints.ldap!.port, dn, password)).bytes);
      const first = replies[0]!;
      const parsed = readResponses(first).responses[0]!;
      assert.equal(parsed.op, 0x61);
      assert.equal(parsed.code, 49);
      for (const [k, r] of replies.entries()) assert.ok(r.equals(first), `${cases[k]![0]}: ${r.toString('hex')} differs from ${first.toString('hex')}`);
      const evs = await ldapEvents(run, since, (e) => e.filter((x) => x.event_type === 'ldap_bind').length >= cases.length);
      const binds = evs.filter((e) => e.event_type === 'ldap_bind');
      assert.equal(binds.length, cases.length);
      for (const [k, [what, dn, , reason]] of cases.entries()) {
        assert.equal(binds[k]?.success, false, what);
        assert.equal(binds[k]?.dn, dn, what);
        assert.match(String(binds[k]?.error_message), reason, what);
      }
    });

    it('refuses bind names that are not the user DN, even with the right password (49)', async () => {
      const names = ['wanda', 'wanda@example.com', 'uid=wanda', `uid=wanda@example.com,${dir.usersBase}`, `mail=wanda@example.com,${dir.usersBase}`];
      const results = await Promise.all(names.map(async (name) => [name, await bindCode(name, dir.users.wanda!.password)] as const));
      assert.deepEqual(
        results.filter(([, code]) => code !== 49),
        [],
        'bind names that authenticated although they are not uid=wanda,ou=Users,…',
      );
    });

    it('takes about as long for an unknown user as for a wrong password', async () => {
      const port = run.endpoints.ldap!.port;
      const known: number[] = [];
      const unknown: number[] = [];
      for (let i = 0; i < 7; i++) {
        known.push((await rawBind(port, dir.userDn('wanda'), `wrong-${i}`)).ms);
        unknown.push((await rawBind(port, dir.userDn(`ghost${i}`), `wrong-${i}`)).ms);
      }
      // wanda has 10 attempts by default; 2 + 7 wrong ones stay below it, but clear them for later tests
      await ok(run.api('POST', `/api/systemusers/${dir.users.wanda!.id}/unlock`), 200, 'unlock wanda');
      const ratio = median(unknown) / median(known);
      assert.ok(ratio > 0.4 && ratio < 2.5, `median unknown ${median(unknown).toFixed(1)} ms vs wrong password ${median(known).toFixed(1)} ms`);
    });

    it('leaves the connection anonymous after a failed re-bind', async () => {
      const c = await bindAs('binder');
      assert.deepEqual(await dnsOf(c, dir.base, '(uid=bob)'), [dir.userDn('bob').toLowerCase()]);
      assert.equal((await c.exop(WHO_AM_I)).value, `dn:${dir.users.binder!.dn}`);
      await failsWith(c.bind(dir.users.binder!.dn, 'wrong-password'), 49);
      assert.equal((await c.exop(WHO_AM_I)).value ?? '', '');
      await failsWith(c.search(dir.base, { filter: '(uid=bob)' }), 50);
      await failsWith(c.compare(dir.userDn('bob'), 'uid', 'bob'), 50);
    });

    it('leaves the connection anonymous after a re-bind with an empty password', async () => {
      const c = await bindAs('binder');
      await failsWith(c.bind(dir.users.binder!.dn, ''), 53);
      await failsWith(c.search(dir.base, { filter: '(uid=bob)' }), 50);
    });

    it('answers authMethodNotSupported (7) to a SASL bind and leaves the connection anonymous', async () => {
      const c = await bindAs('binder');
      await failsWith(c.bind('PLAIN', 'secret'), 7);
      await failsWith(c.search(dir.base, { filter: '(uid=bob)' }), 50);
      const d = connected();
      await failsWith(d.bind('EXTERNAL'), 7);
    });

    it('switches identity on a successful re-bind', async () => {
      const c = await bindAs('binder');
      await c.bind(dir.users.alice!.dn, dir.users.alice!.password);
      assert.equal((await c.exop(WHO_AM_I)).value, `dn:${dir.userDn('alice')}`);
      assert.deepEqual(await dnsOf(c, dir.base), [dir.userDn('alice').toLowerCase()]);
    });
  });

  describe('lockout', () => {
    before(async () => setPasswordPolicy(run, { enableMaxLoginAttempts: true, maxLoginAttempts: 3, enableLockoutTimeInSeconds: true, lockoutTimeInSeconds: 600 }));
    after(async () => setPasswordPolicy(run, { enableMaxLoginAttempts: true, maxLoginAttempts: 10 }));

    it('locks the account after maxLoginAttempts wrong binds, whatever the DN spelling, and then refuses the right password', async () => {
      const since = await lastLdapEventId(run);
      const lou = dir.users.lou!;
      assert.equal(await bindCode(lou.dn, 'wrong-1'), 49);
      assert.equal(await bindCode(lou.dn.replace('uid=lou', 'UID=LOU'), 'wrong-2'), 49);
      assert.equal(await bindCode(lou.dn.toUpperCase().replace(dir.orgId.toUpperCase(), dir.orgId), 'wrong-3'), 49);
      const locked = await rawBind(run.endpoints.ldap!.port, lou.dn, lou.password);
      const wrong = await rawBind(run.endpoints.ldap!.port, dir.userDn('wanda'), 'not-her-password');
      assert.equal(readResponses(locked.bytes).responses[0]?.code, 49);
      assert.ok(locked.bytes.equals(wrong.bytes), 'a locked account answers exactly like a wrong password');
      const user = await ok(run.api('GET', `/api/systemusers/${lou.id}`), 200, 'get lou');
      assert.equal(user.account_locked, true);
      const evs = await ldapEvents(run, since, (e) => e.filter((x) => x.event_type === 'ldap_bind').length >= 5);
      const louBinds = evs.filter((e) => e.event_type === 'ldap_bind' && e.initiated_by?.username === 'lou');
      assert.deepEqual(
        louBinds.map((e) => e.error_message),
        ['invalid password', 'invalid password', 'invalid password', 'account locked'],
      );
      const lockouts = (await queryEvents(run, { service: ['directory'], start_time: '2000-01-01T00:00:00Z', limit: 100 })).filter(
        (e) => e.event_type === 'user_lockout' && e.resource?.username === 'lou',
      );
      assert.equal(lockouts.length, 1, 'one user_lockout event');
    });

    it('keeps a locked user visible while userLockoutAction is disable', async () => {
      const c = await bindAs('binder');
      assert.deepEqual(await dnsOf(c, dir.base, '(uid=lou)'), [dir.userDn('lou').toLowerCase()]);
      const g = await c.search(dir.groupDn('lockers'), { scope: 'base', attributes: ['memberUid'] });
      assert.deepEqual([g.searchEntries[0]?.memberUid].flat().sort(), ['dave', 'eve', 'lou']);
      assert.ok((await dnsOf(c, dir.base, `(&(objectClass=groupOfNames)(member=${dir.userDn('lou')}))`)).includes(dir.groupDn('lockers').toLowerCase()));
      assert.ok((await dnsOf(c, dir.base, '(&(objectClass=posixGroup)(memberUid=lou))')).includes(dir.groupDn('lockers').toLowerCase()));
    });

    it('hides a locked user from searches and group member lists when userLockoutAction is remove', async () => {
      await patchLdapServer(dir, { userLockoutAction: 'remove' });
      const c = await bindAs('binder');
      assert.deepEqual(await dnsOf(c, dir.base, '(uid=lou)'), []);
      await failsWith(c.search(dir.userDn('lou'), { scope: 'base' }), 32);
      const g = await c.search(dir.groupDn('lockers'), { scope: 'base', attributes: ['memberUid', 'member'] });
      assert.deepEqual([g.searchEntries[0]?.memberUid].flat().sort(), ['dave', 'eve']);
      assert.deepEqual(await dnsOf(c, dir.base, '(memberUid=lou)'), []);
      assert.deepEqual(await dnsOf(c, dir.base, `(&(objectClass=groupOfNames)(member=${dir.userDn('lou')}))`), []);
      assert.deepEqual(await dnsOf(c, dir.base, `(member=${dir.userDn('lou')})`), []);
      assert.deepEqual(await dnsOf(c, dir.base, '(&(objectClass=posixGroup)(memberUid=lou))'), []);
    });

    it('binds again after an admin unlocks the account, and shows it again', async () => {
      const lou = dir.users.lou!;
      const unlocked = await ok(run.api('POST', `/api/systemusers/${lou.id}/unlock`), 200, 'unlock lou');
      assert.equal(unlocked.account_locked, false);
      assert.equal(await bindCode(lou.dn, lou.password), 0);
      const c = await bindAs('binder');
      assert.deepEqual(await dnsOf(c, dir.base, '(uid=lou)'), [lou.dn.toLowerCase()]);
    });

    it('is exact under parallel guessing: of 20 wrong binds at once, no more than maxLoginAttempts are tried', async () => {
      const rita = dir.users.rita!;
      const since = await lastLdapEventId(run);
      // maxLoginAttempts is 3; 20 guesses on 20 connections at once
      const clients = Array.from({ length: 20 }, () => connected());
      const codes = await Promise.all(clients.map((c, i) => resultCode(c.bind(rita.dn, `guess-${i}`))));
      assert.ok(codes.every((c) => c === 49));
      const user = await ok(run.api('GET', `/api/systemusers/${rita.id}`), 200, 'get rita');
      assert.equal(user.account_locked, true, 'locked after the burst');
      assert.equal(await bindCode(rita.dn, rita.password), 49, 'the right password is refused afterwards');
      const evs = await ldapEvents(run, since, (e) => e.filter((x) => x.event_type === 'ldap_bind' && x.initiated_by?.username === 'rita').length >= 21);
      const reasons = evs.filter((e) => e.event_type === 'ldap_bind' && e.initiated_by?.username === 'rita').map((e) => String(e.error_message));
      const tried = reasons.filter((r) => r === 'invalid password').length;
      // A guess that was checked against the password hash is a guess the attacker got; the rest must be refused as locked.
      assert.ok(tried <= 3, `${tried} of 20 parallel guesses were checked against the password (limit 3): ${JSON.stringify(reasons)}`);
    });

    it('unlocks by itself once lockoutTimeInSeconds has passed', async () => {
      const lou = dir.users.lou!;
      for (let i = 0; i < 3; i++) assert.equal(await bindCode(lou.dn, `wrong-again-${i}`), 49);
      assert.equal(await bindCode(lou.dn, lou.password), 49);
      clock.advanceSeconds(601);
      assert.equal(await bindCode(lou.dn, lou.password), 0);
    });
  });

  describe('expired passwords', () => {
    it('refuses the bind of a user whose password an admin expired, and audits why', async () => {
      const eve = dir.users.eve!;
      const since = await lastLdapEventId(run);
      assert.equal(await bindCode(eve.dn, eve.password), 0);
      const expired = await ok(run.api('POST', `/api/systemusers/${eve.id}/expire`), 200, 'expire eve');
      assert.equal(expired.password_expired, true);
      assert.equal(await bindCode(eve.dn, eve.password), 49);
      const evs = await ldapEvents(run, since, (e) => e.filter((x) => x.event_type === 'ldap_bind').length >= 2);
      assert.match(String(evs.filter((e) => e.event_type === 'ldap_bind').at(-1)?.error_message), /expired/);
    });

    it('keeps the expired user visible while userPasswordExpirationAction is disable', async () => {
      const c = await bindAs('binder');
      assert.deepEqual(await dnsOf(c, dir.base, '(uid=eve)'), [dir.userDn('eve').toLowerCase()]);
    });

    it('hides the expired user when userPasswordExpirationAction is remove', async () => {
      await patchLdapServer(dir, { userPasswordExpirationAction: 'remove' });
      const c = await bindAs('binder');
      assert.deepEqual(await dnsOf(c, dir.base, '(uid=eve)'), []);
      const g = await c.search(dir.groupDn('lockers'), { scope: 'base', attributes: ['memberUid'] });
      assert.deepEqual([g.searchEntries[0]?.memberUid].flat().sort(), ['dave', 'lou']);
    });
  });

  describe('TOTP on bind', () => {
    const oathtool = async (at: number) => {
      const when = new Date(at).toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC');
      const r = await exec('oathtool', ['--totp', '-b', '--now', when, TOTP_SECRET]);
      assert.equal(r.code, 0, r.stderr);
      return r.stdout.trim();
    };

    before(async function () {
      const has = await exec('sh', ['-c', 'command -v oathtool']);
      if (has.code !== 0) {
        if (process.env.CI) throw new Error('oathtool is required in CI (apt-get install -y oathtool)');
        this.skip();
      }
      for (const u of ['tom', 'sid']) {
        const t = await ok(run.api('POST', `/api/systemusers/${dir.users[u]!.id}/totp`, { secret: TOTP_SECRET }), 201, `provision TOTP for ${u}`);
        assert.equal(t.secret, TOTP_SECRET);
      }
    });

    it('is off by default: a TOTP user binds with the password alone', async () => {
      assert.equal(await bindCode(dir.users.tom!.dn, dir.users.tom!.password), 0);
    });

    it('with totpOnBind, binds with "password;code" once, and refuses the same code again and the password alone', async () => {
      await patchLdapServer(dir, { totpOnBind: true });
      const tom = dir.users.tom!;
      const since = await lastLdapEventId(run);
      const code = await oathtool(clock.ms());
      assert.equal(await bindCode(tom.dn, `${tom.password};${code}`), 0, 'password;code binds');
      assert.equal(await bindCode(tom.dn, `${tom.password};${code}`), 49, 'the same code again');
      assert.equal(await bindCode(tom.dn, tom.password), 49, 'the password alone');
      assert.equal(await bindCode(tom.dn, `${tom.password};000000`), 49, 'a wrong code');
      const evs = await ldapEvents(run, since, (e) => e.filter((x) => x.event_type === 'ldap_bind').length >= 4);
      const binds = evs.filter((e) => e.event_type === 'ldap_bind');
      assert.equal(binds[0]?.success, true);
      assert.equal(binds[0]?.mfa, true);
      assert.match(String(binds[1]?.error_message), /already used/);
      assert.match(String(binds[2]?.error_message), /MFA required/);
      assert.match(String(binds[3]?.error_message), /invalid TOTP/);
      assert.ok(!JSON.stringify(binds).includes(tom.password), 'the password never reaches the audit trail');
    });

    it('accepts the next code after the time step moves on', async () => {
      clock.advanceSeconds(30);
      const tom = dir.users.tom!;
      assert.equal(await bindCode(tom.dn, `${tom.password};${await oathtool(clock.ms())}`), 0);
    });

    it('still lets a user without TOTP bind with the password alone', async () => {
      assert.equal(await bindCode(dir.users.dave!.dn, dir.users.dave!.password), 0);
    });

    it('splits the code off at the last ";" only, so passwords may contain ";" and digits', async () => {
      const sid = dir.users.sid!;
      assert.equal(await bindCode(sid.dn, `${sid.password};${await oathtool(clock.ms())}`), 0, 'a TOTP user whose password contains ";"');
      const noel = dir.users.noel!;
      assert.equal(await bindCode(noel.dn, noel.password), 0, 'a user without TOTP whose password ends in ";123456"');
    });

    it('works through ldapwhoami with "password;code"', async () => {
      clock.advanceSeconds(30);
      const tom = dir.users.tom!;
      const r = await exec('ldapwhoami', ['-x', '-H', dir.url, '-D', tom.dn, '-w', `${tom.password};${await oathtool(clock.ms())}`], { env: ldapEnv(dir) });
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout.trim(), `dn:${tom.dn}`);
    });

    it('lets a TOTP user change the password with ldappasswd -a (old password alone), audited as one success', async () => {
      clock.advanceSeconds(30);
      const tom = dir.users.tom!;
      const since = await lastLdapEventId(run);
      const next = 'Quiet-Harbour-2026x';
      const r = await exec('ldappasswd', ['-x', '-H', dir.url, '-D', tom.dn, '-w', `${tom.password};${await oathtool(clock.ms())}`, '-a', tom.password, '-s', next], { env: ldapEnv(dir) });
      assert.equal(r.code, 0, r.stdout + r.stderr);
      const evs = await ldapEvents(run, since, (e) => e.filter((x) => x.event_type === 'ldap_bind').length >= 2);
      const binds = evs.filter((e) => e.event_type === 'ldap_bind');
      assert.deepEqual(binds.map((e) => [e.success, e.error_message ?? '']), [[true, ''], [true, '']], JSON.stringify(binds));
      assert.equal(binds[1]?.operation, 'password_modify');
      clock.advanceSeconds(30);
      assert.equal(await bindCode(tom.dn, `${next};${await oathtool(clock.ms())}`), 0, 'the new password binds');
      tom.password = next;
    });
  });

  describe('operations other than bind and search', () => {
    it('answers unwillingToPerform (53) to add, modify, delete and modify DN', async () => {
      const c = await bindAs('binder');
      await failsWith(c.add(`uid=mallory,${dir.usersBase}`, { objectClass: ['inetOrgPerson'], uid: 'mallory', cn: 'M', sn: 'M' }), 53);
      await failsWith(c.modify(dir.userDn('alice'), new Change({ operation: 'replace', modification: new Attribute({ type: 'mail', values: ['evil@example.com'] }) })), 53);
      await failsWith(c.del(dir.userDn('bob')), 53);
      await failsWith(c.modifyDN(dir.userDn('bob'), 'uid=robert'), 53);
      const a = await c.search(dir.userDn('alice'), { scope: 'base', attributes: ['mail'] });
      assert.equal(a.searchEntries[0]?.mail, 'alice@example.com');
    });

    it('drops a queued request that the client abandons, and closes the connection on unbind', async () => {
      const s = connect(run.endpoints.ldap!.port, '127.0.0.1');
      let buf = Buffer.alloc(0);
      s.on('data', (d) => (buf = Buffer.concat([buf, d])));
      const closed = new Promise<void>((r) => s.on('close', () => r()));
      await new Promise<void>((r) => s.on('connect', () => r()));
      const rootDse = (id: number) => ldapMessage(id, tlv(0x63, berString(''), berInt(0, 0x0a), berInt(0, 0x0a), berInt(0), berInt(0), tlv(0x01, Buffer.from([0])), berString('objectClass', 0x87), tlv(0x30)));
      // search 1, search 2, abandon 2, search 3 in one write: 2 is still queued when the abandon arrives
      s.write(Buffer.concat([rootDse(1), rootDse(2), ldapMessage(4, berInt(2, 0x50)), rootDse(3)]));
      const deadline = Date.now() + 5000;
      while (readResponses(buf).responses.filter((r) => r.op === 0x65).length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
      await new Promise((r) => setTimeout(r, 100));
      const done = readResponses(buf).responses.filter((r) => r.op === 0x65).map((r) => r.messageId);
      assert.deepEqual(done, [1, 3], 'no answer for the abandoned request, none for the abandon itself');
      s.write(ldapMessage(5, Buffer.from([0x42, 0x00])));
      const t0 = Date.now();
      await closed;
      assert.ok(Date.now() - t0 < 2000, 'the server closes the connection after an unbind');
    });

    it('answers protocolError (2) to an unknown extended operation', async () => {
      const c = await bindAs('binder');
      await failsWith(c.exop('1.3.6.1.4.1.99999.42'), 2);
      // the connection still works
      assert.equal((await c.exop(WHO_AM_I)).value, `dn:${dir.users.binder!.dn}`);
    });

    it('compares values of visible entries: compareTrue and compareFalse', async () => {
      const c = await bindAs('binder');
      assert.equal(await c.compare(dir.userDn('alice'), 'mail', 'ALICE@example.com'), true);
      assert.equal(await c.compare(dir.userDn('alice'), 'uidNumber', '7001'), true);
      assert.equal(await c.compare(dir.userDn('alice'), 'sn', 'Öztürk'), true);
      assert.equal(await c.compare(dir.userDn('alice'), 'mail', 'bob@example.com'), false);
      assert.equal(await c.compare(dir.groupDn('staff'), 'member', dir.userDn('bob')), true);
      assert.equal(await c.compare(dir.base, 'o', dir.orgId), true, 'the organisation entry is visible to the bind account');
    });

    it('never compares userPassword (or any secret), even with the right value', async () => {
      const c = await bindAs('binder');
      // userPassword is a known type no entry shows (noSuchAttribute); the store's field names are
      // no attribute types at all (undefinedAttributeType, as slapd answers).
      for (const [attr, expected] of [['userPassword', 16], ['totpSecret', 17], ['passwordHash', 17]] as const) {
        const code = await resultCode(c.compare(dir.userDn('alice'), attr, dir.users.alice!.password));
        assert.notEqual(code, 0, `${attr}: compareTrue`);
        assert.equal(code, expected, `${attr}: ${expected} expected`);
      }
      assert.deepEqual(await dnsOf(c, dir.base, `(userPassword=${dir.users.alice!.password})`), []);
      assert.deepEqual(await dnsOf(c, dir.base, '(userPassword=*)'), []);
    });

    it('does not let an ordinary user compare entries it cannot see', async () => {
      const c = await bindAs('alice');
      assert.equal(await c.compare(dir.userDn('alice'), 'uid', 'alice'), true);
      await failsWith(c.compare(dir.userDn('bob'), 'uid', 'bob'), 32);
      await failsWith(c.compare(dir.groupDn('staff'), 'memberUid', 'alice'), 32);
    });
  });
});

/** A bind answered `busy` on its timeout must not take effect when it completes later (RFC 4511 §4.2.1). */
describe('LDAP bind that outlives its operation timeout', function () {
  this.timeout(30_000);
  let dir: Directory;

  before(async () => {
    const run = await startAppliance({ ldap: { port: 0, ldapsPort: 0, operationTimeoutSeconds: 1 } });
    dir = await seedDirectory(run, STANDARD_USERS.filter((u) => u.username === 'binder' || u.username === 'dave'), []);
  });

  after(async () => dir?.run.stop());

  it('leaves the connection anonymous', async () => {
    const auth = dir.run.appliance.core.auth;
    const original = auth.authenticate;
    let finished!: () => void;
    const done = new Promise<void>((r) => (finished = r));
    auth.authenticate = async (req) => {
      const outcome = await original(req);
      await new Promise((r) => setTimeout(r, 1_500)); // a store or hasher stall
      finished();
      return outcome;
    };
    const c = client(dir);
    try {
      assert.equal(await resultCode(c.bind(dir.users.dave!.dn, dir.users.dave!.password)), 51);
      await done;
      auth.authenticate = original;
      assert.equal((await c.exop(WHO_AM_I)).value ?? '', '');
      await failsWith(c.search(dir.base, { filter: '(uid=dave)' }), 50);
    } finally {
      auth.authenticate = original;
      await c.unbind().catch(() => undefined);
    }
  });

  it('keeps the identity of a bind made while an earlier operation that timed out still runs', async () => {
    const view = dir.run.appliance.core.ldapDirectory;
    const original = view.current;
    let finished!: () => void;
    const done = new Promise<void>((r) => (finished = r));
    const c = client(dir);
    try {
      await c.bind(dir.users.binder!.dn, dir.users.binder!.password);
      // The identity check of binder's next operation stalls past the operation timeout.
      view.current = async (p) => {
        const outcome = await original.call(view, p);
        await new Promise((r) => setTimeout(r, 1_500));
        view.current = original;
        finished();
        return outcome;
      };
      assert.equal(await resultCode(c.search(dir.base, { filter: '(uid=dave)' })), 3);
      await c.bind(dir.users.dave!.dn, dir.users.dave!.password);
      await done;
      await new Promise((r) => setTimeout(r, 100));
      assert.equal((await c.exop(WHO_AM_I)).value, `dn:${dir.users.dave!.dn}`);
      // dave is no bind account: he sees his own entry, not binder's.
      assert.deepEqual((await c.search(dir.base, { filter: '(|(uid=binder)(uid=dave))', attributes: ['uid'] })).searchEntries.map((e) => e.uid), ['dave']);
    } finally {
      view.current = original;
      await c.unbind().catch(() => undefined);
    }
  });
});

/** `ldap.requireTls`: binds only over TLS (LDAPS or after StartTLS); RFC 4513 §5.1.1 confidentialityRequired. */
describe('LDAP with requireTls', function () {
  this.timeout(30_000);
  let dir: Directory;

  before(async () => {
    // ports must be repeated: the helper's `ldap` override is replaced, not merged, by ours
    const run = await startAppliance({ ldap: { port: 0, ldapsPort: 0, requireTls: true } });
    dir = await seedDirectory(run, STANDARD_USERS.filter((u) => u.username === 'binder' || u.username === 'dave'), []);
  });

  after(async () => dir?.run.stop());

  it('refuses a simple bind on plain LDAP with confidentialityRequired (13)', async () => {
    const c = client(dir);
    try {
      await failsWith(c.bind(dir.users.dave!.dn, dir.users.dave!.password), 13);
      await failsWith(c.search(dir.base, { filter: '(uid=dave)' }), 50);
    } finally {
      await c.unbind().catch(() => undefined);
    }
    const r = await exec('ldapwhoami', ['-x', '-H', dir.url, '-D', dir.users.dave!.dn, '-w', dir.users.dave!.password], { env: ldapEnv(dir) });
    assert.equal(r.code, 13, r.stderr);
  });

  it('still answers the Root DSE and anonymous binds on plain LDAP', async () => {
    const c = client(dir);
    try {
      await c.bind('', '');
      const dse = await c.search('', { scope: 'base', attributes: ['namingContexts'] });
      assert.equal(dse.searchEntries[0]?.namingContexts, dir.base);
    } finally {
      await c.unbind().catch(() => undefined);
    }
  });

  it('binds after StartTLS', async () => {
    const c = client(dir);
    try {
      await c.startTLS({ ca: [readFileSync(dir.caFile)], servername: 'localhost' });
      await c.bind(dir.users.dave!.dn, dir.users.dave!.password);
      assert.equal((await c.exop(WHO_AM_I)).value, `dn:${dir.users.dave!.dn}`);
    } finally {
      await c.unbind().catch(() => undefined);
    }
    const r = await exec('ldapwhoami', ['-ZZ', '-x', '-H', dir.url, '-D', dir.users.dave!.dn, '-w', dir.users.dave!.password], { env: ldapEnv(dir) });
    assert.equal(r.code, 0, r.stderr);
  });

  it('binds over LDAPS', async () => {
    const r = await exec('ldapwhoami', ['-x', '-H', dir.ldapsUrl, '-D', dir.users.binder!.dn, '-w', dir.users.binder!.password], { env: ldapEnv(dir) });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), `dn:${dir.users.binder!.dn}`);
  });
});
