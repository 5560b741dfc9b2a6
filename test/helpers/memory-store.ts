/**
 * An in-memory Store for pure unit tests: the same ports as `src/store`, with the same observable
 * behaviour (unique constraints, cascades, ordering, NULL handling in filters, atomic lockout
 * arithmetic), kept in Maps.
 *
 * - Every write is synchronous once it runs, so each one is atomic with respect to concurrent
 *   callers (the SQL store gets the same from one UPDATE per change).
 * - `transaction(fn)` holds the writer lock (as the SQLite store does), takes a snapshot, runs `fn`
 *   against the same state and restores the snapshot if `fn` throws. Writes through `repos` wait
 *   while a transaction runs; a write through `repos` *awaited inside* a transaction would deadlock
 *   on SQLite, and here fails after a timeout with a message saying so.
 * - Reads never wait and see a running transaction's writes (no isolation; tests are sequential).
 * - Values go in and come out as copies, like rows.
 * - Query filters are evaluated as `filter-sql.ts` compiles them: SQL's three-valued logic, except
 *   that `not` treats unknown as false (NOT COALESCE(x, FALSE)), so it keeps rows without the value. A filter shape
 *   this evaluator does not know throws "not supported in memory store" instead of being ignored.
 */
import { DomainError } from '../../src/core/errors.js';
import { commonName } from '../../src/core/directory/names.js';
import type { AuditEvent, AuditField, AuditQuery } from '../../src/core/audit/event.js';
import type { DirectoryFilter, FilterValue, GroupAttr, Page, Query, SortKey, SystemAttr, UserAttr } from '../../src/core/directory/filter.js';
import { normaliseSettings, type Organization } from '../../src/core/directory/organization.js';
import type {
  Admin,
  ApiKey,
  Application,
  Association,
  AuthChallenge,
  AuthState,
  LdapServer,
  RadiusServer,
  System,
  SystemGroup,
  User,
  UserCredentials,
  UserGroup,
  UserUpdate,
} from '../../src/core/directory/types.js';
import type { AdminCredentials, Clock, FailureResult, Repositories, Store, UserForAuth } from '../../src/core/ports.js';

export const NOT_SUPPORTED = 'not supported in memory store';

/** A user row: the profile without the fields that are derived from other tables. */
type UserProfile = Omit<User, 'lockedAt' | 'hasPassword'>;

interface AuthRow {
  failedCount: number;
  lastFailedAt: Date | null;
  lockedAt: Date | null;
  /** The count at which the current lock was set (as `locked_count` in SQL). */
  lockedCount: number | null;
  lastTotpStep: number | null;
}

interface State {
  organizations: Map<string, { org: Organization; updatedAt: Date }>;
  users: Map<string, { profile: UserProfile; credentials: UserCredentials }>;
  authState: Map<string, AuthRow>;
  userGroups: Map<string, UserGroup>;
  /** `${groupId}\u0000${userId}` → membership. */
  userGroupMembers: Map<string, { groupId: string; userId: string; createdAt: Date }>;
  systems: Map<string, System>;
  systemGroups: Map<string, SystemGroup>;
  systemGroupMembers: Map<string, { groupId: string; systemId: string; createdAt: Date }>;
  ldapServers: Map<string, LdapServer>;
  radiusServers: Map<string, { server: RadiusServer; sealedSecret: string }>;
  applications: Map<string, Application>;
  associations: Map<string, Association>;
  admins: Map<string, { admin: Admin; credentials: AdminCredentials; updatedAt: Date }>;
  apiKeys: Map<string, { key: ApiKey; keyHash: string }>;
  challenges: Map<string, AuthChallenge>;
  audit: AuditEvent[];
  sequences: Map<string, number>;
}

function emptyState(): State {
  return {
    organizations: new Map(),
    users: new Map(),
    authState: new Map(),
    userGroups: new Map(),
    userGroupMembers: new Map(),
    systems: new Map(),
    systemGroups: new Map(),
    systemGroupMembers: new Map(),
    ldapServers: new Map(),
    radiusServers: new Map(),
    applications: new Map(),
    associations: new Map(),
    admins: new Map(),
    apiKeys: new Map(),
    challenges: new Map(),
    audit: [],
    sequences: new Map(),
  };
}

const copy = <T>(v: T): T => structuredClone(v);
const pairKey = (a: string, b: string) => `${a}\u0000${b}`;

/** What the SQL store raises for a unique index (mapped by `store/index.ts`). */
function conflictError(field: string): DomainError {
  return new DomainError('conflict', 'directory.conflict', `${field} is already in use`, field);
}

function foreignKeyError(what: string): Error {
  return new Error(`FOREIGN KEY constraint failed (${what})`);
}

/** Keeps the entries of a map in a stable order (`cmp`, then insertion). */
function sorted<T>(items: Iterable<T>, cmp: (a: T, b: T) => number): T[] {
  return [...items].sort(cmp);
}

const byStr = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
const byNum = (a: number, b: number) => a - b;

function page<T>(items: T[], limit: number, offset: number): Page<T> {
  return { total: items.length, items: items.slice(offset, offset + limit) };
}

// ---------------------------------------------------------------------------------------------
// DirectoryFilter evaluation, mirroring src/store/filter-sql.ts
// ---------------------------------------------------------------------------------------------

type Kind = 'lower' | 'ci' | 'upper' | 'int' | 'bool' | 'time' | 'id' | 'sub';
type Scalar = string | number | boolean | null;
/** SQL truth value: true, false, or NULL (unknown). */
type Truth = boolean | null;

interface Column<R> {
  kind: Kind;
  /** The stored value (dates as epoch ms), null for SQL NULL. Not used for `sub`. */
  get?: (row: R) => Scalar;
  /** For `sub`: is `value` one of the row's related ids. */
  has?: (row: R, value: string) => boolean;
  /** For `sub`: has the row any related id. */
  any?: (row: R) => boolean;
}

type Columns<A extends string, R> = Record<A, Column<R>>;

function coerce(kind: Kind, value: FilterValue): Scalar | undefined {
  switch (kind) {
    case 'lower':
    case 'ci':
      return String(value).toLowerCase();
    case 'upper':
      return String(value).toUpperCase();
    case 'id':
    case 'sub':
      return String(value);
    case 'int': {
      const n = typeof value === 'number' ? value : /^-?\d+$/.test(String(value).trim()) ? Number(String(value).trim()) : NaN;
      return Number.isSafeInteger(n) ? n : undefined;
    }
    case 'time': {
      const n = typeof value === 'number' ? value : Date.parse(String(value));
      return Number.isFinite(n) ? n : undefined;
    }
    case 'bool': {
      if (typeof value === 'boolean') return value;
      const s = String(value).toLowerCase();
      if (s === 'true' || s === '1') return true;
      if (s === 'false' || s === '0') return false;
      return undefined;
    }
  }
}

