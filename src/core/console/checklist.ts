import type { OrganizationCache } from '../directory/organization-cache.js';
import { DEFAULT_PASSWORD_POLICY } from '../directory/organization.js';
import type { Store } from '../ports.js';

/** One step of the implementation checklist; `done` is read from the directory, never ticked by hand. */
export interface ChecklistItem {
  id: string;
  title: string;
  detail: string;
  href: string;
  done: boolean;
}

/**
 * The implementation checklist of the console's top menu. Each step ticks itself when the
 * directory shows it was done, so it stays true after changes made through the API or the CLI.
 */
export function createChecklist(d: { store: Store; organization: OrganizationCache; mailEnabled: () => Promise<boolean> }) {
  const r = d.store.repos;
  const any = async (p: Promise<{ items: unknown[] }>) => (await p).items.length > 0;
  return {
    async items(adminId: string): Promise<ChecklistItem[]> {
      const org = await d.organization.get();
      const policy = org.settings.passwordPolicy;
      const ldap = (await r.ldapServers.list())[0];
      const [admin, users, groups, ldapBound, radius, apps, mfaUsers, mail] = await Promise.all([
        r.admins.get(adminId),
        any(r.users.query({ limit: 1, offset: 0, withTotal: false })),
        any(r.userGroups.query({ limit: 1, offset: 0, withTotal: false })),
        ldap ? r.associations.listTo('ldap_server', ldap.id).then((a) => a.length > 0) : Promise.resolve(false),
        r.radiusServers.list().then((l) => l.length > 0),
        any(r.applications.list(1, 0)),
        any(r.users.query({ filter: { op: 'eq', attr: 'enableUserPortalMultifactor', value: true }, limit: 1, offset: 0, withTotal: false })),
        d.mailEnabled(),
      ]);
      const policyReviewed = JSON.stringify(policy) !== JSON.stringify(DEFAULT_PASSWORD_POLICY);
      return [
        { id: 'admin-totp', title: 'Protect your admin account with TOTP', detail: 'Add an authenticator app to your console sign-in.', href: '/admin/account#totp', done: !!admin?.totpEnrolled },
        { id: 'policy', title: 'Set the password and lockout policy', detail: 'Length, complexity, expiry and lockout apply on every protocol.', href: '/admin/security', done: policyReviewed },
        { id: 'smtp', title: 'Configure email', detail: 'An SMTP server sends activation and password reset emails.', href: '/admin/settings#smtp', done: mail },
        { id: 'users', title: 'Add users', detail: 'Create users one by one or through the REST API.', href: '/admin/users/new', done: users },
        { id: 'groups', title: 'Create a user group', detail: 'Groups carry access, RADIUS reply attributes and POSIX data.', href: '/admin/groups/new', done: groups },
        { id: 'ldap', title: 'Bind users or groups to LDAP', detail: 'Only bound users can bind and appear in the directory.', href: '/admin/ldap', done: ldapBound },
        { id: 'radius', title: 'Add a RADIUS server', detail: 'Let Wi-Fi controllers and VPNs authenticate your users.', href: '/admin/radius/new', done: radius },
        { id: 'sso', title: 'Add an SSO application', detail: 'Sign users in to SaaS apps with SAML 2.0.', href: '/admin/apps/new', done: apps },
        { id: 'mfa', title: 'Require MFA for users', detail: 'Select users and choose More actions → Require User MFA.', href: '/admin/users?view=mfa_not_enrolled', done: mfaUsers },
      ];
    },
  };
}

export type Checklist = ReturnType<typeof createChecklist>;
