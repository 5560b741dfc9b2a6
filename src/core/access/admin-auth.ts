import { randomBytes } from 'node:crypto';
import type { AuditRecorder } from '../audit/recorder.js';
import { lockExpiredEvent, lockoutEvent } from '../audit/lockout-events.js';
import { verifyAccountTotp } from '../auth/authenticate.js';
import { KeyedMutex } from '../auth/keyed-mutex.js';
import { lockStatus } from '../auth/lockout.js';
import { MAX_PASSWORD_LENGTH, type PasswordHasher } from '../auth/password-hasher.js';
import { newTotpSecret, totpUri } from '../auth/totp.js';
import type { OrganizationCache } from '../directory/organization-cache.js';
import { lockoutPolicyOf, type LockoutPolicy } from '../directory/organization.js';
import type { Admin } from '../directory/types.js';
import { couldBeStoredText } from '../directory/names.js';
import { DomainError, invalid, notFound } from '../errors.js';
import type { Clock, SecretBox, Store } from '../ports.js';
import type { AdminService } from './admins.js';
import { auditContext, type ActorContext } from './actor.js';

/**
 * The outcome of an admin sign-in step. `mfa_required` carries a single-use challenge (in the store,
 * so any instance can take the next step) to be answered with `completeTotp`; `enrollment_required`
 * means the password is proven but the organisation requires admin MFA and this admin has none yet:
 * the console gives a session that can only enrol. Every failure looks the same to the browser.
 */
export type AdminSignInOutcome =
  | { status: 'ok'; admin: Admin; mfa: boolean }
  | { status: 'mfa_required'; admin: Admin; challenge: string }
  | { status: 'enrollment_required'; admin: Admin }
  | { status: 'invalid' | 'locked'; reason: string }
  | { status: 'mfa_invalid'; reason: string; admin: Admin; challenge: string };

export interface AdminAuthDeps {
  store: Store;
  hasher: PasswordHasher;
  secretBox: SecretBox;
  clock: Clock;
  audit: AuditRecorder;
  organization: OrganizationCache;
  admins: AdminService;
  totpIssuer: string;
  /** How long the TOTP step of a sign-in stays open. */
  challengeTtlSeconds?: number;
}

const CONSOLE = { protocol: 'console', resourceType: 'admin_console', resourceId: 'console' } as const;
const pendingContext = (id: string) => `totp-pending:${id}`;
const totpContext = (id: string) => `totp:${id}`;

/**
 * Admin sign-in to the console: email, password and TOTP, under the organisation's lockout policy,
 * with one `admin_login_attempt` event per decisive step (a wrong password, a locked account, a
 * wrong or replayed code, a completed sign-in). Guessable inputs are checked one request at a time
 * per admin, counters are updated atomically in the store, and unknown emails cost a dummy
 * verification, as in the user pipeline (security.md items 3 and 8).
 */
