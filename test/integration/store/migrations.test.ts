import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sqlite3 from 'sqlite3';
import { openStore } from '../../../src/store/index.js';
import { makeCredentials, makeUser } from '../../helpers/factories.js';
import { emptyPostgresDatabase, openTestStore, pgQuery, storeTargets } from '../../helpers/test-store.js';
import { cli } from '../../helpers/cli.js';
import { startAppliance, type RunningAppliance } from '../../helpers/appliance.js';
import { MIGRATION_NAMES } from '../../../src/store/migrate.js';

async function countOrganizations(url: string): Promise<number> {
  return Number((await pgQuery(url, 'SELECT COUNT(*) AS n FROM organizations'))[0]!.n);
}

/** Runs one PRAGMA on the SQLite file with a plain connection of its own. */
function pragma(file: string, name: string): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const db = new sqlite3.Database(file, sqlite3.OPEN_READONLY, (err) => {
      if (err) return reject(err);
      db.get(`PRAGMA ${name}`, (e: Error | null, row: Record<string, unknown> | undefined) => {
        db.close(() => (e ? reject(e) : resolve(row ? Object.values(row)[0] : undefined)));
      });
    });
  });
}

describe('store migrations (sqlite)', function () {
  let dataDir: string;
  beforeEach(async function () {
    dataDir = await mkdtemp(join(tmpdir(), 'gatehouse-migrate-'));
  });
  afterEach(async function () {
    await rm(dataDir, { recursive: true, force: true });
  });

  it('applies the migrations on the first open only, and keeps the data across a reopen', async function () {
    const u = makeUser();
    const first = await openTestStore('sqlite', { dataDir });
    try {
      assert.deepEqual(first.migrated, [...MIGRATION_NAMES]);
      assert.equal(first.migrated[0], '0001-initial');
      await first.store.repos.users.create(u, makeCredentials());
    } finally {
      await first.close();
    }
    const second = await openTestStore('sqlite', { dataDir });
    try {
      assert.deepEqual(second.migrated, []);
      assert.deepEqual(await second.store.repos.users.get(u.id), u);
    } finally {
      await second.close();
    }
  });

  it('leaves a sound file in WAL mode after closing', async function () {
    const s = await openTestStore('sqlite', { dataDir });
    try {
      await s.store.transaction(async (tx) => {
        for (let i = 0; i < 20; i++) await tx.users.create(makeUser(), makeCredentials());
      });
      await s.store.repos.authState.recordFailure(makeUser().id, new Date(), { maxAttempts: 3, lockoutSeconds: 0, resetCounterSeconds: 0 });
    } finally {
      await s.close();
    }
    const file = join(dataDir, 'gatehouse.sqlite');
    assert.equal(await pragma(file, 'integrity_check'), 'ok');
    assert.equal(await pragma(file, 'journal_mode'), 'wal');
  });
});

