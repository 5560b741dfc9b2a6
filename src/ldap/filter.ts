import type { LdapFilter } from '@ldapjs/filter';
import type { DirectoryFilter, GroupAttr, UserAttr } from '../core/directory/filter.js';
import { foldValue, parseDn } from './dn.js';
import { idOfEntryUuid, GROUP_OBJECT_CLASSES, USER_OBJECT_CLASSES } from './entries.js';
import { LdapError, RESULT } from './result-codes.js';
import { attributeType, canonicalAttributeName, isValidValue, matchingRuleOf, objectClassName, SYNTAX } from './subschema.js';
import type { Location, Tree } from './tree.js';
import { compareCodePoints } from '../util/code-point-order.js';
import { OldestFirst } from '../util/oldest-first.js';
import { decodeUtf8Strict } from '../util/utf8.js';

/**
 * LDAP filters (RFC 4515, as decoded from the wire) → DirectoryFilter, once per entry kind, so
 * that the store selects the entries.
 *
 * RFC 4511 §4.5.1.7 filters are three-valued: an unknown attribute or an unusable assertion is
 * Undefined, and NOT of Undefined is still Undefined (the entry does not match). Each node is
 * therefore translated into two conditions, "is TRUE" and "is FALSE"; Undefined is neither. An
 * entry matches when the root is TRUE.
 *
 * Matching rules follow each attribute: uid, mail, cn, sn, … caseIgnoreMatch; uidNumber and
 * gidNumber integerMatch; member/memberOf distinguishedNameMatch; extensible matches may ask for
 * caseExactMatch, integerMatch, distinguishedNameMatch and friends, and `:dn:` matches DN parts.
 */

type Kind = 'user' | 'group';
type F<A extends string> = DirectoryFilter<A>;

interface Tri<A extends string> {
  t: F<A>;
  f: F<A>;
}

const TRUE = { op: 'true' } as const;
const FALSE = { op: 'false' } as const;
const isTrue = <A extends string>(x: F<A>) => x.op === 'true';
const isFalse = <A extends string>(x: F<A>) => x.op === 'false';

function all<A extends string>(xs: F<A>[]): F<A> {
  if (xs.some(isFalse)) return FALSE;
  const rest = xs.filter((x) => !isTrue(x));
  if (rest.length === 0) return TRUE;
  return rest.length === 1 ? rest[0]! : { op: 'and', filters: rest };
}

function any<A extends string>(xs: F<A>[]): F<A> {
  if (xs.some(isTrue)) return TRUE;
  const rest = xs.filter((x) => !isFalse(x));
  if (rest.length === 0) return FALSE;
  return rest.length === 1 ? rest[0]! : { op: 'or', filters: rest };
}

function negate<A extends string>(x: F<A>): F<A> {
  if (isTrue(x)) return FALSE;
  if (isFalse(x)) return TRUE;
  return { op: 'not', filter: x };
}

/** A condition known for every entry (TRUE when `c`, else FALSE). */
const known = <A extends string>(c: F<A>): Tri<A> => ({ t: c, f: negate(c) });
const UNDEFINED: Tri<never> = { t: FALSE, f: FALSE };
const constant = <A extends string>(b: boolean): Tri<A> => (b ? { t: TRUE, f: FALSE } : { t: FALSE, f: TRUE });

/** One filter item, whatever its kind of assertion. */
interface Assertion {
  op: 'eq' | 'ge' | 'le' | 'approx' | 'present' | 'substr';
  value: string;
  initial?: string;
  any?: string[];
  final?: string;
  /** Case-exact comparison asked by an extensible match. */
  exact?: boolean;
  /** A case-ignoring rule named by an extensible match (caseIgnoreMatch, caseIgnoreIA5Match). */
  caseIgnore?: boolean;
}

type Syntax = 'text' | 'int' | 'dn';

interface AttrDef<A extends string> {
  syntax: Syntax;
  /** Translation of an assertion; returns a condition known for every entry, or UNDEFINED. */
  match(a: Assertion): Tri<A>;
}

/** Matching rules an extensible match may name (a Map: a rule named `constructor` is just unknown). */
const MATCHING_RULES = new Map<string, { syntax: Syntax; exact?: boolean }>([
  ['2.5.13.2', { syntax: 'text' }],
  ['caseignorematch', { syntax: 'text' }],
  ['1.3.6.1.4.1.1466.109.114.2', { syntax: 'text' }],
  ['caseignoreia5match', { syntax: 'text' }],
  ['2.5.13.5', { syntax: 'text', exact: true }],
  ['caseexactmatch', { syntax: 'text', exact: true }],
  ['1.3.6.1.4.1.1466.109.114.1', { syntax: 'text', exact: true }],
  ['caseexactia5match', { syntax: 'text', exact: true }],
  ['2.5.13.17', { syntax: 'text', exact: true }],
  ['octetstringmatch', { syntax: 'text', exact: true }],
  ['2.5.13.14', { syntax: 'int' }],
  ['integermatch', { syntax: 'int' }],
  ['2.5.13.8', { syntax: 'int' }],
  ['numericstringmatch', { syntax: 'int' }],
  ['2.5.13.1', { syntax: 'dn' }],
  ['distinguishednamematch', { syntax: 'dn' }],
]);

