import { Mutex, withTimeout } from 'async-mutex';
import { ForeignKeyConstraintError, UniqueConstraintError, type Sequelize } from 'sequelize';
import { DomainError } from '../core/errors.js';
import type { ConsoleRepositories, Repositories, SsoRepositories, Store } from '../core/ports.js';
import { openSequelize, sqlitePathOf, type ConnectionOptions } from './connection.js';
import { createPgDriver, createSqliteDriver } from './driver.js';
import { migrate } from './migrate.js';
import { withStartupLock } from './startup-lock.js';
import {
  createAdminRepository,
  createApiKeyRepository,
  createOrganizationRepository,
  createSequenceRepository,
} from './repositories/access.js';
import { createAssociationRepository, createRowLockRepository } from './repositories/associations.js';
import { createAuditRepository } from './repositories/audit.js';
import { createAuthStateRepository } from './repositories/auth-state.js';
import { createChallengeRepository } from './repositories/challenges.js';
import { createApplicationRepository, createLdapServerRepository, createRadiusServerRepository } from './repositories/resources.js';
import { createSsoRepositories } from './repositories/sso.js';
import { createConsoleRepositories } from './repositories/console.js';
import { createSystemGroupRepository, createSystemRepository } from './repositories/systems.js';
import { createUserGroupRepository } from './repositories/user-groups.js';
import { createUserRepository } from './repositories/users.js';
import { Sql } from './sql.js';
import { unavailableOr } from './unavailable.js';

function repositories(sql: Sql): Repositories {
  return {
    organizations: createOrganizationRepository(sql),
    users: createUserRepository(sql),
    userGroups: createUserGroupRepository(sql),
    systems: createSystemRepository(sql),
    systemGroups: createSystemGroupRepository(sql),
    ldapServers: createLdapServerRepository(sql),
    radiusServers: createRadiusServerRepository(sql),
    applications: createApplicationRepository(sql),
    associations: createAssociationRepository(sql),
    admins: createAdminRepository(sql),
    apiKeys: createApiKeyRepository(sql),
    authState: createAuthStateRepository(sql),
    challenges: createChallengeRepository(sql),
    audit: createAuditRepository(sql),
    sequences: createSequenceRepository(sql),
    rowLocks: createRowLockRepository(sql),
  };
}

const MAX_ATTEMPTS = 4;

/** deadlock_detected and serialization_failure (PostgreSQL error codes, appendix A): worth a retry. */
function isTransient(err: unknown): boolean {
  const code = (err as { parent?: { code?: unknown } } | null)?.parent?.code;
  return code === '40P01' || code === '40001';
}

/** Database errors that callers can act on become DomainErrors; the rest pass through as 500s. */
function mapError(err: unknown): unknown {
  if (err instanceof DomainError) return err;
  if (err instanceof UniqueConstraintError) {
    // PostgreSQL reports { column: value }, SQLite a list of columns.
    const fields = err.fields as unknown;
    const column = (Array.isArray(fields) ? (fields[0] as string | undefined) : Object.keys(err.fields ?? {})[0]) ?? 'id';
    // A folded shadow column (`name_lc`) stands for the field the client sent (`name`).
    const field = column.replace(/_lc$/, '');
    return new DomainError('conflict', 'directory.conflict', `${field} is already in use`, field);
  }
  if (err instanceof ForeignKeyConstraintError) {
    // What the write referred to was removed meanwhile (the row locks make this rare; a safety net).
    return new DomainError('not_found', 'directory.not_found', 'an object this change refers to no longer exists');
  }
  return unavailableOr(err);
}

export interface OpenStoreResult {
  store: Store;
  sequelize: Sequelize;
  /** Migrations applied by this call. */
  migrated: string[];
  /** Browser sessions, SAML application keys and seen SAML request IDs (single statements, outside directory transactions). */
  sso: SsoRepositories;
  /** The admin console's password-set tokens, settings and audit aggregates (single statements). */
  console: ConsoleRepositories;
}

