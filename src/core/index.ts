import { createAdminService } from './access/admins.js';
import { createApiKeyService } from './access/api-keys.js';
import { createInsightsService } from './audit/insights.js';
import { createAuditRecorder } from './audit/recorder.js';
import { createAuthPipeline } from './auth/authenticate.js';
import { createCredentialCache } from './auth/credential-cache.js';
import type { PasswordHasher } from './auth/password-hasher.js';
import { bootstrap, type BootstrapInput } from './bootstrap.js';
import { createApplicationService } from './directory/applications.js';
import { createAssociationService } from './directory/associations.js';
import type { DirectoryDeps } from './directory/deps.js';
import { createVersionWatch } from './directory/version-watch.js';
import { createLdapDirectory } from './directory/ldap-directory.js';
import { createLdapServerService } from './directory/ldap-servers.js';
import { createOrganizationCache } from './directory/organization-cache.js';
import { createOrganizationService } from './directory/organization-service.js';
import { createRadiusServerService } from './directory/radius-servers.js';
import { createRadiusReplyService } from './radius/reply-attributes.js';
import { createSystemService } from './directory/systems.js';
import { createUserGroupService, type RadiusAttributeCheck } from './directory/user-groups.js';
import { createUserService } from './directory/users.js';
import type { Clock, Logger, SecretBox, SsoRepositories, Store } from './ports.js';
import { createMemorySsoRepositories } from './sso/memory-repositories.js';
import { createSsoService } from './sso/sso-service.js';
import { createWebSessionService } from './sso/web-sessions.js';
import { createConsoleServices, type MailOptions } from './console/services.js';
import { createMemoryConsoleRepositories } from './console/memory-repositories.js';
import type { ConsoleRepositories } from './ports.js';

export interface CoreOptions {
  store: Store;
  hasher: PasswordHasher;
  secretBox: SecretBox;
  clock: Clock;
  log: Logger;
  totpIssuer: string;
  credentialCache: { ttlSeconds: number; maxEntries: number };
  /** Seconds a hot-path directory read may be reused (see config auth.revalidateSeconds); default 0. */
  revalidateSeconds?: number;
  audit: { flushIntervalMs: number; batchSize: number; maxQueue: number };
  checkRadiusAttribute?: RadiusAttributeCheck;
  /** Browser sessions and SAML application keys; in memory when not given (unit tests). */
  sso?: SsoRepositories;
  /** The admin console's stores (password-set tokens, settings, audit counts); in memory when not given. */
  console?: ConsoleRepositories;
  /** SMTP defaults, link lifetimes and the public URL for activation and reset emails; email off when not given. */
  mail?: MailOptions;
}

/**
 * The domain, assembled: every service the adapters call. Plain TypeScript; the adapters and the
 * store are given to it, never the reverse.
 */
