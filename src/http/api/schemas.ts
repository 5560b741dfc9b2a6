import { Type, type TSchema } from '@sinclair/typebox';

/**
 * Request and response schemas of the REST API. Response schemas are also the serialiser's
 * allow-list: a field that is not declared here is never sent (so no hash or secret can leak).
 */

export const ErrorSchema = Type.Object(
  {
    code: Type.Integer(),
    message: Type.String(),
    status: Type.String(),
    field: Type.Optional(Type.String()),
  },
  { $id: 'Error', description: 'JumpCloud-style error body' },
);

export const errorResponses = {
  400: Type.Ref('Error'),
  401: Type.Ref('Error'),
  404: Type.Ref('Error'),
  409: Type.Ref('Error'),
};

export const IdParams = Type.Object({ id: Type.String({ description: '24-hex object id' }) });

export const NameValueSchema = Type.Object({ name: Type.String(), value: Type.String() });
const NameValueIn = Type.Object({
  name: Type.String(),
  value: Type.Union([Type.String(), Type.Number(), Type.Boolean()]),
});

const nullableDate = Type.Union([Type.String({ format: 'date-time' }), Type.Null()]);

/**
 * The largest `skip` a list takes (as the insights API): beyond it no page has items, and a number
 * past 2^63 would reach the store as an OFFSET it refuses (a 500 instead of a 400).
 */
const MAX_SKIP = 10_000_000;

/** v1 list paging (JumpCloud: limit, skip, sort, filter, search, fields). */
export const V1ListQuery = Type.Object({
  limit: Type.Optional(Type.Integer({ minimum: 0, maximum: 1000, default: 10 })),
  skip: Type.Optional(Type.Integer({ minimum: 0, maximum: MAX_SKIP, default: 0 })),
  sort: Type.Optional(Type.String({ maxLength: 256 })),
  filter: Type.Optional(Type.Union([Type.String({ maxLength: 1024 }), Type.Array(Type.String({ maxLength: 1024 }), { maxItems: 20 })])),
  search: Type.Optional(Type.String({ maxLength: 256 })),
  fields: Type.Optional(Type.String({ maxLength: 1024 })),
});

/** v2 list paging (answers are arrays; the total is in the x-total-count header). */
export const V2ListQuery = Type.Object({
  limit: Type.Optional(Type.Integer({ minimum: 0, maximum: 1000, default: 10 })),
  skip: Type.Optional(Type.Integer({ minimum: 0, maximum: MAX_SKIP, default: 0 })),
  sort: Type.Optional(Type.String({ maxLength: 256 })),
  filter: Type.Optional(Type.Union([Type.String({ maxLength: 1024 }), Type.Array(Type.String({ maxLength: 1024 }), { maxItems: 20 })])),
});

export const v1List = (item: TSchema) => Type.Object({ totalCount: Type.Integer(), results: Type.Array(item) });

// ---- users (v1 systemusers) ----

export const MfaSchema = Type.Object({
  configured: Type.Boolean(),
  exclusion: Type.Boolean(),
  exclusionUntil: nullableDate,
});

export const UserSchema = Type.Object(
  {
    _id: Type.String(),
    id: Type.String(),
    username: Type.String(),
    email: Type.String(),
    firstname: Type.String(),
    lastname: Type.String(),
    displayname: Type.String(),
    state: Type.String(),
    activated: Type.Boolean({ description: 'A password has been set (false: password pending)' }),
    suspended: Type.Boolean(),
    account_locked: Type.Boolean(),
    account_locked_date: nullableDate,
    password_expired: Type.Boolean(),
    password_expiration_date: nullableDate,
    password_date: nullableDate,
    totp_enabled: Type.Boolean(),
    enable_user_portal_multifactor: Type.Boolean(),
    ldap_binding_user: Type.Boolean(),
    unix_uid: Type.Integer(),
    unix_guid: Type.Integer(),
    mfa: MfaSchema,
    jobTitle: Type.String(),
    department: Type.String(),
    company: Type.String(),
    location: Type.String(),
    employeeIdentifier: Type.String(),
    description: Type.String(),
    attributes: Type.Array(NameValueSchema),
    created: Type.String({ format: 'date-time' }),
  },
  { $id: 'SystemUser' },
);

