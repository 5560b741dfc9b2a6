import { systemActor } from './access/actor.js';
import { generatePassword, type AdminService } from './access/admins.js';
import type { ApiKeyService } from './access/api-keys.js';
import { DEFAULT_ORG_SETTINGS, type Organization } from './directory/organization.js';
import type { Clock, Store } from './ports.js';
import { newId } from '../util/ids.js';

export interface BootstrapInput {
  organizationName: string;
  adminEmail: string;
  /** Empty: a password is generated and returned once. */
  adminPassword: string;
  /** Empty: no API key is created. */
  apiKey: string;
}

export interface BootstrapResult {
  created: boolean;
  organization: Organization;
  /** Set only when the admin password was generated: print it once, never log it again. */
  generatedAdminPassword?: string;
  adminEmail?: string;
}

/**
 * Seeds an empty store: the organisation, its LDAP server, the first admin and optionally an API
 * key, in one transaction. Does nothing when an organisation exists.
 */
export async function bootstrap(
  d: { store: Store; clock: Clock; admins: AdminService; apiKeys: ApiKeyService; setOrganizationId: (id: string) => void },
  input: BootstrapInput,
): Promise<BootstrapResult> {
  // Checked and seeded under the startup lock: instances started together on an empty PostgreSQL
  // database would each find no organisation and each seed one.
  return d.store.startupLock(() => seed(d, input));
}

async function seed(d: Parameters<typeof bootstrap>[0], input: BootstrapInput): Promise<BootstrapResult> {
  const existing = await d.store.repos.organizations.get();
  if (existing) {
    d.setOrganizationId(existing.id);
    return { created: false, organization: existing };
  }
  const now = d.clock.now();
  const org: Organization = { id: newId(now.getTime()), displayName: input.organizationName, settings: DEFAULT_ORG_SETTINGS, createdAt: now };
  const password = input.adminPassword || generatePassword();
  d.setOrganizationId(org.id);
  await d.store.transaction(async (tx) => {
    await tx.organizations.create(org);
    await tx.ldapServers.create({
      id: newId(now.getTime()),
      name: 'Gatehouse LDAP',
      userLockoutAction: 'disable',
      userPasswordExpirationAction: 'disable',
      totpOnBind: false,
      createdAt: now,
      updatedAt: now,
    });
    const admin = await d.admins.create({ email: input.adminEmail, password }, systemActor, tx);
    if (input.apiKey) await d.apiKeys.create('bootstrap', admin.id, systemActor, input.apiKey, tx);
  });
  return {
    created: true,
    organization: org,
    adminEmail: input.adminEmail,
    ...(input.adminPassword ? {} : { generatedAdminPassword: password }),
  };
}
