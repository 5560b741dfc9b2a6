import { createHash, randomBytes, scryptSync } from 'node:crypto';
import { createSecretBox } from './auth/secret-box.js';
import { normaliseSettings, type Organization } from './directory/organization.js';
import type {
  Admin,
  ApiKey,
  Application,
  Association,
  AuthState,
  LdapServer,
  RadiusServer,
  System,
  SystemGroup,
  User,
  UserCredentials,
  UserGroup,
} from './directory/types.js';
import { DomainError } from './errors.js';
import type { AdminCredentials, Repositories, SecretBox, SsoRepositories, Store } from './ports.js';
import { signingKeyContext } from './sso/sso-service.js';
import { UNIX_ID_SEQUENCE, UNIX_ID_START } from './directory/users.js';

/**
 * Backup and restore of the whole directory as one JSON document: profiles, password hashes
 * (argon2id, as stored), sealed TOTP seeds and RADIUS shared secrets, groups, memberships,
 * associations, admins and API key hashes. Secrets never appear in clear: they stay sealed with
 * the instance's secret key, or are re-sealed with a key derived from a passphrase (scrypt) so that
 * the file can be restored on another instance.
 */
export const EXPORT_FORMAT = 'gatehouse-export';
export const EXPORT_VERSION = 1;

type Dated<T> = { [K in keyof T]: T[K] extends Date ? string : T[K] extends Date | null ? string | null : T[K] };

export interface ExportDocument {
  format: typeof EXPORT_FORMAT;
  version: number;
  exportedAt: string;
  secrets:
    | { mode: 'instance-key'; keyId: string }
    | { mode: 'passphrase'; kdf: 'scrypt'; salt: string; N: number; r: number; p: number };
  organization: Dated<Organization>;
  users: { user: Dated<User>; credentials: UserCredentials; authState: Dated<AuthState> }[];
  userGroups: Dated<UserGroup>[];
  memberships: { groupId: string; userId: string }[];
  systems: Dated<System>[];
  systemGroups: Dated<SystemGroup>[];
  systemGroupMembers: { groupId: string; systemId: string }[];
  ldapServers: Dated<LdapServer>[];
  radiusServers: { server: Dated<RadiusServer>; sharedSecret: string }[];
  applications: Dated<Application>[];
  associations: Dated<Association>[];
  admins: { admin: Dated<Admin>; credentials: AdminCredentials }[];
  apiKeys: { apiKey: Dated<ApiKey>; keyHash: string }[];
  /** SAML apps' signing keys (sealed like every secret) and SP signing settings; absent in older exports. */
  applicationCredentials?: { appId: string; signingKey: string | null; signingCertificate: string | null; spCertificate: string; requireSignedRequests: boolean }[];
}

/** Identifies a secret key without revealing it. */
export function secretKeyId(key: Buffer): string {
  return createHash('sha256').update('gatehouse-key-id').update(key).digest('hex').slice(0, 16);
}

const SCRYPT = { N: 32768, r: 8, p: 1 };

function passphraseBox(passphrase: string, salt: Buffer, params = SCRYPT): SecretBox {
  if (passphrase.length < 12) throw new DomainError('invalid', 'backup.weak_passphrase', 'the export passphrase must be at least 12 characters', 'passphrase');
  return createSecretBox(scryptSync(passphrase, salt, 32, { ...params, maxmem: 128 * params.N * params.r * 2 }));
}

/** Dates → ISO strings, recursively for the top level of a record. */
function dated<T extends object>(o: T): Dated<T> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) out[k] = v instanceof Date ? v.toISOString() : v;
  return out as Dated<T>;
}

function undated<T>(o: Dated<T>, fields: string[]): T {
  const out: Record<string, unknown> = { ...(o as Record<string, unknown>) };
  for (const f of fields) {
    const v = out[f];
    out[f] = v === null || v === undefined ? null : new Date(v as string);
  }
  return out as T;
}

const PAGE = 1000;