export function createCore(o: CoreOptions) {
  let organizationId = '';
  const audit = createAuditRecorder({
    repo: o.store.repos.audit,
    clock: o.clock,
    log: o.log,
    organizationId: () => organizationId,
    ...o.audit,
  });
  const revalidateMs = (o.revalidateSeconds ?? 0) * 1000;
  // One watch on the store's directory version for every hot-path cache: one read of its counters
  // keeps all their reads valid for another revalidateMs when nothing changed through any instance.
  const directoryVersion = o.store.directoryVersion?.bind(o.store);
  const versionWatch = directoryVersion && revalidateMs > 0 ? createVersionWatch(directoryVersion, revalidateMs, () => o.clock.now().getTime()) : undefined;
  // Only account reads for authentication depend on failure counts; the other caches overlook them
  // (a user's first wrong password would otherwise drop the LDAP user index of every instance).
  const directoryWatch = versionWatch?.directoryOnly;
  const organization = createOrganizationCache(o.store.repos.organizations, 2000, directoryWatch);
  const ssoRepos = o.sso ?? createMemorySsoRepositories();
  const cache = createCredentialCache(o.credentialCache.ttlSeconds, o.credentialCache.maxEntries, o.clock);
  const deps: DirectoryDeps = {
    store: o.store,
    hasher: o.hasher,
    secretBox: o.secretBox,
    clock: o.clock,
    audit,
    cache,
    organization,
    totpIssuer: o.totpIssuer,
  };
  // The sessions service is built below; the hook runs only when an admin is removed, long after.
  const admins = createAdminService({ store: o.store, hasher: o.hasher, clock: o.clock, audit }, { endAdminSessions: (id) => webSessions.endAllFor('admin', id) });
  const apiKeys = createApiKeyService({ store: o.store, clock: o.clock, audit });
  // Cached hot-path reads are invalidated by any committed write here and by lock changes.
  let lockChanges = 0;
  const epoch = () => o.store.commits + lockChanges;
  const ldapDirectory = createLdapDirectory(deps, revalidateMs, epoch, directoryWatch);
  const webSessions = createWebSessionService({ repo: ssoRepos.webSessions, clock: o.clock });
  const consoleRepos = o.console ?? createMemoryConsoleRepositories(o.store.repos.audit);
  return {
    audit,
    credentialCache: cache,
    auth: createAuthPipeline({
      store: o.store,
      hasher: o.hasher,
      cache,
      secretBox: o.secretBox,
      audit,
      clock: o.clock,
      organization,
      revalidateMs,
      epoch,
      ...(versionWatch ? { versionWatch } : {}),
      onLockChange: () => lockChanges++,
    }),
    organization: createOrganizationService(deps),
    users: createUserService(deps, {
      endUserSessions: (id) => webSessions.endAllFor('user', id),
      revokeAccountLinks: (id) => consoleRepos.passwordTokens.deleteForUser(id),
    }),
    userGroups: createUserGroupService(deps, o.checkRadiusAttribute),
    associations: createAssociationService(deps),
    systems: createSystemService(deps),
    ldapServers: createLdapServerService(deps, () => ldapDirectory.invalidate()),
    ldapDirectory,
    radiusServers: createRadiusServerService(deps),
    /** Reply attributes of an Access-Accept, from the user's groups bound to the RADIUS server. */
    radiusReply: createRadiusReplyService({ store: o.store, revalidateMs, epoch, ...(directoryWatch ? { versionWatch: directoryWatch } : {}) }),
    applications: createApplicationService(deps, { credentials: ssoRepos.applicationCredentials }),
    /** Single sign-on: launchable apps, session access to an app, signing keys. */
    sso: createSsoService({ store: o.store, sso: ssoRepos, secretBox: o.secretBox, clock: o.clock, audit, organization }),
    /** Browser sessions (portal, SAML, console) held in the store. */
    webSessions,
    /** The key that binds form (CSRF) tokens to their session; the same on every instance. */
    formTokenKey: o.secretBox.deriveKey('csrf'),
    admins,
    apiKeys,
    /** The admin console: admin sign-in, account emails, Home aggregates, alerts, checklist, bulk actions, insights. */
    console: createConsoleServices({
      deps,
      admins,
      audit,
      hasher: o.hasher,
      log: o.log,
      webSessions,
      credentials: ssoRepos.applicationCredentials,
      repos: consoleRepos,
      ...(o.mail ? { mail: o.mail } : {}),
    }),
    insights: createInsightsService({ store: o.store, audit, now: () => o.clock.now() }),
    /** Reads the organisation (if any) so that audit events carry its id; for tools that do not bootstrap. */
    async load() {
      const org = await o.store.repos.organizations.get();
      if (org) organizationId = org.id;
      return org;
    },
    /** Seeds an empty store; also tells the audit trail which organisation it belongs to. */
    bootstrap: (input: BootstrapInput) =>
      bootstrap({ store: o.store, clock: o.clock, admins, apiKeys, setOrganizationId: (id) => (organizationId = id) }, input),
    close: () => {
      versionWatch?.close();
      return audit.close();
    },
  };
}

export type Core = ReturnType<typeof createCore>;
