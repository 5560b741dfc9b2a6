import assert from 'node:assert/strict';
import {
  ATTRIBUTE_TYPES,
  MATCHING_RULES,
  OBJECT_CLASSES,
  OPERATIONAL_ATTRIBUTE_NAMES,
  SYNTAX,
  SYNTAXES,
  attributeType,
  isValidValue,
  syntaxOf,
} from '../../../src/ldap/subschema.js';
import { createTree, SUBSCHEMA_DN } from '../../../src/ldap/tree.js';

/** The schema published at cn=Subschema (src/ldap/subschema.ts) and the tree's superiors (matchedDN). */
describe('LDAP subschema (RFC 4512 §4)', () => {
  const attributeNames = new Set(ATTRIBUTE_TYPES.flatMap((a) => a.names.map((n) => n.toLowerCase())));
  const ruleNames = new Set(MATCHING_RULES.map((m) => m.name));
  const syntaxOids = new Set(SYNTAXES.map((s) => s.oid));

  it('has unique OIDs and names', () => {
    const oids = [...ATTRIBUTE_TYPES.map((a) => a.oid), ...OBJECT_CLASSES.map((o) => o.oid), ...MATCHING_RULES.map((m) => m.oid)];
    assert.equal(new Set(oids).size, oids.length);
    const names = ATTRIBUTE_TYPES.flatMap((a) => a.names.map((n) => n.toLowerCase()));
    assert.equal(new Set(names).size, names.length);
  });

  it('resolves every name a description refers to within itself', () => {
    for (const a of ATTRIBUTE_TYPES) {
      assert.ok(a.sup || a.syntax, `${a.names[0]}: SUP or SYNTAX (RFC 4512 §4.1.2)`);
      if (a.sup) assert.ok(attributeNames.has(a.sup.toLowerCase()), `${a.names[0]}: SUP ${a.sup}`);
      for (const rule of [a.equality, a.ordering, a.substr]) if (rule) assert.ok(ruleNames.has(rule), `${a.names[0]}: ${rule}`);
      if (a.syntax) assert.ok(syntaxOids.has(a.syntax.replace(/\{\d+\}$/, '')), `${a.names[0]}: syntax ${a.syntax}`);
    }
    for (const m of MATCHING_RULES) assert.ok(syntaxOids.has(m.syntax), `${m.name}: syntax ${m.syntax}`);
    const classes = new Set(OBJECT_CLASSES.map((o) => o.name));
    for (const o of OBJECT_CLASSES) {
      if (o.sup) assert.ok(classes.has(o.sup), `${o.name}: SUP ${o.sup}`);
      for (const n of [...o.must, ...o.may]) assert.ok(attributeNames.has(n.toLowerCase()), `${o.name}: ${n}`);
    }
  });

  it('finds attribute types by any name, in any case, or by OID, ignoring options', () => {
    assert.equal(attributeType('UID')?.oid, '0.9.2342.19200300.100.1.1');
    assert.equal(attributeType('userid')?.names[0], 'uid');
    assert.equal(attributeType('2.5.4.3')?.names[0], 'cn');
    assert.equal(attributeType('cn;lang-en')?.names[0], 'cn');
    assert.equal(attributeType('totpSecret'), undefined);
  });

  it('inherits the syntax of a supertype (cn from name, member from distinguishedName)', () => {
    assert.equal(syntaxOf(attributeType('cn')!), SYNTAX.directoryString);
    assert.equal(syntaxOf(attributeType('member')!), SYNTAX.dn);
    assert.equal(syntaxOf(attributeType('mail')!), SYNTAX.ia5String);
  });

  it('declares gecos a Directory String: it holds names that are not ASCII', () => {
    assert.equal(syntaxOf(attributeType('gecos')!), SYNTAX.directoryString);
  });

  it('tells operational attribute types (RFC 4512 §3.4) from user ones', () => {
    for (const n of ['attributeTypes', 'objectClasses', 'ldapSyntaxes', 'matchingRules', 'entryUUID', 'createTimestamp', 'namingContexts', 'vendorName']) {
      assert.ok(OPERATIONAL_ATTRIBUTE_NAMES.has(n.toLowerCase()), n);
    }
    for (const n of ['uid', 'cn', 'memberOf', 'objectClass']) assert.ok(!OPERATIONAL_ATTRIBUTE_NAMES.has(n.toLowerCase()), n);
  });

  it('checks INTEGER, Boolean and DN assertion values (RFC 4517 §3.3)', () => {
    for (const v of ['0', '7001', '-5']) assert.ok(isValidValue(SYNTAX.integer, v), v);
    for (const v of ['', 'abc', '07', '-0', '+1', '1.5', ' 1']) assert.ok(!isValidValue(SYNTAX.integer, v), v);
    assert.ok(isValidValue(SYNTAX.boolean, 'TRUE'));
    assert.ok(!isValidValue(SYNTAX.boolean, 'true'));
    assert.ok(isValidValue(SYNTAX.dn, 'uid=a,ou=b'));
    assert.ok(!isValidValue(SYNTAX.dn, 'not a dn'));
    assert.ok(isValidValue(SYNTAX.directoryString, 'anything'));
  });
});

describe('LDAP tree superiors (matchedDN candidates, RFC 4511 §4.1.9)', () => {
  const tree = createTree('acme', 'dc=gatehouse,dc=local');
  const dnsOf = (dn: string) => tree.superiors(dn).map((l) => tree.dnOf(l));

  it('lists the entries Gatehouse could hold above a DN, nearest first', () => {
    assert.deepEqual(dnsOf(`cn=y,cn=x,uid=Alice,${tree.usersBase}`), [tree.userDn('alice'), tree.usersBase, tree.namingContext]);
    assert.deepEqual(dnsOf(`cn=x,cn=a\\,b,${tree.usersBase}`), [tree.groupDn('a,b'), tree.usersBase, tree.namingContext]);
    assert.deepEqual(dnsOf(`ou=Nope,${tree.namingContext}`), [tree.namingContext]);
    assert.deepEqual(dnsOf(`cn=x,ou=Nope,${tree.namingContext}`), [tree.namingContext]);
    assert.deepEqual(dnsOf(tree.namingContext), []);
    assert.deepEqual(dnsOf('cn=x,dc=gatehouse,dc=local'), []);
    assert.deepEqual(dnsOf('cn=x,cn=subschema'), [SUBSCHEMA_DN]);
  });

  it('locates cn=Subschema in any case', () => {
    assert.deepEqual(tree.locateString('CN=SubSchema'), { kind: 'subschema' });
    assert.equal(tree.locateString('cn=Subschema,dc=x').kind, 'outside');
  });
});