async function allPages<T>(fetch: (limit: number, offset: number) => Promise<{ total: number; items: T[] }>): Promise<T[]> {
  const out: T[] = [];
  for (let offset = 0; ; offset += PAGE) {
    const page = await fetch(PAGE, offset);
    out.push(...page.items);
    if (page.items.length < PAGE) return out;
  }
}

/**
 * Exports the directory. With a passphrase, secrets are re-sealed for portability; without one
 * they stay sealed with this instance's key and restore only where that key is configured.
 */
export async function exportDirectory(
  store: Store,
  instanceBox: SecretBox,
  instanceKey: Buffer,
  passphrase?: string,
  sso?: SsoRepositories,
): Promise<ExportDocument> {
  const r = store.repos;
  const org = await r.organizations.get();
  if (!org) throw new DomainError('invalid', 'backup.empty_store', 'the store holds no organisation: nothing to export');

  let reseal: (sealed: string | null, context: string) => string | null = (s) => s;
  let secrets: ExportDocument['secrets'] = { mode: 'instance-key', keyId: secretKeyId(instanceKey) };
  if (passphrase !== undefined) {
    const salt = randomBytes(16);
    const box = passphraseBox(passphrase, salt);
    reseal = (sealed, context) => (sealed === null ? null : box.seal(instanceBox.open(sealed, context), context));
    secrets = { mode: 'passphrase', kdf: 'scrypt', salt: salt.toString('base64'), ...SCRYPT };
  }

  const users = await allPages((limit, offset) => r.users.query({ limit, offset, sort: [{ attr: 'username', desc: false }] }));
  const groups = await allPages((limit, offset) => r.userGroups.query({ limit, offset }));
  const systems = await allPages((limit, offset) => r.systems.query({ limit, offset }));
  const systemGroups = await allPages((limit, offset) => r.systemGroups.list(limit, offset));
  const apps = await allPages((limit, offset) => r.applications.list(limit, offset));

  const doc: ExportDocument = {
    format: EXPORT_FORMAT,
    version: EXPORT_VERSION,
    exportedAt: new Date().toISOString(),
    secrets,
    organization: dated(org),
    users: [],
    userGroups: groups.map(dated),
    memberships: [],
    systems: systems.map(dated),
    systemGroups: systemGroups.map(dated),
    systemGroupMembers: [],
    ldapServers: (await r.ldapServers.list()).map(dated),
    radiusServers: [],
    applications: apps.map(dated),
    ...(sso ? { applicationCredentials: [] } : {}),
    associations: [],
    admins: [],
    apiKeys: [],
  };
  for (const u of users) {
    const c = await r.users.getCredentials(u.id);
    if (!c) continue;
    doc.users.push({
      user: dated(u),
      credentials: {
        ...c,
        totpSecret: reseal(c.totpSecret, `totp:${u.id}`),
        totpPendingSecret: reseal(c.totpPendingSecret, `totp-pending:${u.id}`),
      },
      authState: dated(await r.authState.get(u.id)),
    });
    doc.associations.push(...(await r.associations.listFrom('user', u.id)).map(dated));
  }
  for (const g of groups) {
    const members = await allPages((limit, offset) => r.userGroups.memberIds(g.id, limit, offset));
    doc.memberships.push(...members.map((userId) => ({ groupId: g.id, userId })));
    doc.associations.push(...(await r.associations.listFrom('user_group', g.id)).map(dated));
  }
  for (const g of systemGroups) {
    const members = await allPages((limit, offset) => r.systemGroups.memberIds(g.id, limit, offset));
    doc.systemGroupMembers.push(...members.map((systemId) => ({ groupId: g.id, systemId })));
  }
  for (const s of await r.radiusServers.list()) {
    const sealed = await r.radiusServers.getSealedSecret(s.id);
    doc.radiusServers.push({ server: dated(s), sharedSecret: reseal(sealed ?? '', `radius:${s.id}`) ?? '' });
  }
  for (const a of await r.admins.list()) {
    const c = await r.admins.getCredentials(a.id);
    if (!c) continue;
    doc.admins.push({
      admin: dated(a),
      credentials: { ...c, totpSecret: reseal(c.totpSecret, `totp:${a.id}`), totpPendingSecret: reseal(c.totpPendingSecret, `totp-pending:${a.id}`) },
    });
  }
  for (const k of await r.apiKeys.list()) {
    const keyHash = await r.apiKeys.getHash(k.id);
    if (keyHash) doc.apiKeys.push({ apiKey: dated(k), keyHash });
  }
  for (const a of sso ? apps : []) {
    const c = await sso!.applicationCredentials.get(a.id);
    if (!c) continue;
    doc.applicationCredentials!.push({
      appId: a.id,
      signingKey: reseal(c.sealedSigningKey, signingKeyContext(a.id)),
      signingCertificate: c.signingCertificate,
      spCertificate: c.spCertificate,
      requireSignedRequests: c.requireSignedRequests,
    });
  }
  return doc;
}