/**
 * An INTEGER assertion value (RFC 4517 §3.3.16: no leading zeros, no "-0"): the number, or where it
 * lies when no double holds it exactly; undefined when it is not an INTEGER (the filter item is
 * then Undefined, as compare answers invalidAttributeSyntax).
 */
function integerAssertion(value: string): number | 'above' | 'below' | undefined {
  const v = value.trim();
  if (!isValidValue(SYNTAX.integer, v)) return undefined;
  const n = Number(v);
  if (Number.isSafeInteger(n)) return n;
  return v.startsWith('-') ? 'below' : 'above';
}

function column<A extends string>(attr: A, syntax: 'text' | 'int'): AttrDef<A> {
  return {
    syntax,
    match(a) {
      switch (a.op) {
        case 'present':
          return known<A>({ op: 'present', attr });
        case 'eq':
        case 'approx': {
          if (syntax === 'int') {
            const n = integerAssertion(a.value);
            if (n === undefined) return UNDEFINED;
            // Stored values are small (uid/gid numbers): one beyond 2^53 equals none of them.
            return n === 'above' || n === 'below' ? constant(false) : known<A>({ op: 'eq', attr, value: n });
          }
          return known<A>(any(spaceVariants(a.value).map((value): F<A> => (a.exact ? { op: 'eq', attr, value, exact: true } : { op: 'eq', attr, value }))));
        }
        case 'ge':
        case 'le': {
          if (syntax !== 'int') return known<A>({ op: a.op === 'ge' ? 'gte' : 'lte', attr, value: foldValue(a.value) });
          const n = integerAssertion(a.value);
          if (n === undefined) return UNDEFINED;
          // Beyond 2^53 every stored value is on one side (RFC 4517 §3.3.16: INTEGER has no bound).
          if (n === 'above') return a.op === 'le' ? known<A>({ op: 'present', attr }) : constant(false);
          if (n === 'below') return a.op === 'ge' ? known<A>({ op: 'present', attr }) : constant(false);
          return known<A>({ op: a.op === 'ge' ? 'gte' : 'lte', attr, value: n });
        }
        case 'substr':
          if (syntax === 'int') return UNDEFINED;
          // An empty `any` piece constrains nothing (RFC 4515 has no syntax for one; BER can carry it).
          return known<A>({ op: 'substr', attr, any: (a.any ?? []).filter((x) => x !== ''), ...(a.initial ? { initial: a.initial } : {}), ...(a.final ? { final: a.final } : {}) });
      }
    },
  };
}

/** objectIdentifierMatch on object classes: an OID is its class's name, then case is ignored. */
const foldObjectClass = (v: string) => foldValue(objectClassName(v));

/** objectClass and other attributes whose values are the same for every entry of a kind. */
function constantValues<A extends string>(values: string[], extra: Record<string, F<A>> = {}, fold: (v: string) => string = foldValue): AttrDef<A> {
  const folded = values.map((v) => fold(v));
  const byValue = new Map(Object.entries(extra));
  return {
    syntax: 'text',
    match(a) {
      if (a.op === 'present') return constant(true);
      const v = fold(a.value);
      const special = byValue.get(v);
      if (a.op === 'eq' || a.op === 'approx') return special ? known(special) : constant(folded.includes(v));
      if (a.op === 'substr') {
        const pieces = fold === foldValue || fold === foldObjectClass ? foldSubstrings(a) : { initial: a.initial ?? '', any: a.any ?? [], final: a.final ?? '' };
        return constant(folded.some((x) => matchesSubstrings(x, pieces)));
      }
      return constant(folded.some((x) => (a.op === 'ge' ? compareCodePoints(x, v) >= 0 : compareCodePoints(x, v) <= 0)));
    },
  };
}

/** The pieces of a substring assertion (RFC 4511 §4.5.1.7.2), already case-folded as the value is. */
export interface Substrings {
  initial: string;
  any: readonly string[];
  final: string;
}

/**
 * Most `any` pieces one substring assertion may have; more is answered unwillingToPerform, like a
 * filter over the depth or node limits. Real clients send one or two (`*foo*`); the matcher is
 * linear per piece, so this only bounds the work one assertion can ask for, per entry and in SQL
 * (SQLite's LIKE tries every position of each `%`).
 */
export const MAX_SUBSTRING_ANY = 32;

function checkSubstringPieces(any: readonly unknown[] | undefined): void {
  if ((any?.length ?? 0) > MAX_SUBSTRING_ANY) throw new LdapError(RESULT.unwillingToPerform, 'filter too complex');
}

const foldSubstrings = (a: { initial?: string; any?: readonly string[]; final?: string }): Substrings => ({
  initial: foldValue(a.initial ?? ''),
  any: (a.any ?? []).map(foldValue),
  final: foldValue(a.final ?? ''),
});

/**
 * Does `value` match the substring assertion? `initial` at the start, each `any` piece in order,
 * `final` at the end, none overlapping (RFC 4517 §4.2.4 caseIgnoreSubstringsMatch). Each piece is
 * searched for once, from where the previous one ended: the leftmost occurrence leaves the most
 * room for the rest, so no choice ever needs revisiting. (A regular expression `^a.*.*.*b$`
 * backtracks exponentially in the number of pieces in V8: seven empty pieces took 13 s.)
 */
