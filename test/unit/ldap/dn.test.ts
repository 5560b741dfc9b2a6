import fc from 'fast-check';
import assert from 'node:assert/strict';
import { DnSyntaxError, endsWith, escapeDnValue, formatDn, parseDn, sameRdn, type Dn } from '../../../src/ldap/dn.js';

/** RFC 4514 distinguished names: parsing, escaping, formatting and comparison (src/ldap/dn.ts). */
describe('LDAP distinguished names (RFC 4514)', () => {
  describe('parseDn', () => {
    const cases: [string, string, Dn][] = [
      ['the empty DN (Root DSE)', '', []],
      ['a simple DN, types lower-cased', 'UID=Bob,OU=Users,dc=example', [[{ type: 'uid', value: 'Bob' }], [{ type: 'ou', value: 'Users' }], [{ type: 'dc', value: 'example' }]]],
      ['spaces around separators and "="', ' cn = a , ou = b ', [[{ type: 'cn', value: 'a' }], [{ type: 'ou', value: 'b' }]]],
      ['an escaped plus', 'cn=a\\+b,ou=x', [[{ type: 'cn', value: 'a+b' }], [{ type: 'ou', value: 'x' }]]],
      ['an escaped comma', 'cn=R&D\\, Europe,ou=x', [[{ type: 'cn', value: 'R&D, Europe' }], [{ type: 'ou', value: 'x' }]]],
      ['escaped specials " < > ; \\ =', 'cn=\\"q\\"\\<\\>\\;\\\\\\=', [[{ type: 'cn', value: '"q"<>;\\=' }]]],
      ['hex escapes forming UTF-8', 'cn=\\c3\\96zt\\c3\\bcrk', [[{ type: 'cn', value: 'Öztürk' }]]],
      ['a hex escape of an ASCII letter', 'cn=\\41b', [[{ type: 'cn', value: 'Ab' }]]],
      ['raw UTF-8', 'cn=Öztürk', [[{ type: 'cn', value: 'Öztürk' }]]],
      ['an escaped leading space', 'cn=\\ a', [[{ type: 'cn', value: ' a' }]]],
      ['an escaped leading #', 'cn=\\#a', [[{ type: 'cn', value: '#a' }]]],
      ['a trailing escaped space before a separator', 'cn=a\\ ,ou=x', [[{ type: 'cn', value: 'a ' }], [{ type: 'ou', value: 'x' }]]],
      ['a trailing escaped space at the very end', 'cn=a\\ ', [[{ type: 'cn', value: 'a ' }]]],
      ['unescaped trailing spaces dropped', 'cn=a  ,ou=x', [[{ type: 'cn', value: 'a' }], [{ type: 'ou', value: 'x' }]]],
      ['an inner space kept', 'cn=Alice Öztürk', [[{ type: 'cn', value: 'Alice Öztürk' }]]],
      [
        'a multi-valued RDN',
        'cn=a+sn=b,ou=x',
        [
          [
            { type: 'cn', value: 'a' },
            { type: 'sn', value: 'b' },
          ],
          [{ type: 'ou', value: 'x' }],
        ],
      ],
      ['an unescaped "=" inside a value (allowed by RFC 4514 §3)', 'cn=a=b', [[{ type: 'cn', value: 'a=b' }]]],
      ['an OID attribute type', '2.5.4.3=a', [[{ type: '2.5.4.3', value: 'a' }]]],
      ['a #hex BER value kept as written', 'cn=#04024869', [[{ type: 'cn', value: '#04024869' }]]],
    ];
    for (const [what, text, expected] of cases) {
      it(`parses ${what}: ${JSON.stringify(text)}`, () => {
        assert.deepEqual(parseDn(text), expected);
      });
    }

    const errors: [string, string][] = [
      ['a type without a value', 'cn'],
      ['a value without a type', '=a'],
      ['a trailing comma', 'cn=a,'],
      ['a trailing plus', 'cn=a+'],
      ['an empty RDN', 'cn=a,,ou=b'],
      ['a dangling escape', 'cn=a\\'],
      ['an unescaped double quote', 'cn="a"'],
      ['an unescaped <', 'cn=a<b'],
      ['a space inside the type', 'c n=a'],
      ['an escape of a non-special character (RFC 4514 §3 "pair")', 'cn=\\zz'],
      ['a DN longer than 4096 characters', `cn=${'a'.repeat(5000)}`],
    ];
    for (const [what, text] of errors) {
      it(`refuses ${what}: ${JSON.stringify(text.slice(0, 40))}`, () => {
        assert.throws(() => parseDn(text), DnSyntaxError);
      });
    }
  });

  describe('escapeDnValue and formatDn', () => {
    const escapes: [string, string][] = [
      ['a,b', 'a\\,b'],
      ['a+b', 'a\\+b'],
      ['R&D, Europe', 'R&D\\, Europe'],
      ['"q"', '\\"q\\"'],
      ['<a>;', '\\<a\\>\\;'],
      ['back\\slash', 'back\\\\slash'],
      [' lead', '\\ lead'],
      ['#hash', '\\#hash'],
      ['trail ', 'trail\\ '],
      ['nul\u0000', 'nul\\00'],
      ['Öztürk', 'Öztürk'],
    ];
    for (const [value, escaped] of escapes) {
      it(`escapes ${JSON.stringify(value)} as ${JSON.stringify(escaped)}`, () => {
        assert.equal(escapeDnValue(value), escaped);
      });
    }

    const roundTrips = ['a,b', 'a+b', 'R&D, Europe', ' lead', '#hash', 'trail ', 'a=b', 'back\\slash', '"q"', 'Öztürk', 'x;y'];
    for (const value of roundTrips) {
      it(`formats and parses back ${JSON.stringify(value)}`, () => {
        const dn: Dn = [[{ type: 'cn', value }], [{ type: 'ou', value: 'Users' }]];
        assert.deepEqual(parseDn(formatDn(dn)), dn);
      });
    }

    it('formats a multi-valued RDN with "+"', () => {
      assert.equal(
        formatDn([
          [
            { type: 'cn', value: 'a' },
            { type: 'sn', value: 'b' },
          ],
          [{ type: 'o', value: 'x' }],
        ]),
        'cn=a+sn=b,o=x',
      );
    });
  });

  describe('comparison', () => {
    it('compares RDN values case-insensitively and NFC-normalised', () => {
      assert.ok(sameRdn(parseDn('uid=ALICE')[0]!, parseDn('uid=alice')[0]!));
      assert.ok(sameRdn(parseDn('cn=O\u0308zt')[0]!, parseDn('cn=Özt')[0]!));
      assert.ok(!sameRdn(parseDn('uid=alice')[0]!, parseDn('cn=alice')[0]!));
    });

    it('compares multi-valued RDNs regardless of order', () => {
      assert.ok(sameRdn(parseDn('cn=a+sn=b')[0]!, parseDn('sn=B+cn=A')[0]!));
      assert.ok(!sameRdn(parseDn('cn=a+sn=b')[0]!, parseDn('cn=a')[0]!));
    });

    it('tells whether a DN is at or below a suffix', () => {
      const base = parseDn('o=1,dc=gatehouse,dc=local');
      assert.ok(endsWith(parseDn('uid=a,ou=Users,o=1,dc=gatehouse,dc=local'), base));
      assert.ok(endsWith(parseDn('O=1,DC=Gatehouse,DC=Local'), base));
      assert.ok(!endsWith(parseDn('dc=gatehouse,dc=local'), base));
      assert.ok(!endsWith(parseDn('uid=a,o=2,dc=gatehouse,dc=local'), base));
    });
  });
});

