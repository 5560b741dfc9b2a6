import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sqlite3 from 'sqlite3';
import { openStore } from '../../../src/store/index.js';
import { makeCredentials, makeUser } from '../../helpers/factories.js';
import { openTestStore, storeTargets } from '../../helpers/test-store.js';
import { MIGRATION_NAMES } from '../../../src/store/migrate.js';

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