export function matchesSubstrings(value: string, s: Substrings): boolean {
  if (value.length < s.initial.length + s.final.length || !value.startsWith(s.initial)) return false;
  // `any` pieces must lie between the end of `initial` and the start of `final`.
  const end = value.length - s.final.length;
  let cursor = s.initial.length;
  for (const piece of s.any) {
    if (piece === '') continue;
    const at = value.indexOf(piece, cursor);
    if (at < 0 || at + piece.length > end) return false;
    cursor = at + piece.length;
  }
  return value.endsWith(s.final);
}

/** Code point order, as the store sorts text (util/code-point-order.ts). */
export { compareCodePoints };

/** DN-valued attributes (member, memberOf, entryDN): the DN must name an entry of the right kind. */
function dnValued<A extends string>(tree: Tree, accept: (loc: Location) => F<A> | null, presentAs: F<A>): AttrDef<A> {
  return {
    syntax: 'dn',
    match(a) {
      if (a.op === 'present') return known(presentAs);
      if (a.op !== 'eq' && a.op !== 'approx') return UNDEFINED;
      let loc: Location;
      try {
        loc = tree.locateString(a.value);
      } catch {
        return UNDEFINED;
      }
      const c = accept(loc);
      return c ? known(c) : constant(false);
    },
  };
}

/** GeneralizedTime (RFC 4517 §3.3.13) → epoch ms, or null. Fractions and offsets are accepted. */
export function parseGeneralizedTime(v: string): number | null {
  const m = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})?(\d{2})?(?:[.,]\d+)?(Z|[+-]\d{2}(?:\d{2})?)$/.exec(v.trim());
  if (!m) return null;
  const [, y, mo, d, h, mi = '00', se = '00', zone] = m;
  const iso = `${y}-${mo}-${d}T${h}:${mi}:${se}${zone === 'Z' ? 'Z' : `${zone!.slice(0, 3)}:${zone!.slice(3) || '00'}`}`;
  const t = Date.parse(iso);
  return Number.isNaN(t) ? null : t;
}

/**
 * An attribute holding a time (or a day number) derived from a date column: equality matches the
 * whole unit (a second, a day), ordering compares against its start or end.
 */
function timeValued<A extends string>(attr: A, parse: (v: string) => number | null, unitMs: number): AttrDef<A> {
  return {
    syntax: 'text',
    match(a) {
      if (a.op === 'present') return known<A>({ op: 'present', attr });
      if (a.op === 'substr') return UNDEFINED;
      const t = parse(a.value);
      if (t === null) return UNDEFINED;
      const start = Math.floor(t / unitMs) * unitMs;
      if (a.op === 'ge') return known<A>({ op: 'gte', attr, value: start });
      if (a.op === 'le') return known<A>({ op: 'lt', attr, value: start + unitMs });
      return known<A>({ op: 'and', filters: [{ op: 'gte', attr, value: start }, { op: 'lt', attr, value: start + unitMs }] });
    },
  };
}

const DAY_MS = 86_400_000;
const days = (v: string) => (/^\d{1,9}$/.test(v.trim()) ? Number(v.trim()) * DAY_MS : null);

export interface TranslationContext {
  tree: Tree;
  homeDirectoryPrefix: string;
  loginShell: string;
}

/**
 * An attribute an entry shows from one column, or from another when that one is empty: `sn` is the
 * last name or else the username, `displayName` the display name or else the cn (toUserEntry in
 * entries.ts). Each assertion asks the same of the shown value: the column's condition where the
 * column has a value, the fallback's where it has none. The fallback always has a value, so
 * presence is always TRUE.
 */
function orElse<A extends string>(attr: A, fallback: AttrDef<A>): AttrDef<A> {
  const own = column(attr, 'text');
  const has: F<A> = { op: 'present', attr };
  const lacks = negate(has);
  return {
    syntax: 'text',
    match(a) {
      if (a.op === 'present') return constant(true);
      const mine = own.match(a);
      const other = fallback.match(a);
      return {
        t: any([all([has, mine.t]), all([lacks, other.t])]),
        f: any([all([has, mine.f]), all([lacks, other.f])]),
      };
    },
  };
}

/** RFC 4530 UUID syntax (RFC 4122 string form). */
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * entryUUID (uuidMatch, RFC 4530): a value that is no UUID is invalid for the syntax, so the item is
 * Undefined (its NOT matches nothing either); a UUID no entry here has is FALSE.
 */
function entryUuid<A extends string>(): AttrDef<A> {
  return {
    syntax: 'text',
    match(a) {
      if (a.op === 'present') return constant(true);
      if (a.op !== 'eq' || !UUID.test(a.value.trim())) return UNDEFINED;
      const id = idOfEntryUuid(a.value.trim());
      return id ? known({ op: 'eq', attr: 'id', value: id } as F<A>) : constant(false);
    },
  };
}

/**
 * The attribute definitions for one translation context, built once per context rather than once
 * per search (about 40 closures each: 12% of a uid search's main-thread time when rebuilt). The
 * context holds the tree (replaced when the organisation changes) and two settings.
 */