export function createAdminAuth(d: AdminAuthDeps) {
  const repos = d.store.repos;
  const locks = new KeyedMutex();
  const ttl = d.challengeTtlSeconds ?? 600;

  const event = (who: { id?: string; email: string }, clientIp: string, success: boolean, errorMessage: string, mfa: boolean) =>
    d.audit.record({
      event_type: 'admin_login_attempt',
      service: 'directory',
      success,
      client_ip: clientIp,
      initiated_by: { ...(who.id ? { id: who.id } : {}), type: 'admin', email: who.email },
      mfa,
      auth_method: 'password',
      ...(mfa ? { mfa_meta: { type: 'TOTP' } } : {}),
      ...(errorMessage ? { error_message: errorMessage } : {}),
    });

  const policy = async (): Promise<LockoutPolicy> => lockoutPolicyOf((await d.organization.get()).settings.passwordPolicy);

  const countFailure = async (admin: Admin, p: LockoutPolicy, clientIp: string) => {
    const r = await repos.authState.recordFailure(admin.id, d.clock.now(), p);
    if (r.justLocked) {
      d.audit.record(lockoutEvent({ id: admin.id, type: 'admin', email: admin.email }, clientIp, r.failedCount));
    }
  };

  /** The lock as it stands now; a timed lock that ran out is cleared (and recorded) here. */
  const currentLock = async (admin: Admin, p: LockoutPolicy, clientIp: string): Promise<'locked' | 'unlocked'> => {
    const state = await repos.authState.get(admin.id);
    const s = lockStatus(state, p, d.clock.now());
    if (s === 'lock_expired' && state.lockedAt && (await repos.authState.unlock(admin.id, state.lockedAt))) {
      d.audit.record(lockExpiredEvent({ id: admin.id, type: 'admin', email: admin.email }, clientIp));
    }
    return s === 'locked' ? 'locked' : 'unlocked';
  };

  const openChallenge = async (admin: Admin): Promise<string> => {
    const now = d.clock.now();
    const id = randomBytes(16).toString('hex');
    await repos.challenges.create({ id, subjectId: admin.id, ...CONSOLE, createdAt: now, expiresAt: new Date(now.getTime() + ttl * 1000) });
    return id;
  };

  const clearFailures = async (admin: Admin) => {
    if ((await repos.authState.get(admin.id)).failedCount > 0) await repos.authState.clearFailures(admin.id);
  };

  const checkCode = async (admin: Admin, code: string): Promise<'ok' | 'invalid' | 'replayed'> => {
    const creds = await repos.admins.getCredentials(admin.id);
    if (!creds?.totpSecret) return 'invalid';
    return verifyAccountTotp(repos, d.secretBox, admin.id, creds.totpSecret, code, d.clock.now());
  };

  /** The admin's current password, given again for a sensitive change; a wrong one counts toward the lockout. */
  const verifyPassword = (admin: Admin, password: string, clientIp: string): Promise<boolean> =>
    locks.run(admin.id, async () => {
      // Nothing given (a form from before the field existed) is no guess: refused, not counted.
      if (password === '') return false;
      // A locked account's password is not checked at all: a held session must not go on guessing
      // past the threshold that stops sign-ins.
      if ((await currentLock(admin, await policy(), clientIp)) === 'locked') return false;
      const creds = await repos.admins.getCredentials(admin.id);
      const ok = !!creds?.passwordHash && password !== '' && password.length <= MAX_PASSWORD_LENGTH && (await d.hasher.verify(creds.passwordHash, password));
      if (!ok) await countFailure(admin, await policy(), clientIp);
      return ok;
    });

  const loadAdmin = async (id: string): Promise<Admin> => {
    const a = await repos.admins.get(id);
    if (!a) throw notFound('admin', id);
    return a;
  };

  return {
    /** Step one: email and password. */
    async signIn(input: { email: string; password: string; clientIp: string }): Promise<AdminSignInOutcome> {
      const email = input.email.normalize('NFC').trim().toLowerCase().slice(0, 320);
      const password = input.password.length > MAX_PASSWORD_LENGTH ? '' : input.password;
      const admin = email.includes('@') && couldBeStoredText(email) ? await repos.admins.getByEmail(email) : null;
      if (!admin) {
        await d.hasher.verifyDummy(password);
        event({ email }, input.clientIp, false, 'admin not found', false);
        return { status: 'invalid', reason: 'admin not found' };
      }
      return locks.run(admin.id, async () => {
        const p = await policy();
        const lock = await currentLock(admin, p, input.clientIp);
        const creds = await repos.admins.getCredentials(admin.id);
        const ok = creds?.passwordHash && password !== '' ? await d.hasher.verify(creds.passwordHash, password) : (await d.hasher.verifyDummy(password), false);
        if (lock === 'locked') {
          event(admin, input.clientIp, false, 'account locked', false);
          return { status: 'locked', reason: 'account locked' };
        }
        if (!ok) {
          await countFailure(admin, p, input.clientIp);
          event(admin, input.clientIp, false, 'invalid password', false);
          return { status: 'invalid', reason: 'invalid password' };
        }
        const fresh = await loadAdmin(admin.id);
        if (fresh.totpEnrolled) return { status: 'mfa_required', admin: fresh, challenge: await openChallenge(fresh) };
        if ((await d.organization.get()).settings.requireAdminMfa) return { status: 'enrollment_required', admin: fresh };
        await clearFailures(fresh);
        event(fresh, input.clientIp, true, '', false);
        return { status: 'ok', admin: fresh, mfa: false };
      });
    },

    /** Step two: the TOTP code, against the challenge of step one (consumed; a wrong code gets a new one). */
    async completeTotp(input: { challenge: string; code: string; clientIp: string }): Promise<AdminSignInOutcome> {
      // The store names no challenge for text that is not an id it issued (32 hex digits).
      const c = await repos.challenges.consume(input.challenge, d.clock.now());
      if (!c || c.protocol !== CONSOLE.protocol || c.resourceType !== CONSOLE.resourceType) {
        return { status: 'invalid', reason: 'unknown or expired challenge' };
      }
      const admin = await repos.admins.get(c.subjectId);
      if (!admin) return { status: 'invalid', reason: 'admin not found' };
      return locks.run(admin.id, async () => {
        const p = await policy();
        if ((await currentLock(admin, p, input.clientIp)) === 'locked') {
          event(admin, input.clientIp, false, 'account locked', false);
          return { status: 'locked', reason: 'account locked' };
        }
        const r = await checkCode(admin, input.code);
        if (r !== 'ok') {
          await countFailure(admin, p, input.clientIp);
          const reason = r === 'replayed' ? 'TOTP code already used' : 'invalid TOTP code';
          event(admin, input.clientIp, false, reason, false);
          if ((await currentLock(admin, p, input.clientIp)) === 'locked') return { status: 'locked', reason: 'account locked' };
          return { status: 'mfa_invalid', reason, admin, challenge: await openChallenge(admin) };
        }
        await clearFailures(admin);
        event(admin, input.clientIp, true, '', true);
        return { status: 'ok', admin, mfa: true };
      });
    },

    /** A new TOTP key for the admin, pending until a code confirms it (sign-in enrolment or "Manage admin TOTP"). */
    async beginTotpEnrolment(adminId: string): Promise<{ secret: string; uri: string }> {
      const admin = await loadAdmin(adminId);
      const secret = newTotpSecret();
      await repos.admins.updateCredentials(adminId, { totpPendingSecret: d.secretBox.seal(secret, pendingContext(adminId)) });
      return { secret, uri: totpUri(`${d.totpIssuer} Admin`, admin.email, secret) };
    },

    /**
     * Confirms the pending key with a code from it; the key then replaces any previous one. During a
     * sign-in enrolment this is also the sign-in's second factor: `signInClientIp` records the
     * `admin_login_attempt` it completes. Wrong codes count toward the lockout.
     */
    async confirmTotpEnrolment(adminId: string, code: string, ctx: ActorContext, signInClientIp?: string, currentPassword?: string): Promise<boolean> {
      const admin = await loadAdmin(adminId);
      // Replacing a working key from a session (not the enrolment step of a sign-in) needs the
      // password again: whoever holds a session must not plant a lasting factor of their own
      // (ASVS 4.0.3 V3.7.1).
      if (admin.totpEnrolled && signInClientIp === undefined && !(await verifyPassword(admin, currentPassword ?? '', ctx.clientIp))) return false;
      return locks.run(adminId, async () => {
        const p = await policy();
        if ((await currentLock(admin, p, ctx.clientIp)) === 'locked') return false;
        const creds = await repos.admins.getCredentials(adminId);
        if (!creds?.totpPendingSecret) return false;
        let secret: string;
        try {
          secret = d.secretBox.open(creds.totpPendingSecret, pendingContext(adminId));
        } catch {
          return false;
        }
        const sealed = d.secretBox.seal(secret, totpContext(adminId));
        await repos.authState.resetTotpGuard(adminId);
        if ((await verifyAccountTotp(repos, d.secretBox, adminId, sealed, code, d.clock.now())) !== 'ok') {
          await countFailure(admin, p, ctx.clientIp);
          if (signInClientIp !== undefined) event(admin, signInClientIp, false, 'invalid TOTP code during enrolment', false);
          return false;
        }
        await d.store.transaction(async (tx) => {
          await tx.admins.updateCredentials(adminId, { totpSecret: sealed, totpPendingSecret: null });
          await d.audit.recordIn(tx, {
            event_type: 'admin_update',
            service: 'directory',
            success: true,
            ...auditContext(ctx),
            resource: { id: adminId, type: 'admin', email: admin.email },
            changes: [{ field: 'totp_enabled', from: admin.totpEnrolled, to: true }],
          });
        });
        await clearFailures(admin);
        if (signInClientIp !== undefined) event(admin, signInClientIp, true, '', true);
        return true;
      });
    },

    /**
     * Turns the admin's TOTP off (only when the organisation does not require admin MFA), with the
     * password given again (as for replacing the key).
     */
    async removeTotp(adminId: string, ctx: ActorContext, currentPassword: string): Promise<void> {
      const admin = await loadAdmin(adminId);
      if ((await d.organization.get()).settings.requireAdminMfa) {
        throw new DomainError('forbidden', 'auth.admin_mfa_required', 'the organisation requires admin MFA: replace the key instead of removing it');
      }
      if (!(await verifyPassword(admin, currentPassword, ctx.clientIp))) throw invalid('password', 'is not correct');
      await d.store.transaction(async (tx) => {
        await tx.admins.updateCredentials(adminId, { totpSecret: null, totpPendingSecret: null });
        await tx.authState.resetTotpGuard(adminId);
        await d.audit.recordIn(tx, {
          event_type: 'admin_update',
          service: 'directory',
          success: true,
          ...auditContext(ctx),
          resource: { id: adminId, type: 'admin', email: admin.email },
          changes: [{ field: 'totp_enabled', from: admin.totpEnrolled, to: false }],
        });
      });
    },

    /**
     * Changes the admin's own password: the current one is verified first (a wrong one counts toward
     * the lockout), the new one must meet the admin password rules (12+ characters).
     */
    async changePassword(adminId: string, current: string, next: string, ctx: ActorContext): Promise<'ok' | 'wrong_password'> {
      const admin = await loadAdmin(adminId);
      if (!(await verifyPassword(admin, current, ctx.clientIp))) return 'wrong_password';
      await d.admins.resetPassword(admin.email, next, ctx);
      return 'ok';
    },

    /**
     * Replaces the initial password another admin chose, at the first sign-in (the session has just
     * proven it, so it is not asked again). Only while the change is required; the new password must
     * meet the admin rules and differ from the initial one.
     */
    async replaceInitialPassword(adminId: string, next: string, ctx: ActorContext): Promise<void> {
      const admin = await loadAdmin(adminId);
      if (!admin.passwordChangeRequired) throw new DomainError('forbidden', 'admin.password_set', 'your password is already your own; change it in My Account');
      const creds = await repos.admins.getCredentials(adminId);
      if (creds?.passwordHash && next !== '' && next.length <= MAX_PASSWORD_LENGTH && (await d.hasher.verify(creds.passwordHash, next))) {
        throw invalid('password', 'password must differ from the initial one');
      }
      await d.admins.resetPassword(admin.email, next, ctx);
    },

    /**
     * The signed-in admin's password given again before a change that grants access to others
     * (adding an administrator): a held session alone must not be enough (ASVS 4.0.3 V3.7.1). A wrong
     * one counts toward the lockout; a locked admin's is not checked.
     */
    confirmPassword: async (adminId: string, password: string, clientIp: string): Promise<boolean> => verifyPassword(await loadAdmin(adminId), password, clientIp),

    /** The admin record (fresh: TOTP state may have changed). */
    get: loadAdmin,
  };
}

export type AdminAuth = ReturnType<typeof createAdminAuth>;
