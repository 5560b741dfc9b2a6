import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { Config } from './config/schema.js';
import { loadSecretKey } from './secret-key.js';
import { ConfigError, redactConfig } from './config/load.js';
import { isDomainError } from './core/errors.js';
import { createCore, type Core } from './core/index.js';
import { createPasswordHasher } from './core/auth/password-hasher.js';
import { createSecretBox } from './core/auth/secret-box.js';
import type { BootstrapResult } from './core/bootstrap.js';
import { systemClock, type Clock, type Store } from './core/ports.js';
import { buildHttpApp } from './http/app.js';
import { createLogger } from './logger.js';
import { openStore } from './store/index.js';
import { createLdapServer } from './ldap/server.js';
import { checkRadiusAttribute } from './radius/dictionary.js';
import { createRadiusListener, type RadiusListener } from './radius/server.js';
import { createSamlIdp } from './saml/identity-provider.js';
import { createSchemaValidator } from './saml/schema-validator.js';
import { describeCertificate, ensureTlsCertificate, readTlsPair, tlsFilesStamp, type KeyAndCertificate } from './util/certificates.js';

export interface ApplianceOptions {
  clock?: Clock;
  logger?: Logger;
  /** How often certs/ is looked at for a replaced key and certificate (default 60 s). */
  tlsCheckIntervalMs?: number;
}

export interface Endpoints {
  http: { port: number; url: string };
  ldap?: { port: number; ldapsPort: number };
  radius?: { port: number; accountingPort: number };
}

/** A protocol endpoint the appliance starts and stops (LDAP, RADIUS; HTTP is started last). */
interface Listener {
  name: string;
  start(): Promise<Partial<Endpoints>>;
  stop(): Promise<void>;
}

export interface Appliance {
  readonly config: Config;
  readonly core: Core;
  readonly store: Store;
  readonly log: Logger;
  /** The TLS key and certificate being served (LDAPS, StartTLS). */
  readonly tls: KeyAndCertificate;
  /**
   * Reads certs/ again and serves its pair to TLS sessions that start from now on (SIGHUP, and on
   * its own when the files change). A pair that is incomplete, does not parse or does not match
   * is refused with the reason, and the previous one stays.
   */
  reloadTls(): { reloaded: boolean; error?: string };
  readonly bootstrap: BootstrapResult;
  /** Listens on every configured port; resolves with the ports actually bound. */
  start(): Promise<Endpoints>;
  /** Stops listening, writes queued audit events, closes the store. */
  stop(): Promise<void>;
  readonly endpoints: Endpoints | null;
  readonly http: FastifyInstance;
  /** The RADIUS listener (counters for tests and monitoring). */
  readonly radius: RadiusListener;
}

