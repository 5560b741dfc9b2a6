import { QueryTypes, type QueryInterface } from 'sequelize';

/**
 * - PostgreSQL: the text columns of users, user groups and systems collate "C" (code point order).
 *   LDAP ordering filters (`(uid>=m)`) and keyset paging compare text that way on both databases
 *   (SQLite's default BINARY order is the same for UTF-8), and an index is used by an ORDER BY or a
 *   range only when its collation is the one the query asks for. Equality is unchanged
 *   (both collations are deterministic).
 * - Group names are unique whatever their case (`Staff` and `staff` would share a DN): a unique
 *   index on the folded name, so that two concurrent creations cannot both succeed on PostgreSQL's
 *   READ COMMITTED (SQLite has one writer, so the service's check was already enough there).
 */
const TABLES = ['users', 'user_groups', 'systems'];

export async function up({ context: qi }: { context: QueryInterface }): Promise<void> {
  const sequelize = qi.sequelize;
  const dups = await sequelize.query<{ name_lc: string; n: number }>(
    'SELECT name_lc, COUNT(*) AS n FROM user_groups GROUP BY name_lc HAVING COUNT(*) > 1',
    { type: QueryTypes.SELECT },
  );
  if (dups.length > 0) {
    // Never guess which of two groups to rename: the operator decides, then restarts.
    throw new Error(
      `migration 0007: user group names that differ only in case must be renamed first (${dups.map((d) => d.name_lc).join(', ')}); ` +
        'rename them with the previous version, then start this one again',
    );
  }
  await qi.addIndex('user_groups', ['name_lc'], { unique: true, name: 'user_groups_name_lc_unique' });
  if (sequelize.getDialect() !== 'postgres') return;
  for (const table of TABLES) {
    const columns = await sequelize.query<{ column_name: string; data_type: string; character_maximum_length: number | null }>(
      `SELECT column_name, data_type, character_maximum_length FROM information_schema.columns
       WHERE table_schema = current_schema() AND table_name = :table
         AND data_type IN ('character varying', 'text') AND COALESCE(collation_name, '') <> 'C'`,
      { type: QueryTypes.SELECT, replacements: { table } },
    );
    for (const c of columns) {
      const type = c.data_type === 'text' ? 'TEXT' : `VARCHAR(${c.character_maximum_length ?? 255})`;
      await sequelize.query(`ALTER TABLE "${table}" ALTER COLUMN "${c.column_name}" TYPE ${type} COLLATE "C"`);
    }
  }
}
