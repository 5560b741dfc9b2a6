import assert from 'node:assert/strict';
import fc from 'fast-check';
import { decodeRequest, readEnvelope } from '../../../src/ldap/codec.js';
import { filterString } from '../../../src/ldap/filter.js';
import { planFor, prepare, searchShape } from '../../../src/ldap/operations/prepared-search.js';
import { createTree } from '../../../src/ldap/tree.js';
import { berInt, berString, equalityFilter, ldapMessage, presentFilter, tlv } from '../../integration/ldap/support.js';

const ORG = '5f0c1a2b3c4d5e6f70819203';
const BASE = `o=${ORG},dc=gatehouse,dc=local`;
const USERS = `ou=Users,${BASE}`;

interface Req {
  base: string;
  scope: number;
  deref?: number;
  sizeLimit?: number;
  timeLimit?: number;
  typesOnly?: boolean;
  filter: Buffer;
  attrs?: string[];
}
const op = (r: Req) =>
  tlv(0x63, berString(r.base), berInt(r.scope, 0x0a), berInt(r.deref ?? 0, 0x0a), berInt(r.sizeLimit ?? 0), berInt(r.timeLimit ?? 0), tlv(0x01, Buffer.from([r.typesOnly ? 0xff : 0])), r.filter, tlv(0x30, ...(r.attrs ?? []).map((a) => berString(a))));
const pdu = (r: Req, controls?: Buffer) => ldapMessage(7, op(r), controls);
const shapeOf = (b: Buffer) => searchShape(b, readEnvelope(b));
const AND = (...items: Buffer[]) => tlv(0xa0, ...items);
const posix = (uid: string) => AND(equalityFilter('objectClass', 'posixAccount'), equalityFilter('uid', uid));
const sssd = (uid: string): Req => ({ base: BASE, scope: 2, filter: posix(uid), attrs: ['uid', 'uidNumber', 'gidNumber', 'memberOf'] });