interface Definitions {
  homeDirectoryPrefix: string;
  loginShell: string;
  user: ReadonlyMap<string, AttrDef<UserAttr>>;
  group: ReadonlyMap<string, AttrDef<GroupAttr>>;
}
const definitionsByTree = new WeakMap<Tree, Definitions>();
function definitions(ctx: TranslationContext): Definitions {
  let d = definitionsByTree.get(ctx.tree);
  if (!d || d.homeDirectoryPrefix !== ctx.homeDirectoryPrefix || d.loginShell !== ctx.loginShell) {
    const own: TranslationContext = { tree: ctx.tree, homeDirectoryPrefix: ctx.homeDirectoryPrefix, loginShell: ctx.loginShell };
    d = { homeDirectoryPrefix: own.homeDirectoryPrefix, loginShell: own.loginShell, user: userAttributes(own), group: groupAttributes(own) };
    definitionsByTree.set(ctx.tree, d);
  }
  return d;
}

function userAttributes(ctx: TranslationContext): Map<string, AttrDef<UserAttr>> {
  const text = (a: UserAttr) => column(a, 'text');
  const sn = orElse<UserAttr>('lastname', text('username'));
  const displayName = orElse<UserAttr>('displayname', text('cn'));
  // homeDirectory and loginShell are IA5 strings compared with caseExactIA5Match (RFC 2307 §2.2):
  // `/HOME/alice` is another directory.
  const home: AttrDef<UserAttr> = {
    syntax: 'text',
    match(a) {
      if (a.op === 'present') return constant(true);
      const prefix = ctx.homeDirectoryPrefix;
      if ((a.op === 'eq' || a.op === 'approx') && a.value.startsWith(prefix)) {
        return known({ op: 'eq', attr: 'username', value: a.value.slice(prefix.length), exact: true });
      }
      return a.op === 'eq' ? constant(false) : UNDEFINED;
    },
  };
  return new Map(Object.entries({
    objectclass: constantValues(USER_OBJECT_CLASSES, {}, foldObjectClass),
    uid: text('username'),
    userid: text('username'),
    cn: text('cn'),
    commonname: text('cn'),
    sn,
    surname: sn,
    givenname: text('firstname'),
    gn: text('firstname'),
    displayname: displayName,
    mail: text('email'),
    email: text('email'),
    uidnumber: column('unixUid', 'int'),
    gidnumber: column('unixGuid', 'int'),
    homedirectory: home,
    loginshell: constantValues([ctx.loginShell], {}, (v) => v),
    title: text('jobTitle'),
    departmentnumber: text('department'),
    o: text('company'),
    l: text('location'),
    employeenumber: text('employeeIdentifier'),
    description: text('description'),
    gecos: text('cn'),
    shadowlastchange: timeValued<UserAttr>('passwordChangedAt', days, DAY_MS),
    createtimestamp: timeValued<UserAttr>('createdAt', parseGeneralizedTime, 1000),
    modifytimestamp: timeValued<UserAttr>('updatedAt', parseGeneralizedTime, 1000),
    structuralobjectclass: constantValues(['inetOrgPerson'], {}, foldObjectClass),
    hassubordinates: constantValues(['FALSE']),
    subschemasubentry: constantValues(['cn=Subschema']),
    memberof: dnValued<UserAttr>(ctx.tree, (loc) => (loc.kind === 'group' ? any(spaceVariants(loc.name).map((v): F<UserAttr> => ({ op: 'eq', attr: 'memberOfName', value: foldValue(v) }))) : null), {
      op: 'present',
      attr: 'memberOfName',
    }),
    entrydn: dnValued<UserAttr>(ctx.tree, (loc) => (loc.kind === 'user' ? { op: 'eq', attr: 'username', value: loc.username } : null), TRUE),
    entryuuid: entryUuid<UserAttr>(),
  }));
}

