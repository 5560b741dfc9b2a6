import type { ActorContext } from '../access/actor.js';
import type { SystemService } from '../directory/systems.js';
import type { User } from '../directory/types.js';
import type { UserService } from '../directory/users.js';
import type { OrganizationCache } from '../directory/organization-cache.js';
import { invalid, isDomainError } from '../errors.js';
import type { Clock } from '../ports.js';
import type { AccountMailService } from '../mail/account-mail.js';

/** The "More actions" of the users list, in JumpCloud's order and words. */
export const USER_BULK_ACTIONS = ['resend_email', 'force_password_change', 'unlock', 'require_mfa', 'remove_mfa', 'reset_totp'] as const;
export type UserBulkAction = (typeof USER_BULK_ACTIONS)[number];
export const USER_BULK_LABELS: Record<UserBulkAction, string> = {
  resend_email: 'Resend Email',
  force_password_change: 'Force Password Change',
  unlock: 'Unlock User Account',
  require_mfa: 'Require User MFA',
  remove_mfa: 'Remove User MFA Requirement',
  reset_totp: 'Reset TOTP MFA',
};

export const DEVICE_BULK_ACTIONS = ['enable_mfa', 'disable_mfa', 'enable_insights', 'disable_insights'] as const;
export type DeviceBulkAction = (typeof DEVICE_BULK_ACTIONS)[number];
export const DEVICE_BULK_LABELS: Record<DeviceBulkAction, string> = {
  enable_mfa: 'Enable MFA',
  disable_mfa: 'Disable MFA',
  enable_insights: 'Enable System Insights',
  disable_insights: 'Disable System Insights',
};

/** What an action did to one selected item. */
export interface BulkItemResult {
  id: string;
  name: string;
  status: 'done' | 'skipped' | 'failed';
  message: string;
}

/** Most items one bulk action takes (a page of the list is at most 100). */
export const MAX_BULK_ITEMS = 500;

function checkIds(ids: string[]): string[] {
  const unique = [...new Set(ids)];
  if (unique.length === 0) throw invalid('ids', 'select at least one item');
  if (unique.length > MAX_BULK_ITEMS) throw invalid('ids', `select at most ${MAX_BULK_ITEMS} items at once`);
  if (unique.some((id) => !/^[0-9a-f]{24}$/.test(id))) throw invalid('ids', 'must be object ids');
  return unique;
}

/**
 * The console's bulk actions. Each selected item is handled on its own, through the same services
 * as single changes (so each writes its own audit event), and reported: one failure never stops
 * the others. Semantics follow JumpCloud's Admin Portal:
 * - Resend Email: password-pending users get an activation email, active users a password reset
 *   email, staged (and suspended) users nothing.
 * - Force Password Change: the password expires now (protocols that deny expired passwords refuse it).
 * - Unlock User Account: clears a lockout. Require / Remove User MFA: the user's MFA requirement,
 *   with the organisation's enrolment grace period. Reset TOTP MFA: removes the TOTP key (a user
 *   who must use MFA gets the grace period to enrol again).
 * - Devices: allow MFA on the device, and System Insights collection, on or off.
 */
