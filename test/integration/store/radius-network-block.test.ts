import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { QueryTypes } from 'sequelize';
import { openStore } from '../../../src/store/index.js';
import { createMigrator } from '../../../src/store/migrate.js';

/** Migration 0008 on a store whose RADIUS servers already name one network twice (allowed before it). */
describe('store migration 0008-radius-network-block (sqlite)', function () {
  let dataDir: string;
  beforeEach(async function () {
    dataDir = await mkdtemp(join(tmpdir(), 'gatehouse-migrate-0008-'));
  });
  afterEach(async function () {
    await rm(dataDir, { recursive: true, force: true });
  });

  it('keeps colliding rows, gives the block to the oldest, and refuses a new duplicate afterwards', async function () {
    const opened = await openStore({ databaseUrl: '', dataDir, migrate: false });
    try {
      const { sequelize } = opened;
      await createMigrator(sequelize).up({ to: '0007-text-order-and-group-name-case' });
      const rows: [string, string, number][] = [
        ['aaaaaaaaaaaaaaaaaaaaaaa1', '127.0.0.1', 1],
        ['aaaaaaaaaaaaaaaaaaaaaaa2', '127.0.0.1/32', 2],
        ['aaaaaaaaaaaaaaaaaaaaaaa3', '::ffff:127.0.0.1', 3],
        ['aaaaaaaaaaaaaaaaaaaaaaa4', '10.1.2.3/8', 4],
      ];
      for (const [id, ip, t] of rows) {
        await sequelize.query(
          `INSERT INTO radius_servers (id, name, network_source_ip, shared_secret, shared_secret_length, mfa, user_lockout_action,
             user_password_expiration_action, require_message_authenticator, created_at, updated_at)
           VALUES ($1, $1, $2, 'sealed', 24, 'DISABLED', 'remove', 'remove', true, $3, $3)`,
          { bind: [id, ip, t] },
        );
      }
      await createMigrator(sequelize).up();
      const after = await sequelize.query<{ id: string; network_source_block: string | null }>(
        'SELECT id, network_source_block FROM radius_servers ORDER BY created_at',
        { type: QueryTypes.SELECT },
      );
      assert.deepEqual(
        after.map((r) => r.network_source_block),
        ['127.0.0.1/32', null, null, '10.0.0.0/8'],
      );
      assert.equal((await opened.store.repos.radiusServers.list()).length, 4, 'no row is lost');
      const now = new Date();
      const dup = { ...(await opened.store.repos.radiusServers.get('aaaaaaaaaaaaaaaaaaaaaaa4'))!, id: 'aaaaaaaaaaaaaaaaaaaaaaa5', networkSourceIp: '10.200.0.0/8', createdAt: now, updatedAt: now };
      await assert.rejects(opened.store.transaction((tx) => tx.radiusServers.create(dup, 'sealed')), (e: Error & { kind?: string }) => e.kind === 'conflict');
    } finally {
      await opened.store.close();
    }
  });
});
