import type { AuditRecorder } from '../audit/recorder.js';
import type { Query, SystemAttr, UserAttr, UserFilter } from '../directory/filter.js';
import type { OrganizationCache } from '../directory/organization-cache.js';
import type { AuditStatsRepository, Clock, Store } from '../ports.js';
import { userViewFilter, type UserView } from './list-views.js';

/** The authentication events the Home page counts, per protocol. */
export const AUTH_EVENT_TYPES = [
  { eventType: 'ldap_bind', label: 'LDAP binds', service: 'ldap' },
  { eventType: 'radius_auth_attempt', label: 'RADIUS', service: 'radius' },
  { eventType: 'sso_auth', label: 'SAML single sign-on', service: 'sso' },
  { eventType: 'user_login_attempt', label: 'User Portal', service: 'directory' },
  { eventType: 'admin_login_attempt', label: 'Admin Console', service: 'directory' },
] as const;

/** The user counts of the Home page; each names the list view that shows those users. */
export const DASHBOARD_USER_VIEWS = [
  'active',
  'password_pending',
  'staged',
  'suspended',
  'locked_out',
  'password_expired',
  'password_expiring',
  'mfa_not_enrolled',
  'mfa_required_not_enrolled',
] as const satisfies readonly UserView[];

export interface DashboardSummary {
  users: { total: number } & Record<(typeof DASHBOARD_USER_VIEWS)[number], number>;
  devices: { total: number; inactive: number; mfaOff: number };
  groups: number;
  /** Failed and successful authentications per protocol in the window. */
  authentications: { eventType: string; label: string; service: string; failed: number; succeeded: number }[];
  windowHours: number;
  passwordExpiryEnabled: boolean;
}

/**
 * The aggregates of the console's Home page. Each number is one COUNT in the store (users through
 * the same DirectoryFilters as the lists, audit events through one grouped query on an index):
 * the page costs the same at 100 users or 100,000.
 */
export function createDashboard(d: { store: Store; organization: OrganizationCache; clock: Clock; audit: AuditRecorder; stats: AuditStatsRepository }) {
  const countUsers = async (filter: UserFilter | undefined) => {
    const q: Query<UserAttr> = { ...(filter ? { filter } : {}), limit: 1, offset: 0 };
    return (await d.store.repos.users.query(q)).total;
  };
  const countSystems = async (filter: Query<SystemAttr>['filter']) => (await d.store.repos.systems.query({ ...(filter ? { filter } : {}), limit: 1, offset: 0 })).total;

  return {
    async summary(windowHours = 24): Promise<DashboardSummary> {
      const org = await d.organization.get();
      const now = d.clock.now();
      await d.audit.flush();
      const [total, counts, devicesTotal, inactive, mfaOff, groups, rows] = await Promise.all([
        countUsers(undefined),
        Promise.all(DASHBOARD_USER_VIEWS.map((v) => countUsers(userViewFilter(v, org, now)))),
        countSystems(undefined),
        countSystems({ op: 'eq', attr: 'active', value: false }),
        countSystems({ op: 'eq', attr: 'allowMultiFactorAuthentication', value: false }),
        d.store.repos.userGroups.query({ limit: 1, offset: 0 }).then((p) => p.total),
        d.stats.countSince(new Date(now.getTime() - windowHours * 3_600_000), AUTH_EVENT_TYPES.map((t) => t.eventType)),
      ]);
      const users = { total } as DashboardSummary['users'];
      DASHBOARD_USER_VIEWS.forEach((v, i) => (users[v] = counts[i] ?? 0));
      return {
        users,
        devices: { total: devicesTotal, inactive, mfaOff },
        groups,
        authentications: AUTH_EVENT_TYPES.map((t) => ({
          ...t,
          failed: rows.filter((r) => r.eventType === t.eventType && !r.success).reduce((a, r) => a + r.count, 0),
          succeeded: rows.filter((r) => r.eventType === t.eventType && r.success).reduce((a, r) => a + r.count, 0),
        })),
        windowHours,
        passwordExpiryEnabled: org.settings.passwordPolicy.enablePasswordExpirationInDays,
      };
    },
  };
}

export type Dashboard = ReturnType<typeof createDashboard>;