export const UserBody = Type.Object(
  {
    username: Type.Optional(Type.String()),
    email: Type.Optional(Type.String()),
    firstname: Type.Optional(Type.String()),
    lastname: Type.Optional(Type.String()),
    displayname: Type.Optional(Type.String()),
    password: Type.Optional(Type.String({ description: 'Checked against the organisation password policy; never returned' })),
    state: Type.Optional(Type.String()),
    suspended: Type.Optional(Type.Boolean()),
    ldap_binding_user: Type.Optional(Type.Boolean()),
    enable_user_portal_multifactor: Type.Optional(Type.Boolean()),
    unix_uid: Type.Optional(Type.Integer()),
    unix_guid: Type.Optional(Type.Integer()),
    mfa: Type.Optional(
      Type.Object({
        exclusion: Type.Optional(Type.Boolean()),
        exclusionUntil: Type.Optional(Type.Union([Type.String(), Type.Null()])),
      }),
    ),
    jobTitle: Type.Optional(Type.String()),
    department: Type.Optional(Type.String()),
    company: Type.Optional(Type.String()),
    location: Type.Optional(Type.String()),
    employeeIdentifier: Type.Optional(Type.String()),
    description: Type.Optional(Type.String()),
    attributes: Type.Optional(Type.Array(NameValueIn, { maxItems: 100 })),
  },
  { description: 'JumpCloud systemuser fields; fields Gatehouse does not know are ignored, as JumpCloud does.' },
);

export const ResetMfaBody = Type.Object({
  exclusion: Type.Optional(Type.Boolean()),
  exclusionUntil: Type.Optional(Type.Union([Type.String(), Type.Null()])),
});

export const TotpBody = Type.Object({ secret: Type.Optional(Type.String({ maxLength: 256 })) });
export const TotpResponse = Type.Object({ secret: Type.String(), otpauth_uri: Type.String() });

// ---- groups (v2) ----

export const PosixGroupSchema = Type.Object({ id: Type.Integer(), name: Type.String() });

export const UserGroupSchema = Type.Object(
  {
    id: Type.String(),
    name: Type.String(),
    description: Type.String(),
    email: Type.String(),
    type: Type.Literal('user_group'),
    attributes: Type.Object({
      radius: Type.Object({ reply: Type.Array(NameValueSchema) }),
      posixGroups: Type.Array(PosixGroupSchema),
    }),
  },
  { $id: 'UserGroup' },
);

export const UserGroupBody = Type.Object({
  name: Type.Optional(Type.String()),
  description: Type.Optional(Type.String()),
  email: Type.Optional(Type.String()),
  attributes: Type.Optional(
    Type.Object({
      radius: Type.Optional(Type.Object({ reply: Type.Optional(Type.Array(NameValueIn, { maxItems: 50 })) })),
      posixGroups: Type.Optional(
        Type.Array(Type.Object({ id: Type.Optional(Type.Integer()), name: Type.Optional(Type.String()) }), { maxItems: 1 }),
      ),
    }),
  ),
});

export const GraphOpBody = Type.Object({
  op: Type.String({ description: 'add | remove' }),
  type: Type.String(),
  id: Type.String(),
  attributes: Type.Optional(Type.Unknown()),
});

export const GraphConnection = Type.Object({
  attributes: Type.Null(),
  to: Type.Object({ attributes: Type.Null(), id: Type.String(), type: Type.String() }),
});

export const MemberOfItem = Type.Object({
  id: Type.String(),
  type: Type.String(),
  compiledAttributes: Type.Null(),
  paths: Type.Array(Type.Array(GraphConnection)),
});

// ---- LDAP, RADIUS, applications, systems ----

export const LdapServerSchema = Type.Object({
  id: Type.String(),
  name: Type.String(),
  userLockoutAction: Type.String(),
  userPasswordExpirationAction: Type.String(),
  totpOnBind: Type.Boolean({ description: 'Gatehouse extension: binds of users with TOTP must end in ";<code>"' }),
});

