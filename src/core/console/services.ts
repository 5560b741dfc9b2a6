import { createAdminAuth } from '../access/admin-auth.js';
import type { AdminService } from '../access/admins.js';
import type { AuditRecorder } from '../audit/recorder.js';
import type { PasswordHasher } from '../auth/password-hasher.js';
import { createApplicationService } from '../directory/applications.js';
import type { DirectoryDeps } from '../directory/deps.js';
import { createSystemService } from '../directory/systems.js';
import { createUserService } from '../directory/users.js';
import { createAccountMailService } from '../mail/account-mail.js';
import type { SmtpSettings } from '../mail/smtp-settings.js';
import { createSmtpTransport, type MailTransport } from '../mail/smtp-transport.js';
import type { ApplicationCredentialRepository, ConsoleRepositories, Logger } from '../ports.js';
import type { WebSessionService } from '../sso/web-sessions.js';
import { createAlerts } from './alerts.js';
import { createBulkActions } from './bulk-actions.js';
import { createChecklist } from './checklist.js';
import { createDashboard } from './dashboard.js';
import { createEventSearch } from './event-search.js';
import { createMemoryConsoleRepositories } from './memory-repositories.js';

/** Email settings of the core: the configuration's SMTP defaults and link lifetimes. */
export interface MailOptions {
  defaults: SmtpSettings;
  linkHours: { activation: number; reset: number };
  /** External base URL for links in emails. */
  publicUrl: () => string;
  /** nodemailer over SMTP unless given (tests may pass another). */
  transport?: MailTransport;
}

export const NO_MAIL: MailOptions = {
  defaults: { host: '', port: 587, security: 'starttls', username: '', password: '', from: 'Gatehouse <no-reply@gatehouse.local>' },
  linkHours: { activation: 168, reset: 24 },
  publicUrl: () => 'http://localhost:8080',
};

/**
 * What the admin console needs beyond the directory services: admin sign-in, activation and reset
 * emails, the Home page's aggregates, alerts, the checklist, bulk actions and Directory Insights.
 */
export function createConsoleServices(o: {
  deps: DirectoryDeps;
  admins: AdminService;
  audit: AuditRecorder;
  hasher: PasswordHasher;
  log: Logger;
  webSessions: WebSessionService;
  credentials: ApplicationCredentialRepository;
  repos?: ConsoleRepositories;
  mail?: MailOptions;
}) {
  const d = o.deps;
  const repos = o.repos ?? createMemoryConsoleRepositories(d.store.repos.audit);
  const mailOptions = o.mail ?? NO_MAIL;
  const users = createUserService(d);
  const systems = createSystemService(d);
  const applications = createApplicationService(d, { credentials: o.credentials });
  const mail = createAccountMailService({
    store: d.store,
    repos,
    secretBox: d.secretBox,
    clock: d.clock,
    log: o.log,
    audit: o.audit,
    organization: d.organization,
    hasher: o.hasher,
    users,
    webSessions: o.webSessions,
    transport: mailOptions.transport ?? createSmtpTransport(),
    publicUrl: mailOptions.publicUrl,
    defaults: mailOptions.defaults,
    linkHours: mailOptions.linkHours,
  });
  const mailEnabled = () => mail.enabled();
  return {
    adminAuth: createAdminAuth({
      store: d.store,
      hasher: o.hasher,
      secretBox: d.secretBox,
      clock: d.clock,
      audit: o.audit,
      organization: d.organization,
      admins: o.admins,
      totpIssuer: d.totpIssuer,
    }),
    mail,
    dashboard: createDashboard({ store: d.store, organization: d.organization, clock: d.clock, audit: o.audit, stats: repos.auditStats }),
    alerts: createAlerts({ store: d.store, organization: d.organization, clock: d.clock, applications, mailEnabled }),
    checklist: createChecklist({ store: d.store, organization: d.organization, mailEnabled }),
    bulk: createBulkActions({ users, systems, mail, organization: d.organization, clock: d.clock }),
    events: createEventSearch({ store: d.store, audit: o.audit, clock: d.clock }),
    /** An account's lockout counters (the user's Security tab). */
    authState: (subjectId: string) => d.store.repos.authState.get(subjectId),
  };
}

export type ConsoleServices = ReturnType<typeof createConsoleServices>;
