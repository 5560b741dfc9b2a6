import assert from 'node:assert/strict';
import { requireBinary } from '../../helpers/binaries.js';
import { startAppliance } from '../../helpers/appliance.js';
import { queryEvents, setPasswordPolicy } from '../../integration/api/support.js';
import {
  STANDARD_GROUPS,
  STANDARD_USERS,
  asUser,
  exec,
  lastLdapEventId,
  ldapEnv,
  ldapEvents,
  ldapsearch,
  seedDirectory,
  type Directory,
} from '../../integration/ldap/support.js';

const PAGED_RESULTS = '1.2.840.113556.1.4.319';
const START_TLS = '1.3.6.1.4.1.1466.20037';
const PASSWORD_MODIFY = '1.3.6.1.4.1.4203.1.11.1';
const WHO_AM_I = '1.3.6.1.4.1.4203.1.11.3';

/** Short names of DNs: "uid=alice", "cn=staff", "ou=Users", "o" for the organisation. */
function short(dir: Directory, dn: string): string {
  if (dn.toLowerCase() === dir.base.toLowerCase()) return 'o';
  return dn.replace(new RegExp(`,${dir.usersBase.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`, 'i'), '').replace(new RegExp(`,${dir.base}$`, 'i'), '');
}

/**
 * The LDAP endpoint driven by OpenLDAP's own clients (Debian ldap-utils) as child processes, the
 * way issue 3 says it will be checked: ldapsearch (-x, -ZZ, ldaps://, paged), ldapwhoami,
 * ldappasswd, plus ldapcompare/ldapadd/ldapmodify/ldapdelete/ldapexop for the rest of the protocol.
 */
