import { DataTypes, QueryTypes, type QueryInterface } from 'sequelize';

/**
 * `users.cn`: the common name as shown (`cn`, `gecos`, and `displayName` when no display name is
 * set), beside its folded copy `cn_lc` (0004), so that a case-exact assertion
 * (`(cn:caseExactMatch:=Alice Liddell)`, RFC 4517 §4.2.4) compares against the value as entered;
 * with the folded copy only, `Alice Liddell` matched nothing and `alice liddell` matched.
 */
function commonNameAsOf0011(r: Record<string, string | null>): string {
  return `${r.firstname ?? ''} ${r.lastname ?? ''}`.trim() || r.displayname || r.username || '';
}

export async function up({ context: qi }: { context: QueryInterface }): Promise<void> {
  await qi.addColumn('users', 'cn', { type: DataTypes.TEXT, allowNull: false, defaultValue: '' });
  const rows = await qi.sequelize.query<Record<string, string | null>>('SELECT id, username, firstname, lastname, displayname FROM users', {
    type: QueryTypes.SELECT,
  });
  for (const r of rows) {
    await qi.sequelize.query('UPDATE users SET cn = $1 WHERE id = $2', { bind: [commonNameAsOf0011(r), r.id] });
  }
}
