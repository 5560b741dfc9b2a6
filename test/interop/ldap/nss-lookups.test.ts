import assert from 'node:assert/strict';
import { requireBinary } from '../../helpers/binaries.js';
import { startAppliance } from '../../helpers/appliance.js';
import { STANDARD_GROUPS, STANDARD_USERS, asUser, lastLdapEventId, ldapEvents, ldapsearch, seedDirectory, type Directory } from '../../integration/ldap/support.js';

/**
 * The lookups nslcd and sssd make (and the rest of the RFC 4515 filter language), sent by ldapsearch
 * as the bind account with scope sub from the naming context. Expected entries are named short:
 * "o" the organisation, "ou=Users", "uid=…", "cn=…".
 *
 * Visible to the bind account: users alice, binder, bob, dave; groups plain, staff, "R&D, Europe".
 * Not visible: carol (not bound), stella (STAGED), sam (SUSPENDED), group hidden (not bound).
 */
describe('LDAP interop: nslcd/sssd-style lookups with ldapsearch', function () {
  this.timeout(60_000);
  let dir: Directory;
  const USERS = ['uid=alice', 'uid=binder', 'uid=bob', 'uid=dave'];
  const GROUPS = ['cn=plain', 'cn=staff', 'cn=R&D\\, Europe'];

  before(async function () {
    requireBinary(this, 'ldapsearch', 'ldap-utils');
    const run = await startAppliance();
    dir = await seedDirectory(run, STANDARD_USERS, [...STANDARD_GROUPS, { name: 'R&D, Europe', members: ['bob'] }]);
  });

  after(async () => dir?.run.stop());

  const short = (dn: string) =>
    dn.toLowerCase() === dir.base.toLowerCase() ? 'o' : dn.slice(0, dn.length - dir.usersBase.length - 1) || dn;

  async function lookup(filter: string, base = dir.base): Promise<string[]> {
    const r = await ldapsearch(dir, asUser(dir, 'binder'), ['-b', base, '-s', 'sub', filter, '1.1']);
    assert.equal(r.code, 0, `${filter}: ${r.stderr}`);
    return r.entries.map((e) => (e.dn.toLowerCase() === dir.usersBase.toLowerCase() ? 'ou=Users' : short(e.dn))).sort();
  }

  // `{base}` stands for the naming context o=<orgId>,dc=gatehouse,dc=local.
  const cases: [string, string, () => string[]][] = [
    // nslcd/sssd passwd and group maps
    ['passwd by name', '(&(objectClass=posixAccount)(uid=alice))', () => ['uid=alice']],
    ['passwd by uidNumber', '(&(objectClass=posixAccount)(uidNumber=7001))', () => ['uid=alice']],
    ['passwd enumeration', '(&(objectClass=posixAccount)(uid=*))', () => USERS],
    ['group by memberUid', '(&(objectClass=posixGroup)(memberUid=alice))', () => ['cn=staff']],
    ['group by gidNumber', '(&(objectClass=posixGroup)(gidNumber=8001))', () => ['cn=staff']],
    ['group by name', '(&(objectClass=posixGroup)(cn=staff))', () => ['cn=staff']],
    ['groups by member DN', '(&(objectClass=groupOfNames)(member=uid=alice,ou=Users,{base}))', () => ['cn=plain', 'cn=staff']],
    ['groups by member DN in another spelling', '(member=UID=Bob,OU=users,{BASE})', () => ['cn=R&D\\, Europe', 'cn=staff']],
    ['users by memberOf', '(memberOf=cn=staff,ou=Users,{base})', () => ['uid=alice', 'uid=bob']],
    ['users by memberOf of a group with an escaped comma in its name', '(memberOf=cn=R&D\\5c, Europe,ou=Users,{base})', () => ['uid=bob']],
    ['users by memberOf of an unbound group', '(memberOf=cn=hidden,ou=Users,{base})', () => []],
    // matching rules
    ['uid case-insensitively', '(uid=ALICE)', () => ['uid=alice']],
    ['mail case-insensitively', '(mail=ALICE@EXAMPLE.COM)', () => ['uid=alice']],
    ['cn with non-ASCII letters, case-insensitively', '(cn=alice öztürk)', () => ['uid=alice']],
    ['sn with non-ASCII letters, exactly', '(sn=Öztürk)', () => ['uid=alice']],
    ['a uid prefix', '(uid=al*)', () => ['uid=alice']],
    ['a cn substring with non-ASCII letters', '(cn=*ztü*)', () => ['uid=alice']],
    ['a cn substring with ASCII letters', '(cn=*uild*)', () => ['uid=bob']],
    ['uidNumber >=', '(uidNumber>=7002)', () => ['uid=bob', 'uid=dave']],
    ['uidNumber <=', '(uidNumber<=7001)', () => ['uid=alice', 'uid=binder']],
    ['gidNumber = on users and groups', '(gidNumber=8001)', () => ['cn=staff']],
    ['approximate match', '(uid~=alice)', () => ['uid=alice']],
    ['presence of mail', '(mail=*)', () => USERS],
    ['presence of memberUid (POSIX groups only)', '(memberUid=*)', () => ['cn=staff']],
    ['memberUid without objectClass (only POSIX groups have memberUid)', '(memberUid=alice)', () => ['cn=staff']],
    // boolean operators
    ['negation: everything but alice', '(!(uid=alice))', () => ['o', 'ou=Users', 'uid=binder', 'uid=bob', 'uid=dave', ...GROUPS]],
    ['negation of a group name', '(!(cn=staff))', () => ['o', 'ou=Users', ...USERS, 'cn=plain', 'cn=R&D\\, Europe']],
    ['alternation', '(|(uid=alice)(uid=bob))', () => ['uid=alice', 'uid=bob']],
    ['alternation across kinds', '(|(uid=dave)(cn=plain))', () => ['cn=plain', 'uid=dave']],
    ['conjunction that nothing satisfies', '(&(uid=alice)(uid=bob))', () => []],
    // extensible matches
    ['caseExactMatch with the stored case', '(uid:caseExactMatch:=alice)', () => ['uid=alice']],
    ['caseExactMatch with another case', '(uid:caseExactMatch:=ALICE)', () => []],
    ['a DN component (:dn:)', '(ou:dn:=Users)', () => ['ou=Users', ...USERS, ...GROUPS]],
    ['caseExactMatch on cn with the case shown', '(cn:caseExactMatch:=Bob Builder)', () => ['uid=bob']],
    ['caseExactMatch on cn with another case', '(cn:caseExactMatch:=bob builder)', () => []],
    ['caseExactMatch by OID on gecos, non-ASCII', '(gecos:2.5.13.5:=Alice Öztürk)', () => ['uid=alice']],
    ['memberUid by caseIgnoreIA5Match', '(memberUid:caseIgnoreIA5Match:=ALICE)', () => ['cn=staff']],
    // memberUid substrings (caseExactIA5SubstringsMatch, the schema's SUBSTR rule)
    ['a memberUid prefix', '(&(objectClass=posixGroup)(memberUid=ali*))', () => ['cn=staff']],
    ['a memberUid substring', '(memberUid=*o*)', () => ['cn=staff']],
    ['a memberUid prefix in another case', '(memberUid=ALI*)', () => []],
    // presence is FALSE for an absent attribute, known or not (RFC 4511 §4.5.1.7.5)
    ['presence of an attribute no entry has', '(telephoneNumber=*)', () => []],
    ['the negation of presence of an unknown attribute', '(!(fooBar=*))', () => ['o', 'ou=Users', ...USERS, ...GROUPS]],
    // no ORDERING or SUBSTR rule in the schema: Undefined, negated or not (as slapd)
    ['ordering on cn, which has no ordering rule', '(cn>=a)', () => []],
    ['the negation of ordering on cn', '(!(cn>=a))', () => []],
    ['a substring of loginShell, which has no substrings rule', '(loginShell=*sh)', () => []],
    // undefined (RFC 4511 §4.5.1.7): unknown attribute types match nothing, negated or not
    ['an unknown attribute', '(foo=bar)', () => []],
    ['the negation of an unknown attribute', '(!(foo=bar))', () => []],
    ['an unusable integer', '(!(uidNumber=abc))', () => []],
    // attributes every user entry shows must be searchable
    ['gecos, shown on every user', '(gecos=Bob Builder)', () => ['uid=bob']],
    ['the negation of a gecos value bob has (must not list bob)', '(!(gecos=Bob Builder))', () => ['o', 'ou=Users', 'uid=alice', 'uid=binder', 'uid=dave', ...GROUPS]],
    ['shadowLastChange presence, shown on every user', '(shadowLastChange=*)', () => USERS],
    ['structuralObjectClass, shown for "+"', '(structuralObjectClass=inetOrgPerson)', () => USERS],
    ['modifyTimestamp (sssd refresh), shown on every user and group', '(modifyTimestamp>=20000101000000Z)', () => [...USERS, ...GROUPS]],
    // everything
    ['objectClass presence', '(objectClass=*)', () => ['o', 'ou=Users', ...USERS, ...GROUPS]],
  ];

  for (const [what, filter, expected] of cases) {
    it(`finds ${what}: ${filter}`, async () => {
      assert.deepEqual(await lookup(filter.replace('{base}', dir.base).replace('{BASE}', dir.base.toUpperCase())), expected().sort());
    });
  }

  it('finds a group by a DN whose name has insignificant spaces (RFC 4518 §2.6.1), as a base and in memberOf', async () => {
    const spaced = `cn=R&D\\,   Europe ,${dir.usersBase}`;
    assert.deepEqual(await lookup('(objectClass=*)', spaced), ['cn=R&D\\, Europe']);
    assert.deepEqual(await lookup(`(memberOf=cn=R&D\\5c,  Europe,ou=Users,${dir.base})`), ['uid=bob']);
  });

  it('searches from the DN of a group whose name needs escaping', async () => {
    const r = await ldapsearch(dir, asUser(dir, 'binder'), ['-b', `cn=R&D\\, Europe,${dir.usersBase}`, '-s', 'base', '(objectClass=*)', 'cn', 'member']);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.entries, [{ dn: `cn=R&D\\, Europe,${dir.usersBase}`, attrs: { cn: ['R&D, Europe'], member: [dir.userDn('bob')] } }]);
  });

  it('returns the nslcd attribute set of a POSIX group', async () => {
    const r = await ldapsearch(dir, asUser(dir, 'binder'), ['-b', dir.base, '(&(objectClass=posixGroup)(cn=staff))', 'cn', 'userPassword', 'memberUid', 'gidNumber', 'member']);
    assert.deepEqual(r.entries, [
      { dn: dir.groupDn('staff'), attrs: { cn: ['staff'], member: [dir.userDn('alice'), dir.userDn('bob')], gidNumber: ['8001'], memberUid: ['alice', 'bob'] } },
    ]);
  });

  it('records the lookup in the audit trail with base, filter, scope and number of results', async () => {
    const since = await lastLdapEventId(dir.run);
    assert.deepEqual(await lookup('(&(objectClass=posixAccount)(uid=alice))'), ['uid=alice']);
    const evs = await ldapEvents(dir.run, since, (e) => e.some((x) => x.event_type === 'ldap_search'));
    const ev = evs.find((x) => x.event_type === 'ldap_search');
    assert.ok(ev);
    assert.equal(ev.base, dir.base);
    assert.equal(ev.scope, 'sub');
    assert.equal(ev.filter, '(&(objectClass=posixAccount)(uid=alice))');
    assert.equal(ev.number_of_results, 1);
    assert.equal(ev.dn, dir.users.binder!.dn);
    assert.equal(ev.initiated_by?.username, 'binder');
    assert.equal(ev.success, true);
  });
});
