import { DataTypes, QueryTypes, type QueryInterface } from 'sequelize';

/**
 * `users.cn`: the common name as shown (`cn`, `gecos`, and `displayName` when no display name is
 * set), beside its folded copy `cn_lc` (0004), so that a case-exact assertion
 * (`(cn:caseExactMatch:=Alice Liddell)`, RFC 4517 §4.2.4) compares against the value as entered;
 * with the folded copy only, `Alice Liddell` matched nothing and `alice liddell` matched.
 *
 * One transaction, and the column added only where it is missing: a process stopped half-way
 * (found with a 10k-user copy stopped during the one-row-at-a-time updates first written here) left
 * the column without the migration recorded, and every later start failed on "duplicate column".
 * The values go in 250 rows per statement: at 100k users, one UPDATE per row kept the start busy
 * for minutes.
 */
function commonNameAsOf0011(r: Record<string, string | null>): string {
  return `${r.firstname ?? ''} ${r.lastname ?? ''}`.trim() || r.displayname || r.username || '';
}

const ROWS_PER_STATEMENT = 250;

export async function up({ context: qi }: { context: QueryInterface }): Promise<void> {
  const sequelize = qi.sequelize;
  await sequelize.transaction(async (transaction) => {
    const columns = await sequelize.query<{ name: string }>(
      sequelize.getDialect() === 'postgres'
        ? "SELECT column_name AS name FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = 'users'"
        : "SELECT name FROM pragma_table_info('users')",
      { type: QueryTypes.SELECT, transaction },
    );
    if (!columns.some((c) => c.name === 'cn')) {
      await qi.addColumn('users', 'cn', { type: DataTypes.TEXT, allowNull: false, defaultValue: '' }, { transaction });
    }
    const rows = await sequelize.query<Record<string, string | null>>('SELECT id, username, firstname, lastname, displayname FROM users ORDER BY id', {
      type: QueryTypes.SELECT,
      transaction,
    });
    for (let i = 0; i < rows.length; i += ROWS_PER_STATEMENT) {
      const chunk = rows.slice(i, i + ROWS_PER_STATEMENT);
      const bind: string[] = [];
      const cases = chunk.map((r) => `WHEN $${bind.push(String(r.id))} THEN $${bind.push(commonNameAsOf0011(r))}`).join(' ');
      const ids = chunk.map((r) => `$${bind.push(String(r.id))}`).join(', ');
      await sequelize.query(`UPDATE users SET cn = CASE id ${cases} END WHERE id IN (${ids})`, { bind, transaction });
    }
  });
}
