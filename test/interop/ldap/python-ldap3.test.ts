import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startAppliance } from '../../helpers/appliance.js';
import { STANDARD_GROUPS, STANDARD_USERS, exec, findLdap3Python, lastLdapEventId, ldapEvents, seedDirectory, type Directory } from '../../integration/ldap/support.js';

/**
 * The LDAP endpoint driven by Python's ldap3 (Debian python3-ldap3), an independent pure-Python
 * client, as a child process: simple bind, paged search (RFC 2696), StartTLS with certificate
 * verification, Who am I, and what it reports on failures.
 */
const SCRIPT = String.raw`
import json, ssl, sys
from ldap3 import Server, Connection, Tls, SUBTREE, BASE, SIMPLE
from ldap3.core.exceptions import LDAPException

args = json.loads(sys.argv[1])
out = {}
tls = Tls(ca_certs_file=args['ca'], validate=ssl.CERT_REQUIRED)

def server(port, use_ssl=False):
    return Server('127.0.0.1', port=port, use_ssl=use_ssl, tls=tls, get_info='NO_INFO', connect_timeout=5)

# 1. simple bind on plain LDAP, then a paged search of the whole naming context
c = Connection(server(args['port']), user=args['dn'], password=args['password'], authentication=SIMPLE, receive_timeout=10)
out['bind'] = c.bind()
out['bind_result'] = c.result['result']
out['whoami'] = c.extend.standard.who_am_i()
pages = []
cookie = None
dns = []
while True:
    c.search(args['base'], '(objectClass=*)', SUBTREE, attributes=['uid', 'cn'], paged_size=2, paged_cookie=cookie)
    pages.append(len(c.response))
    dns.extend(r['dn'] for r in c.response if r['type'] == 'searchResEntry')
    cookie = c.result['controls']['1.2.840.113556.1.4.319']['value']['cookie']
    if not cookie:
        break
out['pages'] = pages
out['paged_dns'] = dns
out['generator_dns'] = [e['dn'] for e in c.extend.standard.paged_search(args['base'], '(objectClass=posixAccount)', SUBTREE, attributes=['uid'], paged_size=1, generator=True)]
c.search(args['base'], '(&(objectClass=posixAccount)(uid=alice))', SUBTREE, attributes=['uid', 'uidNumber', 'gidNumber', 'homeDirectory', 'cn', 'memberOf'])
e = c.response[0]['attributes']
out['alice'] = {k: (v if isinstance(v, list) else [v]) for k, v in e.items()}
out['alice'] = {k: [str(x) for x in v] for k, v in out['alice'].items()}
c.unbind()

# 2. StartTLS, then bind and search
c = Connection(server(args['port']), user=args['dn'], password=args['password'], authentication=SIMPLE, receive_timeout=10)
c.open()
out['start_tls'] = c.start_tls()
out['tls_started'] = c.tls_started
out['tls_bind'] = c.bind()
c.search(args['base'], '(uid=bob)', SUBTREE, attributes=['mail'])
out['tls_search'] = [(r['dn'], r['attributes']['mail']) for r in c.response if r['type'] == 'searchResEntry']
c.unbind()

# 3. LDAPS
c = Connection(server(args['ldapsPort'], use_ssl=True), user=args['dn'], password=args['password'], authentication=SIMPLE, receive_timeout=10)
out['ldaps_bind'] = c.bind()
c.unbind()

# 4. a wrong password, and an anonymous search below the naming context
c = Connection(server(args['port']), user=args['dn'], password='wrong-password', authentication=SIMPLE, receive_timeout=10)
out['wrong_bind'] = c.bind()
out['wrong_result'] = c.result['result']
c.unbind()
c = Connection(server(args['port']), receive_timeout=10)
c.bind()
c.search(args['base'], '(uid=*)', SUBTREE)
out['anonymous_result'] = c.result['result']
c.search('', '(objectClass=*)', BASE, attributes=['namingContexts', 'supportedControl'])
out['root_dse'] = {k: [str(x) for x in (v if isinstance(v, list) else [v])] for k, v in c.response[0]['attributes'].items()}
c.unbind()
print(json.dumps(out))
`;


