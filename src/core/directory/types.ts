/**
 * Domain records of the directory. Secrets (password hashes, TOTP seeds, shared secrets) are not
 * fields of these types: they live in separate credential records that no presenter receives.
 */

export type UserState = 'STAGED' | 'ACTIVATED' | 'SUSPENDED';
export const USER_STATES: readonly UserState[] = ['STAGED', 'ACTIVATED', 'SUSPENDED'];

export interface NameValue {
  name: string;
  value: string;
}

export interface User {
  id: string;
  /** Lower-case login name, unique. */
  username: string;
  /** Lower-case email, unique. */
  email: string;
  firstname: string;
  lastname: string;
  displayname: string;
  state: UserState;
  /** A password has been set (false: "password pending"). */
  hasPassword: boolean;
  passwordChangedAt: Date | null;
  /** Set by an admin ("Force Password Change") or by the portal; cleared by a password change. */
  passwordExpiredFlag: boolean;
  /** TOTP enrolled and confirmed. */
  totpEnrolled: boolean;
  /** "Require User MFA": MFA required on the user portal and wherever a resource follows the user's policy. */
  enableUserPortalMultifactor: boolean;
  /** Excluded from MFA; with `mfaExclusionUntil`, only until then (the enrolment grace period). */
  mfaExclusion: boolean;
  mfaExclusionUntil: Date | null;
  /** May search the LDAP directory (a service account for apps). */
  ldapBindingUser: boolean;
  unixUid: number;
  unixGuid: number;
  jobTitle: string;
  department: string;
  company: string;
  location: string;
  employeeIdentifier: string;
  description: string;
  attributes: NameValue[];
  /** When the account was locked out (from its auth state); whether the lock still holds depends on the policy. */
  lockedAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
}

/** Fields a user update may set; `hasPassword` and `lockedAt` follow the credentials and auth state. */
export type UserUpdate = Partial<Omit<User, 'id' | 'createdAt' | 'updatedAt' | 'lockedAt' | 'hasPassword'>>;

/** What authentication needs besides the profile. Never handed to a presenter. */
export interface UserCredentials {
  passwordHash: string | null;
  /** Previous hashes, newest first, for the password-history rule. */
  passwordHistory: string[];
  /** AES-256-GCM sealed TOTP seed (see SecretBox), null when not enrolled. */
  totpSecret: string | null;
  /** Seed of an enrolment that is waiting for its confirming code. */
  totpPendingSecret: string | null;
}

/** Per-account authentication state (lockout counters and the TOTP replay guard). */
export interface AuthState {
  failedCount: number;
  /** Time of the latest failure; the counter restarts when it is older than the reset window. */
  lastFailedAt: Date | null;
  lockedAt: Date | null;
  /** Highest TOTP time step accepted; codes at or below it are replays. */
  lastTotpStep: number | null;
}

export interface UserGroup {
  id: string;
  name: string;
  description: string;
  email: string;
  /** POSIX group data, when the group is also a posixGroup. */
  posixGid: number | null;
  posixName: string | null;
  /** RADIUS reply attributes sent in Access-Accept to members (JumpCloud attributes.radius.reply). */
  radiusReply: NameValue[];
  createdAt: Date;
  updatedAt: Date;
}

export interface System {
  id: string;
  displayName: string;
  hostname: string;
  os: string;
  version: string;
  arch: string;
  agentVersion: string;
  active: boolean;
  lastContact: Date | null;
  allowMultiFactorAuthentication: boolean;
  systemInsightsState: 'enabled' | 'disabled';
  createdAt: Date;
  updatedAt: Date;
}

export interface SystemGroup {
  id: string;
  name: string;
  description: string;
  createdAt: Date;
  updatedAt: Date;
}

export type LdapAction = 'disable' | 'remove';

