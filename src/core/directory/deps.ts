import type { AuditRecorder } from '../audit/recorder.js';
import type { CredentialCache } from '../auth/credential-cache.js';
import type { PasswordHasher } from '../auth/password-hasher.js';
import type { Clock, SecretBox, Store } from '../ports.js';
import type { OrganizationCache } from './organization-cache.js';

/** What the directory services share. */
export interface DirectoryDeps {
  store: Store;
  hasher: PasswordHasher;
  secretBox: SecretBox;
  clock: Clock;
  audit: AuditRecorder;
  cache: CredentialCache;
  organization: OrganizationCache;
  totpIssuer: string;
}
