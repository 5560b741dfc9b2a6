import { DnSyntaxError, parseDn } from './dn.js';

/**
 * The schema Gatehouse serves (RFC 4512 §4): the attribute types, object classes, matching rules
 * and syntaxes of the entries in entries.ts, with their standard definitions (RFC 4512, 4517,
 * 4519, 4524, 2307, 2798, 3045, 3672, 4530, 5020). Published in the subschema subentry
 * `cn=Subschema` (toSubschemaEntry) and used by compare to tell unknown attribute types and
 * invalid assertion values (undefinedAttributeType, invalidAttributeSyntax) from absent ones.
 *
 * Gatehouse is a read-only view, so object classes list in MAY only the attributes it defines
 * here: every name a description refers to resolves within this subschema.
 */

export type Usage = 'userApplications' | 'directoryOperation' | 'dSAOperation';

export interface AttributeTypeDef {
  oid: string;
  /** The first name is the one entries use. */
  names: string[];
  sup?: string;
  equality?: string;
  ordering?: string;
  substr?: string;
  syntax?: string;
  singleValue?: boolean;
  noUserModification?: boolean;
  usage?: Usage;
}

export interface ObjectClassDef {
  oid: string;
  name: string;
  sup?: string;
  kind: 'ABSTRACT' | 'STRUCTURAL' | 'AUXILIARY';
  must: string[];
  may: string[];
}

export interface MatchingRuleDef {
  oid: string;
  name: string;
  syntax: string;
}

export interface SyntaxDef {
  oid: string;
  desc: string;
}

/** RFC 4517 §3.3 syntax OIDs (and RFC 4530's UUID, RFC 3672's SubtreeSpecification). */
export const SYNTAX = {
  attributeTypeDescription: '1.3.6.1.4.1.1466.115.121.1.3',
  boolean: '1.3.6.1.4.1.1466.115.121.1.7',
  dn: '1.3.6.1.4.1.1466.115.121.1.12',
  directoryString: '1.3.6.1.4.1.1466.115.121.1.15',
  generalizedTime: '1.3.6.1.4.1.1466.115.121.1.24',
  ia5String: '1.3.6.1.4.1.1466.115.121.1.26',
  integer: '1.3.6.1.4.1.1466.115.121.1.27',
  matchingRuleDescription: '1.3.6.1.4.1.1466.115.121.1.30',
  objectClassDescription: '1.3.6.1.4.1.1466.115.121.1.37',
  oid: '1.3.6.1.4.1.1466.115.121.1.38',
  octetString: '1.3.6.1.4.1.1466.115.121.1.40',
  subtreeSpecification: '1.3.6.1.4.1.1466.115.121.1.45',
  ldapSyntaxDescription: '1.3.6.1.4.1.1466.115.121.1.54',
  substringAssertion: '1.3.6.1.4.1.1466.115.121.1.58',
  uuid: '1.3.6.1.1.16.1',
} as const;

export const SYNTAXES: SyntaxDef[] = [
  { oid: SYNTAX.attributeTypeDescription, desc: 'Attribute Type Description' },
  { oid: SYNTAX.boolean, desc: 'Boolean' },
  { oid: SYNTAX.dn, desc: 'Distinguished Name' },
  { oid: SYNTAX.directoryString, desc: 'Directory String' },
  { oid: SYNTAX.generalizedTime, desc: 'Generalized Time' },
  { oid: SYNTAX.ia5String, desc: 'IA5 String' },
  { oid: SYNTAX.integer, desc: 'INTEGER' },
  { oid: SYNTAX.matchingRuleDescription, desc: 'Matching Rule Description' },
  { oid: SYNTAX.objectClassDescription, desc: 'Object Class Description' },
  { oid: SYNTAX.oid, desc: 'OID' },
  { oid: SYNTAX.octetString, desc: 'Octet String' },
  { oid: SYNTAX.subtreeSpecification, desc: 'SubtreeSpecification' },
  { oid: SYNTAX.ldapSyntaxDescription, desc: 'LDAP Syntax Description' },
  { oid: SYNTAX.substringAssertion, desc: 'Substring Assertion' },
  { oid: SYNTAX.uuid, desc: 'UUID' },
];