function packageVersion(): string {
  try {
    return (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;
  } catch {
    return '0.0.0';
  }
}

/**
 * The composition root: config → store → core → adapters. Only this file sees the whole config;
 * each adapter gets its own slice.
 */
export async function createAppliance(config: Config, opts: ApplianceOptions = {}): Promise<Appliance> {
  const log = opts.logger ?? createLogger(config.logLevel);
  const clock = opts.clock ?? systemClock;
  log.info({ config: redactConfig(config) }, 'effective configuration');

  const secretBox = createSecretBox(loadSecretKey(config.secretKey, config.dataDir));
  const publicHost = config.publicUrl ? new URL(config.publicUrl).hostname : 'localhost';
  // Stamped before the read: files replaced while they are read are seen as changed at the next look.
  let tlsSeen = tlsFilesStamp(config.certsDir);
  const generated = await ensureTlsCertificate(config.certsDir, publicHost);
  let tls: KeyAndCertificate = { keyPem: generated.keyPem, certPem: generated.certPem };
  if (generated.generated) log.warn({ dir: config.certsDir }, 'generated a self-signed TLS certificate; replace tls.crt/tls.key with your own');

  const { store, migrated, sso, console: consoleRepos } = await openStore({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
  if (migrated.length > 0) log.info({ migrations: migrated, dialect: store.dialect }, 'store migrated');

  const hasher = createPasswordHasher({
    memoryKiB: config.auth.argon2MemoryKiB,
    iterations: config.auth.argon2Iterations,
    parallelism: config.auth.argon2Parallelism,
  });
  const core = createCore({
    store,
    hasher,
    secretBox,
    clock,
    log,
    totpIssuer: config.auth.totpIssuer,
    credentialCache: { ttlSeconds: config.auth.credentialCacheTtlSeconds, maxEntries: config.auth.credentialCacheMaxEntries },
    revalidateSeconds: config.auth.revalidateSeconds,
    audit: config.audit,
    checkRadiusAttribute,
    sso,
    console: consoleRepos,
    mail: {
      defaults: {
        host: config.mail.smtpHost,
        port: config.mail.smtpPort,
        security: config.mail.smtpSecurity,
        username: config.mail.smtpUsername,
        password: config.mail.smtpPassword,
        from: config.mail.from,
      },
      linkHours: { activation: config.mail.activationLinkHours, reset: config.mail.resetLinkHours },
      // Declared below; read only when an email is sent, after start.
      publicUrl: () => publicUrl(),
    },
  });
  let bootstrap: BootstrapResult;
  try {
    bootstrap = await core.bootstrap({
      organizationName: config.bootstrap.organizationName,
      adminEmail: config.bootstrap.adminEmail,
      adminPassword: config.bootstrap.adminPassword,
      apiKey: config.bootstrap.apiKey,
    });
  } catch (err) {
    await core.close();
    await store.close();
    if (isDomainError(err) && err.field === 'password') {
      throw new ConfigError('bootstrap.adminPassword (GATEHOUSE_BOOTSTRAP_ADMIN_PASSWORD)', err.message.replace(/^password /, ''));
    }
    if (isDomainError(err) && err.field === 'email') throw new ConfigError('bootstrap.adminEmail (GATEHOUSE_BOOTSTRAP_ADMIN_EMAIL)', err.message);
    throw err;
  }
  if (bootstrap.created) log.info({ organization: bootstrap.organization.id, admin: bootstrap.adminEmail }, 'bootstrapped an empty store');
  else if (config.bootstrap.apiKey || config.bootstrap.adminPassword) {
    // An operator who set them expects them to work; they only seed an empty store (another
    // instance, or an import, may have seeded it first).
    log.info({ organization: bootstrap.organization.id }, 'the store already holds an organisation: GATEHOUSE_BOOTSTRAP_ADMIN_PASSWORD and GATEHOUSE_BOOTSTRAP_API_KEY are not used');
  }

  let endpoints: Endpoints | null = null;
  let listening = false;
  /** Protocol adapters, each given its own slice of the config. */
  const listeners: Listener[] = [];
  const ldap = createLdapServer(
    {
      auth: core.auth,
      directory: core.ldapDirectory,
      users: core.users,
      audit: core.audit,
      organization: () => core.organization.get(),
      log,
      config: config.ldap,
      version: packageVersion(),
    },
    { host: config.bindAddress, port: config.ldap.port, ldapsPort: config.ldap.ldapsPort, tls },
  );
  listeners.push({ name: 'ldap', start: async () => ({ ldap: await ldap.start() }), stop: () => ldap.stop() });

  const reloadTls = (): { reloaded: boolean; error?: string } => {
    tlsSeen = tlsFilesStamp(config.certsDir);
    try {
      const pair = readTlsPair(config.certsDir);
      if (pair.keyPem === tls.keyPem && pair.certPem === tls.certPem) return { reloaded: false };
      ldap.setCertificate(pair);
      tls = pair;
      log.info({ dir: config.certsDir, ...describeCertificate(pair.certPem) }, 'TLS key and certificate reloaded; new TLS sessions use them');
      return { reloaded: true };
    } catch (err) {
      const error = err instanceof Error ? err.message : String(err);
      log.error({ dir: config.certsDir, error }, 'TLS key and certificate not reloaded; the previous ones are still served');
      return { reloaded: false, error };
    }
  };
  // An admin (or certbot's deploy hook) replacing the files needs no restart: they are picked up
  // within a minute, or at once with SIGHUP. A change is read 2 s after it is seen, so that the
  // admin's second file is in place by then (a key without its certificate would be refused and
  // logged as an error in between).
  let tlsSettle: NodeJS.Timeout | null = null;
  const tlsWatch = setInterval(() => {
    if (tlsSettle || tlsFilesStamp(config.certsDir) === tlsSeen) return;
    tlsSettle = setTimeout(() => {
      tlsSettle = null;
      reloadTls();
    }, Math.min(2000, opts.tlsCheckIntervalMs ?? 2000));
    tlsSettle.unref();
  }, opts.tlsCheckIntervalMs ?? 60_000);
  tlsWatch.unref();
  const radius: RadiusListener = createRadiusListener({ core, log, options: { ...config.radius, bindAddress: config.bindAddress } });
  listeners.push({ name: 'radius', start: async () => ({ radius: await radius.start() }), stop: () => radius.stop() });
  const publicUrl = () => config.publicUrl.replace(/\/+$/, '') || `http://localhost:${endpoints?.http.port ?? config.http.port}`;
  const saml = createSamlIdp({
    sso: core.sso,
    validator: createSchemaValidator({ maxConcurrent: config.sso.maxConcurrentValidations }),
    clock,
    log,
    publicUrl,
    options: {
      maxEncodedBytes: config.sso.maxRequestBytes,
      maxXmlBytes: config.sso.maxInflatedBytes,
      maxRelayStateBytes: config.sso.maxRelayStateBytes,
      assertionLifetimeSeconds: config.sso.assertionLifetimeSeconds,
      requestLifetimeSeconds: config.sso.requestLifetimeSeconds,
      clockSkewSeconds: config.sso.clockSkewSeconds,
    },
  });
  // The audit trail is kept for audit.retentionDays, and its bulk kinds to audit.maxBulkEvents each: rows of
  // floods (failed sign-ins bounded only by argon2id, accounting, searches) never left the disk.
  // Only the high-volume kinds are capped by count: authentication and directory events leave only
  // with age, so that no flood of cheap events can push the evidence of a sign-in out of the trail.
  let purgingAudit: Promise<void> | null = null;
  let stopping = false;
  const purgeAudit = () => {
    purgingAudit ??= (async () => {
      try {
        const { retentionDays, maxBulkEvents } = config.audit;
        const r = await store.repos.audit.purge({
          ...(retentionDays > 0 ? { before: new Date(clock.now().getTime() - retentionDays * 86_400_000) } : {}),
          ...(maxBulkEvents > 0 ? { bulk: { eventTypes: ['ldap_search', 'radius_accounting'], keep: maxBulkEvents } } : {}),
          keepGoing: () => !stopping,
        });
        if (r.expired > 0) log.info({ deleted: r.expired, retentionDays }, 'audit events older than audit.retentionDays deleted');
        if (r.overLimit > 0) log.warn({ deleted: r.overLimit, maxBulkEvents }, 'audit trail over audit.maxBulkEvents: the oldest search and accounting events deleted');
      } catch (err) {
        if (!stopping) log.warn({ err: String(err) }, 'audit purge failed');
      } finally {
        purgingAudit = null;
      }
    })();
    return purgingAudit;
  };
  const firstAuditPurge = setTimeout(() => void purgeAudit(), 10_000);
  firstAuditPurge.unref();
  // Expired browser sessions, unanswered TOTP challenges and remembered SAML request IDs are deleted now and then.
  const purge = setInterval(() => {
    void purgeAudit();
    void core.webSessions.purgeExpired().catch((err: unknown) => log.warn({ err: String(err) }, 'session purge failed'));
    void core.sso.purgeExpiredRequests().catch((err: unknown) => log.warn({ err: String(err) }, 'SAML request ID purge failed'));
    void store.repos.challenges.purgeExpired(clock.now()).catch((err: unknown) => log.warn({ err: String(err) }, 'challenge purge failed'));
    void core.console.mail.purgeExpired().catch((err: unknown) => log.warn({ err: String(err) }, 'password link purge failed'));
  }, 300_000);
  purge.unref();
  const http = await buildHttpApp({
    core,
    userWeb: {
      saml,
      loginTimeoutSeconds: config.sso.loginTimeoutSeconds,
      sessionPolicy: { idleTimeoutSeconds: config.sso.sessionIdleMinutes * 60, absoluteTimeoutSeconds: config.sso.sessionMaxHours * 3600 },
    },
    spMetadata: (xml) => saml.parseServiceProviderMetadata(xml),
    adminConsole: {
      sessionPolicy: { idleTimeoutSeconds: config.console.sessionIdleMinutes * 60, absoluteTimeoutSeconds: config.console.sessionMaxHours * 3600 },
      pageSize: config.console.pageSize,
      endpoints: () => ({
        ldapSuffix: config.ldap.suffix,
        ...(endpoints?.ldap ? { ldapPort: endpoints.ldap.port, ldapsPort: endpoints.ldap.ldapsPort } : {}),
        ...(endpoints?.radius ? { radiusPort: endpoints.radius.port } : {}),
      }),
    },
    logger: log,
    publicUrl,
    trustProxy: config.http.trustProxy,
    bodyLimitBytes: config.http.bodyLimitBytes,
    connections: config.http,
    version: packageVersion(),
    ready: async () => {
      if (!listening) return false;
      try {
        await store.ping();
        return true;
      } catch {
        return false;
      }
    },
  });

  return {
    config,
    core,
    store,
    log,
    get tls() {
      return tls;
    },
    reloadTls,
    bootstrap,
    http,
    radius,
    get endpoints() {
      return endpoints;
    },
    async start() {
      const started: Partial<Endpoints> = {};
      for (const l of listeners) Object.assign(started, await l.start());
      await http.listen({ port: config.http.port, host: config.bindAddress });
      const port = (http.server.address() as AddressInfo).port;
      // The port is known first, then the URL built from it (port 0 binds a free one).
      endpoints = { ...started, http: { port, url: '' } };
      endpoints.http.url = publicUrl();
      listening = true;
      log.info({ endpoint: 'http', address: config.bindAddress, port, publicUrl: publicUrl() }, `HTTP (console, portal, API, SAML) listening on ${config.bindAddress}:${port}`);
      return endpoints;
    },
    async stop() {
      listening = false;
      clearInterval(purge);
      clearInterval(tlsWatch);
      if (tlsSettle) clearTimeout(tlsSettle);
      clearTimeout(firstAuditPurge);
      // A purge under way ends after its current batch, before the store closes.
      stopping = true;
      await purgingAudit;
      await http.close();
      for (const l of [...listeners].reverse()) {
        await l.stop().catch((err: unknown) => log.error({ err, listener: l.name }, 'error while stopping a listener'));
      }
      await core.close();
      await store.close();
    },
  };
}