/** The left-hand side as SQL compares it (`LOWER()` for free text). */
function lhs<R>(col: Column<R>, row: R): Scalar {
  const v = col.get!(row);
  return col.kind === 'ci' && typeof v === 'string' ? v.toLowerCase() : v;
}

function compare(a: Exclude<Scalar, null>, b: Exclude<Scalar, null>): number {
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  if (typeof a === 'boolean' && typeof b === 'boolean') return Number(a) - Number(b);
  const x = String(a);
  const y = String(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

function likeRegExp(initial: string | undefined, any: string[], final: string | undefined): RegExp {
  const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return new RegExp(`^${esc(initial ?? '')}.*${any.map((a) => `${esc(a)}.*`).join('')}${esc(final ?? '')}$`, 's');
}

function evaluate<A extends string, R>(f: DirectoryFilter<A>, columns: Columns<A, R>, row: R): Truth {
  switch (f.op) {
    case 'true':
      return true;
    case 'false':
      return false;
    case 'and': {
      let unknown = false;
      for (const x of f.filters) {
        const t = evaluate(x, columns, row);
        if (t === false) return false;
        if (t === null) unknown = true;
      }
      return unknown ? null : true;
    }
    case 'or': {
      let unknown = false;
      for (const x of f.filters) {
        const t = evaluate(x, columns, row);
        if (t === true) return true;
        if (t === null) unknown = true;
      }
      return unknown ? null : false;
    }
    case 'not': {
      // As filter-sql.ts compiles it: NOT COALESCE(x, FALSE), so a comparison with a missing value negates to TRUE.
      const t = evaluate(f.filter, columns, row);
      return !(t ?? false);
    }
    case 'present':
    case 'substr':
    case 'in':
    case 'eq':
    case 'ne':
    case 'gt':
    case 'gte':
    case 'lt':
    case 'lte':
      break;
    default:
      throw new Error(`${NOT_SUPPORTED}: filter op ${JSON.stringify((f as { op: unknown }).op)}`);
  }
  const col = (columns as Record<string, Column<R> | undefined>)[f.attr];
  if (!col) return false; // unknown attribute: a false condition, as in SQL
  if (col.kind === 'sub' && (!col.has || !col.any)) throw new Error(`${NOT_SUPPORTED}: attribute ${f.attr}`);

  if (f.op === 'present') {
    if (col.kind === 'sub') return col.any!(row);
    const v = col.get!(row);
    if (col.kind === 'lower' || col.kind === 'ci' || col.kind === 'upper') return v === null ? false : v !== '';
    return v !== null;
  }
  if (f.op === 'substr') {
    if (col.kind === 'int' || col.kind === 'bool' || col.kind === 'time' || col.kind === 'sub') return false;
    const v = lhs(col, row);
    if (v === null) return null;
    const up = (s: string | undefined) => (s === undefined ? undefined : col.kind === 'upper' ? s.toUpperCase() : s.toLowerCase());
    return likeRegExp(up(f.initial), f.any.map((a) => up(a)!), up(f.final)).test(String(v));
  }
  if (f.op === 'in') {
    const vals = f.values.map((v) => coerce(col.kind, v)).filter((v): v is Exclude<Scalar, null> => v !== undefined && v !== null);
    if (vals.length === 0) return false;
    if (col.kind === 'sub') return vals.some((v) => col.has!(row, String(v)));
    const v = lhs(col, row);
    if (v === null) return null;
    return vals.some((x) => compare(v, x) === 0);
  }
  // Case-exact equality (LDAP caseExactMatch, homeDirectory, memberUid): the value as stored, as the
  // SQL store compares its unfolded column.
  if (f.op === 'eq' && f.exact && (col.kind === 'lower' || col.kind === 'ci' || col.kind === 'upper')) {
    const stored = col.get!(row);
    return stored === null ? null : String(stored) === String(f.value);
  }
  const value = coerce(col.kind, f.value);
  if (value === undefined || value === null) return f.op === 'ne';
  if (col.kind === 'sub') {
    if (f.op === 'eq') return col.has!(row, String(value));
    if (f.op === 'ne') return !col.has!(row, String(value));
    return false;
  }
  const v = lhs(col, row);
  if (v === null) return f.op === 'ne' ? true : null; // `(x <> v OR x IS NULL)` for ne
  const c = compare(v, value);
  switch (f.op) {
    case 'eq':
      return c === 0;
    case 'ne':
      return c !== 0;
    case 'gt':
      return c > 0;
    case 'gte':
      return c >= 0;
    case 'lt':
      return c < 0;
    case 'lte':
      return c <= 0;
  }
}

/** Sorts as `sortToSql` does (SQLite NULL order: NULLs first ascending), then by id ascending. */
function sortRows<A extends string, R>(rows: R[], sort: SortKey<A>[] | undefined, columns: Columns<A, R>, id: (r: R) => string): R[] {
  const keys = (sort ?? []).filter((s) => {
    const col = (columns as Record<string, Column<R> | undefined>)[s.attr];
    return col !== undefined && col.kind !== 'sub';
  });
  return [...rows].sort((a, b) => {
    for (const k of keys) {
      const col = columns[k.attr];
      const x = lhs(col, a);
      const y = lhs(col, b);
      let c: number;
      if (x === null && y === null) c = 0;
      else if (x === null) c = -1;
      else if (y === null) c = 1;
      else c = compare(x, y);
      if (c !== 0) return k.desc ? -c : c;
    }
    return byStr(id(a), id(b));
  });
}

function runQuery<A extends string, R>(rows: R[], q: Query<A>, columns: Columns<A, R>, id: (r: R) => string): Page<R> {
  const matching = q.filter ? rows.filter((r) => evaluate(q.filter!, columns, r) === true) : rows;
  return page(sortRows(matching, q.sort, columns, id), q.limit, q.offset);
}

// ---------------------------------------------------------------------------------------------
// The store
// ---------------------------------------------------------------------------------------------

export interface MemoryStoreOptions {
  /** The clock for `updatedAt` bumps and membership times (the SQL store uses the system time). */
  clock?: Clock;
  /** How long a write through `repos` waits for a running transaction before failing (ms). */
  lockTimeoutMs?: number;
}

export function createMemoryStore(options: MemoryStoreOptions = {}): Store {
  let state = emptyState();
  const now = () => (options.clock ? options.clock.now() : new Date());
  const lockTimeoutMs = options.lockTimeoutMs ?? 5000;
  let closed = false;

  // The writer lock: a promise chain. Transactions hold it for their whole run.
  let tail: Promise<void> = Promise.resolve();
  let held = false;
  const exclusive = <T>(fn: () => Promise<T> | T): Promise<T> => {
    const run = tail.then(async () => {
      held = true;
      try {
        return await fn();
      } finally {
        held = false;
      }
    });
    tail = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  };
  /** A stand-alone write: runs at once, or after the running transaction (with a deadlock guard). */
  const write = <T>(fn: () => T): Promise<T> => {
    if (closed) return Promise.reject(new Error('store is closed'));
    if (!held) {
      try {
        return Promise.resolve(fn());
      } catch (err) {
        return Promise.reject(err);
      }
    }
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error('store writer lock timed out (a write through store.repos awaited inside a transaction?)')),
        lockTimeoutMs,
      );
      exclusive(fn).then(
        (v) => {
          clearTimeout(timer);
          resolve(v);
        },
        (e: unknown) => {
          clearTimeout(timer);
          reject(e);
        },
      );
    });
  };
  /** A write inside a transaction: the lock is already held. */
  const direct = <T>(fn: () => T): Promise<T> => {
    try {
      return Promise.resolve(fn());
    } catch (err) {
      return Promise.reject(err);
    }
  };
  const read = <T>(fn: () => T): Promise<T> => {
    if (closed) return Promise.reject(new Error('store is closed'));
    try {
      return Promise.resolve(fn());
    } catch (err) {
      return Promise.reject(err);
    }
  };

  const repos = (w: <T>(fn: () => T) => Promise<T>): Repositories => createRepositories(() => state, w, read, now);
  const base = repos(write);
  const inTx = repos(direct);

  let commits = 0;
  return {
    repos: base,
    dialect: 'sqlite',
    get commits() {
      return commits;
    },
    transaction(fn) {
      if (closed) return Promise.reject(new Error('store is closed'));
      return exclusive(async () => {
        const snapshot = copy(state);
        try {
          return await fn(inTx);
        } catch (err) {
          state = snapshot;
          throw err;
        } finally {
          commits++;
        }
      });
    },
    startupLock: (fn) => fn(),
    async ping() {
      if (closed) throw new Error('store is closed');
    },
    async close() {
      await tail;
      closed = true;
    },
  };
}

