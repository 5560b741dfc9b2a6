import { DataTypes, type QueryInterface } from 'sequelize';

/**
 * - `web_sessions`: browser sessions of the user portal, SAML single sign-on and the admin console.
 *   The cookie carries a random token; only its SHA-256 is stored (`id_hash`), so a copy of the
 *   database does not let anyone take over a session. `kind` keeps user and admin sessions apart;
 *   `subject_id` is empty before sign-in (a login in progress). Expiry is absolute (`expires_at`) and
 *   idle (`last_seen_at` + `idle_timeout_seconds`).
 * - `application_credentials`: per SAML application, the IdP signing key (sealed with the secret
 *   box, context `saml-key:<appId>`) and certificate, the SP's signing certificate and whether its
 *   AuthnRequests must be signed. Kept out of `applications.config` so that no presenter or audit
 *   diff of the application record can reach the key.
 */
export async function up({ context: qi }: { context: QueryInterface }): Promise<void> {
  await qi.createTable('web_sessions', {
    id_hash: { type: DataTypes.STRING(64), primaryKey: true, allowNull: false },
    kind: { type: DataTypes.STRING(8), allowNull: false },
    subject_id: { type: DataTypes.STRING(24), allowNull: false, defaultValue: '' },
    data: { type: DataTypes.TEXT, allowNull: false },
    created_at: { type: DataTypes.BIGINT, allowNull: false },
    last_seen_at: { type: DataTypes.BIGINT, allowNull: false },
    expires_at: { type: DataTypes.BIGINT, allowNull: false },
    idle_timeout_seconds: { type: DataTypes.INTEGER, allowNull: false },
  });
  await qi.addIndex('web_sessions', ['expires_at']);
  await qi.addIndex('web_sessions', ['kind', 'subject_id']);

  await qi.createTable('application_credentials', {
    app_id: { type: DataTypes.STRING(24), primaryKey: true, allowNull: false },
    signing_key: { type: DataTypes.TEXT, allowNull: true },
    signing_certificate: { type: DataTypes.TEXT, allowNull: true },
    sp_certificate: { type: DataTypes.TEXT, allowNull: false, defaultValue: '' },
    require_signed_requests: { type: DataTypes.BOOLEAN, allowNull: false, defaultValue: false },
    updated_at: { type: DataTypes.BIGINT, allowNull: false },
  });
}