/** RFC 4517 §4.2 (caseExactIA5SubstringsMatch: OpenLDAP's, for RFC 2307's memberUid; uuid*: RFC 4530 §3). */
export const MATCHING_RULES: MatchingRuleDef[] = [
  { oid: '2.5.13.0', name: 'objectIdentifierMatch', syntax: SYNTAX.oid },
  { oid: '2.5.13.1', name: 'distinguishedNameMatch', syntax: SYNTAX.dn },
  { oid: '2.5.13.2', name: 'caseIgnoreMatch', syntax: SYNTAX.directoryString },
  { oid: '2.5.13.5', name: 'caseExactMatch', syntax: SYNTAX.directoryString },
  { oid: '2.5.13.4', name: 'caseIgnoreSubstringsMatch', syntax: SYNTAX.substringAssertion },
  { oid: '2.5.13.13', name: 'booleanMatch', syntax: SYNTAX.boolean },
  { oid: '2.5.13.14', name: 'integerMatch', syntax: SYNTAX.integer },
  { oid: '2.5.13.15', name: 'integerOrderingMatch', syntax: SYNTAX.integer },
  { oid: '2.5.13.17', name: 'octetStringMatch', syntax: SYNTAX.octetString },
  { oid: '2.5.13.27', name: 'generalizedTimeMatch', syntax: SYNTAX.generalizedTime },
  { oid: '2.5.13.28', name: 'generalizedTimeOrderingMatch', syntax: SYNTAX.generalizedTime },
  { oid: '2.5.13.30', name: 'objectIdentifierFirstComponentMatch', syntax: SYNTAX.oid },
  { oid: '1.3.6.1.4.1.1466.109.114.1', name: 'caseExactIA5Match', syntax: SYNTAX.ia5String },
  { oid: '1.3.6.1.4.1.1466.109.114.2', name: 'caseIgnoreIA5Match', syntax: SYNTAX.ia5String },
  { oid: '1.3.6.1.4.1.1466.109.114.3', name: 'caseIgnoreIA5SubstringsMatch', syntax: SYNTAX.substringAssertion },
  { oid: '1.3.6.1.4.1.4203.1.2.1', name: 'caseExactIA5SubstringsMatch', syntax: SYNTAX.substringAssertion },
  { oid: '1.3.6.1.1.16.2', name: 'uuidMatch', syntax: SYNTAX.uuid },
  { oid: '1.3.6.1.1.16.3', name: 'uuidOrderingMatch', syntax: SYNTAX.uuid },
];

const text = (oid: string, ...names: string[]): AttributeTypeDef => ({
  oid,
  names,
  equality: 'caseIgnoreMatch',
  substr: 'caseIgnoreSubstringsMatch',
  syntax: SYNTAX.directoryString,
});
const subName = (oid: string, ...names: string[]): AttributeTypeDef => ({ oid, names, sup: 'name' });
const integer = (oid: string, name: string): AttributeTypeDef => ({
  oid,
  names: [name],
  equality: 'integerMatch',
  ordering: 'integerOrderingMatch',
  syntax: SYNTAX.integer,
  singleValue: true,
});
const ia5 = (oid: string, name: string, equality: string, substr?: string, singleValue = true): AttributeTypeDef => ({
  oid,
  names: [name],
  equality,
  ...(substr ? { substr } : {}),
  syntax: SYNTAX.ia5String,
  singleValue,
});
/** An operational attribute the server maintains (RFC 4512 §3.4). */
const op = (def: AttributeTypeDef, usage: Usage = 'directoryOperation'): AttributeTypeDef => ({ ...def, noUserModification: true, usage });
/** A subschema attribute (RFC 4512 §4.2): the server's own, values matched by their OID. */
const schemaAttr = (oid: string, name: string, syntax: string): AttributeTypeDef => ({
  oid,
  names: [name],
  equality: 'objectIdentifierFirstComponentMatch',
  syntax,
  usage: 'directoryOperation',
});
const rootDseAttr = (oid: string, name: string, syntax: string, equality?: string): AttributeTypeDef => ({
  oid,
  names: [name],
  ...(equality ? { equality } : {}),
  syntax,
  usage: 'dSAOperation',
});

