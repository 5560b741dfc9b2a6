import { X509Certificate } from 'node:crypto';
import type { ApplicationService } from '../directory/applications.js';
import type { OrganizationCache } from '../directory/organization-cache.js';
import { radiusServerWarnings } from '../directory/radius-servers.js';
import { lockedOutFilter } from '../directory/users.js';
import type { Clock, Store } from '../ports.js';

/** A configuration alert of the console's top menu. `href` opens the page where it is fixed. */
export interface ConsoleAlert {
  id: string;
  severity: 'critical' | 'warning' | 'info';
  title: string;
  detail: string;
  href: string;
}

/** SAML signing certificates expiring within this many days are reported. */
export const CERTIFICATE_WARNING_DAYS = 30;

/**
 * Alerts computed from the configuration as it is now (nothing is stored): RADIUS servers with a
 * short shared secret or without Message-Authenticator enforcement (BlastRADIUS), SAML signing
 * certificates that expire soon or have expired, locked-out users, admins without TOTP when the
 * organisation does not require it, and email not configured.
 */
export function createAlerts(d: {
  store: Store;
  organization: OrganizationCache;
  clock: Clock;
  applications: ApplicationService;
  mailEnabled: () => Promise<boolean>;
}) {
  return {
    async list(): Promise<ConsoleAlert[]> {
      const alerts: ConsoleAlert[] = [];
      const now = d.clock.now();
      const org = await d.organization.get();
      for (const s of await d.store.repos.radiusServers.list()) {
        for (const [i, w] of radiusServerWarnings(s).entries()) {
          const short = w.startsWith('sharedSecret');
          const topic = short ? 'short shared secret' : w.startsWith('networkSourceIp') ? 'network source' : 'Message-Authenticator not required';
          alerts.push({
            id: `radius-${s.id}-${i}`,
            severity: short ? 'critical' : 'warning',
            title: `RADIUS server "${s.name}": ${topic}`,
            detail: w,
            href: `/admin/radius/${s.id}`,
          });
        }
      }
      const apps = await d.store.repos.applications.list(200, 0);
      for (const a of apps.items) {
        const pem = (await d.applications.credentials(a.id)).idpCertificate;
        if (!pem) continue;
        let validTo: Date;
        try {
          validTo = new Date(new X509Certificate(pem).validTo);
        } catch {
          continue;
        }
        const days = Math.floor((validTo.getTime() - now.getTime()) / 86_400_000);
        if (days < CERTIFICATE_WARNING_DAYS) {
          alerts.push({
            id: `saml-cert-${a.id}`,
            severity: days < 0 ? 'critical' : 'warning',
            title: days < 0 ? `SSO app "${a.displayLabel}": signing certificate expired` : `SSO app "${a.displayLabel}": signing certificate expires in ${days} days`,
            detail: `The IdP signing certificate is valid until ${validTo.toISOString().slice(0, 10)}. Replace it and give the service provider the new metadata.`,
            href: `/admin/apps/${a.id}`,
          });
        }
      }
      const locked = (await d.store.repos.users.query({ filter: lockedOutFilter(org, now), limit: 1, offset: 0 })).total;
      if (locked > 0) {
        alerts.push({
          id: 'locked-users',
          severity: 'warning',
          title: `${locked} user${locked === 1 ? ' is' : 's are'} locked out`,
          detail: 'Repeated failed sign-ins locked these accounts. Unlock them once you know why.',
          href: '/admin/users?view=locked_out',
        });
      }
      if (!org.settings.requireAdminMfa) {
        const without = (await d.store.repos.admins.list()).filter((a) => !a.totpEnrolled).length;
        if (without > 0) {
          alerts.push({
            id: 'admin-mfa',
            severity: 'warning',
            title: 'Admin MFA is not required',
            detail: `${without} admin${without === 1 ? ' signs' : 's sign'} in to the console with a password alone. Require TOTP for admins in Security Management.`,
            href: '/admin/security#mfa',
          });
        }
      }
      if (!(await d.mailEnabled())) {
        alerts.push({
          id: 'smtp',
          severity: 'info',
          title: 'Email is not configured',
          detail: 'Activation and password reset emails cannot be sent until an SMTP server is set.',
          href: '/admin/settings#smtp',
        });
      }
      const rank = { critical: 0, warning: 1, info: 2 } as const;
      return alerts.sort((a, b) => rank[a.severity] - rank[b.severity]);
    },
  };
}

export type Alerts = ReturnType<typeof createAlerts>;
