import { DataTypes, type QueryInterface } from 'sequelize';

/**
 * - `sso_requests`: the SAML AuthnRequests seen from each SP, so that a request is taken once and
 *   answered once, across every instance behind a load balancer (an in-memory list would let a
 *   replay through the other instance). The key is the SHA-256 of the SP's entity ID and the
 *   request ID (`id_hash`: fixed length, whatever the SP sends). `answered_at` is set, by one
 *   conditional UPDATE, when the response leaves. A row is kept until `expires_at` (past the
 *   request's own validity window and the time a sign-in may take) and then purged, so the table
 *   holds only the last few minutes of requests.
 */
export async function up({ context: qi }: { context: QueryInterface }): Promise<void> {
  await qi.createTable('sso_requests', {
    id_hash: { type: DataTypes.STRING(64), primaryKey: true, allowNull: false },
    app_id: { type: DataTypes.STRING(24), allowNull: false },
    received_at: { type: DataTypes.BIGINT, allowNull: false },
    expires_at: { type: DataTypes.BIGINT, allowNull: false },
    answered_at: { type: DataTypes.BIGINT, allowNull: true },
  });
  await qi.addIndex('sso_requests', ['expires_at']);
}