/**
 * The byte-wise value reader parseDn used before it copied plain characters as they are: every
 * character encoded to UTF-8, hex escapes as raw bytes, all decoded at once. Kept as the oracle.
 */
function referenceValue(raw: string): string {
  const bytes: number[] = [];
  let trailingSpaces = 0;
  for (let i = 0; i < raw.length; ) {
    if (raw[i] === '\\') {
      const pair = raw.slice(i + 1, i + 3);
      if (/^[0-9a-fA-F]{2}$/.test(pair)) {
        bytes.push(parseInt(pair, 16));
        i += 3;
      } else {
        bytes.push(raw.charCodeAt(i + 1));
        i += 2;
      }
      trailingSpaces = 0;
      continue;
    }
    const ch = String.fromCodePoint(raw.codePointAt(i)!);
    bytes.push(...Buffer.from(ch, 'utf8'));
    trailingSpaces = raw[i] === ' ' ? trailingSpaces + 1 : 0;
    i += ch.length;
  }
  return Buffer.from(bytes.slice(0, bytes.length - trailingSpaces)).toString('utf8');
}

describe('parseDn values agree with the byte-wise reference', () => {
  // Pieces of a value: plain text (any Unicode, lone surrogates included), escaped specials, hex
  // escapes of arbitrary bytes (valid and broken UTF-8), spaces.
  const piece = fc.oneof(
    fc.string({ unit: 'binary', maxLength: 4 }).map((t) => t.replace(/[\\,+;"<>#=]/g, '')),
    fc.constantFrom('\\,', '\\+', '\\\\', '\\"', '\\;', '\\<', '\\>', '\\ ', '\\#', '\\='),
    fc.integer({ min: 0, max: 255 }).map((b) => `\\${b.toString(16).padStart(2, '0')}`),
    fc.constantFrom(' ', '  ', '\\C3\\A9', '\\E2\\82', '\\F0\\9F\\98\\80', 'é', '😀', '\ud800'),
  );
  it('for generated values', () => {
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 12 }), (parts) => {
        const raw = parts.join('').replace(/^ +/, '');
        if (raw === '' || raw.startsWith('#')) return;
        const dn = parseDn(`cn=${raw},o=x`);
        assert.equal(dn[0]![0]!.value, referenceValue(raw));
      }),
      { numRuns: 3000 },
    );
  });
});