/**
 * Opens the store and applies pending migrations. On SQLite, one in-process writer lock serialises
 * write transactions and stand-alone writes (SQLite has one writer; queueing here is faster and
 * kinder than retrying SQLITE_BUSY). Reads run concurrently thanks to WAL.
 */
export async function openStore(o: ConnectionOptions & { migrate?: boolean }): Promise<OpenStoreResult> {
  const { sequelize, dialect } = openSequelize(o);
  // A deadlock here would be a bug (a write through `repos` inside a transaction); fail loudly instead of hanging.
  const writerLock = dialect === 'sqlite' ? withTimeout(new Mutex(), 60_000, new Error('store writer lock timed out')) : null;
  try {
    await sequelize.authenticate();
  } catch (err) {
    await sequelize.close().catch(() => undefined);
    throw mapError(err);
  }
  const migrated = o.migrate === false ? [] : await withStartupLock(sequelize, dialect, () => migrate(sequelize));
  const file = sqlitePathOf(o);
  const driver = dialect === 'sqlite' && file ? await createSqliteDriver(file) : createPgDriver(sequelize);
  const baseSql = new Sql(sequelize, dialect, undefined, writerLock, driver);
  const base = repositories(baseSql);
  let optimizeTimer: NodeJS.Timeout | null = null;
  if (dialect === 'sqlite') {
    // Planner statistics (sqlite_stat1): without them SQLite may prefer the low-selectivity state
    // index and sort a whole table for one page. PRAGMA optimize refreshes them when worthwhile
    // (SQLite's own advice: at open, and now and then on long-lived connections).
    const optimizer = new Sql(sequelize, dialect, undefined, writerLock, driver);
    await optimizer.exec('PRAGMA optimize=0x10002');
    optimizeTimer = setInterval(() => void optimizer.exec('PRAGMA optimize').catch(() => undefined), 3_600_000);
    optimizeTimer.unref();
  }

  let commits = 0;
  const store: Store = {
    repos: base,
    dialect,
    get commits() {
      return commits;
    },
    async transaction(fn) {
      const run = () => sequelize.transaction(async (t) => fn(repositories(new Sql(sequelize, dialect, t, null))));
      try {
        if (writerLock) return await writerLock.runExclusive(run);
        // PostgreSQL ends one of two transactions that wait on each other's rows (a user and a group
        // removed at once: each stamps the other's row); run again, it finds the other done. The
        // whole function runs again, so nothing it did before the abort survives.
        for (let attempt = 1; ; attempt++) {
          try {
            return await run();
          } catch (err) {
            if (attempt >= MAX_ATTEMPTS || !isTransient(err)) throw err;
            await new Promise((r) => setTimeout(r, Math.random() * 20 * attempt));
          }
        }
      } catch (err) {
        throw mapError(err);
      } finally {
        // Counted on rollback too: harmless for the caches that watch it, and simpler.
        commits++;
      }
    },
    async directoryVersion() {
      try {
        const r = await baseSql.one('SELECT n, failures FROM directory_version WHERE id = 1', []);
        if (!r) throw new Error('directory_version has no row');
        return { directory: Number(r.n), failures: Number(r.failures) };
      } catch (err) {
        throw mapError(err);
      }
    },
    startupLock: (fn) => withStartupLock(sequelize, dialect, fn),
    async ping() {
      try {
        await sequelize.query('SELECT 1', { logging: false });
      } catch (err) {
        throw mapError(err);
      }
    },
    async close() {
      if (optimizeTimer) clearInterval(optimizeTimer);
      if (writerLock) await writerLock.waitForUnlock().catch(() => undefined);
      await driver.close();
      await sequelize.close();
    },
  };
  const sso = createSsoRepositories(new Sql(sequelize, dialect, undefined, writerLock, driver));
  const consoleRepos = createConsoleRepositories(new Sql(sequelize, dialect, undefined, writerLock, driver));
  return { store, sequelize, migrated, sso, console: consoleRepos };
}
