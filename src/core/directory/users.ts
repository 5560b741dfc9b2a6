import { auditContext, type ActorContext } from '../access/actor.js';
import { diffFields } from '../audit/event.js';
import { lockStatus } from '../auth/lockout.js';
import { inMfaGracePeriod } from '../auth/mfa-policy.js';
import { checkPasswordHistory, checkPasswordRules, isPasswordExpired, nextPasswordHistory, passwordExpiresAt } from '../auth/password-policy.js';
import { isSupportedHash } from '../auth/password-hasher.js';
import { newTotpSecret, normaliseTotpSecret, totpUri, verifyTotp } from '../auth/totp.js';
import { conflict, DomainError, invalid, notFound } from '../errors.js';
import type { Repositories } from '../ports.js';
import { newId } from '../../util/ids.js';
import type { DirectoryDeps } from './deps.js';
import type { Page, Query, UserAttr, UserFilter } from './filter.js';
import { lockoutPolicyOf, type Organization } from './organization.js';
import { USER_STATES, type NameValue, type User, type UserGroup, type UserState } from './types.js';
import * as v from './validate.js';

/** Writable user fields, as the API and console give them (all optional on update). */
export interface UserFields {
  username?: unknown;
  email?: unknown;
  firstname?: unknown;
  lastname?: unknown;
  displayname?: unknown;
  state?: unknown;
  password?: unknown;
  ldapBindingUser?: unknown;
  enableUserPortalMultifactor?: unknown;
  mfaExclusion?: unknown;
  mfaExclusionUntil?: unknown;
  unixUid?: unknown;
  unixGuid?: unknown;
  jobTitle?: unknown;
  department?: unknown;
  company?: unknown;
  location?: unknown;
  employeeIdentifier?: unknown;
  description?: unknown;
  attributes?: unknown;
}

/** Status fields derived from the user, its auth state and the organisation's policy. */
export interface UserStatus {
  accountLocked: boolean;
  passwordExpired: boolean;
  passwordExpiresAt: Date | null;
  mfaInGracePeriod: boolean;
}

export const UNIX_ID_SEQUENCE = 'unix_id';
export const UNIX_ID_START = 5000;
const UNIX_ID_MAX = 4_294_967_294;

/** The filter "locked out now" under the organisation's lockout policy (an elapsed timed lock does not count). */
/**
 * The next free POSIX id. Users' uidNumbers and groups' gidNumbers share one counter, so that a
 * user's private group id (gidNumber = uidNumber) never collides with a POSIX group; ids an admin
 * set by hand are skipped.
 */
export async function allocateUnixId(tx: Repositories): Promise<number> {
  for (let i = 0; i < 10_000; i++) {
    const n = await tx.sequences.next(UNIX_ID_SEQUENCE, UNIX_ID_START);
    if (!(await tx.users.unixIdInUse(n))) return n;
  }
  throw new DomainError('unavailable', 'directory.unix_ids_exhausted', 'no free POSIX id found');
}

export function lockedOutFilter(org: Organization, now: Date): UserFilter {
  const { lockoutSeconds } = lockoutPolicyOf(org.settings.passwordPolicy);
  if (lockoutSeconds <= 0) return { op: 'present', attr: 'lockedAt' };
  return { op: 'gt', attr: 'lockedAt', value: now.getTime() - lockoutSeconds * 1000 };
}

export function userStatus(user: User, org: Organization, now: Date): UserStatus {
  const policy = org.settings.passwordPolicy;
  return {
    accountLocked:
      lockStatus(user, lockoutPolicyOf(policy), now) === 'locked',
    passwordExpired: user.hasPassword && isPasswordExpired(user, policy, now),
    passwordExpiresAt: passwordExpiresAt(user, policy),
    mfaInGracePeriod: inMfaGracePeriod(user, now),
  };
}

