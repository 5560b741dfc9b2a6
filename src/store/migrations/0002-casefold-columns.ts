import { DataTypes, QueryTypes, type QueryInterface } from 'sequelize';
import { fold } from '../fold.js';

/**
 * Case-insensitive matching of non-ASCII text (an LDAP `(sn=öztürk)` for ÖZTÜRK): SQLite's LOWER()
 * folds ASCII only and PostgreSQL's depends on the database locale, so each text column matched
 * case-insensitively gets a shadow `<column>_lc` folded by the application (Unicode lower case,
 * NFC). Queries compare against the shadow; the original keeps the value as entered.
 */
// The list as of this migration (frozen); the live list is FOLDED_COLUMNS in ../fold.ts.
const FOLDED: Record<string, string[]> = {
  users: ['firstname', 'lastname', 'displayname', 'job_title', 'department', 'company', 'location', 'employee_identifier', 'description'],
  user_groups: ['name', 'description', 'email', 'posix_name'],
  systems: ['display_name', 'hostname', 'os', 'version', 'arch'],
  system_groups: ['name'],
};

export async function up({ context: qi }: { context: QueryInterface }): Promise<void> {
  const sequelize = qi.sequelize;
  for (const [table, columns] of Object.entries(FOLDED)) {
    for (const c of columns) {
      await qi.addColumn(table, `${c}_lc`, { type: DataTypes.TEXT, allowNull: false, defaultValue: '' });
    }
    const rows = await sequelize.query<Record<string, string | null>>(`SELECT id, ${columns.join(', ')} FROM ${table}`, { type: QueryTypes.SELECT });
    for (const r of rows) {
      const sets = columns.map((c, i) => `${c}_lc = $${i + 1}`).join(', ');
      await sequelize.query(`UPDATE ${table} SET ${sets} WHERE id = $${columns.length + 1}`, {
        bind: [...columns.map((c) => fold(r[c] ?? '')), r.id],
      });
    }
  }
  await qi.addColumn('audit_events', 'search_lc', { type: DataTypes.TEXT, allowNull: false, defaultValue: '' });
  const events = await sequelize.query<{ id: string; data: string }>('SELECT id, data FROM audit_events', { type: QueryTypes.SELECT });
  for (const e of events) {
    await sequelize.query('UPDATE audit_events SET search_lc = $1 WHERE id = $2', { bind: [fold(e.data), e.id] });
  }
  await qi.addIndex('user_groups', ['name_lc']);
  await qi.addIndex('system_groups', ['name_lc']);
}
