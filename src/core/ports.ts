/**
 * What core needs from outside. `store/` implements the repositories with Sequelize; tests use the
 * same implementation on a temporary SQLite file, or fakes for pure unit tests.
 */
import type { AuditEvent, AuditQuery } from './audit/event.js';
import type { DirectoryFilter, GroupAttr, Page, Query, SystemAttr, UserAttr } from './directory/filter.js';
import type { Organization, OrgSettings, LockoutPolicy } from './directory/organization.js';
import type {
  Admin,
  ApiKey,
  Application,
  Association,
  AuthChallenge,
  AuthState,
  GraphFromType,
  GraphToType,
  LdapServer,
  RadiusServer,
  System,
  SystemGroup,
  User,
  UserCredentials,
  UserGroup,
  UserUpdate,
} from './directory/types.js';

/** Injected time, so lockout windows and TOTP steps are testable without sleeping. */
export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };

/** Seals and opens secrets at rest (AES-256-GCM). `context` binds a ciphertext to its row. */
export interface SecretBox {
  seal(plaintext: string, context: string): string;
  /** Throws when the ciphertext was altered or sealed for another context. */
  open(sealed: string, context: string): string;
  /**
   * A 32-byte key for one purpose (e.g. `csrf`), derived from the secret key (HKDF-SHA256), so it
   * is the same on every instance that shares the secret key and no key is used for two things.
   */
  deriveKey(purpose: string): Buffer;
}

/** Minimal structured logger (pino-compatible); core never logs secrets. */
export interface Logger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export interface OrganizationRepository {
  /**
   * `forUpdate`, inside a transaction: the row stays locked until it ends, so that a change read,
   * merged and written back by two instances at once is not lost (PostgreSQL runs READ COMMITTED;
   * SQLite's write transactions are already serialised).
   */
  get(opts?: { forUpdate?: boolean }): Promise<Organization | null>;
  create(org: Organization): Promise<void>;
  update(id: string, patch: { displayName?: string; settings?: OrgSettings }): Promise<void>;
}

export interface UserForAuth {
  user: User;
  credentials: UserCredentials;
  authState: AuthState;
  /** With `accessTo`: is the user, or one of its groups, bound to that resource? */
  hasAccess?: boolean;
}

export interface UserRepository {
  create(user: User, credentials: UserCredentials): Promise<void>;
  /** Updates profile fields and bumps updatedAt. */
  update(id: string, patch: UserUpdate): Promise<void>;
  /**
   * Bumps updatedAt for a change that is no field of the record but changes the user's directory
   * entry (a group membership: memberOf; a binding to the LDAP server: the entry appears).
   */
  touch(id: string): Promise<void>;
  /** `touch` for every member of a group. */
  touchMembersOf(groupId: string): Promise<void>;
  updateCredentials(id: string, patch: Partial<UserCredentials>): Promise<void>;
  delete(id: string): Promise<void>;
  get(id: string): Promise<User | null>;
  getMany(ids: string[]): Promise<User[]>;
  getByUsername(username: string): Promise<User | null>;
  getByEmail(email: string): Promise<User | null>;
  getCredentials(id: string): Promise<UserCredentials | null>;
  /**
   * One read for the authentication hot path: user by lower-case username or email, its
   * credentials and auth state, and, when `accessTo` is given, whether it may use that resource.
   */
  findForAuth(login: string, accessTo?: { type: GraphToType; id: string }): Promise<UserForAuth | null>;
  /** Is this number a user's uidNumber or gidNumber, or a group's gidNumber? */
  unixIdInUse(n: number): Promise<boolean>;
  query(q: Query<UserAttr>): Promise<Page<User>>;
  /**
   * A page of users, each with the names of its groups that are bound to `groupsBoundTo`
   * (`<type>:<id>`), in one query: the LDAP search hot path (memberOf).
   */
  queryWithGroupNames(q: Query<UserAttr>, groupsBoundTo: string): Promise<Page<{ user: User; groupNames: string[] }>>;
  /**
   * Members of these groups that match `filter`, as (group, user id, username), ordered by
   * username: one query for the member lists of LDAP group entries.
   */
  membersOf(groupIds: string[], filter?: DirectoryFilter<UserAttr>): Promise<{ groupId: string; id: string; username: string }[]>;
  /** Ids of the groups bound to `groupsBoundTo` (`<type>:<id>`) that have a member matching `filter`. */
  groupsWithMembers(filter: DirectoryFilter<UserAttr>, groupsBoundTo: string): Promise<string[]>;
}

