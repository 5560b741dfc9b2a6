import { DataTypes, type QueryInterface } from 'sequelize';

/**
 * - `ldap_servers.totp_on_bind`: TOTP appended to the bind password (`password;123456`), off by default.
 * - `auth_challenges`: pending second factors (a RADIUS Access-Challenge's State, a half-finished
 *   SAML or portal sign-in). Kept in the store so that another instance can answer the next round;
 *   each is consumed once and expires.
 */
export async function up({ context: qi }: { context: QueryInterface }): Promise<void> {
  await qi.addColumn('ldap_servers', 'totp_on_bind', { type: DataTypes.BOOLEAN, allowNull: false, defaultValue: false });
  await qi.createTable('auth_challenges', {
    id: { type: DataTypes.STRING(64), primaryKey: true, allowNull: false },
    subject_id: { type: DataTypes.STRING(24), allowNull: false },
    protocol: { type: DataTypes.STRING(16), allowNull: false },
    resource_type: { type: DataTypes.STRING(16), allowNull: false },
    resource_id: { type: DataTypes.STRING(64), allowNull: false },
    created_at: { type: DataTypes.BIGINT, allowNull: false },
    expires_at: { type: DataTypes.BIGINT, allowNull: false },
  });
  await qi.addIndex('auth_challenges', ['expires_at']);
}