type Writer = <T>(fn: () => T) => Promise<T>;

function createRepositories(s: () => State, write: Writer, read: Writer, now: () => Date): Repositories {
  // --- users -------------------------------------------------------------------------------
  const toUser = (id: string): User | null => {
    const r = s().users.get(id);
    if (!r) return null;
    return {
      ...copy(r.profile),
      hasPassword: r.credentials.passwordHash !== null,
      lockedAt: copy(s().authState.get(id)?.lockedAt ?? null),
    };
  };
  const authStateOf = (id: string): AuthState => {
    const a = s().authState.get(id);
    return a
      ? { failedCount: a.failedCount, lastFailedAt: copy(a.lastFailedAt), lockedAt: copy(a.lockedAt), lastTotpStep: a.lastTotpStep }
      : { failedCount: 0, lastFailedAt: null, lockedAt: null, lastTotpStep: null };
  };
  const checkUserUnique = (id: string, p: { username?: string; email?: string; unixUid?: number }) => {
    for (const [otherId, r] of s().users) {
      if (otherId === id) continue;
      if (p.username !== undefined && r.profile.username === p.username) throw conflictError('username');
      if (p.email !== undefined && r.profile.email === p.email) throw conflictError('email');
      if (p.unixUid !== undefined && r.profile.unixUid === p.unixUid) throw conflictError('unix_uid');
    }
  };
  const USER_UPDATABLE: readonly (keyof UserUpdate)[] = [
    'username',
    'email',
    'firstname',
    'lastname',
    'displayname',
    'state',
    'passwordChangedAt',
    'passwordExpiredFlag',
    'totpEnrolled',
    'enableUserPortalMultifactor',
    'mfaExclusion',
    'mfaExclusionUntil',
    'ldapBindingUser',
    'unixUid',
    'unixGuid',
    'jobTitle',
    'department',
    'company',
    'location',
    'employeeIdentifier',
    'description',
    'attributes',
  ];
  const memberUserIds = (groupId: string) => [...s().userGroupMembers.values()].filter((m) => m.groupId === groupId).map((m) => m.userId);
  const groupIdsOfUser = (userId: string) => [...s().userGroupMembers.values()].filter((m) => m.userId === userId).map((m) => m.groupId);

  const USER_COLUMNS: Columns<UserAttr, User> = {
    id: { kind: 'id', get: (u) => u.id },
    username: { kind: 'lower', get: (u) => u.username },
    email: { kind: 'lower', get: (u) => u.email },
    firstname: { kind: 'ci', get: (u) => u.firstname },
    lastname: { kind: 'ci', get: (u) => u.lastname },
    displayname: { kind: 'ci', get: (u) => u.displayname },
    state: { kind: 'upper', get: (u) => u.state },
    unixUid: { kind: 'int', get: (u) => u.unixUid },
    unixGuid: { kind: 'int', get: (u) => u.unixGuid },
    ldapBindingUser: { kind: 'bool', get: (u) => u.ldapBindingUser },
    hasPassword: { kind: 'bool', get: (u) => u.hasPassword },
    totpEnrolled: { kind: 'bool', get: (u) => u.totpEnrolled },
    enableUserPortalMultifactor: { kind: 'bool', get: (u) => u.enableUserPortalMultifactor },
    passwordExpiredFlag: { kind: 'bool', get: (u) => u.passwordExpiredFlag },
    passwordChangedAt: { kind: 'time', get: (u) => u.passwordChangedAt?.getTime() ?? null },
    jobTitle: { kind: 'ci', get: (u) => u.jobTitle },
    department: { kind: 'ci', get: (u) => u.department },
    company: { kind: 'ci', get: (u) => u.company },
    location: { kind: 'ci', get: (u) => u.location },
    employeeIdentifier: { kind: 'ci', get: (u) => u.employeeIdentifier },
    description: { kind: 'ci', get: (u) => u.description },
    createdAt: { kind: 'time', get: (u) => u.createdAt.getTime() },
    updatedAt: { kind: 'time', get: (u) => u.updatedAt.getTime() },
    cn: { kind: 'ci', get: (u) => commonName(u) },
    memberOf: {
      kind: 'sub',
      has: (u, groupId) => s().userGroupMembers.has(pairKey(groupId, u.id)),
      any: (u) => groupIdsOfUser(u.id).length > 0,
    },
    memberOfGroupBoundTo: {
      kind: 'sub',
      has: (u, target) =>
        groupIdsOfUser(u.id).some((g) => [...s().associations.values()].some((a) => a.fromType === 'user_group' && a.fromId === g && `${a.toType}:${a.toId}` === target)),
      any: () => false,
    },
    memberOfName: {
      kind: 'sub',
      has: (u, name) => groupIdsOfUser(u.id).some((g) => s().userGroups.get(g)?.name.toLowerCase() === name.toLowerCase()),
      any: (u) => groupIdsOfUser(u.id).length > 0,
    },
    boundTo: {
      kind: 'sub',
      has: (u, target) =>
        [...s().associations.values()].some(
          (a) => `${a.toType}:${a.toId}` === target && ((a.fromType === 'user' && a.fromId === u.id) || (a.fromType === 'user_group' && s().userGroupMembers.has(pairKey(a.fromId, u.id)))),
        ),
      any: () => false,
    },
    lockedAt: { kind: 'time', get: (u) => u.lockedAt?.getTime() ?? null },
  };

  const GROUP_COLUMNS: Columns<GroupAttr, UserGroup> = {
    id: { kind: 'id', get: (g) => g.id },
    name: { kind: 'ci', get: (g) => g.name },
    description: { kind: 'ci', get: (g) => g.description },
    email: { kind: 'ci', get: (g) => g.email },
    posixGid: { kind: 'int', get: (g) => g.posixGid },
    posixName: { kind: 'ci', get: (g) => g.posixName },
    createdAt: { kind: 'time', get: (g) => g.createdAt.getTime() },
    updatedAt: { kind: 'time', get: (g) => g.updatedAt.getTime() },
    member: {
      kind: 'sub',
      has: (g, userId) => s().userGroupMembers.has(pairKey(g.id, userId)),
      any: (g) => memberUserIds(g.id).length > 0,
    },
    memberName: {
      kind: 'sub',
      has: (g, username) => memberUserIds(g.id).some((id) => s().users.get(id)?.profile.username === username),
      any: (g) => memberUserIds(g.id).length > 0,
    },
    boundTo: {
      kind: 'sub',
      has: (g, target) => [...s().associations.values()].some((a) => a.fromType === 'user_group' && a.fromId === g.id && `${a.toType}:${a.toId}` === target),
      any: () => false,
    },
  };

  const SYSTEM_COLUMNS: Columns<SystemAttr, System> = {
    id: { kind: 'id', get: (x) => x.id },
    displayName: { kind: 'ci', get: (x) => x.displayName },
    hostname: { kind: 'ci', get: (x) => x.hostname },
    os: { kind: 'ci', get: (x) => x.os },
    version: { kind: 'ci', get: (x) => x.version },
    arch: { kind: 'ci', get: (x) => x.arch },
    active: { kind: 'bool', get: (x) => x.active },
    allowMultiFactorAuthentication: { kind: 'bool', get: (x) => x.allowMultiFactorAuthentication },
    createdAt: { kind: 'time', get: (x) => x.createdAt.getTime() },
  };

  /** Applies the defined fields of `patch` whose keys are in `allowed`; returns whether anything changed. */
  const applyPatch = <T extends object>(target: T, patch: object, allowed: readonly string[]): boolean => {
    let changed = false;
    for (const [k, v] of Object.entries(patch)) {
      if (!allowed.includes(k) || v === undefined) continue;
      (target as Record<string, unknown>)[k] = copy(v);
      changed = true;
    }
    return changed;
  };

  const auth: Repositories['authState'] = {
    ensure: (id) =>
      write(() => {
        if (!s().authState.has(id)) {
          s().authState.set(id, { failedCount: 0, lastFailedAt: null, lockedAt: null, lockedCount: null, lastTotpStep: null });
        }
      }),
    get: (id) => read(() => authStateOf(id)),
    recordFailure: (id, at, policy) =>
      write((): FailureResult => {
        let row = s().authState.get(id);
        if (!row) {
          row = { failedCount: 0, lastFailedAt: null, lockedAt: null, lockedCount: null, lastTotpStep: null };
          s().authState.set(id, row);
        }
        const t = at.getTime();
        const resetMs = policy.resetCounterSeconds * 1000;
        // The window only restarts an unlocked account's count; after a lock the count keeps rising.
        const stale = row.lockedAt === null && resetMs > 0 && row.lastFailedAt !== null && row.lastFailedAt.getTime() <= t - resetMs;
        const next = policy.maxAttempts > 0 ? (stale ? 1 : row.failedCount + 1) : 0;
        const locks = row.lockedAt === null && policy.maxAttempts > 0 && next >= policy.maxAttempts;
        row.failedCount = next;
        row.lastFailedAt = new Date(t);
        if (locks) {
          row.lockedAt = new Date(t);
          row.lockedCount = next;
        }
        return { failedCount: next, locked: row.lockedAt !== null, justLocked: locks };
      }),
    clearFailures: (id) =>
      write(() => {
        const row = s().authState.get(id);
        if (row && row.failedCount !== 0) {
          row.failedCount = 0;
          row.lastFailedAt = null;
        }
      }),
    unlock: (id, onlyIfLockedAt) =>
      write(() => {
        const row = s().authState.get(id);
        if (!row || row.lockedAt === null) return false;
        if (onlyIfLockedAt && row.lockedAt.getTime() !== onlyIfLockedAt.getTime()) return false;
        row.lockedAt = null;
        row.lockedCount = null;
        row.failedCount = 0;
        row.lastFailedAt = null;
        return true;
      }),
    acceptTotpStep: (id, step) =>
      write(() => {
        let row = s().authState.get(id);
        if (!row) {
          row = { failedCount: 0, lastFailedAt: null, lockedAt: null, lockedCount: null, lastTotpStep: null };
          s().authState.set(id, row);
        }
        if (row.lastTotpStep !== null && row.lastTotpStep >= step) return false;
        row.lastTotpStep = step;
        return true;
      }),
    resetTotpGuard: (id) =>
      write(() => {
        const row = s().authState.get(id);
        if (row) row.lastTotpStep = null;
      }),
    delete: (id) =>
      write(() => {
        s().authState.delete(id);
      }),
    lockedSubjects: () => read(() => [...s().authState].filter(([, r]) => r.lockedAt !== null).map(([id]) => id)),
  };

  const users: Repositories['users'] = {
    create: (u, c) =>
      write(() => {
        if (s().users.has(u.id)) throw conflictError('id');
        checkUserUnique(u.id, { username: u.username, email: u.email, unixUid: u.unixUid });
        const { lockedAt: _l, hasPassword: _h, ...profile } = copy(u);
        s().users.set(u.id, { profile, credentials: copy(c) });
      }),
    update: (id, patch) =>
      write(() => {
        const r = s().users.get(id);
        if (!r) return;
        checkUserUnique(id, { username: patch.username, email: patch.email, unixUid: patch.unixUid });
        if (applyPatch(r.profile, patch, USER_UPDATABLE)) r.profile.updatedAt = now();
      }),
    touch: (id) =>
      write(() => {
        const r = s().users.get(id);
        if (r) r.profile.updatedAt = now();
      }),
    touchMembersOf: (groupId) =>
      write(() => {
        for (const id of memberUserIds(groupId)) {
          const r = s().users.get(id);
          if (r) r.profile.updatedAt = now();
        }
      }),
    updateCredentials: (id, patch) =>
      write(() => {
        const r = s().users.get(id);
        if (!r) return;
        if (applyPatch(r.credentials, patch, ['passwordHash', 'passwordHistory', 'totpSecret', 'totpPendingSecret'])) {
          r.profile.updatedAt = now();
        }
      }),
    delete: (id) =>
      write(() => {
        s().users.delete(id);
        // user_group_members.user_id references users ON DELETE CASCADE
        for (const [k, m] of s().userGroupMembers) if (m.userId === id) s().userGroupMembers.delete(k);
      }),
    get: (id) => read(() => toUser(id)),
    getMany: (ids) =>
      read(() =>
        sorted(
          [...new Set(ids)].map(toUser).filter((u): u is User => u !== null),
          (a, b) => byStr(a.username, b.username),
        ),
      ),
    getByUsername: (username) =>
      read(() => {
        const n = username.toLowerCase();
        for (const [id, r] of s().users) if (r.profile.username === n) return toUser(id);
        return null;
      }),
    getByEmail: (email) =>
      read(() => {
        const n = email.toLowerCase();
        for (const [id, r] of s().users) if (r.profile.email === n) return toUser(id);
        return null;
      }),
    getCredentials: (id) => read(() => copy(s().users.get(id)?.credentials ?? null)),
    findForAuth: (login, accessTo) =>
      read((): UserForAuth | null => {
        // As in SQL: exact match (the caller normalises), on email when the login has an "@".
        const field = login.includes('@') ? 'email' : 'username';
        for (const [id, r] of s().users) {
          if (r.profile[field] !== login) continue;
          const found: UserForAuth = { user: toUser(id)!, credentials: copy(r.credentials), authState: authStateOf(id) };
          if (accessTo) {
            found.hasAccess = [...s().associations.values()].some(
              (a) =>
                a.toType === accessTo.type &&
                a.toId === accessTo.id &&
                ((a.fromType === 'user' && a.fromId === id) || (a.fromType === 'user_group' && s().userGroupMembers.has(pairKey(a.fromId, id)))),
            );
          }
          return found;
        }
        return null;
      }),
    unixIdInUse: (n) =>
      read(() => {
        for (const r of s().users.values()) if (r.profile.unixUid === n || r.profile.unixGuid === n) return true;
        for (const g of s().userGroups.values()) if (g.posixGid === n) return true;
        return false;
      }),
    query: (q) =>
      read(() => {
        const all = [...s().users.keys()].map((id) => toUser(id)!);
        return runQuery(all, q, USER_COLUMNS, (u) => u.id);
      }),
    groupsWithMembers: (filter, groupsBoundTo) =>
      read(() => {
        const users = new Set(runQuery([...s().users.keys()].map((id) => toUser(id)!), { filter, limit: Number.MAX_SAFE_INTEGER, offset: 0 }, USER_COLUMNS, (u) => u.id).items.map((u) => u.id));
        const bound = (groupId: string) =>
          [...s().associations.values()].some((a) => a.fromType === 'user_group' && a.fromId === groupId && `${a.toType}:${a.toId}` === groupsBoundTo);
        return [...new Set([...s().userGroupMembers.values()].filter((m) => users.has(m.userId) && bound(m.groupId)).map((m) => m.groupId))];
      }),
    membersOf: (groupIds, filter) =>
      read(() => {
        const users = runQuery([...s().users.keys()].map((id) => toUser(id)!), { filter, limit: Number.MAX_SAFE_INTEGER, offset: 0 }, USER_COLUMNS, (u) => u.id).items;
        const byId = new Map(users.map((u) => [u.id, u]));
        return [...s().userGroupMembers.values()]
          .filter((m) => groupIds.includes(m.groupId) && byId.has(m.userId))
          .map((m) => ({ groupId: m.groupId, id: m.userId, username: byId.get(m.userId)!.username }))
          .sort((a, b) => byStr(a.username, b.username));
      }),
    queryWithGroupNames: (q, groupsBoundTo) =>
      read(() => {
        const page = runQuery([...s().users.keys()].map((id) => toUser(id)!), q, USER_COLUMNS, (u) => u.id);
        const bound = (groupId: string) =>
          [...s().associations.values()].some((a) => a.fromType === 'user_group' && a.fromId === groupId && `${a.toType}:${a.toId}` === groupsBoundTo);
        return {
          total: page.total,
          items: page.items.map((user) => ({
            user,
            groupNames: groupIdsOfUser(user.id)
              .filter(bound)
              .map((g) => s().userGroups.get(g)!.name)
              .sort(),
          })),
        };
      }),
  };

  // --- user groups ---------------------------------------------------------------------------
  const checkGroupUnique = (id: string, p: { name?: string; posixGid?: number | null }) => {
    for (const g of s().userGroups.values()) {
      if (g.id === id) continue;
      if (p.name !== undefined && g.name === p.name) throw conflictError('name');
      if (p.posixGid !== undefined && p.posixGid !== null && g.posixGid === p.posixGid) throw conflictError('posix_gid');
    }
  };
  const userGroups: Repositories['userGroups'] = {
    create: (g) =>
      write(() => {
        if (s().userGroups.has(g.id)) throw conflictError('id');
        checkGroupUnique(g.id, g);
        s().userGroups.set(g.id, copy(g));
      }),
    update: (id, p) =>
      write(() => {
        const g = s().userGroups.get(id);
        if (!g) return;
        checkGroupUnique(id, p);
        if (applyPatch(g, p, ['name', 'description', 'email', 'posixGid', 'posixName', 'radiusReply'])) g.updatedAt = now();
      }),
    touch: (id) =>
      write(() => {
        const g = s().userGroups.get(id);
        if (g) g.updatedAt = now();
      }),
    delete: (id) =>
      write(() => {
        for (const [k, m] of s().userGroupMembers) if (m.groupId === id) s().userGroupMembers.delete(k);
        s().userGroups.delete(id);
      }),
    get: (id) => read(() => copy(s().userGroups.get(id) ?? null)),
    getByName: (name) =>
      read(() => {
        const n = name.toLowerCase();
        for (const g of s().userGroups.values()) if (g.name.toLowerCase() === n) return copy(g);
        return null;
      }),
    getMany: (ids) =>
      read(() =>
        sorted(
          [...new Set(ids)].map((id) => s().userGroups.get(id)).filter((g): g is UserGroup => g !== undefined),
          (a, b) => byStr(a.name, b.name),
        ).map(copy),
      ),
    query: (q, withMember) =>
      read(() => {
        let groups = [...s().userGroups.values()];
        if (withMember) {
          const users = new Set(runQuery([...s().users.keys()].map((id) => toUser(id)!), { filter: withMember, limit: Number.MAX_SAFE_INTEGER, offset: 0 }, USER_COLUMNS, (u) => u.id).items.map((u) => u.id));
          const having = new Set([...s().userGroupMembers.values()].filter((m) => users.has(m.userId)).map((m) => m.groupId));
          groups = groups.filter((g) => having.has(g.id));
        }
        return copy(runQuery(groups, q, GROUP_COLUMNS, (g) => g.id));
      }),
    addMember: (groupId, userId) =>
      write(() => {
        const k = pairKey(groupId, userId);
        if (s().userGroupMembers.has(k)) return false;
        if (!s().userGroups.has(groupId)) throw foreignKeyError(`user group ${groupId}`);
        if (!s().users.has(userId)) throw foreignKeyError(`user ${userId}`);
        s().userGroupMembers.set(k, { groupId, userId, createdAt: now() });
        return true;
      }),
    removeMember: (groupId, userId) => write(() => s().userGroupMembers.delete(pairKey(groupId, userId))),
    memberIds: (groupId, limit, offset) => read(() => page(memberUserIds(groupId).sort(byStr), limit, offset)),
    groupIdsOf: (userId) => read(() => groupIdsOfUser(userId)),
    anyBoundWithRadiusReply: (radiusServerId) =>
      read(() =>
        [...s().associations.values()].some(
          (a) => a.fromType === 'user_group' && a.toType === 'radius_server' && a.toId === radiusServerId && (s().userGroups.get(a.fromId)?.radiusReply.length ?? 0) > 0,
        ),
      ),
    groupsOfUserBoundTo: (userId, toType, toId) =>
      read(() =>
        copy(
          groupIdsOfUser(userId)
            .map((g) => s().userGroups.get(g)!)
            .filter((g) => [...s().associations.values()].some((a) => a.fromType === 'user_group' && a.fromId === g.id && a.toType === toType && a.toId === toId))
            .sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime() || byStr(a.id, b.id)),
        ),
      ),
    membershipPairs: (by) =>
      read(() =>
        [...s().userGroupMembers.values()]
          .filter((m) => (by.groupIds ? by.groupIds.includes(m.groupId) : (by.userIds ?? []).includes(m.userId)))
          .map((m) => ({ groupId: m.groupId, userId: m.userId })),
      ),
  };

  // --- systems -------------------------------------------------------------------------------
  const systems: Repositories['systems'] = {
    create: (x) =>
      write(() => {
        if (s().systems.has(x.id)) throw conflictError('id');
        s().systems.set(x.id, copy(x));
      }),
    update: (id, p) =>
      write(() => {
        const x = s().systems.get(id);
        if (!x) return;
        const allowed = ['displayName', 'hostname', 'os', 'version', 'arch', 'agentVersion', 'active', 'lastContact', 'allowMultiFactorAuthentication', 'systemInsightsState'];
        if (applyPatch(x, p, allowed)) x.updatedAt = now();
      }),
    delete: (id) =>
      write(() => {
        for (const [k, m] of s().systemGroupMembers) if (m.systemId === id) s().systemGroupMembers.delete(k);
        s().systems.delete(id);
      }),
    get: (id) => read(() => copy(s().systems.get(id) ?? null)),
    query: (q) => read(() => copy(runQuery([...s().systems.values()], q, SYSTEM_COLUMNS, (x) => x.id))),
  };

  const systemGroups: Repositories['systemGroups'] = {
    create: (g) =>
      write(() => {
        if (s().systemGroups.has(g.id)) throw conflictError('id');
        for (const o of s().systemGroups.values()) if (o.name === g.name) throw conflictError('name');
        s().systemGroups.set(g.id, copy(g));
      }),
    update: (id, p) =>
      write(() => {
        const g = s().systemGroups.get(id);
        if (!g) return;
        if (p.name !== undefined) for (const o of s().systemGroups.values()) if (o.id !== id && o.name === p.name) throw conflictError('name');
        if (applyPatch(g, p, ['name', 'description'])) g.updatedAt = now();
      }),
    delete: (id) =>
      write(() => {
        for (const [k, m] of s().systemGroupMembers) if (m.groupId === id) s().systemGroupMembers.delete(k);
        s().systemGroups.delete(id);
      }),
    get: (id) => read(() => copy(s().systemGroups.get(id) ?? null)),
    getByName: (name) =>
      read(() => {
        const n = name.toLowerCase();
        for (const g of s().systemGroups.values()) if (g.name.toLowerCase() === n) return copy(g);
        return null;
      }),
    list: (limit, offset) =>
      read(() => copy(page(sorted(s().systemGroups.values(), (a, b) => byStr(a.name, b.name) || byStr(a.id, b.id)), limit, offset))),
    addMember: (groupId, systemId) =>
      write(() => {
        const k = pairKey(groupId, systemId);
        if (s().systemGroupMembers.has(k)) return false;
        if (!s().systemGroups.has(groupId)) throw foreignKeyError(`system group ${groupId}`);
        if (!s().systems.has(systemId)) throw foreignKeyError(`system ${systemId}`);
        s().systemGroupMembers.set(k, { groupId, systemId, createdAt: now() });
        return true;
      }),
    removeMember: (groupId, systemId) => write(() => s().systemGroupMembers.delete(pairKey(groupId, systemId))),
    memberIds: (groupId, limit, offset) =>
      read(() =>
        page(
          [...s().systemGroupMembers.values()]
            .filter((m) => m.groupId === groupId)
            .map((m) => m.systemId)
            .sort(byStr),
          limit,
          offset,
        ),
      ),
    groupIdsOf: (systemId) => read(() => [...s().systemGroupMembers.values()].filter((m) => m.systemId === systemId).map((m) => m.groupId)),
  };

  // --- resources -----------------------------------------------------------------------------
  const ldapServers: Repositories['ldapServers'] = {
    create: (x) =>
      write(() => {
        if (s().ldapServers.has(x.id)) throw conflictError('id');
        s().ldapServers.set(x.id, copy(x));
      }),
    update: (id, p) =>
      write(() => {
        const x = s().ldapServers.get(id);
        if (x && applyPatch(x, p, ['name', 'userLockoutAction', 'userPasswordExpirationAction'])) x.updatedAt = now();
      }),
    get: (id) => read(() => copy(s().ldapServers.get(id) ?? null)),
    list: () => read(() => copy(sorted(s().ldapServers.values(), (a, b) => byNum(a.createdAt.getTime(), b.createdAt.getTime()) || byStr(a.id, b.id)))),
  };

  const radiusServers: Repositories['radiusServers'] = {
    create: (x, sealedSecret) =>
      write(() => {
        if (s().radiusServers.has(x.id)) throw conflictError('id');
        for (const r of s().radiusServers.values()) if (r.server.networkSourceIp === x.networkSourceIp) throw conflictError('network_source_ip');
        s().radiusServers.set(x.id, { server: copy(x), sealedSecret });
      }),
    update: (id, p, sealedSecret) =>
      write(() => {
        const r = s().radiusServers.get(id);
        if (!r) return;
        if (p.networkSourceIp !== undefined) {
          for (const o of s().radiusServers.values()) {
            if (o.server.id !== id && o.server.networkSourceIp === p.networkSourceIp) throw conflictError('network_source_ip');
          }
        }
        const allowed = ['name', 'networkSourceIp', 'mfa', 'userLockoutAction', 'userPasswordExpirationAction', 'requireMessageAuthenticator', 'sharedSecretLength'];
        let changed = applyPatch(r.server, p, allowed);
        if (sealedSecret !== undefined) {
          r.sealedSecret = sealedSecret;
          changed = true;
        }
        if (changed) r.server.updatedAt = now();
      }),
    delete: (id) =>
      write(() => {
        s().radiusServers.delete(id);
      }),
    get: (id) => read(() => copy(s().radiusServers.get(id)?.server ?? null)),
    getByName: (name) =>
      read(() => {
        for (const r of s().radiusServers.values()) if (r.server.name === name) return copy(r.server);
        return null;
      }),
    list: () => read(() => sorted(s().radiusServers.values(), (a, b) => byStr(a.server.name, b.server.name) || byStr(a.server.id, b.server.id)).map((r) => copy(r.server))),
    getSealedSecret: (id) => read(() => s().radiusServers.get(id)?.sealedSecret ?? null),
  };

  const applications: Repositories['applications'] = {
    create: (a) =>
      write(() => {
        if (s().applications.has(a.id)) throw conflictError('id');
        for (const o of s().applications.values()) if (o.name === a.name) throw conflictError('name');
        s().applications.set(a.id, copy(a));
      }),
    update: (id, p) =>
      write(() => {
        const a = s().applications.get(id);
        if (!a) return;
        if (p.name !== undefined) for (const o of s().applications.values()) if (o.id !== id && o.name === p.name) throw conflictError('name');
        if (applyPatch(a, p, ['name', 'displayLabel', 'config'])) a.updatedAt = now();
      }),
    delete: (id) =>
      write(() => {
        s().applications.delete(id);
      }),
    get: (id) => read(() => copy(s().applications.get(id) ?? null)),
    getByName: (name) =>
      read(() => {
        for (const a of s().applications.values()) if (a.name === name) return copy(a);
        return null;
      }),
    list: (limit, offset) =>
      read(() => copy(page(sorted(s().applications.values(), (a, b) => byStr(a.name, b.name) || byStr(a.id, b.id)), limit, offset))),
  };

  // --- associations --------------------------------------------------------------------------
  const assocKey = (a: Omit<Association, 'createdAt'>) => [a.fromType, a.fromId, a.toType, a.toId].join('\u0000');
  const associations: Repositories['associations'] = {
    add: (a) =>
      write(() => {
        const k = assocKey(a);
        if (s().associations.has(k)) return false;
        s().associations.set(k, copy({ fromType: a.fromType, fromId: a.fromId, toType: a.toType, toId: a.toId, createdAt: a.createdAt }));
        return true;
      }),
    remove: (a) => write(() => s().associations.delete(assocKey(a))),
    listFrom: (fromType, fromId) =>
      read(() =>
        sorted(
          [...s().associations.values()].filter((a) => a.fromType === fromType && a.fromId === fromId),
          (a, b) => byStr(a.toType, b.toType) || byStr(a.toId, b.toId),
        ).map(copy),
      ),
    listTo: (toType, toId) =>
      read(() =>
        sorted(
          [...s().associations.values()].filter((a) => a.toType === toType && a.toId === toId),
          (a, b) => byStr(a.fromType, b.fromType) || byStr(a.fromId, b.fromId),
        ).map(copy),
      ),
    removeAllFor: (type, id) =>
      write(() => {
        for (const [k, a] of s().associations) {
          if ((a.fromType === type && a.fromId === id) || (a.toType === type && a.toId === id)) s().associations.delete(k);
        }
      }),
    userHasAccess: (userId, toType, toId) =>
      read(() => {
        const groups = new Set(groupIdsOfUser(userId));
        for (const a of s().associations.values()) {
          if (a.toType !== toType || a.toId !== toId) continue;
          if (a.fromType === 'user' && a.fromId === userId) return true;
          if (a.fromType === 'user_group' && groups.has(a.fromId)) return true;
        }
        return false;
      }),
  };

  // --- organisation, admins, api keys, sequences ----------------------------------------------
  const organizations: Repositories['organizations'] = {
    get: () =>
      read(() => {
        const first = sorted(s().organizations.values(), (a, b) => byNum(a.org.createdAt.getTime(), b.org.createdAt.getTime()))[0];
        if (!first) return null;
        // Settings are stored as JSON and normalised on read, as in SQL.
        const org = copy(first.org);
        return { ...org, settings: normaliseSettings(JSON.parse(JSON.stringify(org.settings))) };
      }),
    create: (o) =>
      write(() => {
        if (s().organizations.has(o.id)) throw conflictError('id');
        s().organizations.set(o.id, { org: copy(o), updatedAt: copy(o.createdAt) });
      }),
    update: (id, p) =>
      write(() => {
        const r = s().organizations.get(id);
        if (!r) return;
        let changed = false;
        if (p.displayName !== undefined) {
          r.org.displayName = p.displayName;
          changed = true;
        }
        if (p.settings !== undefined) {
          r.org.settings = copy(p.settings);
          changed = true;
        }
        if (changed) r.updatedAt = now();
      }),
  };

  const admins: Repositories['admins'] = {
    create: (a, c) =>
      write(() => {
        if (s().admins.has(a.id)) throw conflictError('id');
        for (const o of s().admins.values()) if (o.admin.email === a.email) throw conflictError('email');
        s().admins.set(a.id, { admin: copy(a), credentials: copy(c), updatedAt: copy(a.createdAt) });
      }),
    get: (id) => read(() => copy(s().admins.get(id)?.admin ?? null)),
    getByEmail: (email) =>
      read(() => {
        const n = email.toLowerCase();
        for (const r of s().admins.values()) if (r.admin.email === n) return copy(r.admin);
        return null;
      }),
    list: () => read(() => sorted(s().admins.values(), (a, b) => byStr(a.admin.email, b.admin.email)).map((r) => copy(r.admin))),
    count: () => read(() => s().admins.size),
    getCredentials: (id) => read(() => copy(s().admins.get(id)?.credentials ?? null)),
    updateCredentials: (id, c) =>
      write(() => {
        const r = s().admins.get(id);
        if (!r) return;
        let changed = applyPatch(r.credentials, c, ['passwordHash', 'totpSecret', 'totpPendingSecret']);
        if (c.totpSecret !== undefined) {
          r.admin.totpEnrolled = c.totpSecret !== null;
          changed = true;
        }
        if (changed) r.updatedAt = now();
      }),
    delete: (id) =>
      write(() => {
        s().admins.delete(id);
      }),
    // The memory store runs one transaction at a time.
    lockAll: () => Promise.resolve(),
  };

  const apiKeys: Repositories['apiKeys'] = {
    create: (k, keyHash) =>
      write(() => {
        if (s().apiKeys.has(k.id)) throw conflictError('id');
        for (const o of s().apiKeys.values()) if (o.keyHash === keyHash) throw conflictError('key_hash');
        s().apiKeys.set(k.id, { key: { ...copy(k), lastUsedAt: null }, keyHash });
      }),
    findByHash: (keyHash) =>
      read(() => {
        for (const r of s().apiKeys.values()) if (r.keyHash === keyHash) return copy(r.key);
        return null;
      }),
    getHash: (id) => read(() => s().apiKeys.get(id)?.keyHash ?? null),
    list: () =>
      read(() =>
        sorted(s().apiKeys.values(), (a, b) => byNum(a.key.createdAt.getTime(), b.key.createdAt.getTime()) || byStr(a.key.id, b.key.id)).map((r) =>
          copy(r.key),
        ),
      ),
    delete: (id) =>
      write(() => {
        s().apiKeys.delete(id);
      }),
    touch: (id, at) =>
      write(() => {
        const r = s().apiKeys.get(id);
        if (r) r.key.lastUsedAt = new Date(at.getTime());
      }),
  };

  const sequences: Repositories['sequences'] = {
    next: (name, start) =>
      write(() => {
        const v = (s().sequences.get(name) ?? start - 1) + 1;
        s().sequences.set(name, v);
        return v;
      }),
  };

  const challenges: Repositories['challenges'] = {
    create: (c) =>
      write(() => {
        if (s().challenges.has(c.id)) throw conflictError('id');
        s().challenges.set(c.id, copy(c));
      }),
    consume: (id, now) =>
      write(() => {
        const c = s().challenges.get(id);
        if (!c) return null;
        s().challenges.delete(id);
        return c.expiresAt.getTime() > now.getTime() ? copy(c) : null;
      }),
    purgeExpired: (now) =>
      write(() => {
        let n = 0;
        for (const [id, c] of s().challenges) {
          if (c.expiresAt.getTime() <= now.getTime()) {
            s().challenges.delete(id);
            n++;
          }
        }
        return n;
      }),
  };

  // --- audit ---------------------------------------------------------------------------------
  /** The indexed column value of an event field, as `audit.ts` extracts it (strings cut at 256). */
  const fieldValue = (e: AuditEvent, path: AuditField): string | boolean => {
    if (path === 'success') return e.success === true;
    const [head, sub] = path.split('.') as [string, string | undefined];
    const v = sub === undefined ? e[head] : (e[head] as Record<string, unknown> | undefined)?.[sub];
    return typeof v === 'string' ? v.slice(0, 256) : '';
  };
  const audit: Repositories['audit'] = {
    append: (events) =>
      write(() => {
        const ids = new Set(s().audit.map((e) => e.id));
        for (const e of events) {
          if (ids.has(e.id)) throw conflictError('id');
          ids.add(e.id);
        }
        // Stored as JSON, as in SQL: what comes back is what JSON keeps.
        for (const e of events) s().audit.push(JSON.parse(JSON.stringify(e)) as AuditEvent);
      }),
    query: (q: AuditQuery) =>
      read(() => {
        const from = q.startTime.getTime();
        const to = q.endTime.getTime();
        const text = q.searchText ? q.searchText.toLowerCase() : '';
        const matching = s().audit.filter((e) => {
          const ts = Date.parse(e.timestamp);
          if (ts < from || ts > to) return false;
          if (q.services !== 'all' && !q.services.includes(e.service)) return false;
          if (text && !JSON.stringify(e).toLowerCase().includes(text)) return false;
          if (q.match && q.match.terms.length > 0) {
            const hits = q.match.terms.map((t) =>
              t.path === 'success' ? fieldValue(e, t.path) === (t.value === true || t.value === 'true') : fieldValue(e, t.path) === String(t.value),
            );
            if (q.match.mode === 'and' ? !hits.every(Boolean) : !hits.some(Boolean)) return false;
          }
          return true;
        });
        const dir = q.ascending ? 1 : -1;
        matching.sort((a, b) => dir * (Date.parse(a.timestamp) - Date.parse(b.timestamp) || byStr(a.id, b.id)));
        return copy(matching.slice(q.skip, q.skip + q.limit));
      }),
    purge: (o) =>
      write(() => {
        const st = s();
        const before = st.audit.length;
        if (o.before) st.audit = st.audit.filter((e) => Date.parse(e.timestamp) >= o.before!.getTime());
        const expired = before - st.audit.length;
        let overLimit = 0;
        for (const type of o.bulk && o.bulk.keep > 0 ? o.bulk.eventTypes : []) {
          const keep = o.bulk!.keep;
          const ofType = st.audit.filter((e) => e.event_type === type);
          if (ofType.length <= keep) continue;
          // As the SQL store: that type's events at or before the newest one beyond the limit.
          const byNewest = ofType.sort((a, b) => Date.parse(b.timestamp) - Date.parse(a.timestamp));
          const cut = Date.parse(byNewest[keep]!.timestamp);
          const kept = st.audit.filter((e) => e.event_type !== type || Date.parse(e.timestamp) > cut);
          overLimit += st.audit.length - kept.length;
          st.audit = kept;
        }
        return { expired, overLimit };
      }),
  };

  return {
    organizations,
    users,
    userGroups,
    systems,
    systemGroups,
    ldapServers,
    radiusServers,
    applications,
    associations,
    admins,
    apiKeys,
    authState: auth,
    challenges,
    audit,
    sequences,
    // One writer at a time already: nothing to lock.
    rowLocks: { lock: async () => undefined, lockName: async () => undefined },
  };
}

/** Every audit event in the store, oldest first (a test convenience over `audit.query`). */
export async function allAuditEvents(store: Store): Promise<AuditEvent[]> {
  return store.repos.audit.query({
    services: 'all',
    startTime: new Date(-8.64e15),
    endTime: new Date(8.64e15),
    limit: Number.MAX_SAFE_INTEGER,
    skip: 0,
    ascending: true,
  });
}
