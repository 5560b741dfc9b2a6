import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { BerWriter as LdaptsBerWriter, FilterParser } from 'ldapts';
import type { DirectoryFilter, GroupAttr, UserAttr } from '../../../src/core/directory/filter.js';
import { attributeMap, rootDse, toOrgEntry } from '../../../src/ldap/entries.js';
import { matchesEntry, toGroupFilter, toUserFilter, type TranslationContext } from '../../../src/ldap/filter.js';
import { LdapError } from '../../../src/ldap/result-codes.js';
import { createTree } from '../../../src/ldap/tree.js';

// @ldapjs/filter's exports are invisible to ESM named imports (see src/ldap/codec.ts); require() gets them.
const requireCjs = createRequire(import.meta.url);
const { parseBer } = requireCjs('@ldapjs/filter') as typeof import('@ldapjs/filter');
const { BerReader } = requireCjs('@ldapjs/asn1') as typeof import('@ldapjs/asn1');

const tlv = (tag: number, ...content: Buffer[]): Buffer => {
  const c = Buffer.concat(content);
  assert.ok(c.length < 128, 'short form only');
  return Buffer.concat([Buffer.from([tag, c.length]), c]);
};
const str = (s: string, tag = 0x04) => tlv(tag, Buffer.from(s, 'utf8'));

const ORG = '0123456789abcdef01234567';
const BASE = `o=${ORG},dc=gatehouse,dc=local`;
const USERS = `ou=Users,${BASE}`;
const ctx: TranslationContext = { tree: createTree(ORG, 'dc=gatehouse,dc=local'), homeDirectoryPrefix: '/home/', loginShell: '/bin/bash' };

const TRUE = { op: 'true' } as const;
const FALSE = { op: 'false' } as const;
type U = DirectoryFilter<UserAttr>;
type G = DirectoryFilter<GroupAttr>;

/**
 * A filter string as the server receives it: encoded to BER by an independent client library
 * (ldapts, which unescapes RFC 4515 `\\xx` sequences as clients do) and decoded by the same
 * `parseBer` the codec uses. (@ldapjs/filter's own string parser keeps the escapes verbatim.)
 */
function wire(s: string) {
  const w = new LdaptsBerWriter();
  FilterParser.parseString(s).write(w);
  return parseBer(new BerReader(w.buffer));
}

const user = (s: string) => toUserFilter(wire(s), ctx);
const group = (s: string) => toGroupFilter(wire(s), ctx);

/**
 * LDAP filter (RFC 4515 string, as it arrives on the wire) → DirectoryFilter for users and for
 * groups. RFC 4511 §4.5.1.7: an item is Undefined only for an attribute type the server does not
 * recognise (or an unusable value); an attribute the server knows but an entry lacks is FALSE, so
 * its negation is TRUE.
 */