/** Values a plan takes: printable ASCII without space or RFC 4515 specials, 1 to 256 octets. */
const plainValue = fc.stringMatching(/^[!-'+-[\]-~]{1,40}$/);

describe('LDAP prepared uid and group lookups (prepared-search.ts)', () => {
  describe('searchShape', () => {
    it('gives requests that differ only in the uid value one key, and the value', () => {
      const a = shapeOf(pdu(sssd('alice')));
      const b = shapeOf(pdu(sssd('Bob.Builder-2')));
      assert.ok(a && b);
      assert.equal(a.key, b.key);
      assert.equal(a.value, 'alice');
      assert.equal(b.value, 'Bob.Builder-2');
      // A value long enough for long-form lengths around it (the AND, the item, the request).
      const long = shapeOf(pdu(sssd('x'.repeat(256))));
      assert.equal(long?.key, a.key);
      assert.equal(long?.value.length, 256);
      const bare = shapeOf(pdu({ base: BASE, scope: 2, filter: equalityFilter('UID', 'carol') }));
      assert.equal(bare?.value, 'carol');
    });

    it('gives a different key to any other difference in the request', () => {
      const key = (r: Req) => shapeOf(pdu(r))?.key;
      const base = sssd('alice');
      const variants: Req[] = [
        { ...base, base: USERS },
        { ...base, scope: 1 },
        { ...base, deref: 3 },
        { ...base, sizeLimit: 1 },
        { ...base, timeLimit: 5 },
        { ...base, typesOnly: true },
        { ...base, attrs: ['uid'] },
        { ...base, attrs: [] },
        { ...base, filter: AND(equalityFilter('objectClass', 'inetOrgPerson'), equalityFilter('uid', 'alice')) },
        { ...base, filter: AND(equalityFilter('uid', 'alice'), equalityFilter('objectClass', 'posixAccount')) },
        { ...base, filter: AND(equalityFilter('objectClass', 'posixAccount'), equalityFilter('Uid', 'alice')) },
        { ...base, filter: AND(equalityFilter('uid', 'alice')) },
        { ...base, filter: equalityFilter('uid', 'alice') },
      ];
      const keys = [key(base), ...variants.map(key)];
      assert.ok(keys.every((k) => typeof k === 'string'));
      assert.equal(new Set(keys).size, keys.length);
    });

    it('takes no request with controls, another filter, or a value a plan does not take', () => {
      const control = tlv(0xa0, tlv(0x30, berString('1.2.3.4')));
      assert.equal(shapeOf(pdu(sssd('alice'), control)), null);
      const none: Buffer[] = [
        tlv(0xa1, equalityFilter('uid', 'alice')),
        tlv(0xa2, equalityFilter('uid', 'alice')),
        AND(equalityFilter('uid', 'alice'), equalityFilter('uid', 'bob')),
        AND(AND(equalityFilter('uid', 'alice'))),
        AND(equalityFilter('objectClass', 'posixAccount')),
        equalityFilter('cn', 'alice'),
        equalityFilter('uidNumber', '7001'),
        equalityFilter('uid;x-opt', 'alice'),
        presentFilter('uid'),
        tlv(0xa8, equalityFilter('uid', 'alice').subarray(2)),
        ...['', ' alice', 'al ice', 'al*ce', 'a(b', 'a)b', 'a\\b', 'Öztürk', 'a\u0000b', 'x'.repeat(257)].map((v) => equalityFilter('uid', v)),
      ];
      for (const f of none) assert.equal(shapeOf(pdu({ base: BASE, scope: 2, filter: f })), null, f.toString('hex'));
      // A request longer than a lookup's few hundred octets.
      assert.equal(shapeOf(pdu({ ...sssd('alice'), attrs: Array.from({ length: 100 }, (_, i) => `attribute${i}`) })), null);
    });

    it('reads back one request per key and value: requests with the same of both are the same request', () => {
      const item = fc.oneof(
        fc.constantFrom('top', 'posixAccount', 'inetOrgPerson', '\u0001', 'uid').map((v) => equalityFilter('objectClass', v)),
        fc.constantFrom('cn', 'uid', 'x').map((a) => presentFilter(a)),
        fc.tuple(fc.constantFrom('uid', 'UID', 'cn'), fc.string({ maxLength: 4 })).map(([a, v]) => equalityFilter(a, v)),
      );
      const req = fc.record({
        base: fc.constantFrom(BASE, USERS, '', 'uid=a'),
        scope: fc.integer({ min: 0, max: 3 }),
        sizeLimit: fc.constantFrom(0, 1, 200),
        typesOnly: fc.boolean(),
        before: fc.array(item, { maxLength: 2 }),
        after: fc.array(item, { maxLength: 2 }),
        uid: fc.constantFrom('uid', 'Uid'),
        value: plainValue,
        attrs: fc.array(fc.constantFrom('uid', 'cn', '*', '1.1', ''), { maxLength: 3 }),
      });
      type R = typeof req extends fc.Arbitrary<infer T> ? T : never;
      const build = (r: R) => op({ ...r, filter: AND(...r.before, equalityFilter(r.uid, r.value), ...r.after) });
      // The second request is the first with a new value and, in most runs, one field taken from another.
      const pair = fc.tuple(req, req, plainValue, fc.constantFrom<keyof R | null>(null, 'base', 'scope', 'sizeLimit', 'typesOnly', 'before', 'after', 'uid', 'attrs')).map(([a, other, value, field]) => [a, { ...a, value, ...(field ? { [field]: other[field] } : {}) }] as const);
      fc.assert(
        fc.property(pair, ([a, b]) => {
          const sa = shapeOf(ldapMessage(1, build(a)));
          const sb = shapeOf(ldapMessage(1, build(b)));
          if (!sa || !sb) return true;
          assert.equal(sb.value, b.value);
          // One key exactly when the requests are the same but for the value.
          assert.equal(sa.key === sb.key, build({ ...a, value: b.value }).equals(build(b)));
          return true;
        }),
        { numRuns: 3000 },
      );
    });

    it('takes member, uniqueMember and memberUid equalities as group lookups', () => {
      const dn = `uid=bob,${USERS}`;
      const nslcd = shapeOf(pdu({ base: BASE, scope: 2, filter: AND(equalityFilter('objectClass', 'posixGroup'), equalityFilter('memberUid', 'bob')), attrs: ['cn', 'memberUid'] }));
      assert.deepEqual(nslcd && { attr: nslcd.attr, value: nslcd.value }, { attr: 'memberuid', value: 'bob' });
      for (const desc of ['member', 'MEMBER', 'uniqueMember']) {
        const sh = shapeOf(pdu({ base: BASE, scope: 2, filter: AND(equalityFilter('objectClass', 'groupOfNames'), equalityFilter(desc, dn)), attrs: ['cn'] }));
        assert.deepEqual(sh && { attr: sh.attr, value: sh.value }, { attr: 'member', value: dn }, desc);
      }
      const keys = ['member', 'Member', 'uniqueMember', 'memberUid', 'uid'].map((d) => shapeOf(pdu({ base: BASE, scope: 2, filter: equalityFilter(d, 'x') }))?.key);
      assert.equal(new Set(keys).size, keys.length, 'each description spelt its own way is its own shape');
      // Two equalities a plan takes in one AND: neither is the value.
      assert.equal(shapeOf(pdu({ base: BASE, scope: 2, filter: AND(equalityFilter('uid', 'bob'), equalityFilter('member', dn)) })), null);
      assert.equal(shapeOf(pdu({ base: BASE, scope: 2, filter: equalityFilter('member', `uid=bob, ${USERS}`) })), null, 'a space: not plain');
      assert.equal(shapeOf(pdu({ base: BASE, scope: 2, filter: equalityFilter('memberUidx', 'bob') })), null);
    });

    it('never throws on a cut or garbled request', () => {
      const whole = pdu(sssd('alice'));
      fc.assert(
        fc.property(fc.integer({ min: 0, max: whole.length - 1 }), fc.integer({ min: 0, max: 255 }), fc.nat(whole.length), (at, byte, cut) => {
          const b = Buffer.from(whole);
          b[at] = byte;
          const c = b.subarray(0, Math.max(cut, 8));
          let env;
          try {
            env = readEnvelope(c);
          } catch {
            return true;
          }
          searchShape(c, env);
          return true;
        }),
        { numRuns: 3000 },
      );
    });
  });

  describe('prepare', () => {
    const tctx = (tree: ReturnType<typeof createTree>) => ({ tree, homeDirectoryPrefix: '/home', loginShell: '/bin/bash' });
    const planned = (r: Req, tree = createTree(ORG, 'dc=gatehouse,dc=local')) => {
      const b = pdu(r);
      const shape = shapeOf(b)!;
      assert.ok(shape, 'a shape');
      const plan = prepare(tree, tctx(tree), shape, decodeRequest(b));
      assert.equal(planFor(tree, shape), plan, 'remembered');
      return plan;
    };

    it('prepares users-only uid lookups below the organisation or the Users OU', () => {
      for (const r of [sssd('alice'), { ...sssd('alice'), base: USERS, scope: 1 }, { ...sssd('alice'), scope: 3 }, { base: BASE, scope: 2, filter: equalityFilter('uid', 'x') }]) {
        const plan = planned(r);
        assert.ok(plan, JSON.stringify({ ...r, filter: r.filter.toString('hex') }));
        assert.deepEqual(plan.attributes, r.attrs ?? []);
      }
    });

    it('prepares nothing where the answer is not the uid’s user alone', () => {
      const cases: Req[] = [
        { ...sssd('alice'), filter: AND(equalityFilter('objectClass', 'groupOfNames'), equalityFilter('uid', 'alice')) },
        { ...sssd('alice'), filter: AND(equalityFilter('cn', 'Alice'), equalityFilter('uid', 'alice')) },
        { ...sssd('alice'), filter: AND(equalityFilter('uid', 'alice'), equalityFilter('foo', 'bar')) },
        { ...sssd('alice'), scope: 0 },
        { ...sssd('alice'), scope: 1 },
        { ...sssd('alice'), base: USERS, scope: 0 },
        { ...sssd('alice'), base: `uid=alice,${USERS}` },
        { ...sssd('alice'), base: 'dc=elsewhere' },
        { ...sssd('alice'), base: '' },
        { ...sssd('alice'), deref: 9 },
      ];
      for (const r of cases) assert.equal(planned(r), null, JSON.stringify({ ...r, filter: r.filter.toString('hex') }));
    });

    it('prepares group lookups by member DN and by memberUid, all groups or the POSIX ones', () => {
      const dn = `uid=bob,${USERS}`;
      const cases: [Req, { byDn: boolean; exact: boolean; posixOnly: boolean; sizeLimit: number }][] = [
        [{ base: BASE, scope: 2, filter: AND(equalityFilter('objectClass', 'groupOfNames'), equalityFilter('member', dn)), attrs: ['cn'] }, { byDn: true, exact: false, posixOnly: false, sizeLimit: 0 }],
        [{ base: USERS, scope: 1, filter: equalityFilter('uniqueMember', `UID=Bob,${USERS}`), sizeLimit: 3 }, { byDn: true, exact: false, posixOnly: false, sizeLimit: 3 }],
        [{ base: BASE, scope: 2, filter: AND(equalityFilter('objectClass', 'posixGroup'), equalityFilter('memberUid', 'bob')), attrs: ['cn', 'memberUid'] }, { byDn: false, exact: true, posixOnly: true, sizeLimit: 0 }],
        [{ base: BASE, scope: 3, filter: equalityFilter('memberUid', 'bob') }, { byDn: false, exact: true, posixOnly: true, sizeLimit: 0 }],
        [{ base: BASE, scope: 2, filter: AND(equalityFilter('member', dn), equalityFilter('objectClass', 'posixGroup')) }, { byDn: true, exact: false, posixOnly: true, sizeLimit: 0 }],
      ];
      for (const [r, group] of cases) assert.deepEqual(planned(r)?.group, group, JSON.stringify({ ...r, filter: r.filter.toString('hex') }));
      assert.equal(planned(sssd('bob'))?.group, null, 'a uid lookup');
    });

    it('prepares no group lookup that asks more of the groups, and judges again a DN that names no user', () => {
      const dn = `uid=bob,${USERS}`;
      const cases: Req[] = [
        { base: BASE, scope: 2, filter: AND(equalityFilter('member', dn), equalityFilter('cn', 'staff')) },
        { base: BASE, scope: 2, filter: AND(equalityFilter('member', dn), presentFilter('description')) },
        { base: BASE, scope: 2, filter: AND(equalityFilter('objectClass', 'posixAccount'), equalityFilter('member', dn)) },
        { base: BASE, scope: 1, filter: equalityFilter('member', dn) },
        { base: `cn=staff,${USERS}`, scope: 0, filter: equalityFilter('member', dn) },
      ];
      for (const r of cases) assert.equal(planned(r), null, JSON.stringify({ ...r, filter: r.filter.toString('hex') }));
      const tree = createTree(ORG, 'dc=gatehouse,dc=local');
      for (const value of [`cn=staff,${USERS}`, USERS, `uid=bob,${BASE}`, 'uid=bob,dc=elsewhere', 'not-a-dn']) {
        const b = pdu({ base: BASE, scope: 2, filter: equalityFilter('member', value) });
        const shape = shapeOf(b)!;
        assert.equal(prepare(tree, tctx(tree), shape, decodeRequest(b)), null, value);
        assert.equal(planFor(tree, shape), undefined, `${value}: not remembered`);
      }
    });

    it('writes the audit trail’s filter text as the general path does, for any value', () => {
      fc.assert(
        fc.property(fc.constantFrom('uid', 'UID', 'uId'), fc.array(fc.constantFrom('top', 'posixAccount', 'person', 'shadowAccount'), { maxLength: 3 }), plainValue, plainValue, (desc, classes, first, other) => {
          const make = (v: string): Req => ({ base: BASE, scope: 2, filter: classes.length ? AND(...classes.map((c) => equalityFilter('objectClass', c)), equalityFilter(desc, v)) : equalityFilter(desc, v) });
          const plan = planned(make(first));
          assert.ok(plan);
          assert.equal(plan.filterBefore + other + plan.filterAfter, filterString(decodeRequest(pdu(make(other))).filter!));
        }),
        { numRuns: 300 },
      );
      fc.assert(
        fc.property(fc.constantFrom('member', 'uniqueMember', 'memberUid'), fc.constantFrom('groupOfNames', 'posixGroup', 'top'), plainValue, plainValue, (desc, cls, first, other) => {
          const value = (v: string) => (desc === 'memberUid' ? v : `uid=${v.replace(/[,+"<>;=#]/g, '_')},${USERS}`);
          const make = (v: string): Req => ({ base: BASE, scope: 2, filter: AND(equalityFilter('objectClass', cls), equalityFilter(desc, value(v))) });
          const plan = planned(make(first));
          assert.ok(plan?.group);
          assert.equal(plan.filterBefore + value(other) + plan.filterAfter, filterString(decodeRequest(pdu(make(other))).filter!));
        }),
        { numRuns: 300 },
      );
    });
  });
});
