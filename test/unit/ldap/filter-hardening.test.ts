import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import fc from 'fast-check';
import { BerWriter as LdaptsBerWriter, FilterParser } from 'ldapts';
import type { DirectoryFilter, UserAttr } from '../../../src/core/directory/filter.js';
import { attributeMap, rootDse } from '../../../src/ldap/entries.js';
import { compareCodePoints, matchesEntry, matchesSubstrings, MAX_SUBSTRING_ANY, toGroupFilter, toUserFilter, type Substrings, type TranslationContext } from '../../../src/ldap/filter.js';
import { LdapError } from '../../../src/ldap/result-codes.js';
import { createTree } from '../../../src/ldap/tree.js';
import { filterToSql, sortToSql } from '../../../src/store/filter-sql.js';
import { USER_COLUMNS } from '../../../src/store/repositories/users.js';

const requireCjs = createRequire(import.meta.url);
const { parseBer } = requireCjs('@ldapjs/filter') as typeof import('@ldapjs/filter');
const { BerReader } = requireCjs('@ldapjs/asn1') as typeof import('@ldapjs/asn1');

const ORG = '0123456789abcdef01234567';
const ctx: TranslationContext = { tree: createTree(ORG, 'dc=gatehouse,dc=local'), homeDirectoryPrefix: '/home/', loginShell: '/bin/bash' };
const dse = attributeMap(rootDse(ctx.tree, '1.2.3'));
const FALSE = { op: 'false' } as const;

/** A filter string encoded by an independent client library (ldapts) and decoded as the server does. */
function wire(s: string) {
  const w = new LdaptsBerWriter();
  FilterParser.parseString(s).write(w);
  return parseBer(new BerReader(w.buffer));
}

/** BER of a substring filter (RFC 4511 §4.5.1.7.2) with the given pieces, empty ones included. */
function substringFilter(attr: string, s: { initial?: string; any: string[]; final?: string }) {
  const tlv = (tag: number, content: Buffer): Buffer => {
    const len = content.length < 0x80 ? Buffer.from([content.length]) : Buffer.from([0x82, content.length >> 8, content.length & 0xff]);
    return Buffer.concat([Buffer.from([tag]), len, content]);
  };
  const str = (v: string, tag = 0x04) => tlv(tag, Buffer.from(v, 'utf8'));
  const pieces = [...(s.initial !== undefined ? [str(s.initial, 0x80)] : []), ...s.any.map((a) => str(a, 0x81)), ...(s.final !== undefined ? [str(s.final, 0x82)] : [])];
  return parseBer(new BerReader(tlv(0xa4, Buffer.concat([str(attr), tlv(0x30, Buffer.concat(pieces))]))));
}

/**
 * The reference: tries every placement of every piece (exponential, fine for short strings). RFC
 * 4517 §4.2.4: initial at the start, the any pieces in order, final at the end, none overlapping.
 */
function naiveSubstrings(value: string, s: Substrings): boolean {
  if (!value.startsWith(s.initial)) return false;
  const rest = value.slice(s.initial.length);
  const place = (from: number, k: number): boolean => {
    if (k === s.any.length) return rest.length - from >= s.final.length && rest.endsWith(s.final);
    const piece = s.any[k]!;
    for (let at = from; at + piece.length <= rest.length; at++) {
      if (rest.startsWith(piece, at) && place(at + piece.length, k + 1)) return true;
    }
    return false;
  };
  return place(0, 0);
}

const isUnwilling = (err: unknown) => err instanceof LdapError && err.code === 53;

