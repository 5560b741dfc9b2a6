/**
 * Small factories for complete domain records with realistic ids (`newId()`) and unique names.
 * Each call returns a fresh record; `overrides` replace fields wholesale.
 */
import { randomBytes } from 'node:crypto';
import type { AuditEvent } from '../../src/core/audit/event.js';
import type {
  Application,
  LdapServer,
  RadiusServer,
  System,
  SystemGroup,
  User,
  UserCredentials,
  UserGroup,
} from '../../src/core/directory/types.js';
import { newId } from '../../src/util/ids.js';

let seq = 0;
/** A short suffix unique within the process, for names that must be unique. */
export function uniqueSuffix(): string {
  seq += 1;
  return `${seq.toString(36)}${randomBytes(3).toString('hex')}`;
}

/** A unix id unique within the process, above the range real systems reserve. */
let unixSeq = 0;
export function nextUnixId(): number {
  unixSeq += 1;
  return 5000 + unixSeq;
}

/** A fixed, millisecond-exact instant so that round-trips compare equal. */
export const T0 = new Date('2024-05-01T12:00:00.000Z');

export function makeUser(overrides: Partial<User> = {}): User {
  const suffix = uniqueSuffix();
  const username = overrides.username ?? `user.${suffix}`;
  const uid = overrides.unixUid ?? nextUnixId();
  return {
    id: newId(),
    username,
    email: `${username}@example.com`,
    firstname: 'Ada',
    lastname: 'Lovelace',
    displayname: 'Ada Lovelace',
    state: 'ACTIVATED',
    hasPassword: true,
    passwordChangedAt: T0,
    passwordExpiredFlag: false,
    totpEnrolled: false,
    enableUserPortalMultifactor: false,
    mfaExclusion: false,
    mfaExclusionUntil: null,
    ldapBindingUser: false,
    unixUid: uid,
    unixGuid: uid,
    jobTitle: 'Engineer',
    department: 'Research',
    company: 'Analytical Engines Ltd',
    location: 'London',
    employeeIdentifier: `E-${suffix}`,
    description: '',
    attributes: [],
    lockedAt: null,
    createdAt: T0,
    updatedAt: T0,
    ...overrides,
  };
}

/** Credentials matching `user.hasPassword` (a fake argon2id hash, not a real one). */
export function makeCredentials(overrides: Partial<UserCredentials> = {}): UserCredentials {
  return {
    passwordHash: `$argon2id$v=19$m=19456,t=2,p=1$${randomBytes(16).toString('base64')}$${randomBytes(32).toString('base64')}`,
    passwordHistory: [],
    totpSecret: null,
    totpPendingSecret: null,
    ...overrides,
  };
}

export function makeGroup(overrides: Partial<UserGroup> = {}): UserGroup {
  const suffix = uniqueSuffix();
  return {
    id: newId(),
    name: `group-${suffix}`,
    description: 'A user group',
    email: '',
    posixGid: null,
    posixName: null,
    radiusReply: [],
    createdAt: T0,
    updatedAt: T0,
    ...overrides,
  };
}

export function makeSystem(overrides: Partial<System> = {}): System {
  const suffix = uniqueSuffix();
  return {
    id: newId(),
    displayName: `host-${suffix}`,
    hostname: `host-${suffix}.example.com`,
    os: 'Ubuntu',
    version: '22.04',
    arch: 'x86_64',
    agentVersion: '1.0.0',
    active: true,
    lastContact: null,
    allowMultiFactorAuthentication: false,
    systemInsightsState: 'disabled',
    createdAt: T0,
    updatedAt: T0,
    ...overrides,
  };
}

export function makeSystemGroup(overrides: Partial<SystemGroup> = {}): SystemGroup {
  return {
    id: newId(),
    name: `systems-${uniqueSuffix()}`,
    description: 'A system group',
    createdAt: T0,
    updatedAt: T0,
    ...overrides,
  };
}

export function makeLdapServer(overrides: Partial<LdapServer> = {}): LdapServer {
  return {
    id: newId(),
    name: `ldap-${uniqueSuffix()}`,
    userLockoutAction: 'disable',
    userPasswordExpirationAction: 'disable',
    totpOnBind: false,
    createdAt: T0,
    updatedAt: T0,
    ...overrides,
  };
}

let ipSeq = 0;
export function makeRadiusServer(overrides: Partial<RadiusServer> = {}): RadiusServer {
  ipSeq += 1;
  return {
    id: newId(),
    name: `radius-${uniqueSuffix()}`,
    networkSourceIp: `10.${(ipSeq >> 16) & 255}.${(ipSeq >> 8) & 255}.${ipSeq & 255}`,
    mfa: 'DISABLED',
    userLockoutAction: 'maintain',
    userPasswordExpirationAction: 'maintain',
    requireMessageAuthenticator: true,
    sharedSecretLength: 32,
    createdAt: T0,
    updatedAt: T0,
    ...overrides,
  };
}

export function makeApplication(overrides: Partial<Application> = {}): Application {
  const name = overrides.name ?? `app-${uniqueSuffix()}`;
  return {
    id: newId(),
    name,
    displayLabel: `App ${name}`,
    config: {
      spEntityId: `https://${name}.example.com/saml/metadata`,
      acsUrls: [`https://${name}.example.com/saml/acs`],
      nameIdAttribute: 'email',
      nameIdFormat: 'urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress',
      signAssertion: true,
      signResponse: false,
      attributes: [{ name: 'firstName', value: 'firstname' }],
      constantAttributes: [],
      groupAttribute: 'memberOf',
    },
    createdAt: T0,
    updatedAt: T0,
    ...overrides,
  };
}

export function makeAuditEvent(overrides: Partial<AuditEvent> = {}): AuditEvent {
  const timestamp = overrides.timestamp ?? T0.toISOString();
  return {
    id: newId(Date.parse(timestamp)),
    timestamp,
    organization: '000000000000000000000001',
    event_type: 'ldap_bind',
    service: 'ldap',
    success: true,
    client_ip: '192.0.2.10',
    initiated_by: { type: 'user', username: 'ada' },
    username: 'ada',
    ...overrides,
  };
}
