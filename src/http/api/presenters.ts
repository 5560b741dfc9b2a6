import type { Organization } from '../../core/directory/organization.js';
import { offersSingleLogout } from '../../core/directory/applications.js';
import { radiusServerWarnings } from '../../core/directory/radius-servers.js';
import type { Application, LdapServer, RadiusServer, System, SystemGroup, User, UserGroup } from '../../core/directory/types.js';
import type { UserStatus } from '../../core/directory/users.js';

/**
 * The REST API's view of each record, in JumpCloud's shapes. These functions receive domain
 * records, which carry no secrets; the response schemas drop anything undeclared as a second guard.
 */

const iso = (d: Date | null) => (d ? d.toISOString() : null);

export function presentUser(u: User, s: UserStatus) {
  return {
    _id: u.id,
    id: u.id,
    username: u.username,
    email: u.email,
    firstname: u.firstname,
    lastname: u.lastname,
    displayname: u.displayname,
    state: u.state,
    activated: u.hasPassword,
    suspended: u.state === 'SUSPENDED',
    account_locked: s.accountLocked,
    account_locked_date: s.accountLocked ? iso(u.lockedAt) : null,
    password_expired: s.passwordExpired,
    password_expiration_date: iso(s.passwordExpiresAt),
    password_date: iso(u.passwordChangedAt),
    totp_enabled: u.totpEnrolled,
    enable_user_portal_multifactor: u.enableUserPortalMultifactor,
    ldap_binding_user: u.ldapBindingUser,
    unix_uid: u.unixUid,
    unix_guid: u.unixGuid,
    mfa: { configured: u.totpEnrolled, exclusion: u.mfaExclusion, exclusionUntil: iso(u.mfaExclusionUntil) },
    jobTitle: u.jobTitle,
    department: u.department,
    company: u.company,
    location: u.location,
    employeeIdentifier: u.employeeIdentifier,
    description: u.description,
    attributes: u.attributes,
    created: u.createdAt.toISOString(),
  };
}

export function presentUserGroup(g: UserGroup) {
  return {
    id: g.id,
    name: g.name,
    description: g.description,
    email: g.email,
    type: 'user_group' as const,
    attributes: {
      radius: { reply: g.radiusReply },
      posixGroups: g.posixGid === null ? [] : [{ id: g.posixGid, name: g.posixName ?? g.name }],
    },
  };
}

export function presentLdapServer(s: LdapServer) {
  return {
    id: s.id,
    name: s.name,
    userLockoutAction: s.userLockoutAction,
    userPasswordExpirationAction: s.userPasswordExpirationAction,
    totpOnBind: s.totpOnBind,
  };
}

export function presentRadiusServer(s: RadiusServer, generatedSecret?: string) {
  return {
    _id: s.id,
    id: s.id,
    name: s.name,
    networkSourceIp: s.networkSourceIp,
    mfa: s.mfa,
    userLockoutAction: s.userLockoutAction,
    userPasswordExpirationAction: s.userPasswordExpirationAction,
    requireMessageAuthenticator: s.requireMessageAuthenticator,
    sharedSecretLength: s.sharedSecretLength,
    ...(generatedSecret ? { sharedSecret: generatedSecret } : {}),
    warnings: radiusServerWarnings(s),
    created: s.createdAt.toISOString(),
  };
}

/** The public half of an app's SAML credentials (never the private key). */
export interface ApplicationCredentialsView {
  idpCertificate: string;
  spCertificate: string;
  requireSignedRequests: boolean;
}

export function presentApplication(a: Application, publicUrl: string, creds?: ApplicationCredentialsView) {
  const ssoUrl = `${publicUrl}/saml2/${encodeURIComponent(a.name)}`;
  return {
    _id: a.id,
    id: a.id,
    name: a.name,
    displayLabel: a.displayLabel,
    ssoUrl,
    config: {
      ...a.config,
      idpEntityId: ssoUrl,
      idpCertificate: creds?.idpCertificate ?? '',
      idpMetadataUrl: `${ssoUrl}/metadata`,
      // Listed in the metadata (and here) only where single logout can work.
      ...(offersSingleLogout(a, creds?.spCertificate ?? '') ? { idpSloUrl: `${ssoUrl}/slo` } : {}),
      spCertificate: creds?.spCertificate ?? '',
      requireSignedRequests: creds?.requireSignedRequests ?? false,
    },
    created: a.createdAt.toISOString(),
  };
}

export function presentSystem(s: System) {
  return {
    _id: s.id,
    id: s.id,
    displayName: s.displayName,
    hostname: s.hostname,
    os: s.os,
    version: s.version,
    arch: s.arch,
    agentVersion: s.agentVersion,
    active: s.active,
    lastContact: iso(s.lastContact),
    allowMultiFactorAuthentication: s.allowMultiFactorAuthentication,
    systemInsights: { state: s.systemInsightsState },
    created: s.createdAt.toISOString(),
  };
}

export function presentSystemGroup(g: SystemGroup) {
  return { id: g.id, name: g.name, description: g.description, type: 'system_group' as const };
}

export function presentOrganization(o: Organization) {
  return { _id: o.id, id: o.id, displayName: o.displayName, created: o.createdAt.toISOString(), settings: o.settings };
}

/** A JumpCloud v2 graph connection to `{ type, id }`. */
export function presentConnection(type: string, id: string) {
  return { attributes: null, to: { attributes: null, id, type } };
}
