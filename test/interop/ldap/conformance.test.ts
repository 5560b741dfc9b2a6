import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { requireBinary } from '../../helpers/binaries.js';
import { startAppliance } from '../../helpers/appliance.js';
import {
  RawConnection,
  STANDARD_GROUPS,
  STANDARD_USERS,
  asUser,
  berString,
  exec,
  findLdap3Python,
  lastLdapEventId,
  ldapEnv,
  ldapEvents,
  ldapMessage,
  ldapsearch,
  presentFilter,
  simpleBindRequest,
  tlv,
  type Directory,
  type RawResponse,
  seedDirectory,
} from '../../integration/ldap/support.js';

const SEARCH_ENTRY = 0x64;
const SEARCH_DONE = 0x65;
const PROTOCOL_ERROR = 2;
const COMPARE_FALSE = 5;
const COMPARE_TRUE = 6;
const NO_SUCH_ATTRIBUTE = 16;
const UNDEFINED_ATTRIBUTE_TYPE = 17;
const INVALID_ATTRIBUTE_SYNTAX = 21;
const NO_SUCH_OBJECT = 32;

/** A BER INTEGER or ENUMERATED in two's complement (support.ts's berInt is for non-negative values). */
function berSigned(n: number, tag = 0x02): Buffer {
  const bytes: number[] = [];
  for (let v = n; ; v = Math.floor(v / 256)) {
    bytes.unshift(((v % 256) + 256) % 256);
    const next = Math.floor(v / 256);
    const sign = bytes[0]! & 0x80;
    if ((next === 0 && !sign) || (next === -1 && sign)) break;
  }
  return tlv(tag, Buffer.from(bytes));
}

/** A SearchRequest (RFC 4511 §4.5.1) with every fixed field chosen, for values no client sends. */
function rawSearch(base: string, f: { scope?: number; deref?: number; sizeLimit?: number; timeLimit?: number } = {}): Buffer {
  return tlv(
    0x63,
    berString(base),
    berSigned(f.scope ?? 2, 0x0a),
    berSigned(f.deref ?? 0, 0x0a),
    berSigned(f.sizeLimit ?? 0),
    berSigned(f.timeLimit ?? 0),
    tlv(0x01, Buffer.from([0])),
    presentFilter('objectClass'),
    tlv(0x30, berString('1.1')),
  );
}

/** The DN of a SearchResultEntry (its first element, objectName). */
function entryDn(r: RawResponse): string {
  const len = r.body[1]!;
  return len < 0x80 ? r.body.subarray(2, 2 + len).toString('utf8') : r.body.subarray(3, 3 + r.body[2]!).toString('utf8');
}

/** RFC 4512 §4.1.2 NAME and OID of each AttributeTypeDescription, every name lower-cased. */
function definedNames(descriptions: string[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const d of descriptions) {
    const oid = /^\(\s*([\d.]+)/.exec(d)?.[1] ?? '';
    const names = /NAME\s+(?:'([^']+)'|\(([^)]*)\))/.exec(d);
    for (const n of (names?.[1] ?? names?.[2] ?? '').match(/[A-Za-z][\w-]*/g) ?? []) out.set(n.toLowerCase(), oid);
  }
  return out;
}

const SCRIPT = String.raw`
import json, sys
from ldap3 import Server, Connection, ALL, SIMPLE
args = json.loads(sys.argv[1])
out = {}
for who in ('anonymous', 'bound'):
    s = Server('127.0.0.1', port=args['port'], get_info=ALL, connect_timeout=5)
    c = Connection(s, user=args['dn'] if who == 'bound' else None, password=args['password'] if who == 'bound' else None, receive_timeout=10)
    c.bind()
    sc = s.schema
    out[who] = {
        'loaded': sc is not None and bool(sc.attribute_types) and bool(sc.object_classes),
        'uid_oid': sc.attribute_types['uid'].oid if sc and 'uid' in sc.attribute_types else None,
        'uid_syntax': sc.attribute_types['uid'].syntax if sc and 'uid' in sc.attribute_types else None,
        'uidNumber_single': sc.attribute_types['uidNumber'].single_value if sc and 'uidNumber' in sc.attribute_types else None,
        'inetOrgPerson_oid': sc.object_classes['inetOrgPerson'].oid if sc and 'inetOrgPerson' in sc.object_classes else None,
        'inetOrgPerson_sup': list(sc.object_classes['inetOrgPerson'].superior) if sc and 'inetOrgPerson' in sc.object_classes else None,
        'memberOf_oid': sc.attribute_types['memberOf'].oid if sc and 'memberOf' in sc.attribute_types else None,
        'syntaxes': len(sc.ldap_syntaxes) if sc else 0,
        'matching_rules': len(sc.matching_rules) if sc else 0,
    }
    if who == 'bound':
        # ldap3 checks attribute names against the schema it read (check_names): a search by the
        # names Gatehouse serves must go through.
        c.search(args['base'], '(uid=alice)', attributes=['uid', 'uidNumber', 'memberOf', 'entryUUID'])
        out['alice'] = {k: [str(x) for x in (v if isinstance(v, list) else [v])] for k, v in c.response[0]['attributes'].items()} if c.response else None
    c.unbind()
print(json.dumps(out))
`;