export interface UserGroupRepository {
  /** The user's groups that are bound to the resource, oldest first (RADIUS reply attributes): one query. */
  groupsOfUserBoundTo(userId: string, toType: GraphToType, toId: string): Promise<UserGroup[]>;
  /** Whether any group bound to the RADIUS server has reply attributes (when none does, no Accept needs a per-user read). */
  anyBoundWithRadiusReply(radiusServerId: string): Promise<boolean>;
  create(group: UserGroup): Promise<void>;
  update(id: string, patch: Partial<Omit<UserGroup, 'id' | 'createdAt'>>): Promise<void>;
  /** Bumps updatedAt for a change that is no field of the record (its members, a binding). */
  touch(id: string): Promise<void>;
  delete(id: string): Promise<void>;
  get(id: string): Promise<UserGroup | null>;
  getByName(name: string): Promise<UserGroup | null>;
  getMany(ids: string[]): Promise<UserGroup[]>;
  /**
   * Groups matching `q`; with `withMember`, only those with a member matching it, in the same query
   * (an LDAP `(member=<dn>)` with the member's visibility: one read where resolving the member
   * first took two).
   */
  query(q: Query<GroupAttr>, withMember?: DirectoryFilter<UserAttr>): Promise<Page<UserGroup>>;
  /** Returns false when the membership already existed. */
  addMember(groupId: string, userId: string): Promise<boolean>;
  /** Returns false when there was no such membership. */
  removeMember(groupId: string, userId: string): Promise<boolean>;
  memberIds(groupId: string, limit: number, offset: number): Promise<Page<string>>;
  groupIdsOf(userId: string): Promise<string[]>;
  /** Memberships of these groups, or of these users (one query, for pages of directory entries). */
  membershipPairs(by: { groupIds?: string[]; userIds?: string[] }): Promise<{ groupId: string; userId: string }[]>;
}

export interface SystemRepository {
  create(system: System): Promise<void>;
  update(id: string, patch: Partial<Omit<System, 'id' | 'createdAt'>>): Promise<void>;
  delete(id: string): Promise<void>;
  get(id: string): Promise<System | null>;
  query(q: Query<SystemAttr>): Promise<Page<System>>;
}

export interface SystemGroupRepository {
  create(group: SystemGroup): Promise<void>;
  update(id: string, patch: Partial<Omit<SystemGroup, 'id' | 'createdAt'>>): Promise<void>;
  delete(id: string): Promise<void>;
  get(id: string): Promise<SystemGroup | null>;
  getByName(name: string): Promise<SystemGroup | null>;
  list(limit: number, offset: number): Promise<Page<SystemGroup>>;
  addMember(groupId: string, systemId: string): Promise<boolean>;
  removeMember(groupId: string, systemId: string): Promise<boolean>;
  memberIds(groupId: string, limit: number, offset: number): Promise<Page<string>>;
  groupIdsOf(systemId: string): Promise<string[]>;
}

export interface LdapServerRepository {
  create(server: LdapServer): Promise<void>;
  update(id: string, patch: Partial<Omit<LdapServer, 'id' | 'createdAt'>>): Promise<void>;
  get(id: string): Promise<LdapServer | null>;
  list(): Promise<LdapServer[]>;
}