export interface LdapServer {
  id: string;
  name: string;
  /** What a locked-out user's entry does: `disable` keeps it visible (binds fail), `remove` hides it. */
  userLockoutAction: LdapAction;
  userPasswordExpirationAction: LdapAction;
  /** Binds must carry a TOTP code after the password (`password;123456`) from users who have TOTP. */
  totpOnBind: boolean;
  createdAt: Date;
  updatedAt: Date;
}

export type RadiusMfaMode = 'DISABLED' | 'ENABLED' | 'REQUIRED' | 'ALWAYS';
export const RADIUS_MFA_MODES: readonly RadiusMfaMode[] = ['DISABLED', 'ENABLED', 'REQUIRED', 'ALWAYS'];
export type RadiusAction = 'maintain' | 'remove';

export interface RadiusServer {
  id: string;
  name: string;
  /** IPv4/IPv6 address or CIDR of the NAS that may use this server. */
  networkSourceIp: string;
  mfa: RadiusMfaMode;
  userLockoutAction: RadiusAction;
  userPasswordExpirationAction: RadiusAction;
  /** BlastRADIUS: Access-Requests without Message-Authenticator are discarded (per-client switch for legacy gear). */
  requireMessageAuthenticator: boolean;
  /** Length of the shared secret; the secret itself is a credential, read only by the RADIUS adapter. */
  sharedSecretLength: number;
  createdAt: Date;
  updatedAt: Date;
}

/**
 * An ACS endpoint's `index` in the SP's metadata (SAML metadata §2.2.3, IndexedEndpointType): an
 * AuthnRequest may name its ACS by this number (AssertionConsumerServiceIndex) rather than by URL.
 */
export interface AcsIndex {
  index: number;
  url: string;
}

export interface SamlAppConfig {
  spEntityId: string;
  acsUrls: string[];
  /** Metadata indexes of ACS URLs (filled from imported SP metadata); absent on apps set up by hand. */
  acsIndexes?: AcsIndex[];
  /**
   * The SP's single logout endpoint (SAML metadata SingleLogoutService, its ResponseLocation when
   * given) and its binding: where LogoutResponses go. Absent: the app has no single logout.
   */
  sloUrl?: string;
  sloBinding?: 'redirect' | 'post';
  nameIdAttribute: string;
  nameIdFormat: string;
  signAssertion: boolean;
  signResponse: boolean;
  attributes: NameValue[];
  constantAttributes: NameValue[];
  groupAttribute: string;
}

export interface Application {
  id: string;
  /** URL-safe name, unique: `/saml2/{name}`. */
  name: string;
  displayLabel: string;
  config: SamlAppConfig;
  createdAt: Date;
  updatedAt: Date;
}

export interface Admin {
  id: string;
  email: string;
  firstname: string;
  lastname: string;
  role: 'administrator' | 'read_only';
  totpEnrolled: boolean;
  /** Added by another admin with an initial password, not yet replaced: the console opens only to replace it. */
  passwordChangeRequired: boolean;
  createdAt: Date;
}

export interface ApiKey {
  id: string;
  name: string;
  adminId: string | null;
  /** First characters of the key, to recognise it in lists; the key itself is stored hashed. */
  prefix: string;
  createdAt: Date;
  lastUsedAt: Date | null;
}

/** The JumpCloud graph: which user-side object is bound to which resource. */
export type GraphFromType = 'user' | 'user_group' | 'system' | 'system_group';
export type GraphToType = 'ldap_server' | 'radius_server' | 'application' | 'system' | 'system_group';
export const GRAPH_TO_TYPES: readonly GraphToType[] = ['ldap_server', 'radius_server', 'application', 'system', 'system_group'];

export interface Association {
  fromType: GraphFromType;
  fromId: string;
  toType: GraphToType;
  toId: string;
  createdAt: Date;
}

/** A pending second factor: the first round proved the password; the next must bring a code. */
export interface AuthChallenge {
  /** Random, unguessable; travels as RADIUS State or in a session. */
  id: string;
  subjectId: string;
  protocol: string;
  resourceType: string;
  resourceId: string;
  createdAt: Date;
  expiresAt: Date;
}