/**
 * Conformance points a black-box comparison with slapd found, driven by OpenLDAP's ldap-utils and
 * Python's ldap3 as child processes, and raw BER where no client sends the input: matchedDN of
 * noSuchObject (RFC 4511 §4.1.9), the subschema subentry (RFC 4512 §4.2), the search scope and
 * other fixed fields of a SearchRequest (RFC 4511 §4.5.1), and compare result codes (§4.10).
 */
describe('LDAP conformance with ldap-utils and ldap3', function () {
  this.timeout(60_000);
  let dir: Directory;

  before(async function () {
    requireBinary(this, 'ldapsearch', 'ldap-utils');
    const run = await startAppliance();
    dir = await seedDirectory(run, STANDARD_USERS, STANDARD_GROUPS);
  });

  after(async () => dir?.run.stop());

  const binder = () => asUser(dir, 'binder');
  const alice = () => asUser(dir, 'alice');
  const anonymous = () => ['-x', '-H', dir.url];
  const dns = (r: { entries: { dn: string }[] }) => r.entries.map((e) => e.dn.toLowerCase()).sort();
  /** ldapsearch -LLL prints a result's matchedDN on stderr as "Matched DN: …" (nothing when empty). */
  const matchedOf = (stderr: string) => /Matched DN: (.*)/.exec(stderr)?.[1]?.trim() ?? '';

  describe('matchedDN of noSuchObject (RFC 4511 §4.1.9)', () => {
    const cases: [string, (d: Directory) => string, () => string[], (d: Directory) => string][] = [
      ['a missing OU below the naming context, for the bind account', (d) => `ou=Nope,${d.base}`, () => binder(), (d) => d.base],
      ['an entry below a visible user, for the bind account', (d) => `cn=x,${d.userDn('alice')}`, () => binder(), (d) => d.userDn('alice')],
      ['two levels below a visible user, for the bind account', (d) => `cn=y,cn=x,${d.userDn('alice')}`, () => binder(), (d) => d.userDn('alice')],
      ['an entry below a visible group, for the bind account', (d) => `cn=x,${d.groupDn('staff')}`, () => binder(), (d) => d.groupDn('staff')],
      ['an entry below a user the bind account cannot see', (d) => `cn=x,${d.userDn('carol')}`, () => binder(), (d) => d.usersBase],
      ['a missing user, for the bind account', (d) => d.userDn('nobody'), () => binder(), (d) => d.usersBase],
      ['an entry below her own entry, for an ordinary user', (d) => `cn=x,${d.userDn('alice')}`, () => alice(), (d) => d.userDn('alice')],
      ['an entry below another user, for an ordinary user', (d) => `cn=x,${d.userDn('bob')}`, () => alice(), () => ''],
      ['a missing OU, for an ordinary user (who cannot see the organisation)', (d) => `ou=Nope,${d.base}`, () => alice(), () => ''],
      ['a missing user, for an ordinary user', (d) => d.userDn('nobody'), () => alice(), () => ''],
      ['a DN outside the naming context', () => 'cn=x,dc=elsewhere', () => binder(), () => ''],
      ['a parent of the naming context', () => 'cn=x,dc=gatehouse,dc=local', () => binder(), () => ''],
    ];
    for (const [what, base, conn, matched] of cases) {
      it(`search: ${what}`, async () => {
        const r = await ldapsearch(dir, conn(), ['-b', base(dir), '-s', 'base', '(objectClass=*)', '1.1']);
        assert.equal(r.code, NO_SUCH_OBJECT, r.stderr);
        assert.equal(matchedOf(r.stderr).toLowerCase(), matched(dir).toLowerCase(), r.stderr);
      });
    }

    it('search: the same for one-level and subtree scopes', async () => {
      for (const scope of ['one', 'sub']) {
        const r = await ldapsearch(dir, binder(), ['-b', `cn=x,${dir.userDn('alice')}`, '-s', scope, '(objectClass=*)', '1.1']);
        assert.equal(r.code, NO_SUCH_OBJECT, r.stderr);
        assert.equal(matchedOf(r.stderr).toLowerCase(), dir.userDn('alice').toLowerCase(), `${scope}: ${r.stderr}`);
      }
    });

    it('compare (ldapcompare): the deepest visible superior, never a hidden one', async () => {
      const cmp = (conn: string[], dn: string) => exec('ldapcompare', [...conn, dn, 'uid:x'], { env: ldapEnv(dir) });
      /** ldapcompare prints "matched DN: …" after its error line. */
      const matched = (r: { stdout: string; stderr: string }) => /matched DN: (.*)/i.exec(r.stderr + r.stdout)?.[1]?.trim() ?? '';
      const cases: [string[], string, string][] = [
        [binder(), `cn=x,${dir.userDn('alice')}`, dir.userDn('alice')],
        [binder(), `ou=Nope,${dir.base}`, dir.base],
        [binder(), dir.userDn('nobody'), dir.usersBase],
        [binder(), 'cn=x,dc=elsewhere', ''],
        [alice(), `cn=x,${dir.userDn('alice')}`, dir.userDn('alice')],
        [alice(), dir.userDn('bob'), ''],
      ];
      for (const [conn, dn, expected] of cases) {
        const r = await cmp(conn, dn);
        assert.equal(r.code, NO_SUCH_OBJECT, `${dn}: ${r.stderr}`);
        assert.equal(matched(r).toLowerCase(), expected.toLowerCase(), `${dn}: ${r.stderr}`);
      }
    });
  });

  describe('the subschema subentry cn=Subschema (RFC 4512 §4.2)', () => {
    const SCHEMA_ATTRS = ['attributeTypes', 'objectClasses', 'ldapSyntaxes', 'matchingRules'];

    it('is readable anonymously and when bound, with the schema as operational attributes under +', async () => {
      for (const conn of [anonymous(), binder(), alice()]) {
        const r = await ldapsearch(dir, conn, ['-b', 'cn=Subschema', '-s', 'base', '(objectClass=subschema)', '+']);
        assert.equal(r.code, 0, r.stderr);
        assert.equal(r.entries.length, 1);
        const e = r.entries[0]!;
        assert.equal(e.dn, 'cn=Subschema');
        for (const a of SCHEMA_ATTRS) assert.ok((e.attrs[a]?.length ?? 0) > 0, `${a} present`);
        assert.ok(e.attrs.createTimestamp?.[0]?.match(/^\d{14}Z$/), 'createTimestamp');
        assert.ok(e.attrs.modifyTimestamp?.[0]?.match(/^\d{14}Z$/), 'modifyTimestamp');
        assert.deepEqual(e.attrs.structuralObjectClass, ['subentry']);
        assert.equal(e.attrs.objectClass, undefined, '+ alone returns no user attributes');
      }
    });

    it('returns its user attributes for *, without the operational schema attributes', async () => {
      const r = await ldapsearch(dir, anonymous(), ['-b', 'cn=Subschema', '-s', 'base', '(objectClass=*)', '*']);
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(r.entries[0]?.attrs, { objectClass: ['top', 'subentry', 'subschema'], cn: ['Subschema'] });
      const none = await ldapsearch(dir, anonymous(), ['-b', 'cn=Subschema', '-s', 'base', '(objectClass=*)']);
      assert.deepEqual(Object.keys(none.entries[0]?.attrs ?? {}).sort(), ['cn', 'objectClass']);
    });

    it('returns a schema attribute asked for by name, in RFC 4512 §4.1 description syntax', async () => {
      const r = await ldapsearch(dir, anonymous(), ['-b', 'cn=SUBSCHEMA', '-s', 'base', '(objectClass=subschema)', 'attributeTypes', 'objectClasses']);
      assert.equal(r.code, 0, r.stderr);
      const e = r.entries[0]!;
      assert.deepEqual(Object.keys(e.attrs).sort(), ['attributeTypes', 'objectClasses']);
      const at = e.attrs.attributeTypes!;
      assert.ok(at.includes("( 0.9.2342.19200300.100.1.1 NAME ( 'uid' 'userid' ) EQUALITY caseIgnoreMatch SUBSTR caseIgnoreSubstringsMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.15 )"), 'uid (RFC 4519 §2.39)');
      assert.ok(at.includes("( 1.3.6.1.1.1.1.0 NAME 'uidNumber' EQUALITY integerMatch ORDERING integerOrderingMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.27 SINGLE-VALUE )"), 'uidNumber (RFC 2307)');
      assert.ok(at.some((d) => d.startsWith("( 1.2.840.113556.1.2.102 NAME 'memberOf' ")), 'memberOf with the OID OpenLDAP uses');
      assert.ok(at.some((d) => d.startsWith("( 1.3.6.1.1.16.4 NAME 'entryUUID' ") && d.includes('USAGE directoryOperation')), 'entryUUID (RFC 4530)');
      const oc = e.attrs.objectClasses!;
      assert.ok(oc.some((d) => d.startsWith("( 2.16.840.1.113730.3.2.2 NAME 'inetOrgPerson' SUP organizationalPerson STRUCTURAL")), 'inetOrgPerson (RFC 2798)');
      for (const d of [...at, ...oc]) assert.match(d, /^\( [\d.]+ NAME .* \)$/, d);
      const syntaxes = await ldapsearch(dir, anonymous(), ['-b', 'cn=Subschema', '-s', 'base', '(objectClass=*)', 'ldapSyntaxes', 'matchingRules']);
      assert.ok(syntaxes.entries[0]?.attrs.ldapSyntaxes?.includes("( 1.3.6.1.4.1.1466.115.121.1.27 DESC 'INTEGER' )"));
      assert.ok(syntaxes.entries[0]?.attrs.matchingRules?.includes("( 2.5.13.2 NAME 'caseIgnoreMatch' SYNTAX 1.3.6.1.4.1.1466.115.121.1.15 )"));
    });

    it('defines every attribute and object class that the served entries and the Root DSE show', async () => {
      const schema = await ldapsearch(dir, anonymous(), ['-b', 'cn=Subschema', '-s', 'base', '(objectClass=*)', 'attributeTypes', 'objectClasses']);
      const attributes = definedNames(schema.entries[0]!.attrs.attributeTypes!);
      const classes = definedNames(schema.entries[0]!.attrs.objectClasses!);
      const all = await ldapsearch(dir, binder(), ['-b', dir.base, '(objectClass=*)', '*', '+']);
      const dse = await ldapsearch(dir, anonymous(), ['-b', '', '-s', 'base', '(objectClass=*)', '*', '+']);
      const sub = await ldapsearch(dir, anonymous(), ['-b', 'cn=Subschema', '-s', 'base', '(objectClass=*)', '*', '+']);
      const entries = [...all.entries, ...dse.entries, ...sub.entries];
      assert.ok(all.entries.length >= 8, 'the naming context, the OU, users and groups');
      for (const e of entries) {
        for (const name of Object.keys(e.attrs)) assert.ok(attributes.has(name.toLowerCase()), `${e.dn}: attribute ${name} is defined`);
        for (const oc of e.attrs.objectClass ?? []) assert.ok(classes.has(oc.toLowerCase()), `${e.dn}: object class ${oc} is defined`);
      }
    });

    it('serves every entry with the MUST attributes of its object classes, an empty group included', async () => {
      const created = await dir.run.api('POST', '/api/v2/usergroups', { name: 'nobody-yet', attributes: { posixGroups: [{ id: 8099, name: 'nobody-yet' }] } });
      assert.equal(created.status, 201, JSON.stringify(created.body));
      const groupId = created.body.id as string;
      try {
        const bound = await dir.run.api('POST', `/api/v2/usergroups/${groupId}/associations`, { op: 'add', type: 'ldap_server', id: dir.ldapServerId });
        assert.equal(bound.status, 204);
        const schema = await ldapsearch(dir, anonymous(), ['-b', 'cn=Subschema', '-s', 'base', '(objectClass=*)', 'objectClasses']);
        const classes = new Map<string, { must: string[]; sup: string | undefined }>();
        for (const d of schema.entries[0]!.attrs.objectClasses!) {
          const name = /NAME\s+'([^']+)'/.exec(d)![1]!.toLowerCase();
          const must = /MUST\s+(?:\(([^)]*)\)|(\S+))/.exec(d);
          classes.set(name, { must: (must?.[1] ?? must?.[2] ?? '').split('$').map((x) => x.trim().toLowerCase()).filter(Boolean), sup: /SUP\s+(\S+)/.exec(d)?.[1]?.toLowerCase() });
        }
        const all = await ldapsearch(dir, binder(), ['-b', dir.base, '(objectClass=*)', '*', '+']);
        assert.ok(all.entries.some((e) => e.dn.toLowerCase().startsWith('cn=nobody-yet,')), 'the empty group is served');
        for (const e of all.entries) {
          const has = new Set(Object.keys(e.attrs).map((k) => k.toLowerCase()));
          for (const oc of e.attrs.objectClass ?? []) {
            for (let c = classes.get(oc.toLowerCase()); c; c = c.sup ? classes.get(c.sup) : undefined) {
              for (const m of c.must) assert.ok(has.has(m), `${e.dn}: ${oc} requires ${m}`);
            }
          }
        }
      } finally {
        await dir.run.api('DELETE', `/api/v2/usergroups/${groupId}`);
      }
    });

    it('has no subordinates: one-level and children searches find nothing, a subtree search only the subentry (RFC 4511 §4.5.1.2)', async () => {
      for (const scope of ['one', 'children']) {
        const r = await ldapsearch(dir, anonymous(), ['-b', 'cn=Subschema', '-s', scope, '(objectClass=*)', '1.1']);
        assert.equal(r.code, 0, `${scope}: ${r.stderr}`);
        assert.deepEqual(r.entries, [], scope);
      }
      const sub = await ldapsearch(dir, anonymous(), ['-b', 'cn=Subschema', '-s', 'sub', '(objectClass=*)', '1.1']);
      assert.equal(sub.code, 0, sub.stderr);
      assert.deepEqual(sub.entries.map((e) => e.dn), ['cn=Subschema']);
    });

    it('evaluates the filter against the subentry', async () => {
      const no = await ldapsearch(dir, anonymous(), ['-b', 'cn=Subschema', '-s', 'base', '(objectClass=person)', '1.1']);
      assert.equal(no.code, 0, no.stderr);
      assert.deepEqual(no.entries, []);
      const yes = await ldapsearch(dir, anonymous(), ['-b', 'cn=Subschema', '-s', 'base', '(&(cn=subschema)(objectClass=subentry))', '1.1']);
      assert.deepEqual(yes.entries.map((e) => e.dn), ['cn=Subschema']);
    });

    it('is loaded by python ldap3 with get_info=ALL, anonymously and bound, and knows uid and inetOrgPerson', async function () {
      const py = await findLdap3Python();
      if (!py) {
        if (process.env.CI) throw new Error('python3-ldap3 is required in CI (apt-get install -y python3-ldap3)');
        this.skip();
      }
      const tmp = mkdtempSync(join(tmpdir(), 'gatehouse-schema-'));
      try {
        const script = join(tmp, 'schema.py');
        writeFileSync(script, SCRIPT);
        const args = { port: dir.run.endpoints.ldap!.port, base: dir.base, dn: dir.users.binder!.dn, password: dir.users.binder!.password };
        const r = await exec(py!, [script, JSON.stringify(args)], { timeoutMs: 30_000 });
        assert.equal(r.code, 0, `ldap3 script failed:\n${r.stderr}\n${r.stdout}`);
        const out = JSON.parse(r.stdout) as Record<string, Record<string, unknown> | null>;
        for (const who of ['anonymous', 'bound']) {
          const s = out[who]!;
          assert.equal(s.loaded, true, `${who}: schema loaded`);
          assert.equal(s.uid_oid, '0.9.2342.19200300.100.1.1', who);
          assert.equal(s.uid_syntax, '1.3.6.1.4.1.1466.115.121.1.15', who);
          assert.equal(s.uidNumber_single, true, who);
          assert.equal(s.inetOrgPerson_oid, '2.16.840.1.113730.3.2.2', who);
          assert.deepEqual(s.inetOrgPerson_sup, ['organizationalPerson'], who);
          assert.equal(s.memberOf_oid, '1.2.840.113556.1.2.102', who);
          assert.ok((s.syntaxes as number) > 0 && (s.matching_rules as number) > 0, who);
        }
        const a = out.alice as Record<string, string[]> | null;
        assert.deepEqual(a?.uid, ['alice']);
        assert.deepEqual(a?.uidNumber, ['7001']);
        assert.equal(a?.entryUUID?.length, 1);
      } finally {
        rmSync(tmp, { recursive: true, force: true });
      }
    });
  });

  describe('search scope and the other fixed fields (RFC 4511 §4.5.1)', () => {
    const raws: RawConnection[] = [];
    afterEach(() => raws.splice(0).forEach((c) => c.destroy()));

    /** Binds as the bind account on a raw connection, then sends `search` as message 2. */
    async function rawAsBinder(search: Buffer): Promise<RawResponse[]> {
      const c = new RawConnection(dir.run.endpoints.ldap!.port);
      raws.push(c);
      await c.connected;
      c.write(Buffer.concat([ldapMessage(1, simpleBindRequest(dir.users.binder!.dn, dir.users.binder!.password)), ldapMessage(2, search)]));
      const rs = await c.waitFor((x) => x.some((r) => r.op === SEARCH_DONE), 10_000);
      assert.equal(rs[0]?.code, 0, 'bind');
      return rs.filter((r) => r.messageId === 2);
    }

    it('children (ldapsearch -s children, scope 3) returns the subtree without its base', async () => {
      const everything = dns(await ldapsearch(dir, binder(), ['-b', dir.base, '-s', 'sub', '(objectClass=*)', '1.1']));
      const children = await ldapsearch(dir, binder(), ['-b', dir.base, '-s', 'children', '(objectClass=*)', '1.1']);
      assert.equal(children.code, 0, children.stderr);
      assert.deepEqual(dns(children), everything.filter((d) => d !== dir.base.toLowerCase()));
      assert.ok(dns(children).includes(dir.usersBase.toLowerCase()));
      const below = await ldapsearch(dir, binder(), ['-b', dir.usersBase, '-s', 'children', '(objectClass=*)', '1.1']);
      assert.deepEqual(dns(below), everything.filter((d) => d !== dir.base.toLowerCase() && d !== dir.usersBase.toLowerCase()));
      for (const leaf of [dir.userDn('alice'), dir.groupDn('staff')]) {
        const r = await ldapsearch(dir, binder(), ['-b', leaf, '-s', 'children', '(objectClass=*)', '1.1']);
        assert.equal(r.code, 0, r.stderr);
        assert.deepEqual(r.entries, [], leaf);
      }
    });

    it('children is audited as such', async () => {
      const since = await lastLdapEventId(dir.run);
      const r = await ldapsearch(dir, binder(), ['-b', dir.userDn('alice'), '-s', 'children', '(objectClass=*)', '1.1']);
      assert.equal(r.code, 0, r.stderr);
      const evs = await ldapEvents(dir.run, since, (e) => e.some((x) => x.event_type === 'ldap_search'));
      const ev = evs.find((x) => x.event_type === 'ldap_search');
      assert.equal(ev?.scope, 'children');
      assert.equal(ev?.number_of_results, 0);
    });

    it('answers scope 3 in raw BER like ldapsearch -s children', async () => {
      const rs = await rawAsBinder(rawSearch(dir.usersBase, { scope: 3 }));
      assert.equal(rs.find((r) => r.op === SEARCH_DONE)?.code, 0);
      const got = rs.filter((r) => r.op === SEARCH_ENTRY).map((r) => entryDn(r).toLowerCase());
      assert.ok(got.length > 0);
      assert.ok(!got.includes(dir.usersBase.toLowerCase()), 'not the base');
    });

    const invalid: [string, Parameters<typeof rawSearch>[1]][] = [
      ['scope 4', { scope: 4 }],
      ['scope 127', { scope: 127 }],
      ['scope -1', { scope: -1 }],
      ['derefAliases 4', { deref: 4 }],
      ['derefAliases -1', { deref: -1 }],
      ['sizeLimit -1', { sizeLimit: -1 }],
      ['timeLimit -1', { timeLimit: -1 }],
    ];
    for (const [what, fields] of invalid) {
      it(`answers ${what} with protocolError (2) and no entry, and the connection goes on`, async () => {
        const since = await lastLdapEventId(dir.run);
        const c = new RawConnection(dir.run.endpoints.ldap!.port);
        raws.push(c);
        await c.connected;
        c.write(
          Buffer.concat([
            ldapMessage(1, simpleBindRequest(dir.users.binder!.dn, dir.users.binder!.password)),
            ldapMessage(2, rawSearch(dir.base, fields)),
            ldapMessage(3, rawSearch(dir.userDn('alice'), { scope: 0 })),
          ]),
        );
        const rs = await c.waitFor((x) => x.some((r) => r.op === SEARCH_DONE && r.messageId === 3), 10_000);
        const bad = rs.filter((r) => r.messageId === 2);
        assert.deepEqual(bad.map((r) => [r.op, r.code]), [[SEARCH_DONE, PROTOCOL_ERROR]]);
        assert.equal(rs.filter((r) => r.messageId === 3 && r.op === SEARCH_ENTRY).length, 1, 'the next search is answered');
        const evs = await ldapEvents(dir.run, since, (e) => e.some((x) => x.event_type === 'ldap_search' && x.result_code === PROTOCOL_ERROR));
        assert.ok(evs.some((x) => x.event_type === 'ldap_search' && x.result_code === PROTOCOL_ERROR && x.success === false), 'audited');
      });
    }

    it('answers an invalid scope on the Root DSE and cn=Subschema with protocolError, anonymously', async () => {
      for (const base of ['', 'cn=Subschema']) {
        const c = new RawConnection(dir.run.endpoints.ldap!.port);
        raws.push(c);
        await c.connected;
        c.write(ldapMessage(1, rawSearch(base, { scope: 9 })));
        const rs = await c.waitFor((x) => x.some((r) => r.op === SEARCH_DONE), 10_000);
        assert.deepEqual(rs.map((r) => [r.op, r.code]), [[SEARCH_DONE, PROTOCOL_ERROR]], base);
      }
    });

    it('accepts the largest limits (maxInt) and every derefAliases value', async () => {
      for (const deref of [0, 1, 2, 3]) {
        const rs = await rawAsBinder(rawSearch(dir.userDn('alice'), { scope: 0, deref, sizeLimit: 2147483647, timeLimit: 2147483647 }));
        assert.equal(rs.find((r) => r.op === SEARCH_DONE)?.code, 0, `deref ${deref}`);
        assert.equal(rs.filter((r) => r.op === SEARCH_ENTRY).length, 1);
      }
    });
  });

  describe('compare result codes (RFC 4511 §4.10, as slapd answers)', () => {
    const compare = (conn: string[], dn: string, assertion: string) => exec('ldapcompare', [...conn, dn, assertion], { env: ldapEnv(dir) });

    it('compares memberUid, homeDirectory and loginShell case-exactly, as the filters do (RFC 2307)', async () => {
      assert.equal((await compare(binder(), dir.groupDn('staff'), 'memberUid:alice')).code, COMPARE_TRUE);
      assert.equal((await compare(binder(), dir.groupDn('staff'), 'memberUid:ALICE')).code, COMPARE_FALSE);
      assert.equal((await compare(binder(), dir.userDn('alice'), 'homeDirectory:/home/alice')).code, COMPARE_TRUE);
      assert.equal((await compare(binder(), dir.userDn('alice'), 'homeDirectory:/HOME/alice')).code, COMPARE_FALSE);
      assert.equal((await compare(binder(), dir.userDn('alice'), 'uid:ALICE')).code, COMPARE_TRUE, 'uid stays case-insensitive');
    });

    it('orders INTEGER assertions of any size (RFC 4517 §3.3.16) and takes no leading zeros, as compare does', async () => {
      const count = async (filter: string) => (await ldapsearch(dir, binder(), ['-b', dir.base, filter, '1.1'])).entries.length;
      const all = await count('(uidNumber=*)');
      assert.ok(all > 0);
      assert.equal(await count('(uidNumber<=9007199254740993)'), all);
      assert.equal(await count('(uidNumber>=-9223372036854775809)'), all);
      assert.equal(await count(`(uidNumber>=${'9'.repeat(31)})`), 0);
      assert.equal(await count(`(&(uidNumber=*)(!(uidNumber<=1${'0'.repeat(30)})))`), 0);
      assert.equal(await count(`(uidNumber=1${'0'.repeat(30)})`), 0);
      assert.equal(await count('(uidNumber=07001)'), 0, 'not an INTEGER: Undefined, as compare says 21');
      assert.equal(await count('(uidNumber=7001)'), 1);
    });

    it('matches an object class by its numeric OID as by its name (objectIdentifierMatch, RFC 4517 §4.2.26), in filters and compare', async () => {
      const count = async (filter: string) => (await ldapsearch(dir, binder(), ['-b', dir.base, filter, '1.1'])).entries.length;
      const byName = await count('(objectClass=inetOrgPerson)');
      assert.ok(byName > 0);
      assert.equal(await count('(objectClass=2.16.840.1.113730.3.2.2)'), byName);
      assert.equal(await count('(objectClass=2.5.6.9)'), await count('(objectClass=groupOfNames)'));
      assert.equal(await count('(&(objectClass=2.5.6.4)(o=*))'), 1, 'the organisation entry');
      assert.equal((await compare(binder(), dir.userDn('alice'), 'objectClass:2.16.840.1.113730.3.2.2')).code, COMPARE_TRUE);
      assert.equal((await compare(binder(), dir.userDn('alice'), 'objectClass:2.5.6.9')).code, COMPARE_FALSE);
    });

    it('answers invalidAttributeSyntax (21) for a value that is not an INTEGER of uidNumber', async () => {
      for (const v of ['abc', '7001x', '', '07001', '+7001']) {
        const r = await compare(binder(), dir.userDn('alice'), `uidNumber:${v}`);
        assert.equal(r.code, INVALID_ATTRIBUTE_SYNTAX, `uidNumber:${v}: ${r.stdout}${r.stderr}`);
      }
      assert.equal((await compare(binder(), dir.groupDn('staff'), 'gidNumber:eight')).code, INVALID_ATTRIBUTE_SYNTAX);
      assert.equal((await compare(binder(), dir.groupDn('staff'), 'member:not a dn')).code, INVALID_ATTRIBUTE_SYNTAX);
    });

    it('answers invalidAttributeSyntax (21) for an entryUUID that is not a UUID (RFC 4530)', async () => {
      const r = await compare(binder(), dir.userDn('alice'), 'entryUUID:notauuid');
      assert.equal(r.code, INVALID_ATTRIBUTE_SYNTAX, `${r.stdout}${r.stderr}`);
    });

    it('compares on the Root DSE and cn=Subschema anonymously, as they are read (RFC 4512 §5.1, §4.2)', async () => {
      assert.equal((await compare(anonymous(), '', 'supportedLDAPVersion:3')).code, COMPARE_TRUE);
      assert.equal((await compare(anonymous(), '', 'supportedLDAPVersion:2')).code, COMPARE_FALSE);
      assert.equal((await compare(binder(), '', 'supportedLDAPVersion:3')).code, COMPARE_TRUE, 'bound too');
      assert.equal((await compare(anonymous(), 'cn=Subschema', 'objectClass:subschema')).code, COMPARE_TRUE);
      const user = await compare(anonymous(), dir.userDn('alice'), 'uid:alice');
      assert.equal(user.code, 50, 'anything else stays closed to anonymous sessions');
    });

    it('still compares valid INTEGER and DN values', async () => {
      assert.equal((await compare(binder(), dir.userDn('alice'), 'uidNumber:7001')).code, COMPARE_TRUE);
      assert.equal((await compare(binder(), dir.userDn('alice'), 'uidNumber:-5')).code, COMPARE_FALSE);
      assert.equal((await compare(binder(), dir.groupDn('staff'), `member:${dir.userDn('bob')}`)).code, COMPARE_TRUE);
    });

    it('answers undefinedAttributeType (17) for a type the schema does not define', async () => {
      for (const attr of ['noSuchType', 'totpSecret', 'passwordHash', '1.2.3.4']) {
        const r = await compare(binder(), dir.userDn('alice'), `${attr}:x`);
        assert.equal(r.code, UNDEFINED_ATTRIBUTE_TYPE, `${attr}: ${r.stdout}${r.stderr}`);
      }
    });

    it('answers noSuchAttribute (16) for a known type the entry lacks, userPassword included', async () => {
      for (const attr of ['employeeNumber', 'userPassword', 'memberUid']) {
        const r = await compare(binder(), dir.userDn('alice'), `${attr}:x`);
        assert.equal(r.code, NO_SUCH_ATTRIBUTE, `${attr}: ${r.stdout}${r.stderr}`);
      }
      const pw = await compare(binder(), dir.userDn('alice'), `userPassword:${dir.users.alice!.password}`);
      assert.equal(pw.code, NO_SUCH_ATTRIBUTE);
    });

    it('resolves attribute type aliases and OIDs through the schema', async () => {
      assert.equal((await compare(binder(), dir.userDn('alice'), 'userid:ALICE')).code, COMPARE_TRUE);
      assert.equal((await compare(binder(), dir.userDn('alice'), '0.9.2342.19200300.100.1.1:alice')).code, COMPARE_TRUE);
      assert.equal((await compare(binder(), dir.userDn('alice'), 'surname:Öztürk')).code, COMPARE_TRUE);
    });
  });

  describe('size limit of a paged search', () => {
    it('counts the entries of every page against the client size limit (-z 3 with pages of 2)', async () => {
      const all = await ldapsearch(dir, binder(), ['-b', dir.usersBase, '-E', 'pr=2/noprompt', '(objectClass=posixAccount)', '1.1']);
      assert.equal(all.code, 0, all.stderr);
      assert.ok(all.entries.length > 3, `needs more than 3 accounts, has ${all.entries.length}`);
      const r = await ldapsearch(dir, binder(), ['-b', dir.usersBase, '-z', '3', '-E', 'pr=2/noprompt', '(objectClass=posixAccount)', '1.1']);
      assert.equal(r.code, 4, `sizeLimitExceeded expected: ${r.stderr}`);
      assert.equal(r.entries.length, 3);
      const one = await ldapsearch(dir, binder(), ['-b', dir.usersBase, '-z', '5', '-E', 'pr=10/noprompt', '(objectClass=posixAccount)', '1.1']);
      assert.equal(one.entries.length, Math.min(5, all.entries.length));
    });
  });

  describe('attribute descriptions and matching rules (RFC 4512 §2.5, RFC 4518, RFC 2307)', () => {
    const search = async (filter: string, attrs = ['1.1']) => {
      const r = await ldapsearch(dir, binder(), ['-b', dir.usersBase, filter, ...attrs]);
      assert.equal(r.code, 0, r.stderr);
      return r;
    };
    const only = (u: string) => [dir.userDn(u).toLowerCase()];

    it('takes numeric OIDs as attribute names, in filters and in the attribute list', async () => {
      assert.deepEqual(dns(await search('(0.9.2342.19200300.100.1.1=alice)')), only('alice'));
      assert.deepEqual(dns(await search('(&(2.5.4.3=Alice Öztürk)(objectClass=inetOrgPerson))')), only('alice'));
      const r = await search('(uid=alice)', ['2.5.4.3']);
      assert.deepEqual(r.entries[0]?.attrs, { cn: ['Alice Öztürk'] });
    });

    it('takes any name of an attribute type (userid, commonName, rfc822Mailbox, organizationalUnitName)', async () => {
      assert.deepEqual(dns(await search('(rfc822Mailbox=alice@example.com)')), only('alice'));
      assert.deepEqual(dns(await search('(&(userid=alice)(commonName=Alice Öztürk))')), only('alice'));
      const ou = await ldapsearch(dir, binder(), ['-b', dir.base, '(organizationalUnitName=Users)', '1.1']);
      assert.deepEqual(dns(ou), [dir.usersBase.toLowerCase()]);
      const r = await search('(uid=alice)', ['commonName', 'userid', 'rfc822Mailbox']);
      assert.deepEqual(r.entries[0]?.attrs, { uid: ['alice'], cn: ['Alice Öztürk'], mail: ['alice@example.com'] });
    });

    it('takes DNs whose attribute types are aliases or OIDs, for searches and binds', async () => {
      const base = `userid=alice,${dir.usersBase}`;
      const r = await ldapsearch(dir, binder(), ['-b', base, '-s', 'base', '(objectClass=*)', '1.1']);
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(dns(r), only('alice'));
      const oid = await ldapsearch(dir, binder(), ['-b', `0.9.2342.19200300.100.1.1=alice,${dir.usersBase}`, '-s', 'base', '(objectClass=*)', '1.1']);
      assert.deepEqual(dns(oid), only('alice'));
      const who = await exec('ldapwhoami', ['-x', '-H', dir.url, '-D', base, '-w', dir.users.alice!.password], { env: ldapEnv(dir) });
      assert.equal(who.code, 0, who.stderr);
    });

    it('treats an entryUUID assertion that is no UUID as Undefined (RFC 4530 uuidMatch), whose NOT matches nothing', async () => {
      assert.deepEqual(dns(await search('(&(uid=alice)(!(entryUUID=not-a-uuid)))')), []);
      assert.deepEqual(dns(await search('(&(uid=alice)(!(entryUUID=00000000-0000-0000-0000-000000000000)))')), only('alice'));
      const uuid = (await search('(uid=alice)', ['entryUUID'])).entries[0]?.attrs.entryUUID?.[0];
      assert.ok(uuid);
      assert.deepEqual(dns(await search(`(entryUUID=${uuid.toUpperCase()})`)), only('alice'));
    });

    it('gives the organisation and the Users OU an entryUUID too, each found by it alone', async () => {
      const read = async (base: string) => {
        const r = await ldapsearch(dir, binder(), ['-b', base, '-s', 'base', '(objectClass=*)', 'entryUUID']);
        assert.equal(r.code, 0, r.stderr);
        return r.entries[0]?.attrs.entryUUID?.[0];
      };
      const org = await read(dir.base);
      const ou = await read(dir.usersBase);
      assert.match(org ?? '', /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
      assert.match(ou ?? '', /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
      assert.notEqual(org, ou);
      for (const [uuid, dn] of [
        [org!, dir.base],
        [ou!, dir.usersBase],
      ] as const) {
        const found = await ldapsearch(dir, binder(), ['-b', dir.base, `(entryUUID=${uuid})`, '1.1']);
        assert.deepEqual(dns(found), [dn.toLowerCase()]);
      }
      // Stable: the same on the next read.
      assert.equal(await read(dir.base), org);
    });

    it('matches nothing for a subtype with options (cn;lang-en), whose NOT is TRUE', async () => {
      assert.deepEqual(dns(await search('(cn;lang-en=Alice Öztürk)')), []);
      assert.deepEqual(dns(await search('(cn;lang-en=*)')), []);
      assert.deepEqual(dns(await search('(&(uid=alice)(!(cn;lang-en=Alice Öztürk)))')), only('alice'));
    });

    it('ignores leading, trailing and repeated spaces in caseIgnoreMatch (RFC 4518 §2.6.1)', async () => {
      assert.deepEqual(dns(await search('(cn=  alice   öztürk )')), only('alice'));
      assert.deepEqual(dns(await search('(uid= alice )')), only('alice'));
    });

    it('still matches a value stored with repeated spaces by that value', async () => {
      const put = await dir.run.api('PUT', `/api/systemusers/${dir.users.dave!.id}`, { description: 'two  spaces  here' });
      assert.equal(put.status, 200, JSON.stringify(put.body));
      try {
        assert.deepEqual(dns(await search('(description=two  spaces  here)')), only('dave'));
      } finally {
        await dir.run.api('PUT', `/api/systemusers/${dir.users.dave!.id}`, { description: '' });
      }
    });

    it('compares homeDirectory and loginShell case-exactly (caseExactIA5Match, RFC 2307 §2.2)', async () => {
      assert.deepEqual(dns(await search('(homeDirectory=/home/alice)')), only('alice'));
      assert.deepEqual(dns(await search('(homeDirectory=/HOME/alice)')), []);
      assert.deepEqual(dns(await search('(homeDirectory=/home/ALICE)')), []);
      assert.ok((await search('(loginShell=/bin/bash)')).entries.length > 0);
      assert.deepEqual(dns(await search('(loginShell=/BIN/BASH)')), []);
      assert.deepEqual(dns(await search('(memberUid=alice)')), [dir.groupDn('staff').toLowerCase()]);
      assert.deepEqual(dns(await search('(memberUid=ALICE)')), []);
    });

    it('applies the matching rule of a :dn: assertion to the DN values too (RFC 4511 §4.5.1.7.7)', async () => {
      assert.deepEqual(dns(await search('(&(uid=alice)(ou:dn:caseExactMatch:=users))')), []);
      assert.deepEqual(dns(await search('(&(uid=alice)(ou:dn:caseExactMatch:=Users))')), only('alice'));
      assert.deepEqual(dns(await search('(&(uid=alice)(ou:dn:=users))')), only('alice'));
      assert.deepEqual(dns(await search('(uid:dn:caseExactMatch:=ALICE)')), []);
      assert.deepEqual(dns(await search('(uid:dn:caseExactMatch:=alice)')), only('alice'));
    });
  });
});
