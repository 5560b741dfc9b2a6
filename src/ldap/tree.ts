import { DnSyntaxError, endsWith, escapeDnValue, foldValue, formatDn, parseDn, type Dn } from './dn.js';
import { OldestFirst } from '../util/oldest-first.js';
import { canonicalAttributeName } from './subschema.js';

/**
 * The directory information tree of the contract:
 *   o=<orgId>,<suffix>              the naming context (organization)
 *   ou=Users,o=<orgId>,<suffix>     users and groups
 *   uid=<username>,ou=Users,…       a user
 *   cn=<group name>,ou=Users,…      a user group
 */
export type Location =
  | { kind: 'root' }
  | { kind: 'org' }
  | { kind: 'ou' }
  | { kind: 'user'; username: string }
  | { kind: 'group'; name: string }
  /** The subschema subentry `cn=Subschema` that every entry names (RFC 4512 §4.2). */
  | { kind: 'subschema' }
  /** Below the naming context but naming nothing Gatehouse holds. */
  | { kind: 'missing' }
  /** Outside the naming context (including its parents, which this server does not hold). */
  | { kind: 'outside' };

export interface Tree {
  readonly orgId: string;
  readonly namingContext: string;
  readonly usersBase: string;
  locate(dn: Dn): Location;
  /** `locate(parseDn(text))`, remembered for recent DN strings (binds and searches repeat them). Throws DnSyntaxError. */
  locateString(text: string): Location;
  userDn(username: string): string;
  groupDn(name: string): string;
  /**
   * The locations of the entries Gatehouse could hold above a DN, nearest first: the candidates for
   * matchedDN (RFC 4511 §4.1.9). Whether each exists and is visible is for the caller to decide.
   * Throws DnSyntaxError.
   */
  superiors(text: string): Location[];
  /** The DN of an entry location ('' for the Root DSE and for locations that name no entry). */
  dnOf(loc: Location): string;
}

/** The subschema subentry's DN, as the Root DSE and every entry name it (subschemaSubentry). */
export const SUBSCHEMA_DN = 'cn=Subschema';

/** Locations that name an entry Gatehouse may hold (not the Root DSE, not a gap in the tree). */
const HOLDS_ENTRY = new Set<Location['kind']>(['org', 'ou', 'user', 'group', 'subschema']);

export function createTree(orgId: string, suffix: string): Tree {
  const orgDn: Dn = [[{ type: 'o', value: orgId }], ...parseDn(suffix)];
  const usersDn: Dn = [[{ type: 'ou', value: 'Users' }], ...orgDn];
  const namingContext = formatDn(orgDn);
  const usersBase = formatDn(usersDn);
  const usersSuffix = `,${usersBase}`;
  const recent = new Map<string, Location | DnSyntaxError>();
  const recentOldest = new OldestFirst(recent);
  const userDn = (username: string) => `uid=${escapeDnValue(username)}${usersSuffix}`;
  const groupDn = (name: string) => `cn=${escapeDnValue(name)}${usersSuffix}`;
  const locate = (given: Dn): Location => {
    // `userid=alice` and `0.9.2342.19200300.100.1.1=alice` name uid=alice (RFC 4512 §2.5).
    const dn = given.map((rdn) => rdn.map((a) => ({ ...a, type: canonicalAttributeName(a.type) })));
    if (dn.length === 0) return { kind: 'root' };
    if (isSubschemaDn(dn)) return { kind: 'subschema' };
    if (!endsWith(dn, orgDn)) return { kind: 'outside' };
    if (dn.length === orgDn.length) return { kind: 'org' };
    if (!endsWith(dn, usersDn)) return { kind: 'missing' };
    if (dn.length === usersDn.length) return { kind: 'ou' };
    if (dn.length !== usersDn.length + 1) return { kind: 'missing' };
    const rdn = dn[0]!;
    if (rdn.length !== 1) return { kind: 'missing' };
    const ava = rdn[0]!;
    if (ava.type === 'uid') return { kind: 'user', username: foldValue(ava.value) };
    if (ava.type === 'cn') return { kind: 'group', name: ava.value };
    return { kind: 'missing' };
  };
  return {
    orgId,
    namingContext,
    usersBase,
    locate,
    locateString(text) {
      let loc = recent.get(text);
      if (loc === undefined) {
        try {
          loc = locate(parseDn(text));
        } catch (err) {
          if (!(err instanceof DnSyntaxError)) throw err;
          loc = err;
        }
        // Bounded: at most 10,000 short strings (a hostile client cannot grow it with huge DNs).
        if (text.length <= 256) {
          recent.set(text, loc);
          recentOldest.trim(10_000);
        }
      }
      if (loc instanceof DnSyntaxError) throw loc;
      return loc;
    },
    userDn,
    groupDn,
    superiors(text) {
      const dn = parseDn(text);
      const out: Location[] = [];
      for (let k = 1; k < dn.length; k++) {
        const loc = locate(dn.slice(k));
        if (HOLDS_ENTRY.has(loc.kind)) out.push(loc);
      }
      return out;
    },
    dnOf(loc) {
      switch (loc.kind) {
        case 'org':
          return namingContext;
        case 'ou':
          return usersBase;
        case 'user':
          return userDn(loc.username);
        case 'group':
          return groupDn(loc.name);
        case 'subschema':
          return SUBSCHEMA_DN;
        default:
          return '';
      }
    },
  };
}

/** `cn=Subschema`, in any case (attribute values of cn match case-insensitively, RFC 4519 §2.3). */
function isSubschemaDn(dn: Dn): boolean {
  const rdn = dn.length === 1 ? dn[0]! : [];
  return rdn.length === 1 && rdn[0]!.type === 'cn' && rdn[0]!.value.toLowerCase() === 'subschema';
}
