import { Type, type Static, type TSchema } from '@sinclair/typebox';

/**
 * The one configuration schema. Every leaf has a description and a default; `env` names the
 * environment variable that overrides it (contract.md, "Environment"); `secret` marks values that
 * may be given as `file:/path` and are redacted when the effective config is printed.
 * `config/default.yaml` is generated from this file (`npm run config:doc`) and a unit test keeps
 * the two in step.
 */

interface LeafOptions {
  description: string;
  env?: string;
  secret?: boolean;
}

const port = (def: number, description: string, env?: string) =>
  Type.Integer({ minimum: 0, maximum: 65535, default: def, description, ...(env ? { env } : {}) });

const str = (def: string, o: LeafOptions) => Type.String({ default: def, ...o });
const int = (def: number, min: number, max: number, o: LeafOptions) =>
  Type.Integer({ default: def, minimum: min, maximum: max, ...o });
const bool = (def: boolean, o: LeafOptions) => Type.Boolean({ default: def, ...o });

export const configSchema = Type.Object(
  {
    dataDir: str('./data', {
      description: 'Directory holding the SQLite database, the secret key and generated keys.',
      env: 'GATEHOUSE_DATA_DIR',
    }),
    databaseUrl: str('', {
      description:
        'sqlite:PATH or postgres://user:pass@host:port/db. Empty: SQLite file gatehouse.sqlite in dataDir.',
      env: 'GATEHOUSE_DATABASE_URL',
      secret: true,
    }),
    bindAddress: str('0.0.0.0', {
      description: 'Address every listener binds (use 127.0.0.1 to stay on loopback, :: for IPv6).',
      env: 'GATEHOUSE_BIND_ADDRESS',
    }),
    publicUrl: str('', {
      description:
        'External base URL of the HTTP endpoint (SAML entity IDs, links in mail). Empty: http://localhost:<http port>.',
      env: 'GATEHOUSE_PUBLIC_URL',
    }),
    certsDir: str('./certs', {
      description: 'Directory of the TLS certificate and key (tls.crt, tls.key), generated on first start when missing.',
      env: 'GATEHOUSE_CERTS_DIR',
    }),
    secretKey: str('', {
      description:
        'Base64 or hex 32-byte key that encrypts TOTP secrets and shared secrets at rest (AES-256-GCM). Empty: generated once into dataDir/secret.key (mode 0600).',
      env: 'GATEHOUSE_SECRET_KEY',
      secret: true,
    }),
    logLevel: Type.Union(
      ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map((l) => Type.Literal(l)),
      { default: 'info', description: 'pino log level.', env: 'GATEHOUSE_LOG_LEVEL' },
    ),
    http: Type.Object(
      {
        port: port(8080, 'Port of the console, portal, REST API and SAML endpoints. 0 takes a free port.', 'GATEHOUSE_HTTP_PORT'),
        trustProxy: bool(false, {
          description: 'Trust X-Forwarded-* headers (set only behind a reverse proxy you control).',
          env: 'GATEHOUSE_HTTP_TRUST_PROXY',
        }),
        bodyLimitBytes: int(1_048_576, 1024, 67_108_864, { description: 'Largest accepted request body.' }),
        maxConnections: int(1000, 1, 1_000_000, {
          description: 'Most open HTTP connections; more are answered 503 and closed before their request is read.',
        }),
        maxConnectionsPerIp: int(256, 1, 1_000_000, {
          description:
            'Most open HTTP connections from one client address (an IPv6 client counts by its /64 prefix); more are answered 503 and closed. Not applied with trustProxy, where every connection comes from the proxy.',
        }),
        requestTimeoutSeconds: int(60, 1, 3600, {
          description: 'Time a client has to send a whole request (headers and body); a slower one is answered 408 and closed.',
        }),
        idleTimeoutSeconds: int(120, 5, 86_400, {
          description: 'A connection with no traffic either way for this long is closed (keep-alive connections close after 72 s idle already).',
        }),
      },
      { description: 'HTTP listener.', default: {} },
    ),
    ldap: Type.Object(
      {
        port: port(1389, 'LDAP port (plain, with StartTLS). 0 takes a free port.', 'GATEHOUSE_LDAP_PORT'),
        ldapsPort: port(1636, 'LDAP over TLS port. 0 takes a free port.', 'GATEHOUSE_LDAPS_PORT'),
        suffix: str('dc=gatehouse,dc=local', {
          description: 'Suffix of the naming context o=<orgId>,<suffix>.',
          env: 'GATEHOUSE_LDAP_SUFFIX',
        }),
        requireTls: bool(false, {
          description:
            'Refuse simple binds on a connection without TLS (LDAPS, or after StartTLS) with confidentialityRequired. Off by default so that ldapsearch -x works out of the box; turn it on in production.',
          env: 'GATEHOUSE_LDAP_REQUIRE_TLS',
        }),
        maxConnections: int(2000, 1, 1_000_000, { description: 'Most open LDAP connections (plain and TLS together); more are closed at once.' }),
        maxConnectionsPerIp: int(200, 1, 1_000_000, {
          description: 'Most open LDAP connections from one client address (an IPv6 client counts by its /64 prefix).',
        }),
        maxPduBytes: int(262_144, 1024, 16_777_216, {
          description: 'Largest LDAP message accepted; a bigger one closes the connection (protocolError notice).',
        }),
        maxPduBytesBeforeBind: int(16_384, 1024, 16_777_216, {
          description:
            'Largest LDAP message accepted from a connection that has not bound successfully (binds, StartTLS and Root DSE searches are small); a bigger one closes the connection (protocolError notice). Capped by maxPduBytes.',
        }),
        maxOutstandingPerConnection: int(32, 1, 10_000, {
          description: 'Requests queued on one connection before the server stops reading from it (back-pressure).',
        }),
        maxQueuedBytesPerConnection: int(1_048_576, 65_536, 1_073_741_824, {
          description: 'Bytes of received requests one connection may hold (queued or being answered) before the server stops reading from it (back-pressure).',
        }),
        maxQueuedBytesTotal: int(67_108_864, 1_048_576, 17_179_869_184, {
          description:
            'Bytes of received requests all LDAP connections together may hold; above it, connections with requests outstanding are not read from until it drains to three quarters.',
        }),
        idleTimeoutSeconds: int(300, 1, 86_400, { description: 'A connection idle this long is closed.' }),
        unboundIdleTimeoutSeconds: int(30, 1, 86_400, {
          description: 'A connection that is not bound (anonymous: it can read only the Root DSE) is closed after this long idle; capped by idleTimeoutSeconds.',
        }),
        operationTimeoutSeconds: int(30, 1, 3600, { description: 'Longest time one operation may take before it is answered with an error.' }),
        maxSizeLimit: int(1000, 1, 10_000_000, {
          description: 'Most entries one search returns without the paged results control (RFC 2696); paged searches have no total limit.',
        }),
        maxPageSize: int(1000, 1, 100_000, { description: 'Largest page a paged search gets, whatever the client asks.' }),
        totpSeparator: str(';', {
          description: 'With TOTP on bind enabled on the LDAP server, the code follows the password after this separator (password;123456).',
        }),
        homeDirectoryPrefix: str('/home/', { description: 'homeDirectory of users: this prefix followed by the username.' }),
        loginShell: str('/bin/bash', { description: 'loginShell of users.' }),
      },
      { description: 'LDAP listeners.', default: {} },
    ),
    radius: Type.Object(
      {
        port: port(1812, 'RADIUS authentication port (UDP). 0 takes a free port.', 'GATEHOUSE_RADIUS_PORT'),
        accountingPort: port(1813, 'RADIUS accounting port (UDP). 0 takes a free port.', 'GATEHOUSE_RADIUS_ACCOUNTING_PORT'),
        otpSeparator: str(';', {
          description:
            'A TOTP code may follow the password after this separator (password;123456), for gear that cannot show an Access-Challenge prompt. The code is split off at the last separator, and only from users who are asked for a code. Empty: codes only through Access-Challenge.',
        }),
        challengeTtlSeconds: int(120, 10, 900, {
          description: 'How long the State of an Access-Challenge (the prompt for a TOTP code) stays valid; single use.',
        }),
        challengePrompt: str('Enter the 6-digit code from your authenticator app', {
          description: 'Reply-Message of an Access-Challenge: the prompt the NAS shows the user.',
        }),
        duplicateCacheSeconds: int(10, 1, 120, {
          description:
            'Retransmissions of a request (same source, port, Identifier and Authenticator) within this time get the cached reply instead of being processed again (RFC 5080 §2.2.2). Cover the NAS retry interval times its retries.',
        }),
        duplicateCacheMaxEntries: int(100_000, 1000, 10_000_000, {
          description: 'Most answered requests kept for duplicate detection (oldest dropped first).',
        }),
        clientRefreshSeconds: int(2, 1, 3600, {
          description:
            'The RADIUS client table (servers with their settings: source addresses, secrets, MFA mode, Message-Authenticator requirement, lockout and expiry actions) is reloaded at once on a change made through this instance, and at this interval for changes made through another (as auth.revalidateSeconds bounds other changes; a reload is one small query per server).',
        }),
        maxInFlight: int(2048, 16, 1_000_000, {
          description: 'Requests processed at once; further requests are dropped (the NAS retransmits) instead of queued without bound.',
        }),
        accountingInterimAuditSeconds: int(900, 0, 86_400, {
          description:
            'Accounting Interim-Updates of one session are recorded in the audit trail at most once per this many seconds; Start, Stop, Accounting-On/Off always. 0: record every one.',
        }),
      },
      { description: 'RADIUS listeners.', default: {} },
    ),
    auth: Type.Object(
      {
        credentialCacheTtlSeconds: int(300, 0, 86_400, {
          description:
            'Verified-credential cache TTL. After a successful password check, an HMAC (per-process random key) of the credential is kept in memory for this long, so that repeated binds and roams skip argon2id. Trade-off: a memory dump of the process during the TTL allows a fast offline guess of recently used passwords instead of an argon2id-priced one. 0 disables the cache.',
          env: 'GATEHOUSE_CREDENTIAL_CACHE_TTL',
        }),
        revalidateSeconds: int(2, 0, 300, {
          description:
            'How long the directory reads behind authentications, LDAP answers and RADIUS reply attributes (account state, lock, access, groups) may serve again before the store is asked. Changes made through this instance apply at once; changes made through another instance (PostgreSQL, several instances) within this many seconds. Asking is one read of the directory version (counters bumped by triggers on every directory write, and when an account gets its first failure or has its failures cleared, which only authentication watches): while it is unchanged, kept reads stay in use, for at most 30 seconds from their read (or this setting if longer) where the answer also depends on the time (LDAP hides locked and expired users), and up to 10 minutes for the account reads of authentications and RADIUS reply attributes, whose lock and password expiry are judged at each use. 0 reads the store on every authentication.',
          env: 'GATEHOUSE_AUTH_REVALIDATE_SECONDS',
        }),
        credentialCacheMaxEntries: int(100_000, 1, 10_000_000, {
          description: 'Most users held in the verified-credential cache (oldest dropped first).',
        }),
        argon2MemoryKiB: int(19_456, 19_456, 4_194_304, {
          description: 'argon2id memory cost for new hashes, in KiB (OWASP minimum 19 MiB).',
        }),
        argon2Iterations: int(2, 2, 64, { description: 'argon2id time cost for new hashes (OWASP minimum 2).' }),
        argon2Parallelism: int(1, 1, 16, { description: 'argon2id parallelism for new hashes.' }),
        totpIssuer: str('Gatehouse', { description: 'Issuer shown by authenticator apps in otpauth:// URIs.' }),
      },
      { description: 'Authentication pipeline.', default: {} },
    ),
    audit: Type.Object(
      {
        flushIntervalMs: int(100, 5, 10_000, {
          description: 'Authentication audit events are batched; longest wait before a batch is written.',
        }),
        batchSize: int(500, 1, 10_000, { description: 'Largest batch of audit events written at once (inserted 1000 rows per statement).' }),
        maxQueue: int(100_000, 100, 10_000_000, {
          description: 'Most audit events queued in memory while the store is unavailable; beyond it the oldest are logged and dropped.',
        }),
        retentionDays: int(90, 0, 36_500, {
          description: 'Audit events older than this many days are deleted (checked every few minutes). 0: kept for good (the bulk kinds still up to maxBulkEvents).',
          env: 'GATEHOUSE_AUDIT_RETENTION_DAYS',
        }),
        maxBulkEvents: int(5_000_000, 0, 2_000_000_000, {
          description:
            'Most events kept of each high-volume kind, ldap_search and radius_accounting (about 1 KB each on disk); beyond it their oldest are deleted and a warning logged. Authentication and directory events are only deleted after retentionDays, so that no flood can push them out. 0: no limit.',
          env: 'GATEHOUSE_AUDIT_MAX_BULK_EVENTS',
        }),
      },
      { description: 'Audit trail (Directory Insights).', default: {} },
    ),
    sso: Type.Object(
      {
        sessionIdleMinutes: int(30, 1, 1440, {
          description:
            'A browser session (portal and SAML single sign-on) ends after this many minutes without a request.',
          env: 'GATEHOUSE_SSO_SESSION_IDLE_MINUTES',
        }),
        sessionMaxHours: int(8, 1, 720, {
          description:
            'A browser session ends this many hours after sign-in, whatever the activity. Within it, a second SAML app does not ask for the password again.',
          env: 'GATEHOUSE_SSO_SESSION_MAX_HOURS',
        }),
        loginTimeoutSeconds: int(600, 60, 3600, {
          description: 'How long a sign-in in progress (a SAML request waiting for the login page, a TOTP step) stays valid.',
        }),
        requestLifetimeSeconds: int(300, 60, 3600, {
          description:
            'How long after its IssueInstant a SAML AuthnRequest is accepted (plus clockSkewSeconds). Request IDs are remembered this long to refuse replays.',
        }),
        clockSkewSeconds: int(180, 0, 900, {
          description: 'Clock difference allowed between an SP and Gatehouse when checking a SAML request\'s IssueInstant, either way.',
        }),
        assertionLifetimeSeconds: int(300, 30, 3600, {
          description:
            'Validity of a SAML assertion (Conditions NotOnOrAfter and SubjectConfirmationData NotOnOrAfter), from its issue instant.',
        }),
        maxRequestBytes: int(16_384, 1024, 1_048_576, {
          description: 'Largest SAMLRequest accepted, as sent (base64, before inflating); larger ones are refused before any parsing.',
        }),
        maxInflatedBytes: int(65_536, 4096, 4_194_304, {
          description: 'Largest SAML request XML accepted after base64 decoding and inflating (HTTP-Redirect); inflation stops at this size.',
        }),
        maxRelayStateBytes: int(80, 0, 4096, {
          description:
            'Longest RelayState accepted (SAML bindings 3.4.3 and 3.5.3 say 80 bytes). It is passed back to the SP unchanged and never used as a redirect target.',
        }),
        maxConcurrentValidations: int(4, 1, 64, {
          description: 'SAML schema validations (xmllint in worker threads) run at once; requests beyond twice this many are refused as busy.',
        }),
      },
      { description: 'SAML single sign-on and browser sessions (user portal).', default: {} },
    ),
    console: Type.Object(
      {
        sessionIdleMinutes: int(15, 1, 720, {
          description: 'An admin console session ends after this many minutes without a request.',
          env: 'GATEHOUSE_CONSOLE_SESSION_IDLE_MINUTES',
        }),
        sessionMaxHours: int(12, 1, 168, {
          description: 'An admin console session ends this many hours after sign-in, whatever the activity.',
        }),
        pageSize: int(25, 10, 100, { description: 'Rows per page of the console lists until the admin picks another size.' }),
      },
      { description: 'Admin console (/admin).', default: {} },
    ),
    mail: Type.Object(
      {
        smtpHost: str('', {
          description:
            'SMTP relay for activation and password reset emails. Empty: email is off until an admin sets a relay in the console (Settings), which then takes precedence over these keys.',
          env: 'GATEHOUSE_SMTP_HOST',
        }),
        smtpPort: port(587, 'SMTP port (587 submission with STARTTLS, 465 implicit TLS, 25 relay).', 'GATEHOUSE_SMTP_PORT'),
        smtpSecurity: Type.Union([Type.Literal('starttls'), Type.Literal('tls'), Type.Literal('none')], {
          default: 'starttls',
          description: 'starttls: upgrade required (RFC 3207); tls: implicit TLS (RFC 8314); none: plain (a relay on loopback only).',
          env: 'GATEHOUSE_SMTP_SECURITY',
        }),
        smtpUsername: str('', { description: 'SMTP AUTH user name. Empty: no authentication.', env: 'GATEHOUSE_SMTP_USERNAME' }),
        smtpPassword: str('', { description: 'SMTP AUTH password.', env: 'GATEHOUSE_SMTP_PASSWORD', secret: true }),
        from: str('Gatehouse <no-reply@gatehouse.local>', { description: 'From header of the emails.', env: 'GATEHOUSE_SMTP_FROM' }),
        activationLinkHours: int(168, 1, 2160, { description: 'How long the link of an activation email stays valid (single use).' }),
        resetLinkHours: int(24, 1, 720, { description: 'How long the link of a password reset email stays valid (single use).' }),
      },
      { description: 'Email (activation and password reset links).', default: {} },
    ),
    bootstrap: Type.Object(
      {
        adminEmail: str('admin@gatehouse.local', {
          description: 'Email of the first admin, created on an empty store.',
          env: 'GATEHOUSE_BOOTSTRAP_ADMIN_EMAIL',
        }),
        adminPassword: str('', {
          description: 'Password of the first admin. Empty: generated and printed once on first start.',
          env: 'GATEHOUSE_BOOTSTRAP_ADMIN_PASSWORD',
          secret: true,
        }),
        apiKey: str('', {
          description: 'An API key created on an empty store, for automation (at least 24 characters).',
          env: 'GATEHOUSE_BOOTSTRAP_API_KEY',
          secret: true,
        }),
        organizationName: str('Gatehouse', { description: 'Display name of the organisation created on an empty store.' }),
      },
      { description: 'What an empty store is seeded with.', default: {} },
    ),
  },
  { additionalProperties: false },
);

export type Config = Static<typeof configSchema>;

/** Schema options that carry Gatehouse's own annotations. */
export interface ConfigAnnotations {
  description?: string;
  env?: string;
  secret?: boolean;
  default?: unknown;
}

export function annotations(schema: TSchema): ConfigAnnotations {
  return schema as unknown as ConfigAnnotations;
}