export const ATTRIBUTE_TYPES: AttributeTypeDef[] = [
  // RFC 4512 §3.3, §3.4, §4.2, §5.1
  { oid: '2.5.4.0', names: ['objectClass'], equality: 'objectIdentifierMatch', syntax: SYNTAX.oid },
  op({ oid: '2.5.18.1', names: ['createTimestamp'], equality: 'generalizedTimeMatch', ordering: 'generalizedTimeOrderingMatch', syntax: SYNTAX.generalizedTime, singleValue: true }),
  op({ oid: '2.5.18.2', names: ['modifyTimestamp'], equality: 'generalizedTimeMatch', ordering: 'generalizedTimeOrderingMatch', syntax: SYNTAX.generalizedTime, singleValue: true }),
  op({ oid: '2.5.18.10', names: ['subschemaSubentry'], equality: 'distinguishedNameMatch', syntax: SYNTAX.dn, singleValue: true }),
  op({ oid: '2.5.21.9', names: ['structuralObjectClass'], equality: 'objectIdentifierMatch', syntax: SYNTAX.oid, singleValue: true }),
  schemaAttr('2.5.21.4', 'matchingRules', SYNTAX.matchingRuleDescription),
  schemaAttr('2.5.21.5', 'attributeTypes', SYNTAX.attributeTypeDescription),
  schemaAttr('2.5.21.6', 'objectClasses', SYNTAX.objectClassDescription),
  schemaAttr('1.3.6.1.4.1.1466.101.120.16', 'ldapSyntaxes', SYNTAX.ldapSyntaxDescription),
  rootDseAttr('1.3.6.1.4.1.1466.101.120.5', 'namingContexts', SYNTAX.dn),
  rootDseAttr('1.3.6.1.4.1.1466.101.120.7', 'supportedExtension', SYNTAX.oid),
  rootDseAttr('1.3.6.1.4.1.1466.101.120.13', 'supportedControl', SYNTAX.oid),
  rootDseAttr('1.3.6.1.4.1.1466.101.120.15', 'supportedLDAPVersion', SYNTAX.integer),
  // RFC 3674
  rootDseAttr('1.3.6.1.4.1.4203.1.3.5', 'supportedFeatures', SYNTAX.oid, 'objectIdentifierMatch'),
  // RFC 3045
  op({ oid: '1.3.6.1.1.4', names: ['vendorName'], equality: 'caseExactMatch', syntax: SYNTAX.directoryString, singleValue: true }, 'dSAOperation'),
  op({ oid: '1.3.6.1.1.5', names: ['vendorVersion'], equality: 'caseExactMatch', syntax: SYNTAX.directoryString, singleValue: true }, 'dSAOperation'),
  // X.501 hasSubordinates, as OpenLDAP defines it
  op({ oid: '2.5.18.9', names: ['hasSubordinates'], equality: 'booleanMatch', syntax: SYNTAX.boolean, singleValue: true }),
  // RFC 4530 §2.1, RFC 5020 §2
  op({ oid: '1.3.6.1.1.16.4', names: ['entryUUID'], equality: 'uuidMatch', ordering: 'uuidOrderingMatch', syntax: SYNTAX.uuid, singleValue: true }),
  op({ oid: '1.3.6.1.1.20', names: ['entryDN'], equality: 'distinguishedNameMatch', syntax: SYNTAX.dn, singleValue: true }),
  // RFC 3672 §2.3 (the subentry class requires it; cn=Subschema has none, as in OpenLDAP)
  { oid: '2.5.18.6', names: ['subtreeSpecification'], syntax: SYNTAX.subtreeSpecification, singleValue: true, usage: 'directoryOperation' },
  // RFC 4519 §2
  text('2.5.4.41', 'name'),
  subName('2.5.4.3', 'cn', 'commonName'),
  subName('2.5.4.4', 'sn', 'surname'),
  subName('2.5.4.42', 'givenName', 'gn'),
  subName('2.5.4.7', 'l', 'localityName'),
  subName('2.5.4.10', 'o', 'organizationName'),
  subName('2.5.4.11', 'ou', 'organizationalUnitName'),
  subName('2.5.4.12', 'title'),
  text('2.5.4.13', 'description'),
  { oid: '2.5.4.49', names: ['distinguishedName'], equality: 'distinguishedNameMatch', syntax: SYNTAX.dn },
  { oid: '2.5.4.31', names: ['member'], sup: 'distinguishedName' },
  // Never served (entries hold no secret); defined so that compare answers noSuchAttribute.
  { oid: '2.5.4.35', names: ['userPassword'], equality: 'octetStringMatch', syntax: SYNTAX.octetString },
  text('0.9.2342.19200300.100.1.1', 'uid', 'userid'),
  // RFC 4524 §2.16
  { oid: '0.9.2342.19200300.100.1.3', names: ['mail', 'rfc822Mailbox'], equality: 'caseIgnoreIA5Match', substr: 'caseIgnoreIA5SubstringsMatch', syntax: `${SYNTAX.ia5String}{256}` },
  // RFC 2798 §2
  { ...text('2.16.840.1.113730.3.1.241', 'displayName'), singleValue: true },
  text('2.16.840.1.113730.3.1.2', 'departmentNumber'),
  { ...text('2.16.840.1.113730.3.1.3', 'employeeNumber'), singleValue: true },
  // RFC 2307 §2.2
  integer('1.3.6.1.1.1.1.0', 'uidNumber'),
  integer('1.3.6.1.1.1.1.1', 'gidNumber'),
  // RFC 2307 gives gecos IA5 String, but Gatehouse's gecos is the user's name, which need not be
  // ASCII (Zoë Ångström): Directory String, as 389 Directory Server and FreeIPA declare it.
  { oid: '1.3.6.1.1.1.1.2', names: ['gecos'], equality: 'caseIgnoreMatch', substr: 'caseIgnoreSubstringsMatch', syntax: SYNTAX.directoryString, singleValue: true },
  ia5('1.3.6.1.1.1.1.3', 'homeDirectory', 'caseExactIA5Match'),
  ia5('1.3.6.1.1.1.1.4', 'loginShell', 'caseExactIA5Match'),
  integer('1.3.6.1.1.1.1.5', 'shadowLastChange'),
  ia5('1.3.6.1.1.1.1.12', 'memberUid', 'caseExactIA5Match', 'caseExactIA5SubstringsMatch', false),
  // OpenLDAP's memberOf overlay OID. A user attribute here: Gatehouse returns it with `*`.
  { oid: '1.2.840.113556.1.2.102', names: ['memberOf'], equality: 'distinguishedNameMatch', syntax: SYNTAX.dn },
];