export const LdapServerBody = Type.Object({
  name: Type.Optional(Type.String()),
  userLockoutAction: Type.Optional(Type.String()),
  userPasswordExpirationAction: Type.Optional(Type.String()),
  totpOnBind: Type.Optional(Type.Boolean()),
});

export const RadiusServerSchema = Type.Object(
  {
    _id: Type.String(),
    id: Type.String(),
    name: Type.String(),
    networkSourceIp: Type.String(),
    mfa: Type.String(),
    userLockoutAction: Type.String(),
    userPasswordExpirationAction: Type.String(),
    requireMessageAuthenticator: Type.Boolean(),
    sharedSecretLength: Type.Integer(),
    sharedSecret: Type.Optional(Type.String({ description: 'Only in the reply that generated it; stored encrypted, never read back' })),
    warnings: Type.Array(Type.String()),
    created: Type.String({ format: 'date-time' }),
  },
  { $id: 'RadiusServer' },
);

export const RadiusServerBody = Type.Object({
  name: Type.Optional(Type.String()),
  networkSourceIp: Type.Optional(Type.String()),
  sharedSecret: Type.Optional(Type.String()),
  mfa: Type.Optional(Type.String()),
  userLockoutAction: Type.Optional(Type.String()),
  userPasswordExpirationAction: Type.Optional(Type.String()),
  requireMessageAuthenticator: Type.Optional(Type.Boolean()),
});

const AcsIndexSchema = Type.Object({ index: Type.Integer({ minimum: 0, maximum: 65535 }), url: Type.String() });

const SamlConfigSchema = Type.Object({
  spEntityId: Type.String(),
  acsUrls: Type.Array(Type.String()),
  acsIndexes: Type.Optional(Type.Array(AcsIndexSchema, { description: 'the SP metadata index of each ACS URL (AssertionConsumerServiceIndex); filled from spMetadata' })),
  sloUrl: Type.Optional(Type.String({ description: "The SP's single logout endpoint, where LogoutResponses go; absent: no single logout. Filled from spMetadata" })),
  sloBinding: Type.Optional(Type.Union([Type.Literal('redirect'), Type.Literal('post')], { description: 'The binding of sloUrl' })),
  nameIdAttribute: Type.String(),
  nameIdFormat: Type.String(),
  signAssertion: Type.Boolean(),
  signResponse: Type.Boolean(),
  attributes: Type.Array(NameValueSchema),
  constantAttributes: Type.Array(NameValueSchema),
  groupAttribute: Type.String(),
  idpEntityId: Type.String({ description: 'The IdP entity ID of this app (Issuer of its assertions)' }),
  idpCertificate: Type.String({ description: 'PEM of the IdP signing certificate of this app (also in its metadata)' }),
  idpMetadataUrl: Type.String(),
  idpSloUrl: Type.Optional(Type.String({ description: "The IdP's single logout endpoint for this app (HTTP-Redirect; also in its metadata), once sloUrl and the SP certificate are set" })),
  spCertificate: Type.String({ description: "PEM of the SP's signing certificate ('' when none)" }),
  requireSignedRequests: Type.Boolean({ description: 'AuthnRequests without a valid signature are refused' }),
});

export const ApplicationSchema = Type.Object(
  {
    _id: Type.String(),
    id: Type.String(),
    name: Type.String(),
    displayLabel: Type.String(),
    ssoUrl: Type.String(),
    config: SamlConfigSchema,
    created: Type.String({ format: 'date-time' }),
  },
  { $id: 'Application' },
);