function groupAttributes(ctx: TranslationContext): Map<string, AttrDef<GroupAttr>> {
  const members = dnValued<GroupAttr>(ctx.tree, (loc) => (loc.kind === 'user' ? { op: 'eq', attr: 'memberName', value: loc.username } : null), {
    op: 'present',
    attr: 'memberName',
  });
  const cn: AttrDef<GroupAttr> = {
    syntax: 'text',
    match(a) {
      return {
        t: any([column<GroupAttr>('name', 'text').match(a).t, column<GroupAttr>('posixName', 'text').match(a).t]),
        f: all([column<GroupAttr>('name', 'text').match(a).f, column<GroupAttr>('posixName', 'text').match(a).f]),
      };
    },
  };
  return new Map(Object.entries({
    objectclass: constantValues<GroupAttr>(GROUP_OBJECT_CLASSES, { posixgroup: { op: 'present', attr: 'posixGid' } }, foldObjectClass),
    cn,
    commonname: cn,
    description: column('description', 'text'),
    mail: column('email', 'text'),
    gidnumber: column('posixGid', 'int'),
    createtimestamp: timeValued<GroupAttr>('createdAt', parseGeneralizedTime, 1000),
    modifytimestamp: timeValued<GroupAttr>('updatedAt', parseGeneralizedTime, 1000),
    structuralobjectclass: constantValues(['groupOfNames'], {}, foldObjectClass),
    hassubordinates: constantValues(['FALSE']),
    subschemasubentry: constantValues(['cn=Subschema']),
    member: members,
    uniquemember: members,
    // memberUid exists only on POSIX groups.
    memberuid: {
      syntax: 'text',
      match(a) {
        const posix: F<GroupAttr> = { op: 'present', attr: 'posixGid' };
        if (a.op === 'present') return known(all<GroupAttr>([posix, { op: 'present', attr: 'memberName' }]));
        // caseExactIA5Match (RFC 2307 §2.2): usernames are stored lower-case, so `ALICE` names nobody.
        if (a.op === 'eq' && !a.caseIgnore) {
          const names = spaceVariants(a.value.normalize('NFC')).map((value): F<GroupAttr> => ({ op: 'eq', attr: 'memberName', value, exact: true }));
          return known(all<GroupAttr>([posix, any(names)]));
        }
        if (a.op === 'approx' || (a.op === 'eq' && a.caseIgnore)) {
          return known(all<GroupAttr>([posix, { op: 'eq', attr: 'memberName', value: foldValue(a.value) }]));
        }
        if (a.op === 'substr') {
          // caseExactIA5SubstringsMatch, the schema's SUBSTR rule: on usernames, stored lower-case,
          // a piece with an upper-case letter matches nobody.
          const pieces = [a.initial ?? '', ...(a.any ?? []), a.final ?? ''];
          if (pieces.some((x) => x !== foldValue(x))) return known(all<GroupAttr>([posix, { op: 'false' }]));
          const any = (a.any ?? []).filter((x) => x !== '');
          return known(all<GroupAttr>([posix, { op: 'substr', attr: 'memberName', any, ...(a.initial ? { initial: a.initial } : {}), ...(a.final ? { final: a.final } : {}) }]));
        }
        return UNDEFINED;
      },
    },
    entrydn: dnValued<GroupAttr>(ctx.tree, (loc) => (loc.kind === 'group' ? groupNamed(loc.name) : null), TRUE),
    entryuuid: entryUuid<GroupAttr>(),
  }));
}

const MAX_DEPTH = 64;
const MAX_NODES = 2000;

function valueOf(v: string | Buffer | undefined): string {
  if (v === undefined) return '';
  return Buffer.isBuffer(v) ? v.toString('utf8') : v;
}

/** `:dn:` — does a component of the entry's DN have this attribute and value? */
function dnComponent<A extends string>(kind: Kind, ctx: TranslationContext, type: string, value: string, exact: boolean): Tri<A> {
  const t = typeOf(type);
  // A matching rule named in the assertion applies to the DN's values too (RFC 4511 §4.5.1.7.7).
  const same = (dnValue: string) => (exact ? dnValue === value : foldValue(dnValue) === foldValue(value));
  if (t === 'ou') return constant(same('Users'));
  if (t === 'o') return constant(same(ctx.tree.orgId));
  if (t === 'dc') return constant(parseDn(ctx.tree.namingContext).some((rdn) => rdn.some((a) => a.type === 'dc' && same(a.value))));
  if (kind === 'user' && t === 'uid') return known((exact ? { op: 'eq', attr: 'username', value, exact: true } : { op: 'eq', attr: 'username', value: foldValue(value) }) as F<A>);
  if (kind === 'group' && t === 'cn') return known({ op: 'eq', attr: 'name', value, ...(exact ? { exact: true } : {}) } as F<A>);
  return constant(false);
}

/**
 * Attribute types this server knows. An assertion on a known type that an entry does not have is
 * FALSE for that entry (its NOT is TRUE); only an unknown type is Undefined (RFC 4511 §4.5.1.7).
 */
const KNOWN_ATTRIBUTES = new Set([
  'objectclass', 'uid', 'userid', 'cn', 'commonname', 'sn', 'surname', 'givenname', 'gn', 'displayname', 'mail', 'email',
  'uidnumber', 'gidnumber', 'homedirectory', 'loginshell', 'gecos', 'title', 'departmentnumber', 'o', 'l', 'employeenumber',
  'description', 'memberof', 'member', 'uniquemember', 'memberuid', 'ou', 'entrydn', 'entryuuid', 'createtimestamp',
  'modifytimestamp', 'structuralobjectclass', 'hassubordinates', 'subschemasubentry', 'shadowlastchange', 'namingcontexts',
  'supportedldapversion', 'supportedcontrol', 'supportedextension', 'supportedfeatures', 'vendorname', 'vendorversion',
]);

const INTEGER_ATTRIBUTES = new Set(['uidnumber', 'gidnumber', 'shadowlastchange', 'supportedldapversion']);
const DN_ATTRIBUTES = new Set(['memberof', 'member', 'uniquemember', 'entrydn', 'namingcontexts', 'subschemasubentry']);

function isKnown(attribute: string): boolean {
  return KNOWN_ATTRIBUTES.has(typeOf(attribute));
}

/**
 * Does the attribute's type have an ordering (or substrings) matching rule in the schema served at
 * cn=Subschema? Without one, the item is Undefined (RFC 4511 §4.5.1.7: the server cannot decide),
 * as slapd answers: `(cn>=m)` or `(loginShell=*sh)` match nothing, and neither do their negations.
 * A type the schema does not describe is left to its definition here.
 */
function hasRule(attribute: string, kind: 'ordering' | 'substr'): boolean {
  const t = attributeType(typeOf(attribute));
  return !t || matchingRuleOf(t, kind) !== undefined;
}