describe('LDAP filter hardening (src/ldap/filter.ts)', () => {
  describe('substring matching', () => {
    // Few letters, so that pieces often occur, overlap and repeat.
    const text = fc.string({ unit: fc.constantFrom('a', 'b', 'c'), maxLength: 12 });
    const piece = fc.string({ unit: fc.constantFrom('a', 'b', 'c'), maxLength: 3 });

    it('agrees with a naive matcher that tries every placement', () => {
      fc.assert(
        fc.property(text, piece, fc.array(piece, { maxLength: 4 }), piece, (value, initial, any, final) => {
          const s = { initial, any, final };
          assert.equal(matchesSubstrings(value, s), naiveSubstrings(value, s), JSON.stringify({ value, ...s }));
        }),
        { numRuns: 5000 },
      );
    });

    it('does not let initial, any and final overlap', () => {
      assert.equal(matchesSubstrings('ab', { initial: 'ab', any: [], final: 'b' }), false);
      assert.equal(matchesSubstrings('abb', { initial: 'ab', any: [], final: 'b' }), true);
      assert.equal(matchesSubstrings('aba', { initial: '', any: ['ab', 'ba'], final: '' }), false);
      assert.equal(matchesSubstrings('abba', { initial: '', any: ['ab', 'ba'], final: '' }), true);
      assert.equal(matchesSubstrings('xay', { initial: 'x', any: ['a'], final: 'ay' }), false);
    });

    it('answers a Root DSE filter with many empty pieces at once (a regular expression took 13 s for seven)', function () {
      this.timeout(2000);
      // description (with a substrings rule) holding the Root DSE's naming context
      const entry = new Map([['description', dse.get('namingcontexts')!]]);
      const f = substringFilter('description', { any: Array<string>(MAX_SUBSTRING_ANY).fill(''), final: 'zz' });
      assert.equal(matchesEntry(f, entry), false);
      const g = substringFilter('description', { any: Array<string>(MAX_SUBSTRING_ANY).fill('a'), final: 'zz' });
      assert.equal(matchesEntry(g, entry), false);
      assert.equal(matchesEntry(substringFilter('description', { initial: 'O=', any: ['', 'GATEHOUSE'], final: 'local' }), entry), true);
    });

    it(`accepts ${MAX_SUBSTRING_ANY} any pieces and refuses one more with unwillingToPerform, in memory and for the store`, () => {
      const ok = `(cn=*${'a*'.repeat(MAX_SUBSTRING_ANY)})`;
      const tooMany = `(cn=*${'a*'.repeat(MAX_SUBSTRING_ANY + 1)})`;
      assert.doesNotThrow(() => toUserFilter(wire(ok), ctx));
      assert.doesNotThrow(() => matchesEntry(wire(ok), dse));
      assert.throws(() => toUserFilter(wire(tooMany), ctx), isUnwilling);
      assert.throws(() => toGroupFilter(wire(tooMany), ctx), isUnwilling);
      assert.throws(() => matchesEntry(wire(tooMany), dse), isUnwilling);
      // also on an attribute the server does not know, and inside other operators
      assert.throws(() => matchesEntry(wire(`(|(objectClass=*)(foo=*${'a*'.repeat(MAX_SUBSTRING_ANY + 1)}))`), dse), isUnwilling);
      const empty = substringFilter('cn', { any: Array<string>(MAX_SUBSTRING_ANY + 1).fill('') });
      assert.throws(() => toUserFilter(empty, ctx), isUnwilling);
    });

    it('drops empty any pieces before the store sees them', () => {
      assert.deepEqual(toUserFilter(substringFilter('uid', { initial: 'a', any: ['', 'b', ''], final: 'c' }), ctx), {
        op: 'substr',
        attr: 'username',
        initial: 'a',
        any: ['b'],
        final: 'c',
      });
    });
  });

  describe('attribute and rule names that are Object.prototype members', () => {
    // RFC 4511 §4.5.1.7: an unrecognised attribute type or matching rule is Undefined, never an error.
    const undefinedForBoth = [
      '(constructor=x)',
      '(hasOwnProperty>=a)',
      '(valueOf<=a)',
      '(isPrototypeOf~=a)',
      '(constructor=*x*)',
      '(!(constructor=x))',
      '(constructor:=x)',
      '(__proto__:dn:=x)',
      '(uid:constructor:=x)',
      '(uid:__proto__:=x)',
      '(:toString:=x)',
      '(!(uid:constructor:=x))',
    ];
    for (const f of undefinedForBoth) {
      it(`translates ${f} to no match, without throwing`, () => {
        assert.deepEqual(toUserFilter(wire(f), ctx), FALSE);
        assert.deepEqual(toGroupFilter(wire(f), ctx), FALSE);
        assert.equal(matchesEntry(wire(f), dse), undefined);
      });
    }
    // RFC 4511 §4.5.1.7.5: presence is FALSE where the entry has no such attribute, known type or not.
    for (const f of ['(__proto__=*)', '(toString=*)']) {
      it(`translates ${f} to FALSE, without throwing`, () => {
        assert.deepEqual(toUserFilter(wire(f), ctx), FALSE);
        assert.deepEqual(toGroupFilter(wire(f), ctx), FALSE);
        assert.equal(matchesEntry(wire(f), dse), false);
        assert.deepEqual(toUserFilter(wire(`(!${f})`), ctx), { op: 'true' });
      });
    }

    it('keeps the other side of an OR: (|(uid=dave)(constructor:=x))', () => {
      assert.deepEqual(toUserFilter(wire('(|(uid=dave)(constructor:=x))'), ctx), { op: 'eq', attr: 'username', value: 'dave' });
      assert.deepEqual(toGroupFilter(wire('(|(uid=dave)(constructor:=x))'), ctx), FALSE);
    });

    it('treats an objectClass value named like a prototype member as an ordinary value', () => {
      for (const v of ['constructor', '__proto__', 'toString']) {
        assert.deepEqual(toUserFilter(wire(`(objectClass=${v})`), ctx), FALSE);
        assert.deepEqual(toGroupFilter(wire(`(objectClass=${v})`), ctx), FALSE);
        assert.equal(matchesEntry(wire(`(objectClass=${v})`), dse), false);
      }
    });

    it('renders a filter or a sort key on an unknown store attribute as false or nothing (filter-sql.ts)', () => {
      for (const attr of ['constructor', '__proto__', 'toString']) {
        const f = { op: 'eq', attr, value: 'x' } as unknown as DirectoryFilter<UserAttr>;
        assert.equal(filterToSql(f, USER_COLUMNS, []), '1 = 0');
        assert.equal(sortToSql([{ attr: attr as UserAttr, desc: false }], USER_COLUMNS, 'u.id'), 'u.id ASC');
      }
    });
  });

  describe('sn and displayName as entries show them', () => {
    // toUserEntry: sn = lastname || username, displayName = displayname || cn.
    const lastnameSet: DirectoryFilter<UserAttr> = { op: 'present', attr: 'lastname' };
    const lastnameEmpty: DirectoryFilter<UserAttr> = { op: 'not', filter: lastnameSet };

    it('matches (sn=v) against the last name, or the username when there is none', () => {
      assert.deepEqual(toUserFilter(wire('(sn=nolast)'), ctx), {
        op: 'or',
        filters: [
          { op: 'and', filters: [lastnameSet, { op: 'eq', attr: 'lastname', value: 'nolast' }] },
          { op: 'and', filters: [lastnameEmpty, { op: 'eq', attr: 'username', value: 'nolast' }] },
        ],
      });
      assert.deepEqual(toUserFilter(wire('(surname=nolast)'), ctx), toUserFilter(wire('(sn=nolast)'), ctx));
    });

    it('makes (sn=*) and (displayName=*) true for every user, and their negation false', () => {
      for (const f of ['(sn=*)', '(surname=*)', '(displayName=*)']) {
        assert.deepEqual(toUserFilter(wire(f), ctx), { op: 'true' }, f);
        assert.deepEqual(toUserFilter(wire(`(!${f})`), ctx), FALSE, f);
      }
    });

    it('orders and matches substrings of sn and displayName through the same fallback', () => {
      // sn has no ordering rule (RFC 4519 name): Undefined, for the column and the fallback alike.
      assert.deepEqual(toUserFilter(wire('(sn<=m)'), ctx), FALSE);
      assert.deepEqual(toUserFilter(wire('(!(sn<=m))'), ctx), FALSE);
      assert.deepEqual(toUserFilter(wire('(sn=*ith)'), ctx), {
        op: 'or',
        filters: [
          { op: 'and', filters: [lastnameSet, { op: 'substr', attr: 'lastname', any: [], final: 'ith' }] },
          { op: 'and', filters: [lastnameEmpty, { op: 'substr', attr: 'username', any: [], final: 'ith' }] },
        ],
      });
      assert.deepEqual(toUserFilter(wire('(displayName=*oss*)'), ctx), {
        op: 'or',
        filters: [
          { op: 'and', filters: [{ op: 'present', attr: 'displayname' }, { op: 'substr', attr: 'displayname', any: ['oss'] }] },
          { op: 'and', filters: [{ op: 'not', filter: { op: 'present', attr: 'displayname' } }, { op: 'substr', attr: 'cn', any: ['oss'] }] },
        ],
      });
    });
  });

  describe('ordering by code point, as SQLite and PostgreSQL (COLLATE "C") compare UTF-8', () => {
    it('orders any two strings as their UTF-8 bytes', () => {
      fc.assert(
        fc.property(fc.string({ unit: 'binary', maxLength: 6 }), fc.string({ unit: 'binary', maxLength: 6 }), (a, b) => {
          assert.equal(Math.sign(compareCodePoints(a, b)), Math.sign(Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'))), JSON.stringify([a, b]));
        }),
        { numRuns: 5000 },
      );
    });

    it('puts a character above U+FFFF after U+FB00, where UTF-16 order would not', () => {
      assert.ok('\u{1D49C}' < '\uFB00', 'UTF-16 units order them the other way');
      assert.ok(compareCodePoints('\u{1D49C}', '\uFB00') > 0);
    });

    it('answers >= and <= on a fixed entry\'s attribute without an ordering rule as Undefined (RFC 4511 §4.5.1.7)', () => {
      const entry = new Map([['description', ['\u{1D49C}x']]]);
      assert.equal(matchesEntry(wire('(description>=\uFB00)'), entry), undefined);
      assert.equal(matchesEntry(wire('(!(description<=\uFB00))'), entry), undefined);
    });

    it('adds COLLATE "C" to text comparisons and sort keys on PostgreSQL only (filter-sql.ts)', () => {
      const f: DirectoryFilter<UserAttr> = {
        op: 'and',
        filters: [
          { op: 'gte', attr: 'lastname', value: 'm' },
          { op: 'lt', attr: 'username', value: 'x' },
          { op: 'eq', attr: 'username', value: 'x' },
          { op: 'gte', attr: 'unixUid', value: 5 },
        ],
      };
      assert.equal(filterToSql(f, USER_COLUMNS, [], 'postgres'), '(u.lastname_lc COLLATE "C" >= $1 AND u.username COLLATE "C" < $2 AND u.username = $3 AND u.unix_uid >= $4)');
      assert.equal(filterToSql(f, USER_COLUMNS, [], 'sqlite'), '(u.lastname_lc >= $1 AND u.username < $2 AND u.username = $3 AND u.unix_uid >= $4)');
      assert.equal(filterToSql(f, USER_COLUMNS, []), filterToSql(f, USER_COLUMNS, [], 'sqlite'));
      const sort = [
        { attr: 'username' as const, desc: false },
        { attr: 'unixUid' as const, desc: true },
      ];
      assert.equal(sortToSql(sort, USER_COLUMNS, 'u.id', 'postgres'), 'u.username COLLATE "C" ASC, u.unix_uid DESC, u.id ASC');
      assert.equal(sortToSql(sort, USER_COLUMNS, 'u.id'), 'u.username ASC, u.unix_uid DESC, u.id ASC');
    });
  });
});
