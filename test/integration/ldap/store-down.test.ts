import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startAppliance, type RunningAppliance } from '../../helpers/appliance.js';
import { emptyPostgresDatabase, pgQuery, storeTargets, TEST_DATABASE_URL_ENV } from '../../helpers/test-store.js';
import { ldapMessage, RawConnection, seedDirectory, simpleBindRequest, type Directory } from './support.js';

/**
 * The database goes away (a PostgreSQL restart, failover): LDAP answers unavailable (52, RFC 4511
 * §4.1.9; sssd and nslcd then try another server), never invalidCredentials, and counts nothing;
 * the REST API answers 503 with a JSON body; both recover by themselves once it is back.
 */
if (storeTargets().includes('postgres')) {
  describe('the store becoming unreachable (postgres)', function () {
    this.timeout(120_000);
    let gh: RunningAppliance;
    let dir: Directory;
    let dbName = '';
    let drop: () => Promise<void>;
    let tmp: string;
    const admin = (sql: string) => pgQuery(process.env[TEST_DATABASE_URL_ENV]!, sql, { maintenance: true });
    const bindCode = async (dn: string, password: string) => {
      const c = new RawConnection(gh.endpoints.ldap!.port);
      await c.connected;
      try {
        c.write(ldapMessage(1, simpleBindRequest(dn, password)));
        return (await c.waitFor((r) => r.length > 0, 15_000))[0]!.code;
      } finally {
        c.destroy();
      }
    };

    before(async () => {
      tmp = await mkdtemp(join(tmpdir(), 'gatehouse-store-down-'));
      const db = await emptyPostgresDatabase();
      drop = db.drop;
      dbName = new URL(db.url).pathname.slice(1);
      gh = await startAppliance({ databaseUrl: db.url }, { dataDir: tmp });
      dir = await seedDirectory(gh);
    });
    after(async () => {
      await admin(`ALTER DATABASE ${dbName} ALLOW_CONNECTIONS true`).catch(() => undefined);
      await gh?.stop();
      await drop?.();
      await rm(tmp, { recursive: true, force: true });
    });

    it('answers LDAP binds with unavailable (not invalidCredentials) and the API with 503 while it is down, and recovers', async () => {
      const bob = dir.users.bob!;
      assert.equal(await bindCode(bob.dn, bob.password), 0);
      await admin(`ALTER DATABASE ${dbName} ALLOW_CONNECTIONS false`);
      await admin(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '${dbName}'`);
      // A wrong password for a user not read before: the store must be asked, and cannot answer.
      const codes: number[] = [];
      for (let i = 0; i < 5; i++) codes.push((await bindCode(dir.users.dave!.dn, 'wrong-password-123')) ?? -1);
      assert.ok(codes.every((c) => c === 52), `unavailable each time, got ${codes.join(' ')}`);
      const api = await gh.api('GET', '/api/systemusers');
      assert.equal(api.status, 503, JSON.stringify(api.body));
      assert.equal(api.body.code, 503);

      await admin(`ALTER DATABASE ${dbName} ALLOW_CONNECTIONS true`);
      let back = -1;
      for (let i = 0; i < 30 && back !== 0; i++) {
        back = (await bindCode(dir.users.dave!.dn, dir.users.dave!.password)) ?? -1;
        if (back !== 0) await new Promise((r) => setTimeout(r, 500));
      }
      assert.equal(back, 0, 'binds work again once the database is back');
      const state = (await gh.api('GET', `/api/systemusers/${dir.users.dave!.id}`)).body;
      assert.equal(state.account_locked, false);
      assert.equal((await gh.api('GET', '/api/systemusers')).status, 200);
    });
  });
}