export const ApplicationBody = Type.Object({
  name: Type.Optional(Type.String()),
  displayLabel: Type.Optional(Type.String()),
  config: Type.Optional(
    Type.Object({
      spEntityId: Type.Optional(Type.String()),
      acsUrls: Type.Optional(Type.Array(Type.String(), { maxItems: 20 })),
      acsIndexes: Type.Optional(Type.Array(AcsIndexSchema, { maxItems: 20 })),
      sloUrl: Type.Optional(Type.String({ maxLength: 2048, description: "The SP's single logout endpoint; '' removes it" })),
      sloBinding: Type.Optional(Type.String()),
      nameIdAttribute: Type.Optional(Type.String()),
      nameIdFormat: Type.Optional(Type.String()),
      signAssertion: Type.Optional(Type.Boolean()),
      signResponse: Type.Optional(Type.Boolean()),
      attributes: Type.Optional(Type.Array(NameValueIn, { maxItems: 50 })),
      constantAttributes: Type.Optional(Type.Array(NameValueIn, { maxItems: 50 })),
      groupAttribute: Type.Optional(Type.String()),
      spCertificate: Type.Optional(Type.String({ maxLength: 16_384, description: "The SP's signing certificate (PEM or base64)" })),
      requireSignedRequests: Type.Optional(Type.Boolean()),
    }),
  ),
  spMetadata: Type.Optional(
    Type.String({ maxLength: 262_144, description: 'SP metadata XML; fills in spEntityId, acsUrls and spCertificate where the body does not set them' }),
  ),
});

/** Upload (`privateKey` + `certificate`, PEM) or, with an empty body, regenerate an app's signing key. */
export const SigningKeyBody = Type.Object({
  privateKey: Type.Optional(Type.String({ maxLength: 16_384 })),
  certificate: Type.Optional(Type.String({ maxLength: 16_384 })),
});

export const SystemSchema = Type.Object(
  {
    _id: Type.String(),
    id: Type.String(),
    displayName: Type.String(),
    hostname: Type.String(),
    os: Type.String(),
    version: Type.String(),
    arch: Type.String(),
    agentVersion: Type.String(),
    active: Type.Boolean(),
    lastContact: nullableDate,
    allowMultiFactorAuthentication: Type.Boolean(),
    systemInsights: Type.Object({ state: Type.String() }),
    created: Type.String({ format: 'date-time' }),
  },
  { $id: 'System' },
);

export const SystemBody = Type.Object({
  displayName: Type.Optional(Type.String()),
  hostname: Type.Optional(Type.String()),
  os: Type.Optional(Type.String()),
  version: Type.Optional(Type.String()),
  arch: Type.Optional(Type.String()),
  agentVersion: Type.Optional(Type.String()),
  active: Type.Optional(Type.Boolean()),
  lastContact: Type.Optional(Type.Union([Type.String(), Type.Null()])),
  allowMultiFactorAuthentication: Type.Optional(Type.Boolean()),
  systemInsights: Type.Optional(Type.Object({ state: Type.Optional(Type.String()) })),
});

export const SystemGroupSchema = Type.Object({
  id: Type.String(),
  name: Type.String(),
  description: Type.String(),
  type: Type.Literal('system_group'),
});

export const SystemGroupBody = Type.Object({ name: Type.Optional(Type.String()), description: Type.Optional(Type.String()) });

// ---- organisation ----

export const PasswordPolicySchema = Type.Object({
  enableMinLength: Type.Boolean(),
  minLength: Type.Integer(),
  needsUppercase: Type.Boolean(),
  needsLowercase: Type.Boolean(),
  needsNumeric: Type.Boolean(),
  needsSymbolic: Type.Boolean(),
  allowUsernameSubstring: Type.Boolean(),
  enableMaxHistory: Type.Boolean(),
  maxHistory: Type.Integer(),
  enablePasswordExpirationInDays: Type.Boolean(),
  passwordExpirationInDays: Type.Integer(),
  enableMaxLoginAttempts: Type.Boolean(),
  maxLoginAttempts: Type.Integer(),
  enableLockoutTimeInSeconds: Type.Boolean(),
  lockoutTimeInSeconds: Type.Integer(),
  enableResetLockoutCounter: Type.Boolean(),
  resetLockoutCounterMinutes: Type.Integer(),
});

export const OrganizationSchema = Type.Object({
  _id: Type.String(),
  id: Type.String(),
  displayName: Type.String(),
  created: Type.String({ format: 'date-time' }),
  settings: Type.Object({
    passwordPolicy: PasswordPolicySchema,
    userMfaEnrollmentDays: Type.Integer(),
    requireAdminMfa: Type.Boolean(),
  }),
});

export const OrganizationBody = Type.Object({
  displayName: Type.Optional(Type.String()),
  settings: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
});