describe('LDAP interop with Python ldap3', function () {
  this.timeout(60_000);
  let dir: Directory;
  let python: string;
  let tmp: string;
  // `any`: the JSON printed by the Python script; fields are asserted one by one.
  let out: any;
  let since: string;

  before(async function () {
    const py = await findLdap3Python();
    if (!py) {
      if (process.env.CI) throw new Error('python3-ldap3 is required in CI (apt-get install -y python3-ldap3)');
      console.warn('      skipped: python3-ldap3 not installed (apt-get install -y python3-ldap3)');
      this.skip();
    }
    python = py!;
    const run = await startAppliance();
    dir = await seedDirectory(run, STANDARD_USERS, STANDARD_GROUPS);
    tmp = mkdtempSync(join(tmpdir(), 'gatehouse-ldap3-'));
    const script = join(tmp, 'client.py');
    writeFileSync(script, SCRIPT);
    since = await lastLdapEventId(run);
    const args = {
      port: run.endpoints.ldap!.port,
      ldapsPort: run.endpoints.ldap!.ldapsPort,
      ca: dir.caFile,
      base: dir.base,
      dn: dir.users.binder!.dn,
      password: dir.users.binder!.password,
    };
    const r = await exec(python, [script, JSON.stringify(args)], { timeoutMs: 30_000 });
    assert.equal(r.code, 0, `ldap3 script failed:\n${r.stderr}\n${r.stdout}`);
    out = JSON.parse(r.stdout);
  });

  after(async () => {
    await dir?.run.stop();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it('binds with a simple bind and is told who it is', () => {
    assert.equal(out.bind, true);
    assert.equal(out.bind_result, 0);
    assert.equal(out.whoami, `dn:${dir.users.binder!.dn}`);
  });

  it('pages through the whole naming context two entries at a time, each entry once', () => {
    const expected = [
      dir.base,
      dir.usersBase,
      ...['alice', 'binder', 'bob', 'dave'].map((u) => dir.userDn(u)),
      ...['plain', 'staff'].map((g) => dir.groupDn(g)),
    ].map((d) => d.toLowerCase());
    const got = (out.paged_dns as string[]).map((d) => d.toLowerCase());
    assert.deepEqual([...got].sort(), [...expected].sort());
    assert.equal(new Set(got).size, got.length, 'no duplicates');
    assert.ok((out.pages as number[]).every((n) => n <= 2), JSON.stringify(out.pages));
    assert.equal(out.pages.length, Math.ceil(expected.length / 2));
  });

  it('pages with the generator of ldap3 one user at a time', () => {
    assert.deepEqual(
      [...(out.generator_dns as string[])].sort(),
      ['alice', 'binder', 'bob', 'dave'].map((u) => dir.userDn(u)).sort(),
    );
  });

  it('reads the POSIX attributes of a user', () => {
    assert.deepEqual(out.alice.uid, ['alice']);
    assert.deepEqual(out.alice.uidNumber, ['7001']);
    assert.deepEqual(out.alice.gidNumber, ['7001']);
    assert.deepEqual(out.alice.homeDirectory, ['/home/alice']);
    assert.deepEqual(out.alice.cn, ['Alice Öztürk']);
    assert.deepEqual([...out.alice.memberOf].sort(), [dir.groupDn('plain'), dir.groupDn('staff')].sort());
  });

  it('starts TLS with a verified certificate, then binds and searches', () => {
    assert.equal(out.start_tls, true);
    assert.equal(out.tls_started, true);
    assert.equal(out.tls_bind, true);
    assert.deepEqual(out.tls_search, [[dir.userDn('bob'), ['bob@example.com']]]);
  });

  it('binds over LDAPS', () => {
    assert.equal(out.ldaps_bind, true);
  });

  it('gets invalidCredentials (49) for a wrong password and insufficientAccessRights (50) for an anonymous search', () => {
    assert.equal(out.wrong_bind, false);
    assert.equal(out.wrong_result, 49);
    assert.equal(out.anonymous_result, 50);
    assert.deepEqual(out.root_dse.namingContexts, [dir.base]);
    assert.deepEqual(out.root_dse.supportedControl, ['1.2.840.113556.1.4.319']);
  });

  it('leaves an audit trail of its binds (with TLS marked) and paged searches', async () => {
    const evs = await ldapEvents(dir.run, since, (e) => e.filter((x) => x.event_type === 'ldap_bind').length >= 4);
    const binds = evs.filter((e) => e.event_type === 'ldap_bind');
    assert.deepEqual(
      binds.map((b) => [b.success, b.tls]),
      [
        [true, false],
        [true, true],
        [true, true],
        [false, false],
      ],
    );
    assert.equal(binds[3]?.error_message, 'invalid password');
    const paged = evs.filter((e) => e.event_type === 'ldap_search' && e.filter === '(objectClass=*)' && e.base === dir.base);
    assert.equal(paged.length, out.pages.length, 'one ldap_search event per page');
    assert.deepEqual(
      paged.map((e) => e.number_of_results),
      out.pages,
    );
  });
});