describe('LDAP interop with ldap-utils', function () {
  this.timeout(60_000);
  let dir: Directory;
  // Visible to the bind account: users bound directly or through a bound group, ACTIVATED.
  const visibleUsers = ['alice', 'binder', 'bob', 'dave', 'gene', 'pat'];
  const visibleGroups = ['plain', 'staff'];

  before(async function () {
    requireBinary(this, 'ldapsearch', 'ldap-utils');
    const run = await startAppliance();
    dir = await seedDirectory(
      run,
      [
        ...STANDARD_USERS,
        { username: 'pat', password: 'Parrot-Wing-31x', firstname: 'Pat', lastname: 'Changer', uidNumber: 7010, bound: true },
        { username: 'gene', password: 'Brand-New-32xy', firstname: 'Gene', lastname: 'Rated', uidNumber: 7011, bound: true },
      ],
      STANDARD_GROUPS,
    );
  });

  after(async () => dir?.run.stop());

  const binder = () => asUser(dir, 'binder');

  describe('Root DSE', () => {
    it('is readable anonymously and lists the naming context, LDAPv3, paged results, StartTLS, Password Modify and Who am I', async () => {
      const since = await lastLdapEventId(dir.run);
      const r = await ldapsearch(dir, ['-x', '-H', dir.url], ['-b', '', '-s', 'base', '(objectClass=*)', '+']);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.entries.length, 1);
      const dse = r.entries[0]!;
      assert.equal(dse.dn, '');
      assert.deepEqual(dse.attrs.namingContexts, [dir.base]);
      assert.deepEqual(dse.attrs.supportedLDAPVersion, ['3']);
      assert.ok(dse.attrs.supportedControl?.includes(PAGED_RESULTS), JSON.stringify(dse.attrs));
      for (const oid of [START_TLS, PASSWORD_MODIFY, WHO_AM_I]) assert.ok(dse.attrs.supportedExtension?.includes(oid), `${oid} in ${JSON.stringify(dse.attrs.supportedExtension)}`);
      const evs = await ldapEvents(dir.run, since, (e) => e.some((x) => x.event_type === 'ldap_search'));
      const ev = evs.find((x) => x.event_type === 'ldap_search');
      assert.ok(ev, 'ldap_search event');
      assert.equal(ev.base, '');
      assert.equal(ev.scope, 'base');
      assert.equal(ev.filter, '(objectClass=*)');
      assert.equal(ev.number_of_results, 1);
      assert.equal(ev.success, true);
      assert.equal(ev.dn, '');
    });

    it('answers only the attributes asked for', async () => {
      const r = await ldapsearch(dir, ['-x', '-H', dir.url], ['-b', '', '-s', 'base', '(objectClass=*)', 'namingContexts']);
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(r.entries[0]?.attrs, { namingContexts: [dir.base] });
    });
  });

  describe('binds and transports', () => {
    it('searches with a simple bind over plain LDAP (-x) and records the bind and the search', async () => {
      const since = await lastLdapEventId(dir.run);
      const r = await ldapsearch(dir, binder(), ['-b', dir.base, '(uid=alice)', 'uid', 'mail', 'uidNumber', 'memberOf']);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.entries.length, 1);
      assert.equal(r.entries[0]!.dn, dir.userDn('alice'));
      const { memberOf, ...rest } = r.entries[0]!.attrs;
      assert.deepEqual(rest, { uid: ['alice'], mail: ['alice@example.com'], uidNumber: ['7001'] });
      assert.ok(memberOf, 'memberOf');
      assert.deepEqual([...memberOf].sort(), [dir.groupDn('plain'), dir.groupDn('staff')].sort(), 'memberOf lists bound groups only (not "hidden")');
      const evs = await ldapEvents(dir.run, since, (e) => e.some((x) => x.event_type === 'ldap_search'));
      const bind = evs.find((x) => x.event_type === 'ldap_bind');
      assert.ok(bind, 'ldap_bind event');
      assert.equal(bind.success, true);
      assert.equal(bind.dn, dir.users.binder!.dn);
      assert.equal(bind.initiated_by?.username, 'binder');
      assert.equal(bind.service, 'ldap');
      const search = evs.find((x) => x.event_type === 'ldap_search');
      assert.ok(search, 'ldap_search event');
      assert.equal(search.base, dir.base);
      assert.equal(search.scope, 'sub');
      assert.equal(search.filter, '(uid=alice)');
      assert.equal(search.number_of_results, 1);
      assert.equal(search.dn, dir.users.binder!.dn);
      assert.equal(search.success, true);
    });

    it('searches after StartTLS (-ZZ) with the certificate verified', async () => {
      const since = await lastLdapEventId(dir.run);
      const r = await ldapsearch(dir, ['-ZZ', ...binder()], ['-b', dir.base, '(uid=bob)', 'uid']);
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(r.entries, [{ dn: dir.userDn('bob'), attrs: { uid: ['bob'] } }]);
      const evs = await ldapEvents(dir.run, since, (e) => e.some((x) => x.event_type === 'ldap_bind'));
      assert.equal(evs.find((x) => x.event_type === 'ldap_bind')?.tls, true, 'the bind event records TLS');
    });

    it('searches over LDAPS (ldaps://)', async () => {
      const r = await ldapsearch(dir, asUser(dir, 'binder', dir.ldapsUrl), ['-b', dir.base, '(uid=dave)', 'uid']);
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(r.entries, [{ dn: dir.userDn('dave'), attrs: { uid: ['dave'] } }]);
    });

    it('refuses StartTLS on a connection that already runs TLS', async () => {
      const r = await exec('ldapwhoami', ['-ZZ', '-x', '-H', dir.ldapsUrl], { env: ldapEnv(dir) });
      assert.notEqual(r.code, 0);
      assert.match(r.stderr, /Operations error|\(1\)/);
    });

    it('ldapwhoami answers the bound DN, and "anonymous" without a bind', async () => {
      const who = await exec('ldapwhoami', asUser(dir, 'alice'), { env: ldapEnv(dir) });
      assert.equal(who.code, 0, who.stderr);
      assert.equal(who.stdout.trim(), `dn:${dir.userDn('alice')}`);
      const ci = await exec('ldapwhoami', ['-x', '-H', dir.url, '-D', `UID=ALICE,OU=users,${dir.base}`, '-w', dir.users.alice!.password], { env: ldapEnv(dir) });
      assert.equal(ci.code, 0, ci.stderr);
      assert.equal(ci.stdout.trim(), `dn:${dir.userDn('alice')}`, 'the DN is matched case-insensitively and answered normalised');
      const escaped = await exec('ldapwhoami', ['-x', '-H', dir.url, '-D', `uid=ali\\63e,ou=Users,${dir.base}`, '-w', dir.users.alice!.password], { env: ldapEnv(dir) });
      assert.equal(escaped.code, 0, escaped.stderr);
      assert.equal(escaped.stdout.trim(), `dn:${dir.userDn('alice')}`, 'a hex-escaped DN (RFC 4514) names the same user');
      const anon = await exec('ldapwhoami', ['-x', '-H', dir.url], { env: ldapEnv(dir) });
      assert.equal(anon.code, 0, anon.stderr);
      assert.equal(anon.stdout.trim(), 'anonymous');
    });

    it('ldapwhoami with a wrong password exits with invalidCredentials (49)', async () => {
      const r = await exec('ldapwhoami', ['-x', '-H', dir.url, '-D', dir.userDn('dave'), '-w', 'not-the-password'], { env: ldapEnv(dir) });
      assert.equal(r.code, 49, r.stderr);
      assert.match(r.stderr, /Invalid credentials \(49\)/);
    });
  });

  describe('search', () => {
    const everything = () => ['o', 'ou=Users', ...visibleUsers.map((u) => `uid=${u}`), ...visibleGroups.map((g) => `cn=${g}`)];

    it('pages with -E pr=2/noprompt and returns every entry exactly once', async () => {
      const r = await exec('ldapsearch', ['-o', 'ldif-wrap=no', ...binder(), '-b', dir.base, '-E', 'pr=2/noprompt', '(objectClass=*)', '1.1'], { env: ldapEnv(dir) });
      assert.equal(r.code, 0, r.stderr);
      const dns = [...r.stdout.matchAll(/^dn: (.*)$/gm)].map((m) => short(dir, m[1]!));
      assert.equal(dns.length, everything().length, `every entry once: ${JSON.stringify(dns)}`);
      assert.deepEqual([...dns].sort(), everything().sort());
      const pages = [...r.stdout.matchAll(/^# with pagedResults control: size=2/gm)].length;
      assert.ok(pages >= Math.ceil(everything().length / 2), `${pages} pages`);
      const cookies = [...r.stdout.matchAll(/^pagedresults: cookie=(.*)$/gm)].map((m) => m[1]);
      assert.equal(cookies.at(-1), '', 'the last page carries an empty cookie');
      assert.ok(cookies.slice(0, -1).every((c) => c !== ''), 'earlier pages carry a cookie');
    });

    it('returns the chosen attributes: "uid mail"', async () => {
      const r = await ldapsearch(dir, binder(), ['-b', dir.base, '(uid=bob)', 'uid', 'mail']);
      assert.deepEqual(r.entries, [{ dn: dir.userDn('bob'), attrs: { uid: ['bob'], mail: ['bob@example.com'] } }]);
    });

    it('returns the POSIX view of a user for "*"', async () => {
      const r = await ldapsearch(dir, binder(), ['-b', dir.base, '(uid=alice)', '*']);
      const a = r.entries[0]!.attrs;
      assert.deepEqual(a.objectClass, ['top', 'person', 'organizationalPerson', 'inetOrgPerson', 'posixAccount', 'shadowAccount']);
      assert.deepEqual(a.cn, ['Alice Öztürk']);
      assert.deepEqual(a.sn, ['Öztürk']);
      assert.deepEqual(a.givenName, ['Alice']);
      assert.deepEqual(a.uidNumber, ['7001']);
      assert.deepEqual(a.gidNumber, ['7001']);
      assert.deepEqual(a.homeDirectory, ['/home/alice']);
      assert.deepEqual(a.loginShell, ['/bin/bash']);
      assert.equal(a.userPassword, undefined, 'no password attribute');
      assert.equal(a.entryUUID, undefined, 'no operational attributes for "*"');
    });

    it('returns only operational attributes for "+"', async () => {
      const r = await ldapsearch(dir, binder(), ['-b', dir.base, '(uid=bob)', '+']);
      const a = r.entries[0]!.attrs;
      assert.equal(a.uid, undefined);
      assert.deepEqual(a.entryDN, [dir.userDn('bob')]);
      assert.deepEqual(a.structuralObjectClass, ['inetOrgPerson']);
      assert.match(a.entryUUID?.[0] ?? '', /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
      assert.match(a.createTimestamp?.[0] ?? '', /^\d{14}Z$/);
    });

    it('returns no attributes for "1.1" and all user attributes for "*"', async () => {
      const none = await ldapsearch(dir, binder(), ['-b', dir.base, '(uid=bob)', '1.1']);
      assert.deepEqual(none.entries, [{ dn: dir.userDn('bob'), attrs: {} }]);
      const all = await ldapsearch(dir, binder(), ['-b', dir.base, '(cn=staff)', '*']);
      assert.deepEqual(all.entries[0]?.attrs, {
        objectClass: ['top', 'groupOfNames', 'posixGroup'],
        cn: ['staff'],
        member: [dir.userDn('alice'), dir.userDn('bob')],
        gidNumber: ['8001'],
        memberUid: ['alice', 'bob'],
      });
    });

    it('returns attribute names without values with typesOnly (-A)', async () => {
      const r = await exec('ldapsearch', ['-LLL', '-A', ...binder(), '-b', dir.base, '(uid=bob)', 'uid', 'mail', 'cn'], { env: ldapEnv(dir) });
      assert.equal(r.code, 0, r.stderr);
      const lines = r.stdout.trim().split('\n');
      assert.equal(lines[0], `dn: ${dir.userDn('bob')}`);
      assert.deepEqual(lines.slice(1).sort(), ['cn:', 'mail:', 'uid:']);
    });

    it('stops at the client size limit (-z 1) with sizeLimitExceeded (4) and one entry', async () => {
      const since = await lastLdapEventId(dir.run);
      const r = await ldapsearch(dir, binder(), ['-z', '1', '-b', dir.base, '(objectClass=*)', '1.1']);
      assert.equal(r.code, 4, r.stderr);
      assert.match(r.stderr, /Size limit exceeded \(4\)/);
      assert.equal(r.entries.length, 1);
      const evs = await ldapEvents(dir.run, since, (e) => e.some((x) => x.event_type === 'ldap_search'));
      const ev = evs.find((x) => x.event_type === 'ldap_search');
      assert.equal(ev?.number_of_results, 1);
      assert.equal(ev?.success, false);
    });

    const scopes: [string, (d: Directory) => string, 'base' | 'one' | 'sub', () => string[]][] = [
      ['o=', (d) => d.base, 'base', () => ['o']],
      ['o=', (d) => d.base, 'one', () => ['ou=Users']],
      ['o=', (d) => d.base, 'sub', () => everything()],
      ['ou=Users', (d) => d.usersBase, 'base', () => ['ou=Users']],
      ['ou=Users', (d) => d.usersBase, 'one', () => [...visibleUsers.map((u) => `uid=${u}`), ...visibleGroups.map((g) => `cn=${g}`)]],
      ['ou=Users', (d) => d.usersBase, 'sub', () => ['ou=Users', ...visibleUsers.map((u) => `uid=${u}`), ...visibleGroups.map((g) => `cn=${g}`)]],
      ['a user DN', (d) => d.userDn('alice'), 'base', () => ['uid=alice']],
      ['a user DN', (d) => d.userDn('alice'), 'one', () => []],
      ['a user DN', (d) => d.userDn('alice'), 'sub', () => ['uid=alice']],
      ['a group DN', (d) => d.groupDn('staff'), 'base', () => ['cn=staff']],
    ];
    for (const [what, base, scope, expected] of scopes) {
      it(`scope ${scope} from ${what} returns ${scope === 'sub' && what === 'ou=Users' ? 'the OU itself and everything below it' : 'the entries of that scope'}`, async () => {
        const since = await lastLdapEventId(dir.run);
        const r = await ldapsearch(dir, binder(), ['-b', base(dir), '-s', scope, '(objectClass=*)', '1.1']);
        assert.equal(r.code, 0, r.stderr);
        assert.deepEqual(r.entries.map((e) => short(dir, e.dn)).sort(), expected().sort());
        const evs = await ldapEvents(dir.run, since, (e) => e.some((x) => x.event_type === 'ldap_search'));
        const ev = evs.find((x) => x.event_type === 'ldap_search');
        assert.equal(ev?.scope, scope);
        assert.equal(ev?.base, base(dir));
        assert.equal(ev?.number_of_results, expected().length);
      });
    }

    it('answers noSuchObject (32) for a base that names nothing, and for a user the bind account cannot see', async () => {
      for (const base of [dir.userDn('nobody'), dir.userDn('carol'), `ou=Groups,${dir.base}`, 'dc=elsewhere']) {
        const r = await ldapsearch(dir, binder(), ['-b', base, '-s', 'base', '(objectClass=*)']);
        assert.equal(r.code, 32, `${base}: ${r.stderr}`);
      }
    });

    it('answers invalidDNSyntax (34) for a malformed base DN', async () => {
      const r = await ldapsearch(dir, binder(), ['-b', 'uid=alice,,ou=Users', '(objectClass=*)']);
      assert.equal(r.code, 34, r.stderr);
    });

    it('refuses an anonymous search below the naming context with insufficientAccessRights (50)', async () => {
      const since = await lastLdapEventId(dir.run);
      const r = await ldapsearch(dir, ['-x', '-H', dir.url], ['-b', dir.base, '(uid=alice)']);
      assert.equal(r.code, 50, r.stderr);
      assert.equal(r.entries.length, 0);
      const evs = await ldapEvents(dir.run, since, (e) => e.some((x) => x.event_type === 'ldap_search'));
      const ev = evs.find((x) => x.event_type === 'ldap_search');
      assert.equal(ev?.success, false);
      assert.equal(ev?.number_of_results, 0);
      assert.equal(ev?.base, dir.base);
    });
  });

  describe('Password Modify (ldappasswd)', () => {
    it('changes the own password with -s: the old one fails afterwards, the new one works', async () => {
      const pat = dir.users.pat!;
      const r = await exec('ldappasswd', [...asUser(dir, 'pat'), '-s', 'Fresh-Paint-204x'], { env: ldapEnv(dir) });
      assert.equal(r.code, 0, r.stderr + r.stdout);
      const old = await exec('ldapwhoami', ['-x', '-H', dir.url, '-D', pat.dn, '-w', pat.password], { env: ldapEnv(dir) });
      assert.equal(old.code, 49, 'the old password no longer binds');
      const fresh = await exec('ldapwhoami', ['-x', '-H', dir.url, '-D', pat.dn, '-w', 'Fresh-Paint-204x'], { env: ldapEnv(dir) });
      assert.equal(fresh.code, 0, fresh.stderr);
      assert.equal(fresh.stdout.trim(), `dn:${pat.dn}`);
      pat.password = 'Fresh-Paint-204x';
      const changes = (await queryEvents(dir.run, { service: ['all'], start_time: '2000-01-01T00:00:00Z', limit: 100 })).filter(
        (e) => e.event_type === 'user_password_change' && e.resource?.username === 'pat',
      );
      assert.equal(changes.length, 1, 'one user_password_change event');
      assert.equal(changes[0]?.initiated_by?.username, 'pat');
    });

    it('refuses a weak new password with constraintViolation (19) and keeps the old one', async () => {
      const pat = dir.users.pat!;
      for (const weak of ['short', 'has-pat-in-it']) {
        const r = await exec('ldappasswd', [...asUser(dir, 'pat'), '-s', weak], { env: ldapEnv(dir) });
        assert.notEqual(r.code, 0);
        assert.match(r.stdout + r.stderr, /Constraint violation \(19\)/, weak);
      }
      const still = await exec('ldapwhoami', ['-x', '-H', dir.url, '-D', pat.dn, '-w', pat.password], { env: ldapEnv(dir) });
      assert.equal(still.code, 0, still.stderr);
    });

    it('refuses a wrong old password (-a) with invalidCredentials (49)', async () => {
      const r = await exec('ldappasswd', [...asUser(dir, 'pat'), '-a', 'not-my-password', '-s', 'Another-Paint-205x'], { env: ldapEnv(dir) });
      assert.notEqual(r.code, 0);
      assert.match(r.stdout + r.stderr, /Invalid credentials \(49\)/);
    });

    it("refuses to change another user's password with insufficientAccessRights (50)", async () => {
      const r = await exec('ldappasswd', [...asUser(dir, 'pat'), '-s', 'Hijack-Attempt-9x', dir.userDn('dave')], { env: ldapEnv(dir) });
      assert.notEqual(r.code, 0);
      assert.match(r.stdout + r.stderr, /Insufficient access \(50\)/);
      const dave = await exec('ldapwhoami', asUser(dir, 'dave'), { env: ldapEnv(dir) });
      assert.equal(dave.code, 0, "dave's password is unchanged");
    });

    it('refuses an anonymous password change', async () => {
      const r = await exec('ldappasswd', ['-x', '-H', dir.url, '-s', 'Anonymous-Try-1x', dir.userDn('dave')], { env: ldapEnv(dir) });
      assert.notEqual(r.code, 0);
      assert.match(r.stdout + r.stderr, /unwilling to perform \(53\)/i);
    });

    it('generates a password without -s that then binds', async () => {
      const gene = dir.users.gene!;
      const r = await exec('ldappasswd', asUser(dir, 'gene'), { env: ldapEnv(dir) });
      assert.equal(r.code, 0, r.stderr + r.stdout);
      const generated = /^New password: (.+)$/m.exec(r.stdout)?.[1];
      assert.ok(generated, r.stdout);
      const works = await exec('ldapwhoami', ['-x', '-H', dir.url, '-D', gene.dn, '-w', generated], { env: ldapEnv(dir) });
      assert.equal(works.code, 0, works.stderr);
      const old = await exec('ldapwhoami', ['-x', '-H', dir.url, '-D', gene.dn, '-w', gene.password], { env: ldapEnv(dir) });
      assert.equal(old.code, 49);
      gene.password = generated;
    });

    it('generates a password that satisfies a long minimum length of the policy', async () => {
      const gene = dir.users.gene!;
      await setPasswordPolicy(dir.run, { enableMinLength: true, minLength: 32 });
      try {
        const r = await exec('ldappasswd', asUser(dir, 'gene'), { env: ldapEnv(dir) });
        assert.equal(r.code, 0, `policy minLength 32: ${r.stdout}${r.stderr}`);
        const generated = /^New password: (.+)$/m.exec(r.stdout)?.[1] ?? '';
        assert.ok(generated.length >= 32, generated);
        gene.password = generated;
      } finally {
        await setPasswordPolicy(dir.run, { enableMinLength: true, minLength: 8 });
      }
    });
  });

  describe('the rest of the protocol', () => {
    it('compares attribute values of visible entries (ldapcompare)', async () => {
      const t = await exec('ldapcompare', [...binder(), dir.userDn('alice'), 'mail:ALICE@example.com'], { env: ldapEnv(dir) });
      assert.equal(t.code, 6, t.stderr);
      assert.equal(t.stdout.trim(), 'TRUE');
      const f = await exec('ldapcompare', [...binder(), dir.userDn('alice'), 'mail:someone@example.com'], { env: ldapEnv(dir) });
      assert.equal(f.code, 5, f.stderr);
      const m = await exec('ldapcompare', [...binder(), dir.groupDn('staff'), 'memberUid:bob'], { env: ldapEnv(dir) });
      assert.equal(m.code, 6, m.stderr);
    });

    it('never compares userPassword', async () => {
      const r = await exec('ldapcompare', [...binder(), dir.userDn('alice'), `userPassword:${dir.users.alice!.password}`], { env: ldapEnv(dir) });
      assert.notEqual(r.code, 6);
      assert.equal(r.code, 16, `noSuchAttribute expected: ${r.stdout}${r.stderr}`);
    });

    it('answers unwillingToPerform (53) to ldapadd, ldapmodify, ldapdelete and ldapmodrdn', async () => {
      const add = await exec('ldapadd', binder(), { env: ldapEnv(dir), input: `dn: uid=mallory,${dir.usersBase}\nobjectClass: inetOrgPerson\nuid: mallory\ncn: M\nsn: M\n` });
      assert.equal(add.code, 53, add.stderr);
      const mod = await exec('ldapmodify', binder(), { env: ldapEnv(dir), input: `dn: ${dir.userDn('alice')}\nchangetype: modify\nreplace: mail\nmail: evil@example.com\n` });
      assert.equal(mod.code, 53, mod.stderr);
      const del = await exec('ldapdelete', [...binder(), dir.userDn('bob')], { env: ldapEnv(dir) });
      assert.equal(del.code, 53, del.stderr);
      const ren = await exec('ldapmodrdn', [...binder(), dir.userDn('bob'), 'uid=robert'], { env: ldapEnv(dir) });
      assert.equal(ren.code, 53, ren.stderr);
      const still = await ldapsearch(dir, binder(), ['-b', dir.base, '(|(uid=bob)(uid=mallory))', 'mail']);
      assert.deepEqual(still.entries, [{ dn: dir.userDn('bob'), attrs: { mail: ['bob@example.com'] } }]);
    });

    it('answers protocolError (2) to an unknown extended operation (ldapexop)', async () => {
      const r = await exec('ldapexop', [...binder(), '1.3.6.1.4.1.99999.1'], { env: ldapEnv(dir) });
      assert.notEqual(r.code, 0);
      assert.match(r.stderr, /Protocol error \(2\)/);
      const who = await exec('ldapexop', [...binder(), 'whoami'], { env: ldapEnv(dir) });
      assert.equal(who.code, 0, who.stderr);
      assert.equal(who.stdout.trim(), `dn:${dir.users.binder!.dn}`);
    });
  });
});