/** The user as recorded in audit `changes` (JumpCloud field names; never a secret). */
function auditView(u: User): Record<string, unknown> {
  return {
    username: u.username,
    email: u.email,
    firstname: u.firstname,
    lastname: u.lastname,
    displayname: u.displayname,
    state: u.state,
    suspended: u.state === 'SUSPENDED',
    ldap_binding_user: u.ldapBindingUser,
    enable_user_portal_multifactor: u.enableUserPortalMultifactor,
    mfa: { configured: u.totpEnrolled, exclusion: u.mfaExclusion, exclusionUntil: u.mfaExclusionUntil?.toISOString() ?? null },
    password_expired: u.passwordExpiredFlag,
    unix_uid: u.unixUid,
    unix_guid: u.unixGuid,
    jobTitle: u.jobTitle,
    department: u.department,
    company: u.company,
    location: u.location,
    employeeIdentifier: u.employeeIdentifier,
    description: u.description,
    attributes: u.attributes,
  };
}

const userResource = (u: User) => ({ id: u.id, type: 'user', username: u.username });

export type UserProfilePatch = Partial<Omit<User, 'id' | 'createdAt' | 'updatedAt' | 'lockedAt' | 'hasPassword' | 'totpEnrolled'>>;

/** Validates the profile fields present in `f` into a patch (secrets and state machines excluded). */
function profilePatch(f: UserFields): UserProfilePatch {
  const p: UserProfilePatch = {};
  if (f.username !== undefined) p.username = v.username(f.username);
  if (f.email !== undefined) p.email = v.email(f.email);
  if (f.firstname !== undefined) p.firstname = v.text('firstname', f.firstname);
  if (f.lastname !== undefined) p.lastname = v.text('lastname', f.lastname);
  if (f.displayname !== undefined) p.displayname = v.text('displayname', f.displayname);
  if (f.state !== undefined) p.state = v.oneOf<UserState>('state', f.state, USER_STATES);
  if (f.ldapBindingUser !== undefined) p.ldapBindingUser = v.bool('ldap_binding_user', f.ldapBindingUser);
  if (f.enableUserPortalMultifactor !== undefined) {
    p.enableUserPortalMultifactor = v.bool('enable_user_portal_multifactor', f.enableUserPortalMultifactor);
  }
  if (f.mfaExclusion !== undefined) p.mfaExclusion = v.bool('mfa.exclusion', f.mfaExclusion);
  if (f.mfaExclusionUntil !== undefined) p.mfaExclusionUntil = v.date('mfa.exclusionUntil', f.mfaExclusionUntil);
  if (f.unixUid !== undefined) p.unixUid = v.int('unix_uid', f.unixUid, 1, UNIX_ID_MAX);
  if (f.unixGuid !== undefined) p.unixGuid = v.int('unix_guid', f.unixGuid, 1, UNIX_ID_MAX);
  for (const k of ['jobTitle', 'department', 'company', 'location', 'employeeIdentifier'] as const) {
    if (f[k] !== undefined) p[k] = v.text(k, f[k]);
  }
  if (f.description !== undefined) p.description = v.text('description', f.description, 1024);
  if (f.attributes !== undefined) p.attributes = v.nameValues('attributes', f.attributes) as NameValue[];
  return p;
}

export interface UserServiceHooks {
  /**
   * Ends the user's browser sessions (portal, SSO). Called when someone other than the user sets
   * their password (an admin reset through the API or the console): a reset of a compromised
   * account must lock out whoever holds its sessions, as the user's own change in the portal does
   * for the user's other sessions (OWASP ASVS 3.3.3).
   */
  endUserSessions?: (userId: string) => Promise<unknown>;
  /**
   * Voids the user's outstanding activation and reset links. Called when the password or the email
   * changes (OWASP Forgot Password cheat sheet): a link mailed before then, possibly to an address
   * the user no longer controls, must not set the password afterwards.
   */
  revokeAccountLinks?: (userId: string) => Promise<unknown>;
}

