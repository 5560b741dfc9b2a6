import { commonName } from '../core/directory/names.js';
import type { GroupEntry, UserEntry } from '../core/directory/ldap-directory.js';
import type { EntryAttribute } from './entry-encoder.js';
import { PAGED_RESULTS_OID } from './codec.js';
import type { Tree } from './tree.js';

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

const OPERATIONAL_NAMES = new Set(
  ['structuralObjectClass', 'entryUUID', 'entryDN', 'createTimestamp', 'modifyTimestamp', 'hasSubordinates', 'subschemaSubentry', 'namingContexts', 'supportedLDAPVersion', 'supportedControl', 'supportedExtension', 'supportedFeatures', 'vendorName', 'vendorVersion'].map((n) => n.toLowerCase()),
);

function operational(dn: string, id: string, structural: string, created: Date, modified: Date): EntryAttribute[] {
  return present([
    attr('structuralObjectClass', structural),
    attr('entryUUID', entryUuid(id)),
    attr('entryDN', dn),
    attr('createTimestamp', generalizedTime(created)),
    attr('modifyTimestamp', generalizedTime(modified)),
    attr('hasSubordinates', 'FALSE'),
    attr('subschemaSubentry', 'cn=Subschema'),
  ]);
}

export function toUserEntry(tree: Tree, e: UserEntry, o: EntryOptions): Entry {
  const u = e.user;
  const dn = tree.userDn(u.username);
  const cn = commonName(u);
  return {
    dn,
    attributes: present([
      attr('objectClass', ...USER_OBJECT_CLASSES),
      attr('uid', u.username),
      attr('cn', cn),
      attr('sn', u.lastname || u.username),
      attr('givenName', u.firstname),
      attr('displayName', u.displayname || cn),
      attr('mail', u.email),
      attr('uidNumber', u.unixUid),
      attr('gidNumber', u.unixGuid),
      attr('homeDirectory', `${o.homeDirectoryPrefix}${u.username}`),
      attr('loginShell', o.loginShell),
      attr('gecos', cn),
      attr('title', u.jobTitle),
      attr('departmentNumber', u.department),
      attr('o', u.company),
      attr('l', u.location),
      attr('employeeNumber', u.employeeIdentifier),
      attr('description', u.description),
      attr('shadowLastChange', u.passwordChangedAt ? Math.floor(u.passwordChangedAt.getTime() / 86_400_000) : null),
      attr('memberOf', ...e.groupNames.map((name) => tree.groupDn(name))),
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
      attr('entryDN', tree.namingContext),
      attr('createTimestamp', generalizedTime(created)),
      attr('hasSubordinates', 'TRUE'),
      attr('subschemaSubentry', 'cn=Subschema'),
    ]),
  };
}

export function toUsersOuEntry(tree: Tree, created: Date): Entry {
  return {
    dn: tree.usersBase,
    attributes: present([attr('objectClass', 'top', 'organizationalUnit'), attr('ou', 'Users')]),
    operational: () => present([
      attr('structuralObjectClass', 'organizationalUnit'),
      attr('entryDN', tree.usersBase),
      attr('createTimestamp', generalizedTime(created)),
      attr('hasSubordinates', 'TRUE'),
      attr('subschemaSubentry', 'cn=Subschema'),
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
      attr('subschemaSubentry', 'cn=Subschema'),
    ]),
  };
}

/**
 * The attributes to return (RFC 4511 §4.5.1.8): none asked → all user attributes; `*` user
 * attributes; `+` operational ones (RFC 3673); `1.1` none; names match case-insensitively. The
 * Root DSE answers with everything when no list is given, as most servers do for discovery tools.
 */
export function selectAttributes(entry: Entry, requested: string[], typesOnly: boolean): EntryAttribute[] {
  const wanted = requested.map((r) => r.toLowerCase());
  const none = wanted.length === 1 && wanted[0] === '1.1';
  const all = wanted.length === 0 || wanted.includes('*');
  const allOperational = wanted.includes('+') || (entry.dn === '' && wanted.length === 0);
  const named = new Set(wanted);
  if (none) return [];
  const pick = (list: EntryAttribute[], everything: boolean) => list.filter((a) => everything || named.has(a.type.toLowerCase()));
  // Operational attributes are built only when some may be returned.
  const wantsOperational = allOperational || wanted.some((w) => OPERATIONAL_NAMES.has(w));
  const out = [...pick(entry.attributes, all), ...(wantsOperational ? pick(entry.operational(), allOperational) : [])];
  return typesOnly ? out.map((a) => ({ type: a.type, values: [] })) : out;
}

/** All of an entry's attributes by lower-cased name (for compare and the in-memory filter). */
export function attributeMap(entry: Entry): Map<string, string[]> {
  const m = new Map<string, string[]>();
  for (const a of [...entry.attributes, ...entry.operational()]) m.set(a.type.toLowerCase(), a.values);
  return m;
}