describe('LDAP filter translation (src/ldap/filter.ts)', () => {
  const table: [string, U, G][] = [
    // equality and the attribute map
    ['(uid=alice)', { op: 'eq', attr: 'username', value: 'alice' }, FALSE],
    ['(UID=ALICE)', { op: 'eq', attr: 'username', value: 'ALICE' }, FALSE],
    ['(mail=ALICE@example.com)', { op: 'eq', attr: 'email', value: 'ALICE@example.com' }, { op: 'eq', attr: 'email', value: 'ALICE@example.com' }],
    ['(sn=Öztürk)', { op: 'or', filters: [{ op: 'and', filters: [{ op: 'present', attr: 'lastname' }, { op: 'eq', attr: 'lastname', value: 'Öztürk' }] }, { op: 'and', filters: [{ op: 'not', filter: { op: 'present', attr: 'lastname' } }, { op: 'eq', attr: 'username', value: 'Öztürk' }] }] }, FALSE],
    ['(givenName=Alice)', { op: 'eq', attr: 'firstname', value: 'Alice' }, FALSE],
    [
      '(cn=alice öztürk)',
      { op: 'eq', attr: 'cn', value: 'alice öztürk' },
      {
        op: 'or',
        filters: [
          { op: 'eq', attr: 'name', value: 'alice öztürk' },
          { op: 'eq', attr: 'posixName', value: 'alice öztürk' },
        ],
      },
    ],
    ['(uidNumber=5001)', { op: 'eq', attr: 'unixUid', value: 5001 }, FALSE],
    ['(gidNumber=8001)', { op: 'eq', attr: 'unixGuid', value: 8001 }, { op: 'eq', attr: 'posixGid', value: 8001 }],
    ['(homeDirectory=/home/alice)', { op: 'eq', attr: 'username', value: 'alice', exact: true }, FALSE],
    ['(homeDirectory=/srv/alice)', FALSE, FALSE],
    ['(entryUUID=00000000-0123-4567-89ab-cdef01234567)', { op: 'eq', attr: 'id', value: '0123456789abcdef01234567' }, { op: 'eq', attr: 'id', value: '0123456789abcdef01234567' }],
    // objectClass
    ['(objectClass=posixAccount)', TRUE, FALSE],
    ['(objectClass=inetOrgPerson)', TRUE, FALSE],
    ['(objectClass=groupOfNames)', FALSE, TRUE],
    ['(objectClass=posixGroup)', FALSE, { op: 'present', attr: 'posixGid' }],
    ['(objectClass=organization)', FALSE, FALSE],
    ['(objectClass=*)', TRUE, TRUE],
    ['(&(objectClass=posixAccount)(uid=alice))', { op: 'eq', attr: 'username', value: 'alice' }, FALSE],
    ['(&(objectClass=posixGroup)(gidNumber=8001))', FALSE, { op: 'and', filters: [{ op: 'present', attr: 'posixGid' }, { op: 'eq', attr: 'posixGid', value: 8001 }] }],
    // DN-valued attributes
    [`(memberOf=cn=staff,${USERS})`, { op: 'eq', attr: 'memberOfName', value: 'staff' }, FALSE],
    [`(memberOf=CN=Staff,OU=users,${BASE.toUpperCase()})`, { op: 'eq', attr: 'memberOfName', value: 'staff' }, FALSE],
    ['(memberOf=cn=staff,dc=elsewhere)', FALSE, FALSE],
    ['(!(memberOf=cn=staff,dc=elsewhere))', TRUE, TRUE],
    ['(memberOf=*)', { op: 'present', attr: 'memberOfName' }, FALSE],
    [`(member=uid=alice,${USERS})`, FALSE, { op: 'eq', attr: 'memberName', value: 'alice' }],
    [`(uniqueMember=uid=ALICE,${USERS})`, FALSE, { op: 'eq', attr: 'memberName', value: 'alice' }],
    // substrings, ordering, approx, presence
    ['(uid=al*)', { op: 'substr', attr: 'username', any: [], initial: 'al' }, FALSE],
    ['(cn=*uild*)', { op: 'substr', attr: 'cn', any: ['uild'] }, { op: 'or', filters: [{ op: 'substr', attr: 'name', any: ['uild'] }, { op: 'substr', attr: 'posixName', any: ['uild'] }] }],
    ['(mail=*@example.com)', { op: 'substr', attr: 'email', any: [], final: '@example.com' }, { op: 'substr', attr: 'email', any: [], final: '@example.com' }],
    ['(uidNumber>=5002)', { op: 'gte', attr: 'unixUid', value: 5002 }, FALSE],
    ['(uidNumber<=5001)', { op: 'lte', attr: 'unixUid', value: 5001 }, FALSE],
    ['(uid~=alice)', { op: 'eq', attr: 'username', value: 'alice' }, FALSE],
    ['(mail=*)', { op: 'present', attr: 'email' }, { op: 'present', attr: 'email' }],
    // boolean operators
    ['(|(uid=alice)(uid=bob))', { op: 'or', filters: [{ op: 'eq', attr: 'username', value: 'alice' }, { op: 'eq', attr: 'username', value: 'bob' }] }, FALSE],
    ['(!(uid=alice))', { op: 'not', filter: { op: 'eq', attr: 'username', value: 'alice' } }, TRUE],
    ['(!(gidNumber=8001))', { op: 'not', filter: { op: 'eq', attr: 'unixGuid', value: 8001 } }, { op: 'not', filter: { op: 'eq', attr: 'posixGid', value: 8001 } }],
    // three-valued logic: unknown attribute types and unusable values are Undefined
    ['(foo=bar)', FALSE, FALSE],
    ['(!(foo=bar))', FALSE, FALSE],
    ['(foo=*)', FALSE, FALSE],
    ['(|(uid=a)(foo=b))', { op: 'eq', attr: 'username', value: 'a' }, FALSE],
    ['(&(uid=a)(foo=b))', FALSE, FALSE],
    ['(!(&(uid=a)(foo=b)))', { op: 'not', filter: { op: 'eq', attr: 'username', value: 'a' } }, TRUE],
    ['(!(|(uid=a)(foo=b)))', FALSE, FALSE],
    ['(!(!(foo=bar)))', FALSE, FALSE],
    ['(uidNumber=abc)', FALSE, FALSE],
    ['(!(uidNumber=abc))', FALSE, FALSE],
    ['(!(memberOf=not a dn))', FALSE, FALSE],
    // extensible matches
    ['(uid:caseExactMatch:=alice)', { op: 'eq', attr: 'username', value: 'alice', exact: true }, FALSE],
    ['(uid:2.5.13.5:=ALICE)', { op: 'eq', attr: 'username', value: 'ALICE', exact: true }, FALSE],
    ['(uid:caseIgnoreMatch:=ALICE)', { op: 'eq', attr: 'username', value: 'ALICE' }, FALSE],
    ['(uidNumber:integerMatch:=5001)', { op: 'eq', attr: 'unixUid', value: 5001 }, FALSE],
    ['(uid:1.2.3.4.5:=alice)', FALSE, FALSE],
    ['(!(uid:1.2.3.4.5:=alice))', FALSE, FALSE],
    ['(ou:dn:=Users)', TRUE, TRUE],
    ['(ou:dn:=Admins)', FALSE, FALSE],
    [`(o:dn:=${ORG})`, TRUE, TRUE],
    ['(dc:dn:=gatehouse)', TRUE, TRUE],
  ];

  for (const [filter, forUsers, forGroups] of table) {
    it(`translates ${filter}`, () => {
      assert.deepEqual(user(filter), forUsers, 'users');
      assert.deepEqual(group(filter), forGroups, 'groups');
    });
  }

  // Values as the wire carries them (raw octets, no RFC 4515 escaping), decoded the way the server decodes them.
  const wire: [string, Buffer, U][] = [
    ['(sn=Öztürk)', tlv(0xa3, str('sn'), str('Öztürk')), { op: 'or', filters: [{ op: 'and', filters: [{ op: 'present', attr: 'lastname' }, { op: 'eq', attr: 'lastname', value: 'Öztürk' }] }, { op: 'and', filters: [{ op: 'not', filter: { op: 'present', attr: 'lastname' } }, { op: 'eq', attr: 'username', value: 'Öztürk' }] }] }],
    ['(description=a*b(c)\\)', tlv(0xa3, str('description'), str('a*b(c)\\')), { op: 'eq', attr: 'description', value: 'a*b(c)\\' }],
    ['(cn=*ztü*)', tlv(0xa4, str('cn'), tlv(0x30, str('ztü', 0x81))), { op: 'substr', attr: 'cn', any: ['ztü'] }],
    ['(uid=a*b*c) with "*" inside the pieces', tlv(0xa4, str('uid'), tlv(0x30, str('a*', 0x80), str('(b)', 0x81), str('c\\', 0x82))), { op: 'substr', attr: 'username', initial: 'a*', any: ['(b)'], final: 'c\\' }],
  ];
  for (const [what, ber, expected] of wire) {
    it(`translates ${what} as decoded from BER`, () => {
      assert.deepEqual(toUserFilter(parseBer(new BerReader(ber)), ctx), expected);
    });
  }

  it('treats (memberUid=…) as absent on groups without POSIX data', () => {
    // memberUid is a posixGroup attribute: a group without a gidNumber has none, so it cannot match.
    assert.deepEqual(group('(memberUid=alice)'), {
      op: 'and',
      filters: [
        { op: 'present', attr: 'posixGid' },
        { op: 'eq', attr: 'memberName', value: 'alice', exact: true },
      ],
    });
  });

  it('refuses a filter nested deeper than its limit with unwillingToPerform', () => {
    const deep = `${'(!'.repeat(100)}(uid=a)${')'.repeat(100)}`;
    assert.throws(() => user(deep), (err: unknown) => err instanceof LdapError && err.code === 53);
    assert.throws(() => group(deep), (err: unknown) => err instanceof LdapError && err.code === 53);
  });

  it('refuses a filter with too many nodes with unwillingToPerform', () => {
    const wide = `(|${Array.from({ length: 3000 }, (_, i) => `(uid=u${i})`).join('')})`;
    assert.throws(() => user(wide), (err: unknown) => err instanceof LdapError && err.code === 53);
  });
});

