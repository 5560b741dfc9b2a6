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
import { createLdapDirectory } from './directory/ldap-directory.js';
import { createLdapServerService } from './directory/ldap-servers.js';
import { createOrganizationCache } from './directory/organization-cache.js';
import { createOrganizationService } from './directory/organization-service.js';
import { createRadiusServerService } from './directory/radius-servers.js';
import { createRadiusReplyService } from './radius/reply-attributes.js';
import { createSystemService } from './directory/systems.js';
import { createUserGroupService, type RadiusAttributeCheck } from './directory/user-groups.js';
import { createUserService } from './directory/users.js';
import type { Clock, Logger, SecretBox, Store } from './ports.js';

export interface CoreOptions {
  store: Store;
  hasher: PasswordHasher;
  secretBox: SecretBox;
  clock: Clock;
  log: Logger;
  totpIssuer: string;
  credentialCache: { ttlSeconds: number; maxEntries: number };
  audit: { flushIntervalMs: number; batchSize: number; maxQueue: number };
  checkRadiusAttribute?: RadiusAttributeCheck;
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
  const organization = createOrganizationCache(o.store.repos.organizations);
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
  const admins = createAdminService({ store: o.store, hasher: o.hasher, clock: o.clock, audit });
  const apiKeys = createApiKeyService({ store: o.store, clock: o.clock, audit });
  const ldapDirectory = createLdapDirectory(deps);
  return {
    audit,
    credentialCache: cache,
    auth: createAuthPipeline({ store: o.store, hasher: o.hasher, cache, secretBox: o.secretBox, audit, clock: o.clock, organization }),
    organization: createOrganizationService(deps),
    users: createUserService(deps),
    userGroups: createUserGroupService(deps, o.checkRadiusAttribute),
    associations: createAssociationService(deps),
    systems: createSystemService(deps),
    ldapServers: createLdapServerService(deps, () => ldapDirectory.invalidate()),
    ldapDirectory,
    radiusServers: createRadiusServerService(deps),
    /** Reply attributes of an Access-Accept, from the user's groups bound to the RADIUS server. */
    radiusReply: createRadiusReplyService({ store: o.store }),
    applications: createApplicationService(deps),
    admins,
    apiKeys,
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
    close: () => audit.close(),
  };
}

export type Core = ReturnType<typeof createCore>;