/** Is the assertion value valid for the attribute's syntax (an integer, a DN)? Invalid is Undefined. */
function validAssertion(attribute: string, value: string | undefined): boolean {
  if (value === undefined) return true;
  const name = typeOf(attribute);
  if (INTEGER_ATTRIBUTES.has(name)) return isValidValue(SYNTAX.integer, value.trim());
  if (DN_ATTRIBUTES.has(name)) return isDnSyntax(value);
  return true;
}

/**
 * DN syntax of assertion values, remembered for recent short strings: a search checks its filter
 * once when translating it and again against every entry it returns. Bounded like the tree's DN
 * cache, so a hostile client cannot grow it.
 */
const dnSyntax = new Map<string, boolean>();
const dnSyntaxOldest = new OldestFirst(dnSyntax);
function isDnSyntax(value: string): boolean {
  let ok = dnSyntax.get(value);
  if (ok === undefined) {
    try {
      parseDn(value);
      ok = true;
    } catch {
      ok = false;
    }
    if (value.length <= 256) {
      dnSyntax.set(value, ok);
      dnSyntaxOldest.trim(10_000);
    }
  }
  return ok;
}

/**
 * For an attribute missing from this kind of entry: FALSE if the server knows the type and the
 * assertion value suits it, else Undefined.
 */
const absent = <A extends string>(attribute: string, value?: string): Tri<A> =>
  isKnown(attribute) && validAssertion(attribute, value) ? constant(false) : UNDEFINED;

const typeByDescription = new Map<string, string>();
const typeByDescriptionOldest = new OldestFirst(typeByDescription);
/**
 * An attribute description's type (RFC 4512 §2.5), case-folded, by name or by numeric OID
 * (`2.5.4.3` → `cn`), without its options.
 */
const typeOf = (attribute: string): string => {
  let t = typeByDescription.get(attribute);
  if (t === undefined) {
    const head = attribute.toLowerCase().split(';')[0]!;
    // Names this file knows stay as they are (`email`, `gecos`); any other name or OID of a type the
    // schema defines (`rfc822Mailbox`, `organizationalUnitName`, `2.5.4.3`) becomes the entries' name.
    t = KNOWN_ATTRIBUTES.has(head) ? head : canonicalAttributeName(head);
    // Remembered for short descriptions, bounded as the DN syntax cache is: a filter names a few
    // types, each looked up several times per search and per fixed entry it is matched against.
    if (attribute.length <= 64) {
      typeByDescription.set(attribute, t);
      typeByDescriptionOldest.trim(1_000);
    }
  }
  return t;
};

/**
 * `cn;lang-en` names a subtype of cn (RFC 4512 §2.5.2) that no entry here has values of: the item is
 * FALSE, not a match on plain cn (which would answer `(cn;lang-en=x)` with entries that show no
 * such attribute).
 */
const hasOptions = (attribute: string) => attribute.includes(';');

/**
 * RFC 4518 §2.6.1 insignificant space handling for caseIgnoreMatch and caseExactMatch: leading and
 * trailing spaces do not count and inner runs count as one, so `(cn=  alice   liddell )` names
 * "Alice Liddell".
 */
const squeezeSpaces = (v: string) => (/^ | $| {2}/.test(v) ? v.replace(/ +/g, ' ').trim() : v);

/**
 * The values an equality assertion names: as given, and with its spaces squeezed when that differs.
 * Stored values are not squeezed (the store compares them as entered), so a value entered with a
 * double space must still match itself; the squeezed form finds the common single-spaced one.
 */
const spaceVariants = (v: string): string[] => {
  const s = squeezeSpaces(v);
  return s === v ? [v] : [v, s];
};

/**
 * The group a `cn=` RDN value names, compared as cn's caseIgnoreMatch compares (RFC 4518 §2.6.1:
 * `cn=eng  team` names "Eng Team", as in filters), for DN lookups: search bases, compare, entryDN.
 */
export function groupNamed(name: string): DirectoryFilter<GroupAttr> {
  return any(spaceVariants(name).map((value): F<GroupAttr> => ({ op: 'eq', attr: 'name', value })));
}

