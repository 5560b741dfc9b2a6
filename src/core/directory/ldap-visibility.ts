import { lockoutPolicyOf, type Organization } from './organization.js';
import type { UserFilter } from './filter.js';
import type { LdapServer, User } from './types.js';

/**
 * Which users LDAP shows, in two parts: what only a write changes (ACTIVATED, bound to the LDAP
 * server) and what time changes too (a lock that ends, a password that reaches its age), under the
 * server's `userLockoutAction` / `userPasswordExpirationAction` = `remove`. The second part has two
 * forms that must agree: a filter for the store (`hidingFilters`) and a test of a user read
 * earlier (`hiddenBy`), which lets an index of users read once (user-index.ts) answer at any later
 * time. test/integration/store/ldap-user-index.test.ts compares the two forms on random states.
 */
export interface HidingRules {
  /** Locked users are hidden: those locked after this time (epoch ms); -Infinity: any lock (no lockout time). */
  lockedAfter?: number;
  /** The "expired" flag (Force Password Change) hides. */
  expiredFlag: boolean;
  /** Users whose password changed at or before this time (epoch ms) are hidden. */
  changedBy?: number;
}

export function hidingRules(s: LdapServer, org: Organization, now: Date): HidingRules {
  const rules: HidingRules = { expiredFlag: false };
  if (s.userLockoutAction === 'remove') {
    const { lockoutSeconds } = lockoutPolicyOf(org.settings.passwordPolicy);
    rules.lockedAfter = lockoutSeconds > 0 ? now.getTime() - lockoutSeconds * 1000 : -Infinity;
  }
  if (s.userPasswordExpirationAction === 'remove') {
    const policy = org.settings.passwordPolicy;
    rules.expiredFlag = true;
    if (policy.enablePasswordExpirationInDays) rules.changedBy = now.getTime() - policy.passwordExpirationInDays * 86_400_000;
  }
  return rules;
}

/** The users LDAP may show whatever the time: ACTIVATED and bound to the server (directly or through a group). */
export const lastingVisibility = (s: Pick<LdapServer, 'id'>): UserFilter[] => [
  { op: 'eq', attr: 'state', value: 'ACTIVATED' },
  { op: 'eq', attr: 'boundTo', value: `ldap_server:${s.id}` },
];

/** The rules as store conditions (a NOT of a comparison with a missing value holds: filter-sql.ts). */
export function hidingFilters(r: HidingRules): UserFilter[] {
  const parts: UserFilter[] = [];
  if (r.lockedAfter !== undefined) {
    const locked: UserFilter = r.lockedAfter === -Infinity ? { op: 'present', attr: 'lockedAt' } : { op: 'gt', attr: 'lockedAt', value: r.lockedAfter };
    parts.push({ op: 'not', filter: locked });
  }
  if (r.expiredFlag) parts.push({ op: 'eq', attr: 'passwordExpiredFlag', value: false });
  if (r.changedBy !== undefined) parts.push({ op: 'not', filter: { op: 'lte', attr: 'passwordChangedAt', value: r.changedBy } });
  return parts;
}

/** Whether the rules hide `u`: the same answer as `hidingFilters` in the store, for a user read before. */
export function hiddenBy(r: HidingRules, u: Pick<User, 'lockedAt' | 'passwordExpiredFlag' | 'passwordChangedAt'>): boolean {
  if (r.lockedAfter !== undefined && u.lockedAt !== null && u.lockedAt.getTime() > r.lockedAfter) return true;
  if (r.expiredFlag && u.passwordExpiredFlag) return true;
  return r.changedBy !== undefined && u.passwordChangedAt !== null && u.passwordChangedAt.getTime() <= r.changedBy;
}
