import assert from 'node:assert/strict';
import { requireBinary } from '../../helpers/binaries.js';
import { startAppliance } from '../../helpers/appliance.js';
import {
  RawConnection,
  asUser,
  berString,
  client,
  exec,
  lastLdapEventId,
  ldapEnv,
  ldapEvents,
  ldapMessage,
  ldapsearch,
  probeSearch,
  searchRequest,
  seedDirectory,
  simpleBindRequest,
  STANDARD_USERS,
  tlv,
  type Directory,
} from '../../integration/ldap/support.js';

const UNWILLING_TO_PERFORM = 53;
const SEARCH_ENTRY = 0x64;
const SEARCH_DONE = 0x65;

/** A substring filter (RFC 4511 §4.5.1.7.2) in BER, empty `any` pieces included. */
const substrings = (attr: string, any: string[], final: string) =>
  tlv(0xa4, berString(attr), tlv(0x30, ...any.map((a) => berString(a, 0x81)), berString(final, 0x82)));

/**
 * Hostile and odd filters from OpenLDAP's ldapsearch, as a client would send them: a substring
 * filter that made a regular expression backtrack for seconds, attribute names that are
 * Object.prototype members, and sn/displayName on users whose entries show a fallback value.
 */
describe('LDAP filter hardening with ldap-utils', function () {
  this.timeout(60_000);
  let dir: Directory;

  before(async function () {
    requireBinary(this, 'ldapsearch', 'ldap-utils');
    const run = await startAppliance();
    dir = await seedDirectory(
      run,
      [
        ...STANDARD_USERS.filter((u) => ['binder', 'bob', 'dave'].includes(u.username)).map((u) => ({ ...u, bound: true })),
        { username: 'nolast', password: 'No-Surname-81x', firstname: 'Nora', lastname: '', uidNumber: 7020, bound: true },
      ],
      [],
    );
  });

  after(async () => dir?.run.stop());

  const binder = () => asUser(dir, 'binder');
  const anonymous = () => ['-x', '-H', dir.url];
  const dns = (r: { entries: { dn: string }[] }) => r.entries.map((e) => e.dn.toLowerCase()).sort();

  /** ldapsearch as the bind account finds exactly `users`; the search's ldap_search event. */
  const searchAudited = async (filter: string, users: string[]) => {
    const since = await lastLdapEventId(dir.run);
    const r = await ldapsearch(dir, binder(), ['-b', dir.base, filter, '1.1']);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(dns(r), users.map((u) => dir.userDn(u).toLowerCase()).sort());
    const evs = await ldapEvents(dir.run, since, (e) => e.some((x) => x.event_type === 'ldap_search'));
    return evs.find((x) => x.event_type === 'ldap_search');
  };

  /** Another client is served and the HTTP health check answers. */
  async function stillServing(): Promise<void> {
    assert.deepEqual(await probeSearch(dir), [dir.userDn('bob').toLowerCase()]);
    assert.equal((await fetch(`${dir.run.httpUrl}/health`)).status, 200);
  }

  describe('substring filters with many pieces', () => {
    // (namingContexts=*…*zz) with empty `any` pieces, which ldapsearch and ldap3 never send (RFC
    // 4515 has no syntax for them) but BER carries: built by hand, as an attacker would.
    const hostile = substrings('namingContexts', Array<string>(31).fill(''), 'zz');
    const raws: RawConnection[] = [];
    afterEach(() => raws.splice(0).forEach((c) => c.destroy()));

    it('answers an anonymous Root DSE search with 31 empty pieces, with no entry, while others are served', async () => {
      const since = await lastLdapEventId(dir.run);
      const c = new RawConnection(dir.run.endpoints.ldap!.port);
      raws.push(c);
      await c.connected;
      c.write(ldapMessage(1, searchRequest('', 0, hostile, ['namingContexts'])));
      await stillServing();
      const rs = await c.waitFor((x) => x.some((r) => r.op === SEARCH_DONE), 10_000);
      assert.equal(rs.find((r) => r.op === SEARCH_DONE)?.code, 0, 'success');
      assert.equal(rs.filter((r) => r.op === SEARCH_ENTRY).length, 0, 'no entry');
      const dse = await ldapsearch(dir, anonymous(), ['-b', '', '-s', 'base', '(objectClass=*)', 'namingContexts']);
      assert.equal(dse.code, 0, dse.stderr);
      assert.deepEqual(dse.entries[0]?.attrs, { namingContexts: [dir.base] });
      const evs = await ldapEvents(dir.run, since, (e) => e.some((x) => x.event_type === 'ldap_search' && x.base === '' && x.number_of_results === 0));
      const ev = evs.find((x) => x.event_type === 'ldap_search' && x.base === '' && x.number_of_results === 0);
      assert.ok(ev, 'ldap_search event for the hostile Root DSE search');
      assert.equal(ev.success, true);
    });

    it('matches a fixed entry (the Users OU) through empty pieces where the value fits', async () => {
      const c = new RawConnection(dir.run.endpoints.ldap!.port);
      raws.push(c);
      await c.connected;
      c.write(
        Buffer.concat([
          ldapMessage(1, simpleBindRequest(dir.users.binder!.dn, dir.users.binder!.password)),
          ldapMessage(2, searchRequest(dir.usersBase, 0, substrings('ou', ['', 'u', '', ''], 'rs'), ['1.1'])),
        ]),
      );
      const rs = await c.waitFor((x) => x.some((r) => r.op === SEARCH_DONE), 10_000);
      assert.equal(rs.filter((r) => r.op === SEARCH_ENTRY).length, 1);
    });

    it('answers the same filter on users (the store path) for a bound client', async () => {
      const c = new RawConnection(dir.run.endpoints.ldap!.port);
      raws.push(c);
      await c.connected;
      c.write(
        Buffer.concat([
          ldapMessage(1, simpleBindRequest(dir.users.binder!.dn, dir.users.binder!.password)),
          ldapMessage(2, searchRequest(dir.base, 2, substrings('cn', Array<string>(31).fill(''), 'zz'), ['1.1'])),
        ]),
      );
      const rs = await c.waitFor((x) => x.some((r) => r.op === SEARCH_DONE), 10_000);
      assert.equal(rs.find((r) => r.op === SEARCH_DONE)?.code, 0);
      assert.equal(rs.filter((r) => r.op === SEARCH_ENTRY).length, 0);
      await stillServing();
    });

    it('refuses more than 32 any pieces with unwillingToPerform (53), anonymously and bound, and accepts 32', async () => {
      const a = await ldapsearch(dir, anonymous(), ['-b', '', '-s', 'base', `(namingContexts=*${'a*'.repeat(33)}zz)`, 'namingContexts']);
      assert.equal(a.code, UNWILLING_TO_PERFORM, a.stderr);
      const b = await ldapsearch(dir, binder(), ['-b', dir.base, `(cn=*${'a*'.repeat(33)})`, '1.1']);
      assert.equal(b.code, UNWILLING_TO_PERFORM, b.stderr);
      const ok = await ldapsearch(dir, binder(), ['-b', dir.base, `(cn=*${'a*'.repeat(32)})`, '1.1']);
      assert.equal(ok.code, 0, ok.stderr);
      const one = await ldapsearch(dir, binder(), ['-b', dir.base, '(cn=*o*b*)', '1.1']);
      assert.deepEqual(dns(one), [dir.userDn('bob').toLowerCase()]);
      await stillServing();
    });
  });

  describe('assertion values that are not UTF-8', () => {
    // ldapjs's own filter text threw on a value ending inside a UTF-8 sequence, which silently
    // dropped the search's audit event while the entries were still sent. (ldapjs's decoder has
    // already turned the stray octets into U+FFFD; the event shows what was compared.)
    const cases: [string, string[], string][] = [
      ['(|(uid=dave)(cn=\\ce))', ['dave'], '(|(uid=dave)(cn=\ufffd))'],
      ['(uid=\\e2\\82)', [], '(uid=\ufffd)'],
      ['(cn=Zo\\c3\\ab*)', [], '(cn=Zoë*)'],
    ];
    for (const [filter, users, audited] of cases) {
      it(`answers ${filter} with ${users.length === 0 ? 'no entry' : users.join(', ')} and audits it as ${audited}`, async () => {
        const ev = await searchAudited(filter, users);
        assert.ok(ev, 'an ldap_search event');
        assert.equal(ev.filter, audited);
        assert.equal(ev.number_of_results, users.length);
      });
    }

    it('pages a search whose filter is not UTF-8', async () => {
      const r = await ldapsearch(dir, binder(), ['-b', dir.base, '-E', 'pr=1/noprompt', '(|(uid=dave)(uid=bob)(cn=\\ce))', '1.1']);
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(dns(r), ['bob', 'dave'].map((u) => dir.userDn(u).toLowerCase()).sort());
    });
  });

  describe('attribute names that are Object.prototype members', () => {
    // (__proto__=*) is not valid RFC 4512 syntax, so ldapsearch refuses to send it; ldapts does.
    const cases: [string, string[]][] = [
      ['(constructor=x)', []],
      ['(toString=*)', []],
      ['(!(constructor=x))', []],
      ['(|(uid=dave)(constructor:=x))', ['dave']],
      // presence of an attribute no entry has is FALSE (RFC 4511 §4.5.1.7.5), so its negation TRUE
      ['(&(uid=dave)(!(hasOwnProperty=*)))', ['dave']],
      ['(uid:constructor:=dave)', []],
    ];
    for (const [filter, users] of cases) {
      it(`answers ${filter} with success and ${users.length === 0 ? 'no entry' : users.join(', ')}`, async () => {
        const ev = await searchAudited(filter, users);
        assert.equal(ev?.success, true, 'recorded as a successful search');
        assert.equal(ev?.result_code, 0);
      });
    }

    it('answers (__proto__=*) and (|(uid=dave)(__proto__:=x)) sent by ldapts', async () => {
      const c = client(dir);
      try {
        await c.bind(dir.users.binder!.dn, dir.users.binder!.password);
        assert.deepEqual((await c.search(dir.base, { filter: '(__proto__=*)', attributes: ['1.1'] })).searchEntries, []);
        const r = await c.search(dir.base, { filter: '(|(uid=dave)(__proto__:=x))', attributes: ['1.1'] });
        assert.deepEqual(
          r.searchEntries.map((e) => e.dn.toLowerCase()),
          [dir.userDn('dave').toLowerCase()],
        );
      } finally {
        await c.unbind().catch(() => undefined);
      }
    });

    it('answers (constructor=*) on the Root DSE anonymously with success and no entry', async () => {
      const r = await ldapsearch(dir, anonymous(), ['-b', '', '-s', 'base', '(constructor=*)']);
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(r.entries, []);
    });
  });

  describe('sn and displayName of a user without a last name', () => {
    it('shows sn: nolast and finds the entry by it, by substring and by presence (sn has no ordering rule)', async () => {
      const shown = await ldapsearch(dir, binder(), ['-b', dir.base, '(uid=nolast)', 'sn', 'displayName', 'cn']);
      assert.equal(shown.code, 0, shown.stderr);
      assert.deepEqual(shown.entries[0]?.attrs, { cn: ['Nora'], sn: ['nolast'], displayName: ['Nora'] });
      const nolast = [dir.userDn('nolast').toLowerCase()];
      for (const filter of ['(sn=nolast)', '(sn=NoLast)', '(sn=no*st)', '(displayName=nora)', '(displayName=*or*)', '(&(uid=nolast)(sn=*)(displayName=*))']) {
        const r = await ldapsearch(dir, binder(), ['-b', dir.base, filter, '1.1']);
        assert.equal(r.code, 0, `${filter}: ${r.stderr}`);
        assert.deepEqual(dns(r), nolast, filter);
      }
      // (org and ou entries have no sn, so only users are asked)
      const none = await ldapsearch(dir, binder(), ['-b', dir.base, '(&(objectClass=inetOrgPerson)(|(sn=)(!(sn=*))(&(uid=nolast)(!(sn=nolast)))))', '1.1']);
      assert.equal(none.code, 0, none.stderr);
      assert.deepEqual(none.entries, []);
      // ldapcompare agrees with the search (it reads the entry as shown).
      const cmp = await exec('ldapcompare', [...binder(), dir.userDn('nolast'), 'sn:nolast'], { env: ldapEnv(dir) });
      assert.equal(cmp.code, 6, `compareTrue: ${cmp.stdout} ${cmp.stderr}`);
    });
  });
});
