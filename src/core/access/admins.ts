import { randomBytes } from 'node:crypto';
import type { Admin } from '../directory/types.js';
import type { AuditRecorder } from '../audit/recorder.js';
import type { PasswordHasher } from '../auth/password-hasher.js';
import { checkPasswordRules } from '../auth/password-policy.js';
import { DEFAULT_PASSWORD_POLICY } from '../directory/organization.js';
import { DomainError, notFound } from '../errors.js';
import type { Clock, Repositories, Store } from '../ports.js';
import * as v from '../directory/validate.js';
import { newId } from '../../util/ids.js';
import { auditContext, type ActorContext } from './actor.js';
import { revokeApiKeyIn } from './api-keys.js';

/** Admins need a stronger password than the organisation's users may be allowed. */
const ADMIN_PASSWORD_POLICY = { ...DEFAULT_PASSWORD_POLICY, enableMinLength: true, minLength: 12 };

export function generatePassword(): string {
  return randomBytes(18).toString('base64url');
}

/** Console administrators. Their sign-in (with TOTP) belongs to the console; this manages the records. */
export function createAdminService(
  d: { store: Store; hasher: PasswordHasher; clock: Clock; audit: AuditRecorder },
  hooks: { endAdminSessions?: (adminId: string) => Promise<unknown> } = {},
) {
  const checkPassword = (password: string, email: string) => {
    const violations = checkPasswordRules(password, ADMIN_PASSWORD_POLICY, email.split('@')[0] ?? '');
    if (violations.length > 0) {
      throw new DomainError('invalid', 'auth.password_policy', `password ${violations.map((x) => x.message).join('; ')}`, 'password');
    }
  };

  return {
    /**
     * `requirePasswordChange`: the password is an initial one another admin chose (console "Add
     * administrator"); the new admin must replace it at the first sign-in.
     */
    async create(
      fields: { email: unknown; password: string; firstname?: unknown; lastname?: unknown; requirePasswordChange?: boolean },
      ctx: ActorContext,
      tx?: Repositories,
    ): Promise<Admin> {
      const email = v.email(fields.email);
      checkPassword(fields.password, email);
      const passwordHash = await d.hasher.hash(fields.password);
      const now = d.clock.now();
      const admin: Admin = {
        id: newId(now.getTime()),
        email,
        firstname: v.text('firstname', fields.firstname),
        lastname: v.text('lastname', fields.lastname),
        role: 'administrator',
        totpEnrolled: false,
        passwordChangeRequired: fields.requirePasswordChange === true,
        createdAt: now,
      };
      const run = async (repos: Repositories) => {
        if (await repos.admins.getByEmail(email)) throw new DomainError('conflict', 'directory.conflict', `an admin ${email} already exists`, 'email');
        await repos.admins.create(admin, { passwordHash, totpSecret: null, totpPendingSecret: null });
        await repos.authState.ensure(admin.id);
        await d.audit.recordIn(repos, {
          event_type: 'admin_create',
          service: 'directory',
          success: true,
          ...auditContext(ctx),
          resource: { id: admin.id, type: 'admin', email },
          password_change_required: admin.passwordChangeRequired,
        });
      };
      if (tx) await run(tx);
      else await d.store.transaction(run);
      return admin;
    },

    /**
     * Sets a new password and clears the admin's lockout (operator recovery from the CLI, and every
     * change of an admin's own password). The password is then the admin's own: no change required.
     */
    async resetPassword(emailInput: unknown, password: string, ctx: ActorContext): Promise<Admin> {
      const email = v.email(emailInput);
      checkPassword(password, email);
      const passwordHash = await d.hasher.hash(password);
      return d.store.transaction(async (tx) => {
        const admin = await tx.admins.getByEmail(email);
        if (!admin) throw notFound('admin', email);
        await tx.admins.updateCredentials(admin.id, { passwordHash, passwordChangeRequired: false });
        await tx.authState.unlock(admin.id);
        await d.audit.recordIn(tx, {
          event_type: 'admin_update',
          service: 'directory',
          success: true,
          ...auditContext(ctx),
          resource: { id: admin.id, type: 'admin', email },
          changes: [{ field: 'password', from: '[redacted]', to: '[redacted]' }],
        });
        return admin;
      });
    },

    /**
     * Removes an administrator: their API keys are revoked in the same transaction and their console
     * sessions end, so nothing they held keeps working. An admin cannot remove themselves (the
     * console would lose the session that asked) and the last admin stays: the console must always
     * have someone who can sign in (the operator's CLI can add one back, but only on the host).
     */
    async remove(id: string, ctx: ActorContext): Promise<Admin> {
      if (ctx.actor.type === 'admin' && ctx.actor.id === id) {
        throw new DomainError('conflict', 'admin.self', 'you cannot remove your own administrator account; ask another administrator');
      }
      const removed = await d.store.transaction(async (tx) => {
        await tx.admins.lockAll();
        // Checked in the transaction that removes, after the lock: an admin removed a moment ago (two
        // admins removing each other at once) or a read-only one removes no one.
        if (ctx.actor.type === 'admin') {
          const actor = ctx.actor.id ? await tx.admins.get(ctx.actor.id) : null;
          if (!actor) throw new DomainError('forbidden', 'admin.gone', 'your administrator account no longer exists');
          if (actor.role !== 'administrator') throw new DomainError('forbidden', 'admin.read_only', 'read-only administrators cannot remove administrators');
        }
        const admin = await tx.admins.get(id);
        if (!admin) throw notFound('admin', id);
        // At least one full administrator stays (read-only ones cannot manage the console).
        const others = (await tx.admins.list()).filter((a) => a.id !== id && a.role === 'administrator');
        if (others.length === 0) throw new DomainError('conflict', 'admin.last', 'the last administrator cannot be removed');
        const keys = (await tx.apiKeys.list()).filter((k) => k.adminId === id);
        for (const k of keys) await revokeApiKeyIn(tx, d.audit, k, ctx);
        await tx.authState.delete(id);
        await tx.admins.delete(id);
        await d.audit.recordIn(tx, { event_type: 'admin_delete', service: 'directory', success: true, ...auditContext(ctx), resource: { id, type: 'admin', email: admin.email } });
        return admin;
      });
      // Sessions live in the SSO store, outside the directory's transactions; a session whose admin
      // is gone is refused on its next request anyway (the console loads its admin each time), so a
      // failure here does not undo or fail the removal.
      await hooks.endAdminSessions?.(id).catch(() => undefined);
      return removed;
    },

    list: () => d.store.repos.admins.list(),
  };
}

export type AdminService = ReturnType<typeof createAdminService>;
