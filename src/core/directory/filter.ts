/**
 * DirectoryFilter: the one query language of the directory. Protocol filters (LDAP RFC 4515, the
 * REST API's `filter=field:$op:value`, console searches) are translated into it once, at the edge,
 * and the store turns it into SQL so that selection happens in the database, with indexes.
 *
 * Matching follows each attribute's rule (see USER_ATTRS): text attributes compare
 * case-insensitively, numbers numerically, booleans exactly. An attribute a protocol knows but the
 * directory does not becomes `{ op: 'false' }` at the edge, never an exception.
 */
export type DirectoryFilter<A extends string = string> =
  | { op: 'and'; filters: DirectoryFilter<A>[] }
  | { op: 'or'; filters: DirectoryFilter<A>[] }
  | { op: 'not'; filter: DirectoryFilter<A> }
  /** `exact`: compare case-sensitively (LDAP caseExactMatch); otherwise the attribute's own rule. */
  | { op: 'eq'; attr: A; value: FilterValue; exact?: boolean }
  | { op: 'ne'; attr: A; value: FilterValue }
  | { op: 'gte'; attr: A; value: FilterValue }
  | { op: 'lte'; attr: A; value: FilterValue }
  | { op: 'gt'; attr: A; value: FilterValue }
  | { op: 'lt'; attr: A; value: FilterValue }
  | { op: 'in'; attr: A; values: FilterValue[] }
  | { op: 'present'; attr: A }
  | { op: 'substr'; attr: A; initial?: string; any: string[]; final?: string }
  | { op: 'true' }
  | { op: 'false' };

export type FilterValue = string | number | boolean;

export type AttrType = 'text' | 'int' | 'bool' | 'date' | 'id';

/** Attributes of users that filters may name, with their matching rule. */
export const USER_ATTRS = {
  id: 'id',
  username: 'text',
  email: 'text',
  firstname: 'text',
  lastname: 'text',
  displayname: 'text',
  state: 'text',
  unixUid: 'int',
  unixGuid: 'int',
  ldapBindingUser: 'bool',
  hasPassword: 'bool',
  totpEnrolled: 'bool',
  enableUserPortalMultifactor: 'bool',
  passwordExpiredFlag: 'bool',
  passwordChangedAt: 'date',
  jobTitle: 'text',
  department: 'text',
  company: 'text',
  location: 'text',
  employeeIdentifier: 'text',
  description: 'text',
  createdAt: 'date',
  updatedAt: 'date',
  /** Common name, as `commonName()` computes it. */
  cn: 'text',
  /** Id of a user group the user belongs to. */
  memberOf: 'id',
  /** Name of a user group the user belongs to (an LDAP `memberOf` DN names the group). */
  memberOfName: 'text',
  /** `<type>:<id>`: the user belongs to a group bound to this resource (LDAP `(memberOf=*)`). */
  memberOfGroupBoundTo: 'id',
  /** `<type>:<id>` of a resource the user is bound to, directly or through a group. */
  boundTo: 'id',
  /** When the account was locked (auth state); see `lockedOutFilter` for "locked now". */
  lockedAt: 'date',
} as const satisfies Record<string, AttrType>;
export type UserAttr = keyof typeof USER_ATTRS;
export type UserFilter = DirectoryFilter<UserAttr>;

export const GROUP_ATTRS = {
  id: 'id',
  name: 'text',
  description: 'text',
  email: 'text',
  posixGid: 'int',
  posixName: 'text',
  createdAt: 'date',
  updatedAt: 'date',
  /** Id of a user who is a member. */
  member: 'id',
  /** Username of a member (an LDAP `member` DN or `memberUid`). */
  memberName: 'text',
  /** `<type>:<id>` of a resource the group is bound to. */
  boundTo: 'id',
} as const satisfies Record<string, AttrType>;
export type GroupAttr = keyof typeof GROUP_ATTRS;
export type GroupFilter = DirectoryFilter<GroupAttr>;

export const SYSTEM_ATTRS = {
  id: 'id',
  displayName: 'text',
  hostname: 'text',
  os: 'text',
  version: 'text',
  arch: 'text',
  active: 'bool',
  allowMultiFactorAuthentication: 'bool',
  createdAt: 'date',
} as const satisfies Record<string, AttrType>;
export type SystemAttr = keyof typeof SYSTEM_ATTRS;

export interface SortKey<A extends string> {
  attr: A;
  desc: boolean;
}

/** A page of a query. `limit` is always bounded by the caller. */
export interface Query<A extends string> {
  filter?: DirectoryFilter<A>;
  sort?: SortKey<A>[];
  limit: number;
  offset: number;
  /** `false` skips counting (hot paths that do not show a total); `total` is then -1. */
  withTotal?: boolean;
}

export interface Page<T> {
  /** Matches in all pages, or -1 when not counted. */
  total: number;
  items: T[];
}

export const and = <A extends string>(...filters: (DirectoryFilter<A> | undefined)[]): DirectoryFilter<A> | undefined => {
  const fs = filters.filter((f): f is DirectoryFilter<A> => f !== undefined);
  if (fs.length === 0) return undefined;
  return fs.length === 1 ? fs[0] : { op: 'and', filters: fs };
};

/** Free-text search over the given attributes (case-insensitive substring). */
export function searchFilter<A extends string>(attrs: A[], text: string): DirectoryFilter<A> | undefined {
  const t = text.trim();
  if (!t) return undefined;
  return { op: 'or', filters: attrs.map((attr) => ({ op: 'substr' as const, attr, any: [t] })) };
}