export interface RadiusServerRepository {
  /** `sealedSecret` is the shared secret sealed by the SecretBox with context `radius:<id>`. */
  create(server: RadiusServer, sealedSecret: string): Promise<void>;
  update(id: string, patch: Partial<Omit<RadiusServer, 'id' | 'createdAt'>>, sealedSecret?: string): Promise<void>;
  delete(id: string): Promise<void>;
  get(id: string): Promise<RadiusServer | null>;
  getByName(name: string): Promise<RadiusServer | null>;
  list(): Promise<RadiusServer[]>;
  getSealedSecret(id: string): Promise<string | null>;
}

export interface ApplicationRepository {
  create(app: Application): Promise<void>;
  update(id: string, patch: Partial<Omit<Application, 'id' | 'createdAt'>>): Promise<void>;
  delete(id: string): Promise<void>;
  get(id: string): Promise<Application | null>;
  getByName(name: string): Promise<Application | null>;
  list(limit: number, offset: number): Promise<Page<Application>>;
}

export interface AssociationRepository {
  /** Returns false when the edge already existed. */
  add(a: Association): Promise<boolean>;
  /** Returns false when there was no such edge. */
  remove(a: Omit<Association, 'createdAt'>): Promise<boolean>;
  listFrom(fromType: GraphFromType, fromId: string): Promise<Association[]>;
  listTo(toType: GraphToType, toId: string): Promise<Association[]>;
  /** Removes every edge touching the object (on delete). */
  removeAllFor(type: GraphFromType | GraphToType, id: string): Promise<void>;
  /** Is the user, or one of its groups, bound to the resource? One indexed query. */
  userHasAccess(userId: string, toType: GraphToType, toId: string): Promise<boolean>;
}

export interface AdminCredentials {
  passwordHash: string;
  totpSecret: string | null;
  totpPendingSecret: string | null;
}

export interface AdminRepository {
  create(admin: Admin, credentials: AdminCredentials): Promise<void>;
  get(id: string): Promise<Admin | null>;
  getByEmail(email: string): Promise<Admin | null>;
  list(): Promise<Admin[]>;
  count(): Promise<number>;
  getCredentials(id: string): Promise<AdminCredentials | null>;
  /** `passwordChangeRequired` moves with the password: set for an initial one, cleared by a new one. */
  updateCredentials(id: string, patch: Partial<AdminCredentials> & { passwordChangeRequired?: boolean }): Promise<void>;
  delete(id: string): Promise<void>;
  /**
   * Inside a transaction: holds every admin row until it ends, so that transactions which check
   * admins and then change them (removal, a key for an admin) run one after the other. PostgreSQL
   * runs READ COMMITTED, where two crossed removals would each see the other admin still there;
   * SQLite's write transactions are already serialised.
   */
  lockAll(): Promise<void>;
}

export interface ApiKeyRepository {
  create(key: ApiKey, keyHash: string): Promise<void>;
  findByHash(keyHash: string): Promise<ApiKey | null>;
  /** The stored SHA-256 of a key (backups only). */
  getHash(id: string): Promise<string | null>;
  list(): Promise<ApiKey[]>;
  delete(id: string): Promise<void>;
  touch(id: string, at: Date): Promise<void>;
}

export interface FailureResult {
  failedCount: number;
  locked: boolean;
  /** This failure is the one that locked the account (true for exactly one of concurrent failures). */
  justLocked: boolean;
}

/**
 * Lockout counters and the TOTP replay guard, one row per account (user or admin), every change a
 * single atomic statement so that concurrent requests and several instances stay exact.
 */