function translateNode<A extends string>(
  f: LdapFilter,
  attrs: ReadonlyMap<string, AttrDef<A>>,
  kind: Kind,
  ctx: TranslationContext,
  depth: number,
  budget: { nodes: number },
): Tri<A> {
  if (depth > MAX_DEPTH || --budget.nodes < 0) throw new LdapError(RESULT.unwillingToPerform, 'filter too complex');
  // A Map, never an object index: `(constructor=x)` or `(__proto__=*)` must name no definition.
  const attrDef = () => attrs.get(typeOf(f.attribute));
  if (f.type !== 'AndFilter' && f.type !== 'OrFilter' && f.type !== 'NotFilter' && f.attribute && hasOptions(f.attribute)) {
    return isKnown(f.attribute) || f.type === 'PresenceFilter' ? constant(false) : UNDEFINED;
  }
  switch (f.type) {
    case 'AndFilter': {
      const parts = f.clauses.map((c) => translateNode(c, attrs, kind, ctx, depth + 1, budget));
      return { t: all(parts.map((p) => p.t)), f: any(parts.map((p) => p.f)) };
    }
    case 'OrFilter': {
      const parts = f.clauses.map((c) => translateNode(c, attrs, kind, ctx, depth + 1, budget));
      return { t: any(parts.map((p) => p.t)), f: all(parts.map((p) => p.f)) };
    }
    case 'NotFilter': {
      const inner = translateNode(f.filter, attrs, kind, ctx, depth + 1, budget);
      return { t: inner.f, f: inner.t };
    }
    case 'PresenceFilter':
      // RFC 4511 §4.5.1.7.5: FALSE when the entry has no such attribute, whether or not the
      // server knows the type (only the other items are Undefined for an unknown type, §4.5.1.7).
      return attrDef()?.match({ op: 'present', value: '' }) ?? constant(false);
    case 'EqualityFilter':
      return attrDef()?.match({ op: 'eq', value: valueOf(f.value) }) ?? absent(f.attribute, valueOf(f.value));
    case 'ApproximateFilter':
      return attrDef()?.match({ op: 'approx', value: valueOf(f.value) }) ?? absent(f.attribute, valueOf(f.value));
    case 'GreaterThanEqualsFilter':
      if (!hasRule(f.attribute, 'ordering')) return UNDEFINED;
      return attrDef()?.match({ op: 'ge', value: valueOf(f.value) }) ?? absent(f.attribute, valueOf(f.value));
    case 'LessThanEqualsFilter':
      if (!hasRule(f.attribute, 'ordering')) return UNDEFINED;
      return attrDef()?.match({ op: 'le', value: valueOf(f.value) }) ?? absent(f.attribute, valueOf(f.value));
    case 'SubstringFilter':
      checkSubstringPieces(f.any);
      if (!hasRule(f.attribute, 'substr')) return UNDEFINED;
      return attrDef()?.match({ op: 'substr', value: '', initial: f.initial || '', any: f.any ?? [], final: f.final || '' }) ?? absent(f.attribute);
    case 'ExtensibleFilter': {
      const value = valueOf(f.value);
      const rule = f.matchingRule ? MATCHING_RULES.get(f.matchingRule.toLowerCase()) : undefined;
      if (f.matchingRule && !rule) return UNDEFINED;
      const exact = rule?.exact === true;
      const named = f.attribute ? attrs.get(typeOf(f.attribute)) : undefined;
      const candidates: AttrDef<A>[] = f.attribute ? (named ? [named] : []) : [...attrs.values()].filter((d) => !rule || d.syntax === rule.syntax);
      const parts = candidates
        .filter((d) => !rule || d.syntax === rule.syntax || (rule.syntax === 'text' && d.syntax === 'dn'))
        .map((d) => d.match({ op: 'eq', value, exact, caseIgnore: rule !== undefined && rule.syntax === 'text' && !exact }));
      if (f.dnAttributes) {
        if (f.attribute) parts.push(dnComponent<A>(kind, ctx, f.attribute, value, exact));
        else for (const t of ['uid', 'cn', 'ou', 'o', 'dc']) parts.push(dnComponent<A>(kind, ctx, t, value, exact));
      }
      if (parts.length === 0) return UNDEFINED;
      return { t: any(parts.map((p) => p.t)), f: all(parts.map((p) => p.f)) };
    }
  }
}

/** The condition for users to match `f`, or `{ op: 'false' }` when none can. */
export function toUserFilter(f: LdapFilter, ctx: TranslationContext): DirectoryFilter<UserAttr> {
  return translateNode(f, definitions(ctx).user, 'user', ctx, 0, { nodes: MAX_NODES }).t;
}

/** The condition for user groups to match `f`, or `{ op: 'false' }` when none can. */
export function toGroupFilter(f: LdapFilter, ctx: TranslationContext): DirectoryFilter<GroupAttr> {
  return translateNode(f, definitions(ctx).group, 'group', ctx, 0, { nodes: MAX_NODES }).t;
}

/**
 * Evaluates a filter against one entry held in memory (the Root DSE, the organisation and the
 * Users OU: a handful of fixed entries, never the users or groups). Same three-valued logic.
 */
