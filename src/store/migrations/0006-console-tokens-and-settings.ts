import { DataTypes, type QueryInterface } from 'sequelize';

/**
 * - `password_tokens`: the one-time links of activation and password reset emails. Only the
 *   SHA-256 of the token is stored (`id_hash`); a link is consumed by deleting its row and expires
 *   at `expires_at`. A new link for a user replaces the older ones (`user_id` index).
 * - `settings`: appliance settings as JSON documents by key (`smtp`); secrets inside them are
 *   sealed by the secret box before they get here.
 * - an index on `audit_events (event_type, success, ts)` for the console's Home page, which counts
 *   recent failed authentications per protocol without reading the events.
 */
export async function up({ context: qi }: { context: QueryInterface }): Promise<void> {
  await qi.createTable('password_tokens', {
    id_hash: { type: DataTypes.STRING(64), primaryKey: true, allowNull: false },
    user_id: { type: DataTypes.STRING(24), allowNull: false },
    purpose: { type: DataTypes.STRING(16), allowNull: false },
    created_at: { type: DataTypes.BIGINT, allowNull: false },
    expires_at: { type: DataTypes.BIGINT, allowNull: false },
  });
  await qi.addIndex('password_tokens', ['user_id']);
  await qi.addIndex('password_tokens', ['expires_at']);

  await qi.createTable('settings', {
    name: { type: DataTypes.STRING(64), primaryKey: true, allowNull: false },
    value: { type: DataTypes.TEXT, allowNull: false },
    updated_at: { type: DataTypes.BIGINT, allowNull: false },
  });

  await qi.addIndex('audit_events', ['event_type', 'success', 'ts']);
}