describe('LDAP filter evaluation on fixed entries (matchesEntry)', () => {
  const dse = attributeMap(rootDse(ctx.tree, '1.2.3'));
  const org = attributeMap(toOrgEntry(ctx.tree, 'Example Org', new Date('2025-01-01T00:00:00Z')));

  const table: [string, ReadonlyMap<string, readonly string[]>, boolean | undefined][] = [
    ['(objectClass=*)', dse, true],
    ['(objectclass=TOP)', dse, true],
    [`(namingContexts=${BASE.toUpperCase()})`, dse, true],
    ['(supportedLDAPVersion=3)', dse, true],
    ['(supportedControl=1.2.840.113556.1.4.319)', dse, true],
    // objectClass has no substrings rule (objectIdentifierMatch only): Undefined, as in slapd
    ['(objectClass=t*)', dse, undefined],
    ['(!(objectClass=top))', dse, false],
    ['(objectClass=organization)', org, true],
    ['(o=*)', org, true],
    ['(description=example org)', org, true],
    ['(uid=alice)', org, false],
    ['(!(uid=alice))', org, true],
    ['(|(uid=alice)(objectClass=organization))', org, true],
    ['(&(uid=alice)(objectClass=organization))', org, false],
    ['(objectClass:caseExactMatch:=organization)', org, true],
    ['(objectClass:caseExactMatch:=ORGANIZATION)', org, false],
    ['(objectClass:1.2.3.4.5:=organization)', org, undefined],
    // unknown attribute types are Undefined, and so is their negation
    ['(foo=bar)', org, undefined],
    ['(!(foo=bar))', org, undefined],
    // presence is FALSE where there is no such attribute, known or not (RFC 4511 §4.5.1.7.5)
    ['(foo=*)', dse, false],
    ['(!(foo=*))', dse, true],
    ['(&(objectClass=top)(foo=bar))', dse, undefined],
    ['(|(objectClass=top)(foo=bar))', dse, true],
    ['(!(|(objectClass=nothing)(foo=bar)))', dse, undefined],
  ];
  for (const [filter, entry, expected] of table) {
    it(`evaluates ${filter} to ${String(expected)}`, () => {
      assert.equal(matchesEntry(wire(filter), entry), expected);
    });
  }
});