export const OBJECT_CLASSES: ObjectClassDef[] = [
  // RFC 4512 §2.4.1, §4.2; RFC 3672 §2.4
  { oid: '2.5.6.0', name: 'top', kind: 'ABSTRACT', must: ['objectClass'], may: [] },
  { oid: '2.5.20.1', name: 'subschema', kind: 'AUXILIARY', must: [], may: ['objectClasses', 'attributeTypes', 'matchingRules', 'ldapSyntaxes'] },
  { oid: '2.5.17.0', name: 'subentry', sup: 'top', kind: 'STRUCTURAL', must: ['cn', 'subtreeSpecification'], may: [] },
  // RFC 4519 §3
  { oid: '2.5.6.4', name: 'organization', sup: 'top', kind: 'STRUCTURAL', must: ['o'], may: ['l', 'description'] },
  { oid: '2.5.6.5', name: 'organizationalUnit', sup: 'top', kind: 'STRUCTURAL', must: ['ou'], may: ['l', 'description'] },
  { oid: '2.5.6.6', name: 'person', sup: 'top', kind: 'STRUCTURAL', must: ['sn', 'cn'], may: ['userPassword', 'description'] },
  { oid: '2.5.6.7', name: 'organizationalPerson', sup: 'person', kind: 'STRUCTURAL', must: [], may: ['title', 'ou', 'l'] },
  // member MAY, not MUST (RFC 4519 §3.5 has MUST): a user group with no visible members is served
  // without member, and the schema must say so. 389 Directory Server and FreeIPA declare it the same way.
  { oid: '2.5.6.9', name: 'groupOfNames', sup: 'top', kind: 'STRUCTURAL', must: ['cn'], may: ['member', 'ou', 'o', 'description'] },
  // RFC 2798 §3
  {
    oid: '2.16.840.1.113730.3.2.2',
    name: 'inetOrgPerson',
    sup: 'organizationalPerson',
    kind: 'STRUCTURAL',
    must: [],
    may: ['departmentNumber', 'displayName', 'employeeNumber', 'givenName', 'mail', 'o', 'uid'],
  },
  // RFC 2307 §3. posixGroup is AUXILIARY as in RFC 2307bis: Gatehouse adds it to groupOfNames entries.
  { oid: '1.3.6.1.1.1.2.0', name: 'posixAccount', sup: 'top', kind: 'AUXILIARY', must: ['cn', 'uid', 'uidNumber', 'gidNumber', 'homeDirectory'], may: ['userPassword', 'loginShell', 'gecos', 'description'] },
  { oid: '1.3.6.1.1.1.2.1', name: 'shadowAccount', sup: 'top', kind: 'AUXILIARY', must: ['uid'], may: ['userPassword', 'shadowLastChange', 'description'] },
  { oid: '1.3.6.1.1.1.2.2', name: 'posixGroup', sup: 'top', kind: 'AUXILIARY', must: ['gidNumber'], may: ['userPassword', 'memberUid', 'description'] },
];