export interface AuthStateRepository {
  ensure(subjectId: string): Promise<void>;
  get(subjectId: string): Promise<AuthState>;
  recordFailure(subjectId: string, now: Date, policy: LockoutPolicy): Promise<FailureResult>;
  /** Resets the failure counter (only called when it is not zero). */
  clearFailures(subjectId: string): Promise<void>;
  /** Clears a lock; when `onlyIfLockedAt` is given, only that lock (auto-unlock race). Returns whether a lock was cleared. */
  unlock(subjectId: string, onlyIfLockedAt?: Date): Promise<boolean>;
  /** Records a used TOTP step; false when this or a later step was already used (a replay). */
  acceptTotpStep(subjectId: string, step: number): Promise<boolean>;
  /** Forgets the replay guard (after a TOTP reset the new seed starts fresh). */
  resetTotpGuard(subjectId: string): Promise<void>;
  delete(subjectId: string): Promise<void>;
  /** Ids of the accounts that have a lock set (an expired timed lock included until it is cleared). */
  lockedSubjects(): Promise<string[]>;
}

export interface ChallengeRepository {
  create(c: AuthChallenge): Promise<void>;
  /** Removes and returns the challenge if it exists and has not expired at `now`; single use, atomic. */
  consume(id: string, now: Date): Promise<AuthChallenge | null>;
  /** Deletes expired challenges; returns how many. */
  purgeExpired(now: Date): Promise<number>;
}

export interface AuditRepository {
  /** Stores the events; a DomainError 'invalid' when the store refuses some row itself (the same rows would be refused again). */
  append(events: AuditEvent[]): Promise<void>;
  query(q: AuditQuery): Promise<AuditEvent[]>;
  /**
   * Deletes events older than `before` (when given) and, of each event type in `bulk.eventTypes`,
   * the oldest beyond its newest `bulk.keep`, a bounded batch per statement, while `keepGoing()`
   * (when given) says so. Returns how many were deleted for each reason.
   */
  purge(o: { before?: Date; bulk?: { eventTypes: readonly string[]; keep: number }; keepGoing?: () => boolean }): Promise<{ expired: number; overLimit: number }>;
}

export interface SequenceRepository {
  /** Next value of a named counter, starting at `start`; atomic. */
  next(name: string, start: number): Promise<number>;
}

export interface Repositories {
  organizations: OrganizationRepository;
  users: UserRepository;
  userGroups: UserGroupRepository;
  systems: SystemRepository;
  systemGroups: SystemGroupRepository;
  ldapServers: LdapServerRepository;
  radiusServers: RadiusServerRepository;
  applications: ApplicationRepository;
  associations: AssociationRepository;
  admins: AdminRepository;
  apiKeys: ApiKeyRepository;
  authState: AuthStateRepository;
  challenges: ChallengeRepository;
  audit: AuditRepository;
  sequences: SequenceRepository;
  rowLocks: RowLockRepository;
}

/**
 * Row locks for transactions that add what refers to a directory object (an association, a
 * membership) or remove the object, so that the two cannot cross: on PostgreSQL (READ COMMITTED,
 * several instances) an association added while its user was being removed outlived the user, and
 * a membership added meanwhile failed its foreign key. SQLite's write transactions are serialised.
 */
export interface RowLockRepository {
  /**
   * Inside a transaction, until it ends: `share` keeps the object from being removed (adding what
   * refers to it); `update` waits for those and keeps new ones out (removing it).
   */
  lock(type: GraphFromType | GraphToType, id: string, mode: 'share' | 'update'): Promise<void>;
  /**
   * Inside a transaction, until it ends: one transaction at a time may check and claim `name` in
   * `scope` (a name no unique index guards, such as a POSIX group name).
   */
  lockName(scope: string, name: string): Promise<void>;
}

/** The store's change counters (Store.directoryVersion). */
export interface DirectoryVersion {
  /** Moves with every write to the directory, and with an account's lock or unlock. */
  directory: number;
  /**
   * Moves when an account gets its first counted failure or has its failures cleared: what only
   * authentication's account reads depend on (a success clears failures only when it saw some).
   */
  failures: number;
}