function checkDocument(doc: unknown): asserts doc is ExportDocument {
  const d = doc as Partial<ExportDocument> | null;
  if (!d || d.format !== EXPORT_FORMAT) throw new DomainError('invalid', 'backup.bad_format', 'not a Gatehouse export (format field missing)');
  if (d.version !== EXPORT_VERSION) throw new DomainError('invalid', 'backup.bad_version', `unsupported export version ${String(d.version)}`);
  for (const k of ['users', 'userGroups', 'memberships', 'systems', 'systemGroups', 'systemGroupMembers', 'ldapServers', 'radiusServers', 'applications', 'associations', 'admins', 'apiKeys'] as const) {
    if (!Array.isArray(d[k])) throw new DomainError('invalid', 'backup.bad_format', `export is missing the ${k} list`);
  }
}

/**
 * Restores an export into an empty store, in one transaction: all of it or nothing. Ids,
 * uidNumbers and timestamps are kept, so LDAP DNs and SAML NameIDs stay the same.
 */
export async function importDirectory(
  store: Store,
  raw: unknown,
  instanceBox: SecretBox,
  instanceKey: Buffer,
  passphrase?: string,
  sso?: SsoRepositories,
): Promise<{ users: number; groups: number }> {
  checkDocument(raw);
  const doc = raw;
  if (await store.repos.organizations.get()) {
    throw new DomainError('conflict', 'backup.store_not_empty', 'the target store already holds an organisation; import needs an empty data directory or database');
  }
  let reseal: (sealed: string | null, context: string) => string | null;
  if (doc.secrets.mode === 'instance-key') {
    if (doc.secrets.keyId !== secretKeyId(instanceKey)) {
      throw new DomainError(
        'invalid',
        'backup.key_mismatch',
        'this export keeps its secrets sealed with the source instance key; start the import with the same key (GATEHOUSE_SECRET_KEY, or the source data/secret.key) or make the export with a passphrase',
      );
    }
    reseal = (s) => s;
  } else {
    if (passphrase === undefined) throw new DomainError('invalid', 'backup.passphrase_required', 'this export is protected by a passphrase; give it with --passphrase-file or GATEHOUSE_EXPORT_PASSPHRASE', 'passphrase');
    const box = passphraseBox(passphrase, Buffer.from(doc.secrets.salt, 'base64'), { N: doc.secrets.N, r: doc.secrets.r, p: doc.secrets.p });
    reseal = (sealed, context) => {
      if (sealed === null) return null;
      let clear: string;
      try {
        clear = box.open(sealed, context);
      } catch {
        throw new DomainError('invalid', 'backup.bad_passphrase', 'the passphrase does not open the secrets of this export', 'passphrase');
      }
      return instanceBox.seal(clear, context);
    };
  }

  const DATES = ['createdAt', 'updatedAt'];
  // Under the startup lock, with the store checked again in the transaction that writes: an instance
  // starting on the same empty database meanwhile would otherwise bootstrap an organisation of its
  // own next to the imported one (with its own admin and API key into the restored directory).
  await store.startupLock(() => store.transaction(async (tx: Repositories) => {
    if (await tx.organizations.get()) {
      throw new DomainError('conflict', 'backup.store_not_empty', 'the target store already holds an organisation; import needs an empty data directory or database');
    }
    const org = undated<Organization>(doc.organization, ['createdAt']);
    await tx.organizations.create({ ...org, settings: normaliseSettings(org.settings) });
    for (const s of doc.ldapServers) await tx.ldapServers.create(undated<LdapServer>(s, DATES));
    let maxUnix = UNIX_ID_START - 1;
    for (const { user, credentials, authState } of doc.users) {
      const u = undated<User>(user, [...DATES, 'passwordChangedAt', 'mfaExclusionUntil', 'lockedAt']);
      await tx.users.create(u, {
        ...credentials,
        totpSecret: reseal(credentials.totpSecret, `totp:${u.id}`),
        totpPendingSecret: reseal(credentials.totpPendingSecret, `totp-pending:${u.id}`),
      });
      await tx.authState.ensure(u.id);
      const st = undated<AuthState>(authState, ['lastFailedAt', 'lockedAt']);
      if (st.lastTotpStep !== null) await tx.authState.acceptTotpStep(u.id, st.lastTotpStep);
      if (st.lockedAt) await tx.authState.recordFailure(u.id, st.lockedAt, { maxAttempts: 1, lockoutSeconds: 0, resetCounterSeconds: 0 });
      maxUnix = Math.max(maxUnix, u.unixUid, u.unixGuid);
    }
    for (const g of doc.userGroups) {
      const group = undated<UserGroup>(g, DATES);
      await tx.userGroups.create(group);
      if (group.posixGid !== null) maxUnix = Math.max(maxUnix, group.posixGid);
    }
    for (const m of doc.memberships) await tx.userGroups.addMember(m.groupId, m.userId);
    for (const s of doc.systems) await tx.systems.create(undated<System>(s, [...DATES, 'lastContact']));
    for (const g of doc.systemGroups) await tx.systemGroups.create(undated<SystemGroup>(g, DATES));
    for (const m of doc.systemGroupMembers) await tx.systemGroups.addMember(m.groupId, m.systemId);
    for (const { server, sharedSecret } of doc.radiusServers) {
      const s = undated<RadiusServer>(server, DATES);
      await tx.radiusServers.create(s, reseal(sharedSecret, `radius:${s.id}`) ?? '');
    }
    for (const a of doc.applications) await tx.applications.create(undated<Application>(a, DATES));
    for (const a of doc.associations) await tx.associations.add(undated<Association>(a, ['createdAt']));
    for (const { admin, credentials } of doc.admins) {
      const a = undated<Admin>(admin, ['createdAt']);
      await tx.admins.create(a, {
        ...credentials,
        totpSecret: reseal(credentials.totpSecret, `totp:${a.id}`),
        totpPendingSecret: reseal(credentials.totpPendingSecret, `totp-pending:${a.id}`),
      });
      await tx.authState.ensure(a.id);
    }
    for (const { apiKey, keyHash } of doc.apiKeys) await tx.apiKeys.create(undated<ApiKey>(apiKey, ['createdAt', 'lastUsedAt']), keyHash);
    // The POSIX id counter continues after the highest restored id.
    if (maxUnix >= UNIX_ID_START) await tx.sequences.next(UNIX_ID_SEQUENCE, maxUnix);
  }));
  // Outside the directory transaction (a separate store); an app left without a key gets one at first use.
  for (const c of sso ? (doc.applicationCredentials ?? []) : []) {
    await sso!.applicationCredentials.upsert(c.appId, {
      sealedSigningKey: reseal(c.signingKey, signingKeyContext(c.appId)),
      signingCertificate: c.signingCertificate,
      spCertificate: c.spCertificate,
      requireSignedRequests: c.requireSignedRequests,
      updatedAt: new Date(),
    });
  }
  return { users: doc.users.length, groups: doc.userGroups.length };
}