// ---------------------------------------------------------------------------------------------
// Descriptions (RFC 4512 §4.1)

const qdescrs = (names: string[]) => (names.length === 1 ? `'${names[0]}'` : `( ${names.map((n) => `'${n}'`).join(' ')} )`);
const oids = (list: string[]) => (list.length === 1 ? list[0]! : `( ${list.join(' $ ')} )`);
const part = (keyword: string, value: string | undefined) => (value ? ` ${keyword} ${value}` : '');
const flag = (keyword: string, on: boolean | undefined) => (on ? ` ${keyword}` : '');

/** AttributeTypeDescription (RFC 4512 §4.1.2). */
export function attributeTypeDescription(a: AttributeTypeDef): string {
  return (
    `( ${a.oid} NAME ${qdescrs(a.names)}` +
    part('SUP', a.sup) +
    part('EQUALITY', a.equality) +
    part('ORDERING', a.ordering) +
    part('SUBSTR', a.substr) +
    part('SYNTAX', a.syntax) +
    flag('SINGLE-VALUE', a.singleValue) +
    flag('NO-USER-MODIFICATION', a.noUserModification) +
    part('USAGE', a.usage && a.usage !== 'userApplications' ? a.usage : undefined) +
    ' )'
  );
}

/** ObjectClassDescription (RFC 4512 §4.1.1). */
export function objectClassDescription(o: ObjectClassDef): string {
  return (
    `( ${o.oid} NAME ${qdescrs([o.name])}` +
    part('SUP', o.sup) +
    ` ${o.kind}` +
    part('MUST', o.must.length > 0 ? oids(o.must) : undefined) +
    part('MAY', o.may.length > 0 ? oids(o.may) : undefined) +
    ' )'
  );
}

/** MatchingRuleDescription (RFC 4512 §4.1.3). */
export const matchingRuleDescription = (m: MatchingRuleDef): string => `( ${m.oid} NAME '${m.name}' SYNTAX ${m.syntax} )`;

/** SyntaxDescription (RFC 4512 §4.1.5). */
export const syntaxDescription = (s: SyntaxDef): string => `( ${s.oid} DESC '${s.desc}' )`;

/** The values of the subschema subentry's four schema attributes, built once. */
export const SCHEMA_VALUES = {
  attributeTypes: ATTRIBUTE_TYPES.map(attributeTypeDescription),
  objectClasses: OBJECT_CLASSES.map(objectClassDescription),
  matchingRules: MATCHING_RULES.map(matchingRuleDescription),
  ldapSyntaxes: SYNTAXES.map(syntaxDescription),
};