for (const target of storeTargets()) {
  describe(`store migrations (${target})`, function () {
    it('finishes 0011-common-name after a run stopped half-way (column added, values partly set, not recorded)', async function () {
      const first = await openTestStore(target);
      try {
        const alice = { ...makeUser(), username: 'alice', firstname: 'Alice', lastname: 'Liddell' };
        const bob = { ...makeUser(), username: 'bob', firstname: '', lastname: '', displayname: 'Bobby' };
        await first.store.repos.users.create(alice, makeCredentials());
        await first.store.repos.users.create(bob, makeCredentials());
        // What a process stopped during the migration left behind.
        await first.sequelize.query("UPDATE users SET cn = ''");
        await first.sequelize.query("DELETE FROM schema_migrations WHERE name = '0011-common-name'");
        const { migrate } = await import('../../../src/store/migrate.js');
        assert.deepEqual(await migrate(first.sequelize), ['0011-common-name']);
        const rows = (await first.sequelize.query('SELECT username, cn FROM users ORDER BY username'))[0] as { username: string; cn: string }[];
        assert.deepEqual(rows, [
          { username: 'alice', cn: 'Alice Liddell' },
          { username: 'bob', cn: 'Bobby' },
        ]);
      } finally {
        await first.close();
      }
    });

    if (target === 'postgres') it('applies 0013-failure-version while an instance counts a first failure, without a deadlock', async function () {
      const first = await openTestStore(target);
      try {
        const u = makeUser();
        await first.store.repos.users.create(u, makeCredentials());
        await first.store.repos.authState.ensure(u.id);
        // The database as 0012 left it.
        await first.sequelize.query('DROP TRIGGER directory_failures_auth_state ON auth_state');
        await first.sequelize.query('DROP TRIGGER directory_version_auth_state ON auth_state');
        await first.sequelize.query(
          `CREATE CONSTRAINT TRIGGER directory_version_auth_state AFTER UPDATE ON auth_state DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
           WHEN (NEW.subject_id NOT LIKE 'unknown-login:%' AND (OLD.locked_at IS DISTINCT FROM NEW.locked_at OR (OLD.failed_count > 0) IS DISTINCT FROM (NEW.failed_count > 0)))
           EXECUTE FUNCTION directory_version_bump()`,
        );
        await first.sequelize.query('ALTER TABLE directory_version DROP COLUMN failures');
        await first.sequelize.query("DELETE FROM schema_migrations WHERE name = '0013-failure-version'");
        // A running instance's first wrong password: its UPDATE holds the row; its trigger (0012's)
        // takes directory_version at commit.
        const login = await first.sequelize.transaction();
        await first.sequelize.query('UPDATE auth_state SET failed_count = 1 WHERE subject_id = $1', { bind: [u.id], transaction: login });
        const { migrate } = await import('../../../src/store/migrate.js');
        const migrating = migrate(first.sequelize);
        await new Promise((r) => setTimeout(r, 300));
        await login.commit();
        assert.deepEqual(await migrating, ['0013-failure-version']);
        assert.equal((await first.store.repos.authState.get(u.id)).failedCount, 1);
        const before = await first.store.directoryVersion!();
        await first.store.repos.authState.clearFailures(u.id);
        const after = await first.store.directoryVersion!();
        assert.deepEqual(after, { directory: before.directory, failures: before.failures + 1 });
      } finally {
        await first.close();
      }
    });

    it('applies nothing when a second store opens the same database', async function () {
      const first = await openTestStore(target);
      try {
        const u = makeUser();
        await first.store.repos.users.create(u, makeCredentials());
        // SQLite: the same data dir; PostgreSQL: the same database.
        const second = await openStore(
          target === 'postgres' ? { databaseUrl: first.location, dataDir: tmpdir() } : { databaseUrl: '', dataDir: first.location },
        );
        try {
          assert.deepEqual(second.migrated, []);
          assert.equal(second.store.dialect, target);
          assert.deepEqual(await second.store.repos.users.get(u.id), u);
        } finally {
          await second.store.close();
        }
      } finally {
        await first.close();
      }
    });

    // Several instances share a database only on PostgreSQL (SQLite is one process's file).
    if (target === 'postgres') it('lets two instances started at the same moment on an empty database both come up, with one organisation and one admin', async function () {
      this.timeout(60_000);
      const empty = await emptyPostgresDatabase();
      const shared = await mkdtemp(join(tmpdir(), 'gatehouse-startup-'));
      const start = (n: number) => startAppliance({ databaseUrl: empty.url }, { dataDir: join(shared, `i${n}`) });
      const started = await Promise.allSettled([start(1), start(2)]);
      try {
        for (const r of started) assert.equal(r.status, 'fulfilled', r.status === 'rejected' ? String(r.reason) : '');
        const [a, b] = started.map((r) => (r as PromiseFulfilledResult<RunningAppliance>).value) as [RunningAppliance, RunningAppliance];
        for (const gh of [a, b]) {
          const orgs = await gh.api('GET', '/api/organizations');
          assert.equal(orgs.status, 200, 'the bootstrap API key works on both');
          assert.equal(orgs.body.results.length, 1, 'one organisation');
        }
        assert.equal((await a.appliance.core.admins.list()).length, 1, 'one admin');
        const other = await b.api('POST', '/api/systemusers', { username: 'seen.by.both', email: 'seen@example.com' });
        assert.equal(other.status, 201);
        assert.equal((await a.api('GET', `/api/systemusers/${other.body._id}`)).status, 200);
      } finally {
        for (const r of started) if (r.status === 'fulfilled') await r.value.stop();
        await empty.drop();
        await rm(shared, { recursive: true, force: true });
      }
    });

    // An import racing an instance's first start on the same empty database (PostgreSQL only).
    if (target === 'postgres') it('keeps one organisation when an import and an instance start on the same empty database together', async function () {
      this.timeout(120_000);
      const work = await mkdtemp(join(tmpdir(), 'gatehouse-import-race-'));
      const source = await startAppliance({}, { dataDir: join(work, 'source') });
      await source.api('POST', '/api/systemusers', { username: 'restored', email: 'restored@example.com' });
      await source.stop();
      const file = join(work, 'backup.json');
      const pass = join(work, 'pass');
      await writeFile(pass, 'a long export passphrase');
      assert.equal((await cli(join(work, 'source', 'data'), ['export', '--out', file, '--passphrase-file', pass])).code, 0);
      try {
        for (let round = 0; round < 6; round++) {
          const empty = await emptyPostgresDatabase();
          try {
            const [imported, started] = await Promise.allSettled([
              cli(join(work, `target${round}`), ['import', file, '--passphrase-file', pass], { GATEHOUSE_DATABASE_URL: empty.url }),
              new Promise((r) => setTimeout(r, 900 + 250 * round)).then(() =>
                startAppliance({ databaseUrl: empty.url, bootstrap: { adminEmail: 'other@example.com', adminPassword: 'Unrelated-Pass-Phrase-9', apiKey: 'another-bootstrap-key-0123456789' } }, { dataDir: join(work, `gh${round}`) }),
              ),
            ]);
            assert.equal(started.status, 'fulfilled', started.status === 'rejected' ? String(started.reason) : '');
            const gh = (started as PromiseFulfilledResult<RunningAppliance>).value;
            try {
              const orgs = await gh.appliance.store.repos.organizations.get();
              const admins = await gh.appliance.core.admins.list();
              const c = await countOrganizations(empty.url);
              assert.equal(c, 1, `one organisation (import: ${imported.status === 'fulfilled' ? `${imported.value.code} ${imported.value.stderr.trim()}` : 'threw'})`);
              if (imported.status === 'fulfilled' && imported.value.code === 0) {
                assert.ok(orgs);
                assert.ok(!admins.some((a) => a.email === 'other@example.com'), 'no bootstrap admin inside the restored directory');
              } else {
                assert.match(imported.status === 'fulfilled' ? imported.value.stderr : '', /already holds an organisation/);
              }
            } finally {
              await gh.stop();
            }
          } finally {
            await empty.drop();
          }
        }
      } finally {
        await rm(work, { recursive: true, force: true });
      }
    });

    it('answers ping', async function () {
      const s = await openTestStore(target);
      try {
        await s.store.ping();
        assert.equal(s.store.dialect, target);
      } finally {
        await s.close();
      }
    });
  });
}
