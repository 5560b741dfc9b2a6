import { commonName } from '../core/directory/names.js';
import type { GroupEntry, UserEntry } from '../core/directory/ldap-directory.js';
import type { EntryAttribute } from './entry-encoder.js';
import { PAGED_RESULTS_OID } from './codec.js';
import type { OperationContext } from './context.js';
import { canonicalAttributeName, OPERATIONAL_ATTRIBUTE_NAMES, SCHEMA_VALUES } from './subschema.js';
import { SUBSCHEMA_DN, type Location, type Tree } from './tree.js';
import { groupNamed } from './filter.js';
import { OldestFirst } from '../util/oldest-first.js';

/**
 * The protocol views of directory records: `toUserEntry(user, groups)` and friends. Password
 * hashes and TOTP seeds are not fields of the records these receive, so no filter, compare or
 * attribute list can reach them.
 */
export interface Entry {
  dn: string;
  /** User attributes (returned for `*` or by name). */
  attributes: EntryAttribute[];
  /** Operational attributes (returned for `+` or by name), computed only when asked for. */
  operational: () => EntryAttribute[];
}

export interface EntryOptions {
  homeDirectoryPrefix: string;
  loginShell: string;
}

export const USER_OBJECT_CLASSES = ['top', 'person', 'organizationalPerson', 'inetOrgPerson', 'posixAccount', 'shadowAccount'];
export const GROUP_OBJECT_CLASSES = ['top', 'groupOfNames'];

export const EXTENSIONS = {
  startTls: '1.3.6.1.4.1.1466.20037',
  passwordModify: '1.3.6.1.4.1.4203.1.11.1',
  whoAmI: '1.3.6.1.4.1.4203.1.11.3',
} as const;

/** RFC 4517 §3.3.13 GeneralizedTime, to the second, in UTC. */
export function generalizedTime(d: Date): string {
  return d.toISOString().replace(/[-:T]/g, '').replace(/\.\d+Z$/, 'Z');
}

const USERS_OU_UUID_PREFIX = '00000001';