export function createUserService(d: DirectoryDeps, hooks: UserServiceHooks = {}) {
  const { store, clock } = d;

  const load = async (repos: Repositories, id: string): Promise<User> => {
    const u = await repos.users.get(id);
    if (!u) throw notFound('user', id);
    return u;
  };

  /**
   * Unique per user: username, email and uidNumber. A gidNumber may be shared (it names the user's
   * primary group, which may be a POSIX group of the directory), and a uidNumber may equal a group's
   * gidNumber: POSIX keeps the two namespaces apart. Only the allocator keeps them disjoint.
   */
  const ensureUnique = async (repos: Repositories, p: UserProfilePatch, selfId?: string) => {
    if (p.unixUid !== undefined) {
      const same = await repos.users.query({ filter: { op: 'eq', attr: 'unixUid', value: p.unixUid }, limit: 1, offset: 0 });
      const other = same.items[0];
      if (other && other.id !== selfId) throw conflict('unix_uid', `unix_uid ${p.unixUid} is already used by ${other.username}`);
    }
    if (p.username !== undefined) {
      const other = await repos.users.getByUsername(p.username);
      if (other && other.id !== selfId) throw conflict('username', `username ${p.username} is already taken`);
    }
    if (p.email !== undefined) {
      const other = await repos.users.getByEmail(p.email);
      if (other && other.id !== selfId) throw conflict('email', `email ${p.email} is already taken`);
    }
  };

  /** Checks a new password against the policy and hashes it (outside any transaction: ~30 ms). */
  const preparePassword = async (password: unknown, username: string, history: string[]) => {
    if (typeof password !== 'string') throw invalid('password', 'must be a string');
    const org = await d.organization.get();
    const policy = org.settings.passwordPolicy;
    const violations = [
      ...checkPasswordRules(password, policy, username),
      ...(await checkPasswordHistory(password, policy, history, d.hasher)),
    ];
    if (violations.length > 0) {
      throw new DomainError('invalid', 'auth.password_policy', `password ${violations.map((x) => x.message).join('; ')}`, 'password');
    }
    return d.hasher.hash(password);
  };

  const recordUpdate = async (tx: Repositories, before: User, after: User, ctx: ActorContext) => {
    const changes = diffFields(auditView(before), auditView(after));
    if (changes.length === 0) return;
    await d.audit.recordIn(tx, {
      event_type: 'user_update',
      service: 'directory',
      success: true,
      ...auditContext(ctx),
      resource: userResource(after),
      changes,
    });
  };

  const service = {
    async list(q: Query<UserAttr>): Promise<Page<User>> {
      return store.repos.users.query(q);
    },

    async get(id: string): Promise<User> {
      return load(store.repos, id);
    },

    async status(user: User): Promise<UserStatus> {
      return userStatus(user, await d.organization.get(), clock.now());
    },

    async create(f: UserFields, ctx: ActorContext, opts: { passwordHash?: string } = {}): Promise<User> {
      if (f.username === undefined) throw invalid('username', 'is required');
      if (f.email === undefined) throw invalid('email', 'is required');
      const p = profilePatch(f);
      let passwordHash: string | null = null;
      if (opts.passwordHash !== undefined) {
        if (!isSupportedHash(opts.passwordHash)) throw invalid('password_hash', 'must be an argon2 PHC string');
        passwordHash = opts.passwordHash;
      } else if (f.password !== undefined && f.password !== '') {
        passwordHash = await preparePassword(f.password, p.username!, []);
      }
      const now = clock.now();
      const user = await store.transaction(async (tx) => {
        await ensureUnique(tx, p);
        const unixUid = p.unixUid ?? (await allocateUnixId(tx));
        const u: User = {
          id: newId(now.getTime()),
          username: p.username!,
          email: p.email!,
          firstname: p.firstname ?? '',
          lastname: p.lastname ?? '',
          displayname: p.displayname ?? '',
          state: p.state ?? 'ACTIVATED',
          hasPassword: passwordHash !== null,
          passwordChangedAt: passwordHash ? now : null,
          passwordExpiredFlag: false,
          totpEnrolled: false,
          enableUserPortalMultifactor: p.enableUserPortalMultifactor ?? false,
          mfaExclusion: p.mfaExclusion ?? false,
          mfaExclusionUntil: p.mfaExclusionUntil ?? null,
          ldapBindingUser: p.ldapBindingUser ?? false,
          unixUid,
          unixGuid: p.unixGuid ?? unixUid,
          jobTitle: p.jobTitle ?? '',
          department: p.department ?? '',
          company: p.company ?? '',
          location: p.location ?? '',
          employeeIdentifier: p.employeeIdentifier ?? '',
          description: p.description ?? '',
          attributes: p.attributes ?? [],
          lockedAt: null,
          createdAt: now,
          updatedAt: now,
        };
        await tx.users.create(u, { passwordHash, passwordHistory: [], totpSecret: null, totpPendingSecret: null });
        await tx.authState.ensure(u.id);
        await d.audit.recordIn(tx, {
          event_type: 'user_create',
          service: 'directory',
          success: true,
          ...auditContext(ctx),
          resource: userResource(u),
        });
        return u;
      });
      return user;
    },

    async update(id: string, f: UserFields, ctx: ActorContext): Promise<User> {
      const p = profilePatch(f);
      const current = await load(store.repos, id);
      let creds: { passwordHash: string; passwordHistory: string[] } | null = null;
      if (f.password !== undefined && f.password !== '') {
        const old = await store.repos.users.getCredentials(id);
        const history = [...(old?.passwordHash ? [old.passwordHash] : []), ...(old?.passwordHistory ?? [])];
        const hash = await preparePassword(f.password, p.username ?? current.username, history);
        const org = await d.organization.get();
        creds = { passwordHash: hash, passwordHistory: nextPasswordHistory(old?.passwordHash ?? null, old?.passwordHistory ?? [], org.settings.passwordPolicy) };
      }
      let emailChanged = false;
      const updated = await store.transaction(async (tx) => {
        const before = await load(tx, id);
        await ensureUnique(tx, p, id);
        const patch: UserProfilePatch = { ...p };
        if (creds) {
          patch.passwordChangedAt = clock.now();
          patch.passwordExpiredFlag = false;
        }
        await tx.users.update(id, patch);
        if (creds) await tx.users.updateCredentials(id, creds);
        const after = await load(tx, id);
        emailChanged = after.email !== before.email;
        // The user's groups show the username (member DN, memberUid): a rename changes them too.
        if (after.username !== before.username) for (const g of await tx.userGroups.groupIdsOf(id)) await tx.userGroups.touch(g);
        await recordUpdate(tx, before, after, ctx);
        if (creds) await recordPasswordChange(tx, after, ctx);
        return after;
      });
      d.cache.invalidate(id);
      const bySomeoneElse = !(ctx.actor.type === 'user' && ctx.actor.id === id);
      if (creds && bySomeoneElse) await hooks.endUserSessions?.(id);
      if (creds || emailChanged) await hooks.revokeAccountLinks?.(id);
      return updated;
    },

    async remove(id: string, ctx: ActorContext): Promise<User> {
      const removed = await store.transaction(async (tx) => {
        // First: edges being added elsewhere land before the removal, or wait for it (RowLockRepository).
        await tx.rowLocks.lock('user', id, 'update');
        const u = await load(tx, id);
        await tx.associations.removeAllFor('user', id);
        // Each group's member and memberUid lose the user: stamp them (LDAP sync by modifyTimestamp).
        for (const g of await tx.userGroups.groupIdsOf(id)) {
          await tx.userGroups.removeMember(g, id);
          await tx.userGroups.touch(g);
        }
        await tx.authState.delete(id);
        await tx.users.delete(id);
        await d.audit.recordIn(tx, {
          event_type: 'user_delete',
          service: 'directory',
          success: true,
          ...auditContext(ctx),
          resource: userResource(u),
        });
        return u;
      });
      d.cache.invalidate(id);
      return removed;
    },

    /** Sets a password for the user (admin reset, portal, LDAP Password Modify), under the policy. */
    async setPassword(id: string, password: string, ctx: ActorContext): Promise<User> {
      return service.update(id, { password }, ctx);
    },

    /** Clears a lockout (admin action); records `user_unlocked` only when a lock was cleared. */
    async unlock(id: string, ctx: ActorContext): Promise<User> {
      const u = await store.transaction(async (tx) => {
        const user = await load(tx, id);
        const wasLocked = await tx.authState.unlock(id);
        // An admin unlock also forgets failures that have not locked the account yet.
        await tx.authState.clearFailures(id);
        if (wasLocked) {
          await d.audit.recordIn(tx, {
            event_type: 'user_unlocked',
            service: 'directory',
            success: true,
            ...auditContext(ctx),
            resource: userResource(user),
          });
        }
        return load(tx, id);
      });
      d.cache.invalidate(id);
      return u;
    },

    /** "Force Password Change": the current password stops working where expired passwords are denied. */
    async expirePassword(id: string, ctx: ActorContext): Promise<User> {
      const u = await store.transaction(async (tx) => {
        const before = await load(tx, id);
        await tx.users.update(id, { passwordExpiredFlag: true });
        const after = await load(tx, id);
        await recordUpdate(tx, before, after, ctx);
        return after;
      });
      d.cache.invalidate(id);
      return u;
    },

    /**
     * Removes the user's TOTP ("Reset TOTP MFA"). With `exclusionUntil`, the user gets a grace
     * period to enrol again (JumpCloud's resetmfa semantics).
     */
    async resetMfa(id: string, opts: { exclusion?: unknown; exclusionUntil?: unknown }, ctx: ActorContext): Promise<User> {
      const exclusionUntil = v.date('exclusionUntil', opts.exclusionUntil);
      const exclusion = opts.exclusion === undefined ? exclusionUntil !== null : v.bool('exclusion', opts.exclusion);
      const u = await store.transaction(async (tx) => {
        const before = await load(tx, id);
        await tx.users.updateCredentials(id, { totpSecret: null, totpPendingSecret: null });
        await tx.users.update(id, { totpEnrolled: false, mfaExclusion: exclusion, mfaExclusionUntil: exclusionUntil });
        await tx.authState.resetTotpGuard(id);
        const after = await load(tx, id);
        await d.audit.recordIn(tx, {
          event_type: 'user_mfa_reset',
          service: 'directory',
          success: true,
          ...auditContext(ctx),
          resource: userResource(after),
          changes: diffFields(auditView(before), auditView(after)),
        });
        return after;
      });
      d.cache.invalidate(id);
      return u;
    },

    /** "Require User MFA": MFA required, with the organisation's enrolment grace period when not enrolled. */
    async requireMfa(id: string, ctx: ActorContext): Promise<User> {
      const org = await d.organization.get();
      const user = await load(store.repos, id);
      const until = user.totpEnrolled ? null : new Date(clock.now().getTime() + org.settings.userMfaEnrollmentDays * 86_400_000);
      return service.update(id, { enableUserPortalMultifactor: true, mfaExclusion: until !== null, mfaExclusionUntil: until?.toISOString() ?? null }, ctx);
    },

    async removeMfaRequirement(id: string, ctx: ActorContext): Promise<User> {
      return service.update(id, { enableUserPortalMultifactor: false, mfaExclusion: false, mfaExclusionUntil: null }, ctx);
    },

    /**
     * Admin TOTP provisioning (migrations, hardware tokens): sets the seed given, or a new one, and
     * enrols the user at once. The seed is returned to the caller only here.
     */
    async provisionTotp(id: string, secretInput: unknown, ctx: ActorContext): Promise<{ secret: string; uri: string; user: User }> {
      let secret: string;
      if (secretInput === undefined || secretInput === null || secretInput === '') secret = newTotpSecret();
      else {
        const s = typeof secretInput === 'string' ? normaliseTotpSecret(secretInput) : null;
        if (!s) throw invalid('secret', 'must be a base32 TOTP seed of at least 128 bits (26 characters)');
        secret = s;
      }
      const user = await store.transaction(async (tx) => {
        const before = await load(tx, id);
        await tx.users.updateCredentials(id, { totpSecret: d.secretBox.seal(secret, `totp:${id}`), totpPendingSecret: null });
        await tx.users.update(id, { totpEnrolled: true, mfaExclusion: false, mfaExclusionUntil: null });
        await tx.authState.resetTotpGuard(id);
        const after = await load(tx, id);
        await d.audit.recordIn(tx, {
          event_type: 'user_totp_enrolled',
          service: 'directory',
          success: true,
          ...auditContext(ctx),
          resource: userResource(after),
          changes: diffFields(auditView(before), auditView(after)),
        });
        return after;
      });
      d.cache.invalidate(id);
      return { secret, uri: totpUri(d.totpIssuer, user.email || user.username, secret), user };
    },

    /** Self-service enrolment, step 1: a pending seed, active only once a code confirms it. */
    async beginTotpEnrolment(id: string): Promise<{ secret: string; uri: string }> {
      const user = await load(store.repos, id);
      const secret = newTotpSecret();
      await store.transaction((tx) => tx.users.updateCredentials(id, { totpPendingSecret: d.secretBox.seal(secret, `totp-pending:${id}`) }));
      return { secret, uri: totpUri(d.totpIssuer, user.email || user.username, secret) };
    },

    /** Self-service enrolment, step 2: a valid code from the pending seed activates it. */
    async confirmTotpEnrolment(id: string, code: string, ctx: ActorContext): Promise<boolean> {
      const creds = await store.repos.users.getCredentials(id);
      if (!creds?.totpPendingSecret) return false;
      let secret: string;
      try {
        secret = d.secretBox.open(creds.totpPendingSecret, `totp-pending:${id}`);
      } catch {
        return false;
      }
      // The code is checked against the pending seed without touching the replay guard, which
      // still protects the current seed's last code until the new seed replaces it. On success the
      // guard restarts at this code's step, so the confirming code cannot be replayed either.
      const step = verifyTotp(secret, code, clock.now());
      if (step === null) return false;
      const sealed = d.secretBox.seal(secret, `totp:${id}`);
      await store.transaction(async (tx) => {
        const before = await load(tx, id);
        await tx.authState.resetTotpGuard(id);
        await tx.authState.acceptTotpStep(id, step);
        await tx.users.updateCredentials(id, { totpSecret: sealed, totpPendingSecret: null });
        await tx.users.update(id, { totpEnrolled: true, mfaExclusion: false, mfaExclusionUntil: null });
        const after = await load(tx, id);
        await d.audit.recordIn(tx, {
          event_type: 'user_totp_enrolled',
          service: 'directory',
          success: true,
          ...auditContext(ctx),
          resource: userResource(after),
          changes: diffFields(auditView(before), auditView(after)),
        });
      });
      d.cache.invalidate(id);
      return true;
    },

    async memberOf(id: string): Promise<UserGroup[]> {
      await load(store.repos, id);
      return store.repos.userGroups.getMany(await store.repos.userGroups.groupIdsOf(id));
    },
  };

  const recordPasswordChange = (tx: Repositories, user: User, ctx: ActorContext) =>
    d.audit.recordIn(tx, {
      event_type: 'user_password_change',
      service: 'directory',
      success: true,
      ...auditContext(ctx),
      resource: userResource(user),
    });

  return service;
}

export type UserService = ReturnType<typeof createUserService>;