// ---------------------------------------------------------------------------------------------
// Lookups

const BY_NAME = new Map<string, AttributeTypeDef>();
for (const a of ATTRIBUTE_TYPES) {
  BY_NAME.set(a.oid, a);
  for (const n of a.names) BY_NAME.set(n.toLowerCase(), a);
}

/**
 * The attribute type an AttributeDescription names (RFC 4512 §2.5), by name in any case or by
 * OID, ignoring options; undefined for a type this server does not know.
 */
export function attributeType(description: string): AttributeTypeDef | undefined {
  return BY_NAME.get(description.split(';')[0]!.toLowerCase());
}

/**
 * The name entries use for an attribute type given by any of its names or its OID, lower-cased
 * (`commonName`, `2.5.4.3` → `cn`; `userid` → `uid`), without options; an unknown type as given,
 * lower-cased. Attribute types are the same whatever they are called (RFC 4512 §2.5, §1.4).
 */
export function canonicalAttributeName(description: string): string {
  const head = description.split(';')[0]!.toLowerCase();
  return BY_NAME.get(head)?.names[0]?.toLowerCase() ?? head;
}

const CLASS_BY_OID = new Map(OBJECT_CLASSES.map((c) => [c.oid, c.name]));

/**
 * An object class as objectIdentifierMatch compares it (RFC 4517 §4.2.26): its numeric OID stands
 * for the class's name (`2.16.840.1.113730.3.2.2` is `inetOrgPerson`); anything else as given.
 */
export function objectClassName(value: string): string {
  return CLASS_BY_OID.get(value.trim()) ?? value;
}

/** The syntax of an attribute type, inherited from its supertype when it names none (RFC 4512 §4.1.2). */
export function syntaxOf(a: AttributeTypeDef): string {
  for (let t: AttributeTypeDef | undefined = a, hops = 0; t && hops < 8; t = t.sup ? attributeType(t.sup) : undefined, hops++) {
    if (t.syntax) return t.syntax.replace(/\{\d+\}$/, '');
  }
  return SYNTAX.directoryString;
}

/**
 * The matching rule of one kind an attribute type has, inherited from its supertype when it names
 * none (RFC 4512 §4.1.2: `cn` has `name`'s rules); undefined when it has none of that kind.
 */
export function matchingRuleOf(a: AttributeTypeDef, kind: 'equality' | 'ordering' | 'substr'): string | undefined {
  for (let t: AttributeTypeDef | undefined = a, hops = 0; t && hops < 8; t = t.sup ? attributeType(t.sup) : undefined, hops++) {
    if (t[kind]) return t[kind];
  }
  return undefined;
}

/** Names of the operational attribute types (USAGE other than userApplications), lower-cased. */
export const OPERATIONAL_ATTRIBUTE_NAMES: ReadonlySet<string> = new Set(
  ATTRIBUTE_TYPES.filter((a) => a.usage && a.usage !== 'userApplications').flatMap((a) => a.names.map((n) => n.toLowerCase())),
);

/**
 * Is `value` a valid assertion value of the syntax? Checked for the syntaxes whose values
 * Gatehouse can tell apart (RFC 4517 §3.3.3 Boolean, §3.3.9 DN, §3.3.16 INTEGER, RFC 4530 UUID);
 * others accept any string.
 */
export function isValidValue(syntax: string, value: string): boolean {
  switch (syntax) {
    case SYNTAX.integer:
      return /^(?:0|-?[1-9]\d*)$/.test(value);
    case SYNTAX.boolean:
      return value === 'TRUE' || value === 'FALSE';
    case SYNTAX.uuid:
      // RFC 4530 §2.1: the RFC 4122 string form.
      return /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(value);
    case SYNTAX.dn:
      try {
        parseDn(value);
        return true;
      } catch (err) {
        if (err instanceof DnSyntaxError) return false;
        throw err;
      }
    default:
      return true;
  }
}