export function createBulkActions(d: {
  users: UserService;
  systems: SystemService;
  mail: AccountMailService;
  organization: OrganizationCache;
  clock: Clock;
}) {
  const each = async <T extends { id: string }>(
    ids: string[],
    load: (id: string) => Promise<T>,
    name: (x: T) => string,
    act: (x: T) => Promise<{ status: BulkItemResult['status']; message: string }>,
  ): Promise<BulkItemResult[]> => {
    const results: BulkItemResult[] = [];
    for (const id of checkIds(ids)) {
      let item: T;
      try {
        item = await load(id);
      } catch (err) {
        if (!isDomainError(err)) throw err;
        results.push({ id, name: id, status: 'failed', message: 'not found' });
        continue;
      }
      try {
        results.push({ id, name: name(item), ...(await act(item)) });
      } catch (err) {
        if (!isDomainError(err)) throw err;
        results.push({ id, name: name(item), status: 'failed', message: err.message });
      }
    }
    return results;
  };

  const userAction = (action: UserBulkAction, ctx: ActorContext) => async (u: User): Promise<{ status: BulkItemResult['status']; message: string }> => {
    switch (action) {
      case 'resend_email': {
        const r = await d.mail.resendEmail(u.id);
        if (r.status === 'skipped') return { status: 'skipped', message: r.reason };
        return { status: 'done', message: r.purpose === 'activation' ? `activation email sent to ${u.email}` : `password reset email sent to ${u.email}` };
      }
      case 'force_password_change':
        if (!u.hasPassword) return { status: 'skipped', message: 'no password set yet (password pending)' };
        if (u.passwordExpiredFlag) return { status: 'skipped', message: 'password already expired' };
        await d.users.expirePassword(u.id, ctx);
        return { status: 'done', message: 'password expired: a new one must be set' };
      case 'unlock': {
        const status = await d.users.status(u);
        if (!u.lockedAt) return { status: 'skipped', message: 'not locked' };
        await d.users.unlock(u.id, ctx);
        return { status: 'done', message: status.accountLocked ? 'unlocked' : 'expired lock cleared' };
      }
      case 'require_mfa':
        if (u.enableUserPortalMultifactor) return { status: 'skipped', message: 'MFA already required' };
        {
          const after = await d.users.requireMfa(u.id, ctx);
          return {
            status: 'done',
            message: after.totpEnrolled || !after.mfaExclusionUntil ? 'MFA required' : `MFA required; enrolment due by ${after.mfaExclusionUntil.toISOString().slice(0, 10)}`,
          };
        }
      case 'remove_mfa':
        if (!u.enableUserPortalMultifactor && !u.mfaExclusion) return { status: 'skipped', message: 'MFA was not required' };
        await d.users.removeMfaRequirement(u.id, ctx);
        return { status: 'done', message: 'MFA requirement removed' };
      case 'reset_totp': {
        if (!u.totpEnrolled) return { status: 'skipped', message: 'no TOTP enrolled' };
        const org = await d.organization.get();
        const until = u.enableUserPortalMultifactor ? new Date(d.clock.now().getTime() + org.settings.userMfaEnrollmentDays * 86_400_000).toISOString() : null;
        await d.users.resetMfa(u.id, { exclusionUntil: until }, ctx);
        return { status: 'done', message: until ? `TOTP removed; re-enrolment due by ${until.slice(0, 10)}` : 'TOTP removed' };
      }
    }
  };

  return {
    async users(action: unknown, ids: string[], ctx: ActorContext): Promise<BulkItemResult[]> {
      const a = USER_BULK_ACTIONS.find((x) => x === action);
      if (!a) throw invalid('action', `must be one of ${USER_BULK_ACTIONS.join(', ')}`);
      return each(ids, (id) => d.users.get(id), (u) => u.username, userAction(a, ctx));
    },

    async devices(action: unknown, ids: string[], ctx: ActorContext): Promise<BulkItemResult[]> {
      const a = DEVICE_BULK_ACTIONS.find((x) => x === action);
      if (!a) throw invalid('action', `must be one of ${DEVICE_BULK_ACTIONS.join(', ')}`);
      return each(
        ids,
        (id) => d.systems.get(id),
        (s) => s.displayName,
        async (s) => {
          if (a === 'enable_mfa' || a === 'disable_mfa') {
            const on = a === 'enable_mfa';
            if (s.allowMultiFactorAuthentication === on) return { status: 'skipped', message: on ? 'MFA already enabled' : 'MFA already disabled' };
            await d.systems.update(s.id, { allowMultiFactorAuthentication: on }, ctx);
            return { status: 'done', message: on ? 'MFA enabled' : 'MFA disabled' };
          }
          const state = a === 'enable_insights' ? 'enabled' : 'disabled';
          if (s.systemInsightsState === state) return { status: 'skipped', message: `System Insights already ${state}` };
          await d.systems.update(s.id, { systemInsightsState: state }, ctx);
          return { status: 'done', message: `System Insights ${state}` };
        },
      );
    },
  };
}

export type BulkActions = ReturnType<typeof createBulkActions>;
