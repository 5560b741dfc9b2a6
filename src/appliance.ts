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
import { ensureTlsCertificate, type KeyAndCertificate } from './util/certificates.js';

export interface ApplianceOptions {
  clock?: Clock;
  logger?: Logger;
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
  readonly tls: KeyAndCertificate;
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
  const tls = await ensureTlsCertificate(config.certsDir, publicHost);
  if (tls.generated) log.warn({ dir: config.certsDir }, 'generated a self-signed TLS certificate; replace tls.crt/tls.key with your own');

  const { store, migrated } = await openStore({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
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
    audit: config.audit,
    checkRadiusAttribute,
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
  const radius: RadiusListener = createRadiusListener({ core, log, options: { ...config.radius, bindAddress: config.bindAddress } });
  listeners.push({ name: 'radius', start: async () => ({ radius: await radius.start() }), stop: () => radius.stop() });
  const publicUrl = () => config.publicUrl.replace(/\/+$/, '') || `http://localhost:${endpoints?.http.port ?? config.http.port}`;
  const http = await buildHttpApp({
    core,
    logger: log,
    publicUrl,
    trustProxy: config.http.trustProxy,
    bodyLimitBytes: config.http.bodyLimitBytes,
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
    tls,
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
      endpoints = { ...started, http: { port, url: publicUrl() } };
      listening = true;
      log.info({ endpoint: 'http', address: config.bindAddress, port, publicUrl: publicUrl() }, `HTTP (console, portal, API, SAML) listening on ${config.bindAddress}:${port}`);
      return endpoints;
    },
    async stop() {
      listening = false;
      await http.close();
      for (const l of [...listeners].reverse()) {
        await l.stop().catch((err: unknown) => log.error({ err, listener: l.name }, 'error while stopping a listener'));
      }
      await core.close();
      await store.close();
    },
  };
}
