import { DataTypes, QueryTypes, type QueryInterface } from 'sequelize';
import { networkKey } from '../../util/ip-block.js';

/**
 * RADIUS servers are unique by the network their networkSourceIp names, not by its text:
 * `127.0.0.1`, `127.0.0.1/32` and `::ffff:127.0.0.1` are one RADIUS client, and the listener keeps
 * only the oldest server for it. A shadow `network_source_block` holds the canonical block
 * (util/ip-block.ts networkKey) under a unique index, so that two concurrent creations cannot both
 * succeed on PostgreSQL's READ COMMITTED (SQLite has one writer, so the service's check is enough
 * there), as the unique index on `network_source_ip` already did for the text.
 *
 * Rows that already collide (allowed before this migration) are all kept, so that the migration
 * never fails and nothing the admin configured disappears: the oldest of them gets the block (it is
 * the one the listener uses), the newer ones keep NULL, which a unique index admits any number of
 * times. The service still refuses a new server for that network (it compares parsed blocks of every
 * row), and a newer row gets its block once its networkSourceIp is changed to a free network.
 */
export async function up({ context: qi }: { context: QueryInterface }): Promise<void> {
  const sequelize = qi.sequelize;
  await qi.addColumn('radius_servers', 'network_source_block', { type: DataTypes.STRING(64), allowNull: true });
  const rows = await sequelize.query<{ id: string; network_source_ip: string }>(
    'SELECT id, network_source_ip FROM radius_servers ORDER BY created_at, id',
    { type: QueryTypes.SELECT },
  );
  const taken = new Set<string>();
  for (const r of rows) {
    const block = networkKey(r.network_source_ip);
    if (block === null || taken.has(block)) continue;
    taken.add(block);
    await sequelize.query('UPDATE radius_servers SET network_source_block = $1 WHERE id = $2', { bind: [block, r.id] });
  }
  await qi.addIndex('radius_servers', ['network_source_block'], { unique: true, name: 'radius_servers_network_source_block_unique' });
}
