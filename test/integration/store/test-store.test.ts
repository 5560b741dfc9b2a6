import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { openTestStore, storeTargets, TEST_DATABASE_URL_ENV } from '../../helpers/test-store.js';

describe('test store helper', function () {
  describe('storeTargets', function () {
    it('runs SQLite alone when no PostgreSQL URL is given outside CI', function () {
      assert.deepEqual(storeTargets({}), ['sqlite']);
    });

    it('adds PostgreSQL when a URL is given', function () {
      assert.deepEqual(storeTargets({ [TEST_DATABASE_URL_ENV]: 'postgres://u@db:5432/x', CI: 'true' }), ['sqlite', 'postgres']);
    });

    it('refuses to skip PostgreSQL silently in CI', function () {
      assert.throws(() => storeTargets({ CI: 'true' }), new RegExp(TEST_DATABASE_URL_ENV));
    });

    it('refuses a URL that is not PostgreSQL', function () {
      assert.throws(() => storeTargets({ [TEST_DATABASE_URL_ENV]: 'mysql://u@db/x' }), /postgres:\/\//);
    });
  });

  describe('openTestStore', function () {
    it('gives each SQLite store a temp dir of its own and removes it on close', async function () {
      const [a, b] = [await openTestStore('sqlite'), await openTestStore('sqlite')];
      assert.notEqual(a.location, b.location);
      assert.ok(existsSync(join(a.location, 'gatehouse.sqlite')));
      await a.close();
      await b.close();
      await a.close();
      assert.equal(existsSync(a.location), false);
      assert.equal(existsSync(b.location), false);
    });

    if (storeTargets().includes('postgres')) {
      it('gives each PostgreSQL store a database of its own and drops it on close', async function () {
        interface Client {
          connect(): Promise<void>;
          query(sql: string, params?: unknown[]): Promise<{ rows: { n: string }[] }>;
          end(): Promise<void>;
        }
        const pg = createRequire(import.meta.url)('pg') as { Client: new (c: { connectionString: string }) => Client };
        const exists = async (name: string) => {
          const c = new pg.Client({ connectionString: process.env[TEST_DATABASE_URL_ENV]! });
          await c.connect();
          try {
            return (await c.query('SELECT COUNT(*) AS n FROM pg_database WHERE datname = $1', [name])).rows[0]?.n === '1';
          } finally {
            await c.end();
          }
        };
        const [a, b] = [await openTestStore('postgres'), await openTestStore('postgres')];
        const names = [a, b].map((s) => new URL(s.location).pathname.slice(1));
        assert.notEqual(names[0], names[1]);
        assert.equal(await exists(names[0]!), true);
        assert.equal(a.store.dialect, 'postgres');
        await a.close();
        await b.close();
        assert.equal(await exists(names[0]!), false);
        assert.equal(await exists(names[1]!), false);
      });
    }
  });
});