export function matchesEntry(f: LdapFilter, attributes: ReadonlyMap<string, readonly string[]>, depth = 0): boolean | undefined {
  if (depth > MAX_DEPTH) throw new LdapError(RESULT.unwillingToPerform, 'filter too complex');
  if (f.type === 'SubstringFilter') checkSubstringPieces(f.any);
  const values = () => attributes.get(typeOf(f.attribute));
  const type = f.attribute ? typeOf(f.attribute) : '';
  const fold = type === 'objectclass' || type === 'structuralobjectclass' ? foldObjectClass : foldValue;
  if (f.type !== 'AndFilter' && f.type !== 'OrFilter' && f.type !== 'NotFilter' && f.attribute) {
    if (!isKnown(f.attribute) && !attributes.has(typeOf(f.attribute))) return f.type === 'PresenceFilter' ? false : undefined;
    if ((f.type === 'GreaterThanEqualsFilter' || f.type === 'LessThanEqualsFilter') && !hasRule(f.attribute, 'ordering')) return undefined;
    if (f.type === 'SubstringFilter' && !hasRule(f.attribute, 'substr')) return undefined;
    // A subtype with options (`cn;lang-en`) has no values here (see hasOptions).
    if (hasOptions(f.attribute)) return false;
  }
  switch (f.type) {
    case 'AndFilter': {
      const r = f.clauses.map((c) => matchesEntry(c, attributes, depth + 1));
      return r.includes(false) ? false : r.includes(undefined) ? undefined : true;
    }
    case 'OrFilter': {
      const r = f.clauses.map((c) => matchesEntry(c, attributes, depth + 1));
      return r.includes(true) ? true : r.includes(undefined) ? undefined : false;
    }
    case 'NotFilter': {
      const r = matchesEntry(f.filter, attributes, depth + 1);
      return r === undefined ? undefined : !r;
    }
    case 'PresenceFilter':
      return values() !== undefined;
    case 'EqualityFilter':
    case 'ApproximateFilter': {
      if (!validAssertion(f.attribute, valueOf(f.value))) return undefined;
      const vs = values();
      return vs ? vs.some((v) => fold(v) === fold(valueOf(f.value))) : false;
    }
    case 'GreaterThanEqualsFilter':
    case 'LessThanEqualsFilter': {
      if (!validAssertion(f.attribute, valueOf(f.value))) return undefined;
      const vs = values();
      const a = fold(valueOf(f.value));
      return vs ? vs.some((v) => (f.type === 'GreaterThanEqualsFilter' ? compareCodePoints(fold(v), a) >= 0 : compareCodePoints(fold(v), a) <= 0)) : false;
    }
    case 'SubstringFilter': {
      const vs = values();
      const pieces = foldSubstrings(f);
      return vs ? vs.some((v) => matchesSubstrings(fold(v), pieces)) : false;
    }
    case 'ExtensibleFilter': {
      const target = fold(valueOf(f.value));
      const rule = f.matchingRule ? MATCHING_RULES.get(f.matchingRule.toLowerCase()) : undefined;
      if (f.matchingRule && !rule) return undefined;
      const pool = f.attribute ? (attributes.get(typeOf(f.attribute)) ?? []) : [...attributes.values()].flat();
      return pool.some((v) => (rule?.exact ? v === valueOf(f.value) : fold(v) === target));
    }
  }
}

/**
 * The RFC 4515 string form of a filter, for the audit trail and the paged-results fingerprint. Our
 * own rather than ldapjs's `toString()`, which throws on an assertion value that ends inside a UTF-8
 * sequence (`(uid=\e2\82)`): a search must never lose its audit event to its own filter. Values are
 * escaped as RFC 4515 §3 says (`*`, `(`, `)`, `\`, NUL, and here every control character); a value
 * that is not UTF-8 is escaped octet by octet outside printable ASCII, so the text says exactly what
 * was asked. Stops adding once past `max` characters.
 */
export function filterString(f: LdapFilter, max = 4096): string {
  const out: string[] = [];
  let length = 0;
  const put = (s: string) => {
    out.push(s);
    length += s.length;
  };
  const hex = (b: number) => `\\${b.toString(16).padStart(2, '0')}`;
  const special = (c: number) => c < 0x20 || c === 0x7f || c === 0x2a || c === 0x28 || c === 0x29 || c === 0x5c;
  const escape = (v: string | Buffer | undefined): string => {
    const text = v === undefined ? '' : Buffer.isBuffer(v) ? decodeUtf8Strict(v) : v;
    if (text === null) {
      // Not UTF-8: every octet outside printable ASCII as \xx.
      let s = '';
      for (const b of v as Buffer) s += b > 0x7e || special(b) ? hex(b) : String.fromCharCode(b);
      return s;
    }
    let s = '';
    for (const ch of text) s += special(ch.charCodeAt(0)) ? hex(ch.charCodeAt(0)) : ch;
    return s;
  };
  const walk = (n: LdapFilter, depth: number): void => {
    if (length > max) return;
    if (depth > MAX_DEPTH) return put('(…)');
    switch (n.type) {
      case 'AndFilter':
      case 'OrFilter':
        put(n.type === 'AndFilter' ? '(&' : '(|');
        for (const c of n.clauses) walk(c, depth + 1);
        return put(')');
      case 'NotFilter':
        put('(!');
        walk(n.filter, depth + 1);
        return put(')');
      case 'PresenceFilter':
        return put(`(${escape(n.attribute)}=*)`);
      case 'EqualityFilter':
        return put(`(${escape(n.attribute)}=${escape(n.value)})`);
      case 'ApproximateFilter':
        return put(`(${escape(n.attribute)}~=${escape(n.value)})`);
      case 'GreaterThanEqualsFilter':
        return put(`(${escape(n.attribute)}>=${escape(n.value)})`);
      case 'LessThanEqualsFilter':
        return put(`(${escape(n.attribute)}<=${escape(n.value)})`);
      case 'SubstringFilter':
        return put(`(${escape(n.attribute)}=${escape(n.initial || '')}*${(n.any ?? []).map((a) => `${escape(a)}*`).join('')}${escape(n.final || '')})`);
      case 'ExtensibleFilter':
        return put(`(${n.attribute ? escape(n.attribute) : ''}${n.dnAttributes ? ':dn' : ''}${n.matchingRule ? `:${escape(n.matchingRule)}` : ''}:=${escape(n.value)})`);
      default:
        return put('(?)');
    }
  };
  walk(f, 0);
  const s = out.join('');
  return s.length > max ? s.slice(0, max) : s;
}
