import { DataTypes, QueryTypes, type QueryInterface } from 'sequelize';
import { fold } from '../fold.js';

/**
 * What LDAP searches select on: the folded common name (`cn`), and indexes on the folded text
 * columns that nslcd/sssd and apps filter on (cn, sn, givenName, displayName).
 */
function commonNameAsOf0004(r: Record<string, string | null>): string {
  return `${r.firstname ?? ''} ${r.lastname ?? ''}`.trim() || r.displayname || r.username || '';
}

export async function up({ context: qi }: { context: QueryInterface }): Promise<void> {
  await qi.addColumn('users', 'cn_lc', { type: DataTypes.TEXT, allowNull: false, defaultValue: '' });
  const rows = await qi.sequelize.query<Record<string, string | null>>('SELECT id, username, firstname, lastname, displayname FROM users', {
    type: QueryTypes.SELECT,
  });
  for (const r of rows) {
    await qi.sequelize.query('UPDATE users SET cn_lc = $1 WHERE id = $2', { bind: [fold(commonNameAsOf0004(r)), r.id] });
  }
  await qi.addIndex('users', ['cn_lc']);
  await qi.addIndex('users', ['lastname_lc']);
  await qi.addIndex('users', ['firstname_lc']);
  await qi.addIndex('users', ['displayname_lc']);
}