/** entryUUID (RFC 4530) derived from the 24-hex object id, so it is stable and reversible. */
export function entryUuid(id: string): string {
  const h = id.padStart(32, '0');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

export function idOfEntryUuid(uuid: string): string | null {
  const h = uuid.replace(/-/g, '').toLowerCase();
  return /^0{8}[0-9a-f]{24}$/.test(h) ? h.slice(8) : null;
}

const attr = (type: string, ...values: (string | number | null | undefined)[]): EntryAttribute | null => {
  const vals = values.filter((v): v is string | number => v !== null && v !== undefined && v !== '').map(String);
  return vals.length > 0 ? { type, values: vals } : null;
};
const present = (list: (EntryAttribute | null)[]) => list.filter((a): a is EntryAttribute => a !== null);

function operational(dn: string, id: string, structural: string, created: Date, modified: Date): EntryAttribute[] {
  return present([
    attr('structuralObjectClass', structural),
    attr('entryUUID', entryUuid(id)),
    attr('entryDN', dn),
    attr('createTimestamp', generalizedTime(created)),
    attr('modifyTimestamp', generalizedTime(modified)),
    attr('hasSubordinates', 'FALSE'),
    attr('subschemaSubentry', SUBSCHEMA_DN),
  ]);
}

/**
 * A user's entry; with `only` (userAttributesWanted), just the user attributes named there, for a
 * search that returns no others: sssd and nslcd ask for a dozen attributes, a paged `uid` listing
 * for one, and building all twenty for each entry to drop most of them cost ~2 µs per entry.
 * The entry then serves selectAttributes alone (not compare or the in-memory filter).
 */
export function toUserEntry(tree: Tree, e: UserEntry, o: EntryOptions, only: ReadonlySet<string> | null = null): Entry {
  const u = e.user;
  const dn = tree.userDn(u.username);
  const w = only === null ? () => true : (type: string) => only.has(type);
  const cn = w('cn') || w('displayname') || w('gecos') ? commonName(u) : '';
  return {
    dn,
    attributes: present([
      w('objectclass') ? attr('objectClass', ...USER_OBJECT_CLASSES) : null,
      w('uid') ? attr('uid', u.username) : null,
      w('cn') ? attr('cn', cn) : null,
      w('sn') ? attr('sn', u.lastname || u.username) : null,
      w('givenname') ? attr('givenName', u.firstname) : null,
      w('displayname') ? attr('displayName', u.displayname || cn) : null,
      w('mail') ? attr('mail', u.email) : null,
      w('uidnumber') ? attr('uidNumber', u.unixUid) : null,
      w('gidnumber') ? attr('gidNumber', u.unixGuid) : null,
      w('homedirectory') ? attr('homeDirectory', `${o.homeDirectoryPrefix}${u.username}`) : null,
      w('loginshell') ? attr('loginShell', o.loginShell) : null,
      w('gecos') ? attr('gecos', cn) : null,
      w('title') ? attr('title', u.jobTitle) : null,
      w('departmentnumber') ? attr('departmentNumber', u.department) : null,
      w('o') ? attr('o', u.company) : null,
      w('l') ? attr('l', u.location) : null,
      w('employeenumber') ? attr('employeeNumber', u.employeeIdentifier) : null,
      w('description') ? attr('description', u.description) : null,
      w('shadowlastchange') ? attr('shadowLastChange', u.passwordChangedAt ? Math.floor(u.passwordChangedAt.getTime() / 86_400_000) : null) : null,
      w('memberof') ? attr('memberOf', ...e.groupNames.map((name) => tree.groupDn(name))) : null,
    ]),
    operational: () => operational(dn, u.id, 'inetOrgPerson', u.createdAt, u.updatedAt),
  };
}

export function toGroupEntry(tree: Tree, e: GroupEntry): Entry {
  const g = e.group;
  const dn = tree.groupDn(g.name);
  const posix = g.posixGid !== null;
  return {
    dn,
    attributes: present([
      attr('objectClass', ...GROUP_OBJECT_CLASSES, ...(posix ? ['posixGroup'] : [])),
      attr('cn', g.name, ...(posix && g.posixName && g.posixName !== g.name ? [g.posixName] : [])),
      attr('description', g.description),
      attr('mail', g.email),
      attr('member', ...e.members.map((u) => tree.userDn(u.username))),
      attr('gidNumber', g.posixGid),
      ...(posix ? [attr('memberUid', ...e.members.map((u) => u.username))] : []),
    ]),
    operational: () => operational(dn, g.id, 'groupOfNames', g.createdAt, g.updatedAt),
  };
}

export function toOrgEntry(tree: Tree, displayName: string, created: Date): Entry {
  return {
    dn: tree.namingContext,
    attributes: present([attr('objectClass', 'top', 'organization'), attr('o', tree.orgId), attr('description', displayName)]),
    operational: () => present([
      attr('structuralObjectClass', 'organization'),
      // Every entry has an entryUUID (RFC 4530), so that a tool syncing the whole tree by it finds
      // the containers too: the organisation's from its id, as users' and groups' are from theirs.
      attr('entryUUID', entryUuid(tree.orgId)),
      attr('entryDN', tree.namingContext),
      attr('createTimestamp', generalizedTime(created)),
      attr('hasSubordinates', 'TRUE'),
      attr('subschemaSubentry', SUBSCHEMA_DN),
    ]),
  };
}

export function toUsersOuEntry(tree: Tree, created: Date): Entry {
  return {
    dn: tree.usersBase,
    attributes: present([attr('objectClass', 'top', 'organizationalUnit'), attr('ou', 'Users')]),
    operational: () => present([
      attr('structuralObjectClass', 'organizationalUnit'),
      // Derived from the organisation's id with another prefix: stable, and never a user's or a
      // group's (theirs start with eight zeros; see idOfEntryUuid).
      attr('entryUUID', USERS_OU_UUID_PREFIX + entryUuid(tree.orgId).slice(USERS_OU_UUID_PREFIX.length)),
      attr('entryDN', tree.usersBase),
      attr('createTimestamp', generalizedTime(created)),
      attr('hasSubordinates', 'TRUE'),
      attr('subschemaSubentry', SUBSCHEMA_DN),
    ]),
  };
}

/** The Root DSE (RFC 4512 §5.1): what this server is and supports; readable anonymously. */
export function rootDse(tree: Tree, version: string): Entry {
  return {
    dn: '',
    attributes: present([attr('objectClass', 'top')]),
    operational: () => present([
      attr('namingContexts', tree.namingContext),
      attr('supportedLDAPVersion', '3'),
      attr('supportedControl', PAGED_RESULTS_OID),
      attr('supportedExtension', EXTENSIONS.startTls, EXTENSIONS.passwordModify, EXTENSIONS.whoAmI),
      // All operational attributes with "+" (RFC 3673).
      attr('supportedFeatures', '1.3.6.1.4.1.4203.1.5.1'),
      attr('vendorName', 'Gatehouse'),
      attr('vendorVersion', version),
      attr('subschemaSubentry', SUBSCHEMA_DN),
    ]),
  };
}

/** When this process loaded its schema: the subschema subentry's create and modify times. */
const SCHEMA_LOADED = new Date();

/**
 * The subschema subentry (RFC 4512 §4.2): the schema of every entry, readable anonymously as the
 * Root DSE is (RFC 4512 §5.1 points clients to it through subschemaSubentry). Structured as
 * OpenLDAP's: a `subentry` (RFC 3672 §2.4) with the auxiliary class `subschema`. The schema
 * attributes are operational, so `*` alone does not return them.
 */
export function toSubschemaEntry(): Entry {
  return {
    dn: SUBSCHEMA_DN,
    attributes: present([attr('objectClass', 'top', 'subentry', 'subschema'), attr('cn', 'Subschema')]),
    operational: () => present([
      attr('structuralObjectClass', 'subentry'),
      attr('entryDN', SUBSCHEMA_DN),
      attr('createTimestamp', generalizedTime(SCHEMA_LOADED)),
      attr('modifyTimestamp', generalizedTime(SCHEMA_LOADED)),
      attr('subschemaSubentry', SUBSCHEMA_DN),
      attr('hasSubordinates', 'FALSE'),
      attr('ldapSyntaxes', ...SCHEMA_VALUES.ldapSyntaxes),
      attr('matchingRules', ...SCHEMA_VALUES.matchingRules),
      attr('attributeTypes', ...SCHEMA_VALUES.attributeTypes),
      attr('objectClasses', ...SCHEMA_VALUES.objectClasses),
    ]),
  };
}

/**
 * The entry at a location as the session may see it, or null when there is none or it is hidden:
 * users and groups as core's LDAP view shows them, the organisation and the Users OU to bind
 * accounts only (other users see their own entry and nothing else), the subschema to anyone.
 */
export async function visibleEntry(ctx: OperationContext, loc: Location): Promise<Entry | null> {
  const { deps, tree, session } = ctx;
  const p = session.principal;
  switch (loc.kind) {
    case 'user': {
      const found = await deps.directory.users(p, { op: 'eq', attr: 'username', value: loc.username }, { offset: 0, limit: 1 });
      return found.items[0] ? toUserEntry(tree, found.items[0], deps.config) : null;
    }
    case 'group': {
      const found = await deps.directory.groups(p, groupNamed(loc.name), { offset: 0, limit: 1 });
      return found.items[0] ? toGroupEntry(tree, found.items[0]) : null;
    }
    case 'org':
    case 'ou': {
      if (!deps.directory.canSearchDirectory(p)) return null;
      const org = await deps.organization();
      const { org: orgEntry, ou } = containerEntries(tree, org.displayName, org.createdAt);
      return loc.kind === 'org' ? orgEntry : ou;
    }
    case 'subschema':
      return toSubschemaEntry();
    case 'root':
      return rootDse(tree, deps.version);
    default:
      return null;
  }
}

/**
 * matchedDN of a noSuchObject answer (RFC 4511 §4.1.9): the deepest existing superior of `dn`
 * that the session may see, or '' when none is (so it never reveals a hidden entry). DNs outside
 * the naming context have no superior here: this server holds none of their ancestors.
 */
export async function matchedDn(ctx: OperationContext, dn: string): Promise<string> {
  for (const loc of ctx.tree.superiors(dn)) {
    if (await visibleEntry(ctx, loc)) return ctx.tree.dnOf(loc);
  }
  return '';
}

/**
 * The attributes to return (RFC 4511 §4.5.1.8): none asked → all user attributes; `*` user
 * attributes; `+` operational ones (RFC 3673); `1.1` none; names match case-insensitively. The
 * Root DSE answers with everything when no list is given, as most servers do for discovery tools.
 */
/**
 * The requested names as entries name them: any name of a type or its OID, in any case (RFC 4512
 * §2.5: `commonName` and `2.5.4.3` ask for cn); `1.1` is no OID here; a description with options
 * names values no entry has. Computed once per search (its attribute list), not once per entry.
 */
const wantedByRequest = new WeakMap<readonly string[], string[]>();
// Clients send the same few lists again and again (sssd's, nslcd's): each search's list is a new
// array, so lists are also remembered by their text, bounded like the filter's caches.
const wantedByText = new Map<string, string[]>();
const wantedByTextOldest = new OldestFirst(wantedByText);
function wantedNames(requested: readonly string[]): string[] {
  let w = wantedByRequest.get(requested);
  if (!w) {
    const text = JSON.stringify(requested);
    w = wantedByText.get(text);
    if (!w) {
      w = requested.map((r) => (r === '1.1' || r.includes(';') ? r.toLowerCase() : canonicalAttributeName(r)));
      if (text.length <= 1024) {
        wantedByText.set(text, w);
        wantedByTextOldest.trim(1_000);
      }
    }
    wantedByRequest.set(requested, w);
  }
  return w;
}

/**
 * Whether a search asking for `requested` may return any of the attributes `names` (lower-case
 * canonical names), on the rules of selectAttributes: none for "1.1" alone, every user attribute
 * for an empty list or "*". Attributes a search will not return need not be read.
 */
export function mayReturn(requested: readonly string[], ...names: string[]): boolean {
  const wanted = wantedNames(requested);
  if (wanted.length === 1 && wanted[0] === '1.1') return false;
  return wanted.length === 0 || wanted.includes('*') || names.some((n) => wanted.includes(n));
}

/**
 * The user attributes (lower-case names) that selectAttributes may take from an entry for a search
 * asking for `requested`, or null for all of them: an entry built with only these (toUserEntry's
 * `only`) gives the same selection.
 */
export function userAttributesWanted(requested: readonly string[]): ReadonlySet<string> | null {
  const wanted = wantedNames(requested);
  if (wanted.length === 1 && wanted[0] === '1.1') return new Set();
  return wanted.length === 0 || wanted.includes('*') ? null : new Set(wanted);
}

export function selectAttributes(entry: Entry, requested: string[], typesOnly: boolean): EntryAttribute[] {
  const wanted = wantedNames(requested);
  const none = wanted.length === 1 && wanted[0] === '1.1';
  const all = wanted.length === 0 || wanted.includes('*');
  const allOperational = wanted.includes('+') || (entry.dn === '' && wanted.length === 0);
  const named = new Set(wanted);
  if (none) return [];
  const pick = (list: EntryAttribute[], everything: boolean) => list.filter((a) => everything || named.has(a.type.toLowerCase()));
  // Operational attributes are built only when some may be returned; which are is the schema's
  // word (USAGE other than userApplications, RFC 4512 §3.4).
  const wantsOperational = allOperational || wanted.some((w) => OPERATIONAL_ATTRIBUTE_NAMES.has(w));
  const out = [...pick(entry.attributes, all), ...(wantsOperational ? pick(entry.operational(), allOperational) : [])];
  return typesOnly ? out.map((a) => ({ type: a.type, values: [] })) : out;
}

/**
 * All of an entry's attributes by lower-cased name (for compare and the in-memory filter). Entries
 * are never changed once built, so the map is kept with the entry: the organisation and Users OU
 * entries (containerEntries) are matched against the filter of every subtree search.
 */
const attributeMaps = new WeakMap<Entry, ReadonlyMap<string, readonly string[]>>();
export function attributeMap(entry: Entry): ReadonlyMap<string, readonly string[]> {
  let m = attributeMaps.get(entry);
  if (!m) {
    const built = new Map<string, readonly string[]>();
    for (const a of [...entry.attributes, ...entry.operational()]) built.set(a.type.toLowerCase(), a.values);
    attributeMaps.set(entry, built);
    m = built;
  }
  return m;
}

/**
 * The organisation and Users OU entries, built again only when what they show changes (the
 * organisation's name or creation time, or the tree): a subtree search from the naming context
 * offers both to its filter, and building them (two GeneralizedTime strings each) cost as much as
 * translating the filter.
 */
const containersByTree = new WeakMap<Tree, { displayName: string; created: number; org: Entry; ou: Entry }>();
export function containerEntries(tree: Tree, displayName: string, created: Date): { org: Entry; ou: Entry } {
  let c = containersByTree.get(tree);
  if (!c || c.displayName !== displayName || c.created !== created.getTime()) {
    c = { displayName, created: created.getTime(), org: toOrgEntry(tree, displayName, created), ou: toUsersOuEntry(tree, created) };
    containersByTree.set(tree, c);
  }
  return c;
}