export interface Store {
  /** Repositories outside a transaction: reads, and single-statement atomic writes. */
  readonly repos: Repositories;
  /**
   * Runs `fn` in one transaction: all its writes land or none do. On SQLite, write transactions are
   * serialised (one writer) so that concurrent requests never fail with "database is locked".
   */
  transaction<T>(fn: (tx: Repositories) => Promise<T>): Promise<T>;
  /** Which database is behind the store, for logs and health. */
  readonly dialect: 'sqlite' | 'postgres';
  /** Write transactions committed by this process so far (cache invalidation for hot-path reads). */
  readonly commits: number;
  /**
   * Counters that change whenever the directory changes, through any instance (triggers in the
   * database bump them; see migrations 0012 and 0013): one read tells whether reads kept by the
   * hot-path caches still hold. Optional: a store without it leaves those caches to time alone.
   */
  directoryVersion?(): Promise<DirectoryVersion>;
  /**
   * Runs `fn` while no other instance sharing the store runs its own (the bootstrap of an empty
   * store: two instances started together must not both seed it). On SQLite, one process's file,
   * it just runs `fn`.
   */
  startupLock<T>(fn: () => Promise<T>): Promise<T>;
  ping(): Promise<void>;
  close(): Promise<void>;
}

/** A browser session (portal, SAML single sign-on, admin console) as the store keeps it. */
export interface WebSessionRecord {
  /** SHA-256 (hex) of the token in the cookie; the token itself is never stored. */
  idHash: string;
  kind: 'user' | 'admin';
  /** The signed-in user or admin; '' while a sign-in is still in progress. */
  subjectId: string;
  data: Record<string, unknown>;
  createdAt: Date;
  lastSeenAt: Date;
  /** Absolute end of the session, whatever the activity. */
  expiresAt: Date;
  /** The session ends after this long without a request. */
  idleTimeoutSeconds: number;
}

/** Browser sessions; every method is one statement, so several instances share them safely. */
export interface WebSessionRepository {
  create(s: WebSessionRecord): Promise<void>;
  get(idHash: string): Promise<WebSessionRecord | null>;
  /** Replaces the data and records activity; false when the session no longer exists. */
  update(idHash: string, patch: { data?: Record<string, unknown>; lastSeenAt: Date }): Promise<boolean>;
  delete(idHash: string): Promise<boolean>;
  /** Ends every session of a subject (password change, suspension); returns how many. */
  deleteForSubject(kind: 'user' | 'admin', subjectId: string, exceptIdHash?: string): Promise<number>;
  /** Ends a subject's oldest sessions beyond its newest `keep`; returns how many. */
  trimForSubject(kind: 'user' | 'admin', subjectId: string, keep: number): Promise<number>;
  /** Deletes sessions past their absolute expiry; returns how many. (Idle ones are refused on read.) */
  purgeExpired(now: Date): Promise<number>;
}

/** A SAML application's keys and the SP's signing settings, as the store keeps them. */
export interface ApplicationCredentialsRecord {
  appId: string;
  /** The IdP signing key (PKCS#8 PEM) sealed by the SecretBox with context `saml-key:<appId>`; null until generated. */
  sealedSigningKey: string | null;
  signingCertificate: string | null;
  /** The SP's signing certificate (PEM), used to verify signed AuthnRequests; '' when none. */
  spCertificate: string;
  requireSignedRequests: boolean;
  updatedAt: Date;
}

export interface ApplicationCredentialRepository {
  get(appId: string): Promise<ApplicationCredentialsRecord | null>;
  /** Inserts or replaces the fields given (one statement). */
  upsert(appId: string, patch: Partial<Omit<ApplicationCredentialsRecord, 'appId'>> & { updatedAt: Date }): Promise<void>;
  /**
   * Stores a signing key only where the app has none yet (one statement): of two instances
   * generating an app's first key at once, one key is kept, and both then read it.
   */
  setSigningKeyIfAbsent(appId: string, key: { sealedSigningKey: string; signingCertificate: string; updatedAt: Date }): Promise<void>;
  delete(appId: string): Promise<void>;
}

