import { ldapServerResource } from '../auth/resources.js';
import { lockEndsAt, lockStatus } from '../auth/lockout.js';
import { isPasswordExpired, passwordExpiresAt } from '../auth/password-policy.js';
import type { AuthResource } from '../auth/authenticate.js';
import { DomainError } from '../errors.js';
import { compareCodePoints } from '../../util/code-point-order.js';
import { fold } from '../../util/fold.js';
import type { DirectoryDeps } from './deps.js';
import { and, type DirectoryFilter, type FilterValue, type GroupAttr, type GroupFilter, type Page, type UserAttr, type UserFilter } from './filter.js';
import { createEpochCache, type EpochCache, type EpochCacheOptions, type EpochMark, type OldestMark } from './epoch-cache.js';
import type { VersionWatch } from './version-watch.js';
import { createUserIndex, type IndexedUser, type UserIndex } from './user-index.js';
import { hiddenBy, hidingFilters, hidingRules, lastingVisibility } from './ldap-visibility.js';

/** The oldest read a result was built from (see resolveName). */
interface AsOf {
  mark: EpochMark;
}
import { lockoutPolicyOf, type Organization } from './organization.js';
import type { LdapServer, User, UserGroup } from './types.js';

/**
 * The directory as LDAP clients may see it. Which entries exist is decided here, in core, so that
 * the adapter cannot show what it should not:
 * - users: ACTIVATED, bound to the LDAP server (directly or through a group), and not hidden by the
 *   server's `userLockoutAction` / `userPasswordExpirationAction` = `remove`;
 * - groups: user groups bound to the LDAP server; their members are the visible users;
 * - who sees what: bind accounts (`ldap_binding_user`) see the directory, other users only their own
 *   entry, anonymous sessions nothing (the adapter still serves the Root DSE).
 */
export type LdapPrincipal = { kind: 'anonymous' } | { kind: 'user'; user: User };

export interface UserEntry {
  user: User;
  /** Names of the visible groups the user belongs to (for `memberOf`). */
  groupNames: string[];
}

export interface GroupEntry {
  group: UserGroup;
  /** Visible members (id and username: what a group entry shows of them). */
  members: { id: string; username: string }[];
}

export interface EntryPage {
  limit: number;
  offset: number;
  /**
   * Keyset paging: only entries sorting after this key (a username for users, a folded group name
   * for groups). Paged searches use it so that page k costs the same as page 1.
   */
  after?: string;
}

/**
 * The parts of entries that cost reads of their own, and whether a search needs them: the names of
 * a user's groups (`memberOf`), a group's member list (`member`, `memberUid`). A search that returns
 * neither attribute reads neither; its entries then show none (`groupNames`, `members` empty).
 */
export interface EntryParts {
  groupNames: boolean;
  members: boolean;
}
const ALL_PARTS: EntryParts = { groupNames: true, members: true };

const CACHE_MS = 2000;

type MemberNameEq = Extract<GroupFilter, { op: 'eq' }> & { attr: 'memberName' };

const isMemberNameEq = (f: GroupFilter): f is MemberNameEq => f.op === 'eq' && f.attr === 'memberName';

/**
 * The first `memberName` equality that the whole filter requires (the filter itself, or a term of
 * its AND, nested ANDs included: `(&(objectClass=posixGroup)(memberUid=x))` translates to an AND
 * holding the AND of memberUid's own) and the filter without it; null when there is none.
 * `A AND (member is X)` selects what `A` selects among the groups X is a visible member of, so the
 * term can be a condition of the groups' query on their members.
 */
export function memberNamedAtTop(f: GroupFilter): { member: MemberNameEq; rest: GroupFilter | undefined } | null {
  if (isMemberNameEq(f)) return { member: f, rest: undefined };
  if (f.op !== 'and') return null;
  for (let i = 0; i < f.filters.length; i++) {
    const found = memberNamedAtTop(f.filters[i]!);
    if (!found) continue;
    const rest = [...f.filters.slice(0, i), ...(found.rest ? [found.rest] : []), ...f.filters.slice(i + 1)];
    return { member: found.member, rest: rest.length > 0 ? { op: 'and', filters: rest } : undefined };
  }
  return null;
}

