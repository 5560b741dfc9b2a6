import { and, searchFilter, type DirectoryFilter, type SystemAttr, type UserAttr, type UserFilter } from '../directory/filter.js';
import type { Organization } from '../directory/organization.js';
import { lockedOutFilter } from '../directory/users.js';

/**
 * The "filter by" choices of the console's lists, as DirectoryFilters the store turns into indexed
 * SQL: the console never loads a whole table to filter it. Each view is a name that links (Home's
 * counts) and bookmarks can carry.
 */
export const USER_VIEWS = [
  'all',
  'active',
  'password_pending',
  'locked_out',
  'password_expired',
  'password_expiring',
  'mfa_not_enrolled',
  'mfa_required_not_enrolled',
  'suspended',
  'staged',
] as const;
export type UserView = (typeof USER_VIEWS)[number];

export const USER_VIEW_LABELS: Record<UserView, string> = {
  all: 'All users',
  active: 'Active',
  password_pending: 'Password pending',
  locked_out: 'Locked out',
  password_expired: 'Password expired',
  password_expiring: 'Password expiring soon',
  mfa_not_enrolled: 'MFA not enrolled',
  mfa_required_not_enrolled: 'MFA required, not enrolled',
  suspended: 'Suspended',
  staged: 'Staged',
};

/** "Expiring soon" means within this many days. */
export const EXPIRING_SOON_DAYS = 14;
const DAY = 86_400_000;

const activated: UserFilter = { op: 'eq', attr: 'state', value: 'ACTIVATED' };
const hasPassword = (v: boolean): UserFilter => ({ op: 'eq', attr: 'hasPassword', value: v });

/** Users whose password has expired now: forced by an admin, or older than the policy allows. */
export function passwordExpiredFilter(org: Organization, now: Date): UserFilter {
  const p = org.settings.passwordPolicy;
  const forced: UserFilter = { op: 'eq', attr: 'passwordExpiredFlag', value: true };
  if (!p.enablePasswordExpirationInDays) return and(hasPassword(true), forced)!;
  const aged: UserFilter = { op: 'lte', attr: 'passwordChangedAt', value: now.getTime() - p.passwordExpirationInDays * DAY };
  return and(hasPassword(true), { op: 'or', filters: [forced, aged] })!;
}

/** Users whose password expires within EXPIRING_SOON_DAYS (none when passwords do not expire). */
export function passwordExpiringFilter(org: Organization, now: Date): UserFilter {
  const p = org.settings.passwordPolicy;
  if (!p.enablePasswordExpirationInDays) return { op: 'false' };
  const oldest = now.getTime() - p.passwordExpirationInDays * DAY;
  return and(
    activated,
    hasPassword(true),
    { op: 'eq', attr: 'passwordExpiredFlag', value: false },
    { op: 'gt', attr: 'passwordChangedAt', value: oldest },
    { op: 'lte', attr: 'passwordChangedAt', value: oldest + EXPIRING_SOON_DAYS * DAY },
  )!;
}

export function userViewFilter(view: UserView, org: Organization, now: Date): UserFilter | undefined {
  switch (view) {
    case 'all':
      return undefined;
    case 'active':
      return and(activated, hasPassword(true));
    case 'password_pending':
      return and(activated, hasPassword(false));
    case 'locked_out':
      return lockedOutFilter(org, now);
    case 'password_expired':
      return passwordExpiredFilter(org, now);
    case 'password_expiring':
      return passwordExpiringFilter(org, now);
    case 'mfa_not_enrolled':
      return and(activated, { op: 'eq', attr: 'totpEnrolled', value: false });
    case 'mfa_required_not_enrolled':
      return and(activated, { op: 'eq', attr: 'enableUserPortalMultifactor', value: true }, { op: 'eq', attr: 'totpEnrolled', value: false });
    case 'suspended':
      return { op: 'eq', attr: 'state', value: 'SUSPENDED' };
    case 'staged':
      return { op: 'eq', attr: 'state', value: 'STAGED' };
  }
}

/** The attributes the users list's search box looks in (case-insensitive substring). */
export const USER_SEARCH_ATTRS: UserAttr[] = ['username', 'email', 'firstname', 'lastname', 'displayname', 'employeeIdentifier'];

/** The full filter of a users list page: a view, a search text and, optionally, a group's members. */
export function userListFilter(o: { view: UserView; search: string; memberOf?: string }, org: Organization, now: Date): UserFilter | undefined {
  return and(
    userViewFilter(o.view, org, now),
    searchFilter(USER_SEARCH_ATTRS, o.search),
    o.memberOf ? { op: 'eq', attr: 'memberOf', value: o.memberOf } : undefined,
  );
}

export const DEVICE_VIEWS = ['all', 'active', 'inactive', 'mfa_on', 'mfa_off'] as const;
export type DeviceView = (typeof DEVICE_VIEWS)[number];
export const DEVICE_VIEW_LABELS: Record<DeviceView, string> = {
  all: 'All devices',
  active: 'Active',
  inactive: 'Inactive',
  mfa_on: 'MFA enabled',
  mfa_off: 'MFA disabled',
};

export function deviceListFilter(o: { view: DeviceView; search: string }): DirectoryFilter<SystemAttr> | undefined {
  const view: DirectoryFilter<SystemAttr> | undefined =
    o.view === 'active'
      ? { op: 'eq', attr: 'active', value: true }
      : o.view === 'inactive'
        ? { op: 'eq', attr: 'active', value: false }
        : o.view === 'mfa_on'
          ? { op: 'eq', attr: 'allowMultiFactorAuthentication', value: true }
          : o.view === 'mfa_off'
            ? { op: 'eq', attr: 'allowMultiFactorAuthentication', value: false }
            : undefined;
  return and(view, searchFilter<SystemAttr>(['displayName', 'hostname', 'os'], o.search));
}