/** A sign-on request an SP sent, remembered so that it is answered once (the replay guard). */
export interface SignOnRequestRecord {
  /** SHA-256 (hex) of the SP's entity ID and the request ID: fixed length, whatever the SP sends. */
  idHash: string;
  appId: string;
  receivedAt: Date;
  /** Kept until then: past the request's own validity and the time a sign-in may take. */
  expiresAt: Date;
}

/**
 * Request IDs seen from SPs, shared by every instance; each method is one statement, so that two
 * instances receiving the same request at once cannot both take it.
 */
export interface SignOnRequestRepository {
  /**
   * Records a request seen for the first time; false when the same key is already recorded and not
   * expired at `now` (a replay). An expired record of the key is replaced.
   */
  remember(r: SignOnRequestRecord, now: Date): Promise<boolean>;
  /** Marks a recorded request as answered; false when it already was, or is unknown or expired at `now`. */
  markAnswered(idHash: string, now: Date): Promise<boolean>;
  /** Whether a recorded request, not expired at `now`, was answered (a read; `markAnswered` is the gate). */
  isAnswered(idHash: string, now: Date): Promise<boolean>;
  /** Deletes records past their expiry; returns how many. */
  purgeExpired(now: Date): Promise<number>;
}

/**
 * The stores of single sign-on and browser sessions. Kept beside `Repositories` rather than in it:
 * none of their writes needs to share a transaction with a directory change.
 */
export interface SsoRepositories {
  webSessions: WebSessionRepository;
  applicationCredentials: ApplicationCredentialRepository;
  signOnRequests: SignOnRequestRepository;
}

/**
 * A one-time link that lets a user set a password (activation or reset email). Only the SHA-256 of
 * the token is stored; the token itself exists in the email alone.
 */
export interface PasswordTokenRecord {
  /** SHA-256 (hex) of the token in the link. */
  idHash: string;
  userId: string;
  purpose: 'activation' | 'reset';
  createdAt: Date;
  expiresAt: Date;
}

/** Password-set tokens; every method is one statement, so several instances share them safely. */
export interface PasswordTokenRepository {
  create(t: PasswordTokenRecord): Promise<void>;
  /** The token, if it exists and has not expired at `now` (not consumed). */
  find(idHash: string, now: Date): Promise<PasswordTokenRecord | null>;
  /** Deletes and returns the token if it exists and has not expired: single use, atomic. */
  consume(idHash: string, now: Date): Promise<PasswordTokenRecord | null>;
  /** Deletes every token of a user (a new link replaces older ones); returns how many. */
  deleteForUser(userId: string): Promise<number>;
  purgeExpired(now: Date): Promise<number>;
}

/** Appliance settings kept in the store as JSON documents by key (e.g. `smtp`); secrets inside are sealed by the caller. */
export interface SettingsRepository {
  get(key: string): Promise<Record<string, unknown> | null>;
  /** Inserts or replaces the document (one statement). */
  put(key: string, value: Record<string, unknown>, now: Date): Promise<void>;
}

/** Audit events counted by service, type and outcome. */
export interface AuditCountRow {
  service: string;
  eventType: string;
  success: boolean;
  count: number;
}

/** Aggregates over the audit trail for the console's Home page; never loads events. */
export interface AuditStatsRepository {
  /** Events of the given types since `since`, counted per service, type and outcome (one grouped query on the (event_type, ts) index). */
  countSince(since: Date, eventTypes: string[]): Promise<AuditCountRow[]>;
}

/**
 * The stores of the admin console: password-set tokens of activation and reset emails, appliance
 * settings (SMTP), and audit aggregates. Beside `Repositories` like `SsoRepositories`: none of their
 * writes needs to share a transaction with a directory change.
 */
export interface ConsoleRepositories {
  passwordTokens: PasswordTokenRepository;
  settings: SettingsRepository;
  auditStats: AuditStatsRepository;
}