export function createLdapDirectory(d: DirectoryDeps, revalidateMs = 0, epoch: () => number = () => d.store.commits, versionWatch?: VersionWatch) {
  const kept = versionWatch ? { watch: versionWatch } : {};
  const repos = d.store.repos;
  let cached: { server: LdapServer; at: number; seen: number } | null = null;
  // Repeated identical lookups (nslcd/sssd asking for the same uid or group again and again) reuse a
  // page read moments ago; any write committed here invalidates at once (see EpochCache).
  // Only small answers are kept (single-entry lookups are the repeated ones); big pages would only
  // hold memory.
  const CACHEABLE_ITEMS = 20;
  const userPages = createEpochCache<Page<UserEntry>>(revalidateMs, 5_000, epoch, kept);
  // Pages of groups without their members, which come from `groupMembers` below: kept with each
  // page, the lists of a few popular groups were held once per distinct search (at 100k users, 5,000
  // `(member=…)` pages held ~350k member records, ~45 MB of the heap).
  const groupPages = createEpochCache<Page<UserGroup>>(revalidateMs, 5_000, epoch, kept);
  // Visible members per group, whatever search found the group: `(member=<dn>)` and
  // `(memberUid=<uid>)` lookups name thousands of different users but land on a few groups, whose
  // member lists (50 visibility checks each) are the costly part of the answer. Same rules as above.
  const MEMBERS_CACHED_UP_TO = 1_000;
  const groupMembers = createEpochCache<GroupEntry['members']>(revalidateMs, 5_000, epoch, kept);
  // Every group LDAP shows, by folded name (unique, migration 0007), read in one query when a
  // member lookup needs them: with the user index, which holds each user's group names, such a
  // lookup is answered without a read (indexedGroupsNow). A site has far fewer groups than users
  // (2,000 for 100k users in the bench); above MAX_GROUPS_AT_HAND none are kept (null). Same rules
  // as the pages above.
  const MAX_GROUPS_AT_HAND = 10_000;
  const groupsByName = createEpochCache<Map<string, UserGroup> | null>(revalidateMs, 4, epoch, kept);
  let groupsReading = false;
  /** The visible groups by folded name, null if too many, undefined if not at hand (a read starts). */
  const groupsAtHand = (s: LdapServer): Map<string, UserGroup> | null | undefined => {
    const known = groupsByName.get(s.id);
    if (known !== undefined || groupsReading) return known;
    groupsReading = true;
    const mark = groupsByName.mark();
    repos.userGroups
      .query({ filter: groupVisibility(s), sort: [{ attr: 'name', desc: false }], limit: MAX_GROUPS_AT_HAND + 1, offset: 0, withTotal: false })
      .then(
        (page) => void groupsByName.set(s.id, page.items.length > MAX_GROUPS_AT_HAND ? null : new Map(page.items.map((g) => [fold(g.name), g])), mark),
        // Nothing kept: the general search answers, and the next lookup reads again.
        () => undefined,
      )
      .finally(() => {
        groupsReading = false;
      });
    return undefined;
  };
  // The bound identity of each open connection, re-checked at most every `revalidateMs` (and at once
  // after a write here): a connection must not outlive its user's suspension, lock or unbinding.
  const principals = createEpochCache<LdapPrincipal>(revalidateMs, 10_000, epoch, kept);
  // The names a membership assertion resolves, `(memberOf=<group DN>)` → the visible group's id and
  // `(member=<user DN>)` → the visible user's id: one store read each, before the search's own.
  // Clients ask for the same few groups (and, at a small site, the same users) again and again, so
  // the answers are kept on the same terms as the pages above (a commit here, or revalidateMs).
  // Each answer keeps the mark of its read: a page built from it is stored as of the older of the
  // two reads, so the page cannot outlive the bound on staleness (revalidateMs) by the answer's age.
  const resolvedNames = createEpochCache<{ ids: string[]; mark: EpochMark }>(revalidateMs, 10_000, epoch, kept);
  const resolveName = async (key: string, read: () => Promise<string[]>, asOf: AsOf): Promise<string[]> => {
    const load = async () => {
      const mark = resolvedNames.mark();
      return { ids: await read(), mark };
    };
    const r = key.length <= 512 ? await resolvedNames.load(key, load) : await load();
    if (r.mark.at < asOf.mark.at) asOf.mark = r.mark;
    return r.ids;
  };
  // Every user LDAP could show, in memory, for uid lookups at sites too big for the pages above to
  // hold the users asked about (user-index.ts). Only with a version watch: without one, an index
  // would have to be read again every revalidateMs.
  const userIndex: UserIndex | null =
    versionWatch && revalidateMs > 0
      ? createUserIndex(
          (serverId) => async (after, limit) => {
            const filters: UserFilter[] = [...lastingVisibility({ id: serverId })];
            if (after !== '') filters.push({ op: 'gt', attr: 'username', value: after });
            const page = await repos.users.queryWithGroupNames(
              { filter: { op: 'and', filters }, sort: [{ attr: 'username', desc: false }], limit, offset: 0, withTotal: false },
              `ldap_server:${serverId}`,
            );
            return page.items;
          },
          epoch,
          versionWatch,
        )
      : null;

  const keyOf = (p: LdapPrincipal, filter: unknown, page: EntryPage, withTotal: boolean, parts = true) =>
    JSON.stringify([p.kind === 'user' ? p.user.id : '', filter ?? null, page.limit, page.offset, page.after ?? '', withTotal, parts]);

  // Kept as the organisation is (organization-cache.ts): dropped when the version watch has seen a
  // change, as pages and principals built from it are kept on the watch's generation.
  const serverKept = (seen: number) => (cached && Date.now() - cached.at < CACHE_MS && cached.seen === seen ? cached.server : undefined);
  const server = async (): Promise<LdapServer> => {
    const seen = versionWatch ? versionWatch.generation() : -1;
    const kept = serverKept(seen);
    if (kept) return kept;
    const at = Date.now();
    const s = (await repos.ldapServers.list())[0];
    if (!s) throw new DomainError('unavailable', 'ldap.no_server', 'the organisation has no LDAP server record');
    cached = { server: s, at, seen };
    return s;
  };

  const userVisibility = (s: LdapServer, org: Organization, now: Date): UserFilter => ({
    op: 'and',
    filters: [...lastingVisibility(s), ...hidingFilters(hidingRules(s, org, now))],
  });

  const groupVisibility = (s: LdapServer): GroupFilter => ({ op: 'eq', attr: 'boundTo', value: `ldap_server:${s.id}` });

  /** What a principal may see of users; null: nothing. */
  const userScope = async (p: LdapPrincipal): Promise<UserFilter | null> => {
    if (p.kind === 'anonymous') return null;
    const [s, org] = await Promise.all([server(), d.organization.get()]);
    const visible = userVisibility(s, org, d.clock.now());
    return p.user.ldapBindingUser ? visible : { op: 'and', filters: [visible, { op: 'eq', attr: 'id', value: p.user.id }] };
  };

  /**
   * Membership assertions name groups and users; only visible ones may match (an LDAP client must
   * not learn of a group or member it cannot see). Names are resolved to ids here, once per search.
   */
  const mapFilter = async <A extends string>(
    f: DirectoryFilter<A>,
    leaf: (node: Extract<DirectoryFilter<A>, { attr: A }>) => Promise<DirectoryFilter<A> | null>,
  ): Promise<DirectoryFilter<A>> => {
    switch (f.op) {
      case 'and':
      case 'or':
        return { op: f.op, filters: await Promise.all(f.filters.map((x) => mapFilter(x, leaf))) };
      case 'not':
        return { op: 'not', filter: await mapFilter(f.filter, leaf) };
      case 'true':
      case 'false':
        return f;
      default:
        return (await leaf(f)) ?? f;
    }
  };

  const visibleGroupIds = async (name: string, asOf: AsOf): Promise<string[]> => {
    const s = await server();
    return resolveName(`group\0${s.id}\0${name}`, async () => {
      const found = await repos.userGroups.query({
        filter: { op: 'and', filters: [groupVisibility(s), { op: 'eq', attr: 'name', value: name }] },
        limit: 1,
        offset: 0,
        withTotal: false,
      });
      return found.items.map((g) => g.id);
    }, asOf);
  };

  const resolveUserFilter = (f: UserFilter, asOf: AsOf): Promise<UserFilter> =>
    mapFilter<UserAttr>(f, async (node) => {
      if (node.attr !== 'memberOfName') return null;
      // A member of any visible group: one EXISTS, whatever the number of groups.
      if (node.op === 'present') return { op: 'eq', attr: 'memberOfGroupBoundTo', value: `ldap_server:${(await server()).id}` };
      if (node.op !== 'eq') return { op: 'false' };
      const [id] = await visibleGroupIds(String(node.value), asOf);
      return id ? { op: 'eq', attr: 'memberOf', value: id } : { op: 'false' };
    });

  const resolveGroupFilter = (f: GroupFilter, asOf: AsOf): Promise<GroupFilter> =>
    mapFilter<GroupAttr>(f, async (node) => {
      if (node.attr !== 'memberName' || (node.op !== 'eq' && node.op !== 'present' && node.op !== 'substr')) return node.attr === 'memberName' ? { op: 'false' } : null;
      const [s, org] = await Promise.all([server(), d.organization.get()]);
      if (node.op === 'present' || node.op === 'substr') {
        // Only members the searcher could see count (RFC 4511 §4.5.1.7: presence of the values the
        // entry shows); a suspended or hidden member must not make a group match. A substring
        // assertion (memberUid=ali*) is one on the usernames of those members.
        const visible = userVisibility(s, org, d.clock.now());
        const members: UserFilter = node.op === 'present' ? visible : { op: 'and', filters: [visible, { ...node, attr: 'username' }] };
        const ids = await repos.users.groupsWithMembers(members, `ldap_server:${s.id}`);
        return ids.length > 0 ? { op: 'in', attr: 'id', values: ids } : { op: 'false' };
      }
      const [id] = await resolveName(`user\0${s.id}\0${node.exact ? 'exact' : ''}\0${String(node.value)}`, async () => {
        const member = await repos.users.query({
          filter: visibleMemberNamed(s, org, node),
          limit: 1,
          offset: 0,
          withTotal: false,
        });
        return member.items.map((u) => u.id);
      }, asOf);
      return id ? { op: 'eq', attr: 'member', value: id } : { op: 'false' };
    });

  /**
   * The visible user of a username (`exact`: case-sensitive) from the user index, with the hiding
   * rules applied as of now, and the mark the answer stands as of; null when the index cannot answer.
   */
  const visibleFromIndex = async (name: FilterValue, exact: boolean): Promise<{ found: IndexedUser | null; mark: EpochMark } | null> => {
    if (!userIndex || typeof name !== 'string') return null;
    // Taken before the reads of the server and policy, as a store read's mark is: a commit while
    // they are read leaves the answer unkept.
    const mark = userPages.mark();
    const [s, org] = await Promise.all([server(), d.organization.get()]);
    if (epoch() !== mark.epoch) return null;
    const hit = userIndex.lookup(s.id, name, exact);
    if (!hit) return null;
    // The index holds the store as of the confirmation that vouches for it, up to revalidateMs
    // before now: an answer kept from this lookup is as old as that (EpochCache bounds it from `at`).
    return { found: shownNow(hit.entry, s, org), mark: { ...mark, at: mark.at - hit.age } };
  };

  /** An indexed user unless the hiding rules hide it as of now (ldap-visibility.ts). */
  const shownNow = (found: IndexedUser | null, s: LdapServer, org: Organization): IndexedUser | null =>
    found !== null && !hiddenBy(hidingRules(s, org, d.clock.now()), found.user) ? found : null;

  /** What a user sees of a visible indexed user: an ordinary user only its own entry (userScope). */
  const entriesFor = (p: Extract<LdapPrincipal, { kind: 'user' }>, found: IndexedUser | null, parts: EntryParts): UserEntry[] =>
    found && (p.user.ldapBindingUser || found.user.id === p.user.id) ? [{ user: found.user, groupNames: parts.groupNames ? found.groupNames : [] }] : [];

  /** A username equality (the uid lookup of hosts and apps) answered from the user index; null when it cannot be. */
  const usersFromIndex = async (
    p: LdapPrincipal,
    filter: UserFilter | undefined,
    page: EntryPage,
    withTotal: boolean,
    parts: EntryParts,
  ): Promise<{ page: Page<UserEntry>; mark: EpochMark } | null> => {
    if (p.kind !== 'user' || filter?.op !== 'eq' || filter.attr !== 'username') return null;
    if (page.offset !== 0 || (page.after !== undefined && page.after !== '') || page.limit < 1) return null;
    const r = await visibleFromIndex(filter.value, filter.exact === true);
    if (!r) return null;
    const items = entriesFor(p, r.found, parts);
    return { page: { total: withTotal ? items.length : -1, items }, mark: r.mark };
  };

  /**
   * A group filter whose whole requires a member (`(&(objectClass=posixGroup)(memberUid=x))`, the
   * group lookup of every login) with that member replaced by the names of its groups, from the
   * user index: the groups X is a visible member of are, among the groups LDAP shows, those whose
   * names the index holds for X (names are unique whatever their case). The rewritten filter names
   * groups, not the member, so the pages read for it serve every member of the same groups. Null
   * when the index cannot answer.
   */
  const memberFromIndex = async (p: LdapPrincipal, filter: GroupFilter | undefined): Promise<{ filter: GroupFilter; mark: EpochMark } | null> => {
    // Others see no groups (groupScope): nothing to gain.
    if (!filter || p.kind !== 'user' || !p.user.ldapBindingUser) return null;
    const split = memberNamedAtTop(filter);
    if (!split) return null;
    const r = await visibleFromIndex(split.member.value, split.member.exact === true);
    if (!r) return null;
    const names = r.found?.groupNames ?? [];
    const named: GroupFilter = names.length > 0 ? { op: 'or', filters: names.map((value): GroupFilter => ({ op: 'eq', attr: 'name', value })) } : { op: 'false' };
    return { filter: and(named, split.rest)!, mark: r.mark };
  };

  /**
   * `usersFromIndex` for a username equality without waiting for anything: the entries (none or the
   * one user) when the index, the server record and the organisation are all at hand, else
   * undefined. No mark: what is built from it is sent, not kept.
   */
  const indexedUsersNow = (p: LdapPrincipal, name: string, parts: EntryParts): UserEntry[] | undefined => {
    if (p.kind !== 'user') return undefined;
    const now = visibleNow(name, false);
    return now ? entriesFor(p, now.found, parts) : undefined;
  };

  /**
   * The visible user of a username from the user index, with the hiding rules as of now, and the
   * server record it was looked up for: `visibleFromIndex` without waiting, for answers that are
   * sent, not kept. Undefined when the index, the server record or the organisation is not at hand.
   */
  const visibleNow = (name: string, exact: boolean): { found: IndexedUser | null; server: LdapServer } | undefined => {
    if (!userIndex) return undefined;
    const s = serverKept(versionWatch ? versionWatch.generation() : -1);
    const org = d.organization.peek();
    if (!s || !org) return undefined;
    const hit = userIndex.lookup(s.id, name, exact);
    return hit ? { found: shownNow(hit.entry, s, org), server: s } : undefined;
  };

  /**
   * The groups `(member=<dn>)` / `(memberUid=x)` finds, without waiting for anything: the visible
   * groups of the visible user named (`exact`: memberUid's caseExactIA5Match), from the user index
   * and the visible groups (`posixOnly`: only POSIX groups), in the store's order (the folded name
   * by code point), with their member lists if `parts.members` (as the general search met them).
   * Undefined when any of it is not at hand: the caller searches instead. No mark: what is built
   * from it is sent, not kept.
   */
  const indexedGroupsNow = (p: LdapPrincipal, member: { name: string; exact: boolean }, posixOnly: boolean, parts: EntryParts): GroupEntry[] | undefined => {
    if (!userIndex || p.kind !== 'user') return undefined;
    // Others see no groups at all (groupScope).
    if (!p.user.ldapBindingUser) return [];
    const now = visibleNow(member.name, member.exact);
    if (!now) return undefined;
    const s = now.server;
    const names = now.found?.groupNames ?? [];
    const all = names.length > 0 ? groupsAtHand(s) : null;
    if (all === undefined) return undefined;
    const out: { key: string; entry: GroupEntry }[] = [];
    for (const name of names) {
      const key = fold(name);
      const group = all?.get(key);
      // Not in the groups read (too many to keep, or read before the index): the store decides.
      if (!group) return undefined;
      if (posixOnly && group.posixGid === null) continue;
      let members: GroupEntry['members'] = [];
      if (parts.members) {
        const known = groupMembers.get(`${s.id}:${group.id}`);
        if (!known) return undefined;
        members = known;
      }
      out.push({ key, entry: { group, members } });
    }
    return out.sort((a, b) => compareCodePoints(a.key, b.key)).map((x) => x.entry);
  };

  /** What `current` answers without a read, if it can: anonymous, or a principal checked lately (else undefined). */
  const currentKept = (p: LdapPrincipal): LdapPrincipal | undefined => (p.kind === 'user' ? principals.get(p.user.id) : p);

  const groupScope = async (p: LdapPrincipal): Promise<GroupFilter | null> => {
    if (p.kind === 'anonymous' || !p.user.ldapBindingUser) return null;
    return groupVisibility(await server());
  };

  return {
    /** The organisation's LDAP server record (cached briefly; `invalidate` after a change). */
    server,
    invalidate() {
      cached = null;
    },

    /** The authentication resource of LDAP binds (lockout, access, TOTP-on-bind policy). */
    async resource(): Promise<AuthResource> {
      return ldapServerResource(await server());
    },

    /**
     * The principal as it stands now: a bound user who has since been suspended, locked, unbound
     * from the LDAP server or whose password has expired is anonymous from the next operation on
     * (the same rules as a bind, ldapServerResource). Adapters call this before each operation.
     */
    async current(p: LdapPrincipal): Promise<LdapPrincipal> {
      const hit = currentKept(p);
      if (hit) return hit;
      if (p.kind !== 'user') return p;
      const readStarted = principals.mark();
      const [s, org] = await Promise.all([server(), d.organization.get()]);
      const found = await repos.users.findForAuth(p.user.username, { type: 'ldap_server', id: s.id });
      const now = d.clock.now();
      const policy = org.settings.passwordPolicy;
      const ok =
        !!found &&
        found.user.id === p.user.id &&
        found.user.state === 'ACTIVATED' &&
        found.hasAccess === true &&
        lockStatus(found.authState, lockoutPolicyOf(policy), now) !== 'locked' &&
        !isPasswordExpired(found.user, policy, now);
      const result: LdapPrincipal = ok ? { kind: 'user', user: found.user } : { kind: 'anonymous' };
      // Kept no later than the password's expiry or the lock's end, which come without any write
      // (the version watch could otherwise keep the answer past them).
      const turns = found ? (ok ? passwordExpiresAt(found.user, policy) : lockEndsAt(found.authState, lockoutPolicyOf(policy))) : null;
      principals.set(p.user.id, result, readStarted, turns ? turns.getTime() : Infinity);
      return result;
    },

    /**
     * Starts reading the user index if it is not valid and a build may start (a bind account has
     * bound: its uid lookups follow). Nothing to wait for: lookups use the store until it is ready.
     */
    warmUserIndex(): void {
      if (userIndex) void server().then((s) => userIndex.refresh(s.id), () => undefined);
    },

    /** Builds the user index now unless it is valid; whether it is (tests). False when the directory keeps none. */
    async userIndexReady(): Promise<boolean> {
      return userIndex ? userIndex.build((await server()).id) : false;
    },

    /** `current` without a read: the adapter's kept answers use it (undefined: call `current`). */
    currentKept,

    /** A username equality (caseIgnoreMatch) answered from the user index without a read, or undefined (search instead). */
    indexedUsersNow,

    /** The groups a member equality finds, from the user index and the visible groups read in one query, or undefined (search instead). */
    indexedGroupsNow,

    /** Whether the principal may read anything below the naming context. */
    canRead(p: LdapPrincipal): boolean {
      return p.kind === 'user';
    },

    /** Whether the principal may see groups and other users. */
    canSearchDirectory(p: LdapPrincipal): boolean {
      return p.kind === 'user' && p.user.ldapBindingUser;
    },

    /** Visible users matching `filter`, each with its visible groups; selection happens in the store. */
    async users(
      p: LdapPrincipal,
      filter: UserFilter | undefined,
      page: EntryPage,
      withTotal = false,
      marks?: OldestMark,
      parts: EntryParts = ALL_PARTS,
    ): Promise<Page<UserEntry>> {
      const indexed = await usersFromIndex(p, filter, page, withTotal, parts);
      if (indexed) {
        marks?.note(indexed.mark);
        return indexed.page;
      }
      const key = keyOf(p, filter, page, withTotal, parts.groupNames);
      const hit = userPages.entry(key);
      if (hit) {
        marks?.note(hit.mark, hit.bounds);
        return hit.value;
      }
      const asOf: AsOf = { mark: userPages.mark() };
      const scope = await userScope(p);
      if (!scope) return { total: 0, items: [] };
      const s = await server();
      const resolved = filter ? await resolveUserFilter(filter, asOf) : undefined;
      // One query: the users and, for memberOf, the names of their groups bound to this server.
      const after: UserFilter | undefined = page.after !== undefined && page.after !== '' ? { op: 'gt', attr: 'username', value: page.after } : undefined;
      const query = { filter: and(scope, resolved, after), sort: [{ attr: 'username' as const, desc: false }], limit: page.limit, offset: page.offset, withTotal };
      const result: Page<UserEntry> = parts.groupNames
        ? await repos.users.queryWithGroupNames(query, `ldap_server:${s.id}`)
        : await repos.users.query(query).then((found) => ({ total: found.total, items: found.items.map((user) => ({ user, groupNames: [] })) }));
      const bounds = result.items.length <= CACHEABLE_ITEMS ? userPages.set(key, result, asOf.mark) : undefined;
      marks?.note(asOf.mark, bounds);
      return result;
    },

    /** Visible groups matching `filter`, each with its visible members. */
    async groups(
      p: LdapPrincipal,
      filter: GroupFilter | undefined,
      page: EntryPage,
      withTotal = false,
      marks?: OldestMark,
      parts: EntryParts = ALL_PARTS,
    ): Promise<Page<GroupEntry>> {
      const viaIndex = await memberFromIndex(p, filter);
      if (viaIndex) {
        marks?.note(viaIndex.mark);
        filter = viaIndex.filter;
        // A member lookup the index answers may be prepared next (prepared-search.ts): the groups it
        // will take are read now, in the background, rather than on its first request.
        const s = serverKept(versionWatch ? versionWatch.generation() : -1);
        if (s) groupsAtHand(s);
      }
      const key = keyOf(p, filter, page, withTotal);
      const hit = groupPages.entry(key);
      let found: Page<UserGroup>;
      if (hit) {
        found = hit.value;
        marks?.note(hit.mark, hit.bounds);
      } else {
        const asOf: AsOf = { mark: groupPages.mark() };
        found = await readGroups(p, filter, page, withTotal, asOf);
        const bounds = found.items.length <= CACHEABLE_ITEMS ? groupPages.set(key, found, asOf.mark) : undefined;
        marks?.note(asOf.mark, bounds);
      }
      return parts.members ? withMembers(found, marks) : { total: found.total, items: found.items.map((group) => ({ group, members: [] })) };
    },

    /**
     * A cache for values derived from this view's answers (the LDAP adapter's encoded answers),
     * kept on the same rules as the pages they come from: set each value with the OldestMark of
     * the reads it was built from (passed to `users` and `groups`), its mark and bounds. Null when
     * nothing is kept (`revalidateMs` 0).
     */
    derivedCache<V>(maxEntries: number, weight?: Pick<EpochCacheOptions<V>, 'weigh' | 'maxWeight'>): EpochCache<V> | null {
      return revalidateMs > 0 ? createEpochCache<V>(revalidateMs, maxEntries, epoch, { ...kept, ...weight }) : null;
    },
  };

  async function readGroups(p: LdapPrincipal, filter: GroupFilter | undefined, page: EntryPage, withTotal: boolean, asOf: AsOf): Promise<Page<UserGroup>> {
    const scope = await groupScope(p);
    if (!scope) return { total: 0, items: [] };
    // The usual group lookup of a host, `(&(objectClass=groupOfNames)(member=<dn>))`: the member
    // and its visibility go into the groups' query, one read instead of resolving the member first.
    const split = filter ? memberNamedAtTop(filter) : null;
    const withMember = split ? visibleMemberNamed(await server(), await d.organization.get(), split.member) : undefined;
    const rest = split ? split.rest : filter;
    const resolved = rest ? await resolveGroupFilter(rest, asOf) : undefined;
    const after: GroupFilter | undefined = page.after !== undefined && page.after !== '' ? { op: 'gt', attr: 'name', value: page.after } : undefined;
    return repos.userGroups.query(
      {
        filter: and(scope, resolved, after),
        sort: [{ attr: 'name', desc: false }],
        limit: page.limit,
        offset: page.offset,
        withTotal,
      },
      withMember,
    );
  }

  /** The users a `memberName` equality names: visible ones of that username. */
  function visibleMemberNamed(s: LdapServer, org: Organization, node: { value: FilterValue; exact?: boolean }): UserFilter {
    // memberUid is caseExactIA5Match (RFC 2307): an exact assertion stays exact on the username.
    return { op: 'and', filters: [userVisibility(s, org, d.clock.now()), { op: 'eq', attr: 'username', value: String(node.value), ...(node.exact ? { exact: true } : {}) }] };
  }

  async function withMembers(found: Page<UserGroup>, marks?: OldestMark): Promise<Page<GroupEntry>> {
    if (found.items.length === 0) return { total: found.total, items: [] };
    // Visible members of all groups of the page in one query. A member of a group bound to this
    // server is bound to it through that group, so visibility here is state, lock and expiry.
    const [s, org] = await Promise.all([server(), d.organization.get()]);
    const byGroup = new Map<string, GroupEntry['members']>();
    const toRead: string[] = [];
    for (const g of found.items) {
      const known = groupMembers.entry(`${s.id}:${g.id}`);
      if (known) {
        byGroup.set(g.id, known.value);
        marks?.note(known.mark, known.bounds);
      } else toRead.push(g.id);
    }
    if (toRead.length > 0) {
      const readStarted = groupMembers.mark();
      for (const id of toRead) byGroup.set(id, []);
      for (const m of await repos.users.membersOf(toRead, userVisibility(s, org, d.clock.now()))) {
        byGroup.get(m.groupId)?.push({ id: m.id, username: m.username });
      }
      for (const id of toRead) {
        const list = byGroup.get(id)!;
        const bounds = list.length <= MEMBERS_CACHED_UP_TO ? groupMembers.set(`${s.id}:${id}`, list, readStarted) : undefined;
        marks?.note(readStarted, bounds);
      }
    }
    return { total: found.total, items: found.items.map((group) => ({ group, members: byGroup.get(group.id) ?? [] })) };
  }
}

export type LdapDirectory = ReturnType<typeof createLdapDirectory>;
