/**
 * Stores for repository contract tests: the same suite runs against SQLite (always) and PostgreSQL
 * (when GATEHOUSE_TEST_DATABASE_URL names a server where the user may create databases; in CI it
 * must). Every `openTestStore()` gets a store of its own: a fresh temp dir for SQLite, a fresh
 * uniquely named database for PostgreSQL, removed again by `close()`.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Sequelize } from 'sequelize';
import type { Store } from '../../src/core/ports.js';
import { openStore } from '../../src/store/index.js';

export type StoreTarget = 'sqlite' | 'postgres';

export const TEST_DATABASE_URL_ENV = 'GATEHOUSE_TEST_DATABASE_URL';

/**
 * The databases the contract suite runs against. Throws in CI when no PostgreSQL URL is given, so
 * that a misconfigured pipeline fails instead of silently testing SQLite alone.
 */
export function storeTargets(env: NodeJS.ProcessEnv = process.env): StoreTarget[] {
  const url = env[TEST_DATABASE_URL_ENV];
  if (url) {
    if (!/^postgres(ql)?:\/\//.test(url)) throw new Error(`${TEST_DATABASE_URL_ENV} must be a postgres:// URL, got ${JSON.stringify(url)}`);
    return ['sqlite', 'postgres'];
  }
  if (env.CI) {
    throw new Error(`${TEST_DATABASE_URL_ENV} is not set: CI must run the store contract tests against PostgreSQL too`);
  }
  return ['sqlite'];
}

export interface TestStore {
  store: Store;
  sequelize: Sequelize;
  /** Migrations applied when the store was opened. */
  migrated: string[];
  target: StoreTarget;
  /** SQLite: the data dir (gatehouse.sqlite inside); PostgreSQL: the database URL. */
  location: string;
  /** Closes the store and removes its temp dir or database. Safe to call twice. */
  close(): Promise<void>;
}

// `pg` ships no types and @types/pg is not a dependency; type the little we use.
interface PgClient {
  connect(): Promise<void>;
  query(sql: string): Promise<{ rows: Record<string, unknown>[] }>;
  end(): Promise<void>;
}
interface PgModule {
  Client: new (config: { connectionString: string }) => PgClient;
}
const pg = createRequire(import.meta.url)('pg') as PgModule;

/** The same server's maintenance database (`postgres`), from which databases are created and dropped. */
function adminUrl(url: string): string {
  const u = new URL(url);
  u.pathname = '/postgres';
  return u.toString();
}

function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

async function admin<T>(url: string, fn: (c: PgClient) => Promise<T>): Promise<T> {
  return withClient(adminUrl(url), fn);
}

async function withClient<T>(url: string, fn: (c: PgClient) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}

/**
 * One statement on a connection of its own: on the database `url` names, or, with `maintenance`,
 * on the same server's `postgres` database (to change or watch a test database from outside).
 */
export async function pgQuery(url: string, sql: string, o: { maintenance?: boolean } = {}): Promise<Record<string, unknown>[]> {
  return withClient(o.maintenance ? adminUrl(url) : url, async (c) => (await c.query(sql)).rows);
}

/** Prefix of every database the suite creates (lower-case identifiers need no quoting). */
export const TEST_DATABASE_PREFIX = 'gh_contract_';

async function createDatabase(url: string): Promise<string> {
  const name = `${TEST_DATABASE_PREFIX}${process.pid}_${randomBytes(6).toString('hex')}`;
  await admin(url, (c) => c.query(`CREATE DATABASE ${name}`));
  return name;
}

async function dropDatabase(url: string, name: string): Promise<void> {
  // WITH (FORCE) (PostgreSQL 13+) also ends connections a failed test may have left open.
  await admin(url, (c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
}

/** A fresh PostgreSQL database with nothing in it (no migrations), on the test server. */
export async function emptyPostgresDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
  const url = process.env[TEST_DATABASE_URL_ENV];
  if (!url) throw new Error(`${TEST_DATABASE_URL_ENV} is not set; cannot create a PostgreSQL test database`);
  const name = await createDatabase(url);
  return { url: withDatabase(url, name), drop: () => dropDatabase(url, name) };
}

export interface OpenTestStoreOptions {
  /** Reuse this SQLite data dir instead of a fresh one (it is then not removed on close). */
  dataDir?: string;
}

export async function openTestStore(target: StoreTarget, o: OpenTestStoreOptions = {}): Promise<TestStore> {
  if (target === 'sqlite') {
    const dataDir = o.dataDir ?? (await mkdtemp(join(tmpdir(), 'gatehouse-store-')));
    const owned = o.dataDir === undefined;
    try {
      const { store, sequelize, migrated } = await openStore({ databaseUrl: '', dataDir });
      let closed = false;
      return {
        store,
        sequelize,
        migrated,
        target,
        location: dataDir,
        async close() {
          if (closed) return;
          closed = true;
          try {
            await store.close();
          } finally {
            if (owned) await rm(dataDir, { recursive: true, force: true });
          }
        },
      };
    } catch (err) {
      if (owned) await rm(dataDir, { recursive: true, force: true });
      throw err;
    }
  }

  const url = process.env[TEST_DATABASE_URL_ENV];
  if (!url) throw new Error(`${TEST_DATABASE_URL_ENV} is not set; cannot open a PostgreSQL test store`);
  const name = await createDatabase(url);
  const databaseUrl = withDatabase(url, name);
  try {
    const { store, sequelize, migrated } = await openStore({ databaseUrl, dataDir: tmpdir() });
    let closed = false;
    return {
      store,
      sequelize,
      migrated,
      target,
      location: databaseUrl,
      async close() {
        if (closed) return;
        closed = true;
        try {
          await store.close();
        } finally {
          await dropDatabase(url, name);
        }
      },
    };
  } catch (err) {
    await dropDatabase(url, name).catch(() => undefined);
    throw err;
  }
}

/**
 * Mocha glue: opens a store for the enclosing `describe` and closes it afterwards. With
 * `scope: 'test'` (the default) every test gets a fresh store (`beforeEach`/`afterEach`); with
 * `scope: 'suite'` the tests of the block share one (`before`/`after`), for read-only suites with
 * an expensive seed. Read `.store` inside a test or hook.
 */
export function useTestStore(
  target: StoreTarget,
  o: { scope?: 'test' | 'suite' } = {},
): { readonly store: Store; readonly current: TestStore } {
  let current: TestStore | undefined;
  const open = async function (this: Mocha.Context) {
    this.timeout(60_000);
    current = await openTestStore(target);
  };
  const close = async function (this: Mocha.Context) {
    this.timeout(60_000);
    const c = current;
    current = undefined;
    await c?.close();
  };
  if (o.scope === 'suite') {
    before(open);
    after(close);
  } else {
    beforeEach(open);
    afterEach(close);
  }
  return {
    get store() {
      if (!current) throw new Error('no test store open (use it inside a test or hook)');
      return current.store;
    },
    get current() {
      if (!current) throw new Error('no test store open (use it inside a test or hook)');
      return current;
    },
  };
}
