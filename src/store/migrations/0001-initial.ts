import { DataTypes, type QueryInterface } from 'sequelize';

/**
 * The initial schema. Times are epoch milliseconds (BIGINT) so that window arithmetic in atomic
 * statements is the same SQL on SQLite and PostgreSQL; JSON is TEXT for the same reason.
 * Forward-only: later changes are new migrations, never edits of this one.
 */
const id = () => ({ type: DataTypes.STRING(24), primaryKey: true, allowNull: false });
const ref = () => ({ type: DataTypes.STRING(24), allowNull: false });
const time = (allowNull = false) => ({ type: DataTypes.BIGINT, allowNull });
const text = (len = 256) => ({ type: DataTypes.STRING(len), allowNull: false, defaultValue: '' });
const longText = (allowNull = false) => ({ type: DataTypes.TEXT, allowNull });
const flag = (defaultValue = false) => ({ type: DataTypes.BOOLEAN, allowNull: false, defaultValue });

export async function up({ context: qi }: { context: QueryInterface }): Promise<void> {
  await qi.createTable('organizations', {
    id: id(),
    display_name: text(128),
    settings: longText(),
    created_at: time(),
    updated_at: time(),
  });

  await qi.createTable('users', {
    id: id(),
    username: { type: DataTypes.STRING(64), allowNull: false, unique: true },
    email: { type: DataTypes.STRING(254), allowNull: false, unique: true },
    firstname: text(),
    lastname: text(),
    displayname: text(),
    state: { type: DataTypes.STRING(16), allowNull: false },
    password_hash: longText(true),
    password_changed_at: time(true),
    password_expired: flag(),
    password_history: longText(),
    totp_secret: longText(true),
    totp_pending_secret: longText(true),
    totp_enrolled: flag(),
    enable_user_portal_multifactor: flag(),
    mfa_exclusion: flag(),
    mfa_exclusion_until: time(true),
    ldap_binding_user: flag(),
    unix_uid: { type: DataTypes.BIGINT, allowNull: false, unique: true },
    unix_guid: { type: DataTypes.BIGINT, allowNull: false },
    job_title: text(),
    department: text(),
    company: text(),
    location: text(),
    employee_identifier: text(),
    description: longText(),
    attributes: longText(),
    created_at: time(),
    updated_at: time(),
  });
  await qi.addIndex('users', ['state']);
  await qi.addIndex('users', ['created_at']);
  await qi.addIndex('users', ['unix_guid']);

  await qi.createTable('auth_state', {
    subject_id: id(),
    failed_count: { type: DataTypes.INTEGER, allowNull: false, defaultValue: 0 },
    last_failed_at: time(true),
    locked_at: time(true),
    locked_count: { type: DataTypes.INTEGER, allowNull: true },
    last_totp_step: { type: DataTypes.BIGINT, allowNull: true },
  });
  await qi.addIndex('auth_state', ['locked_at']);

  await qi.createTable('user_groups', {
    id: id(),
    name: { type: DataTypes.STRING(128), allowNull: false, unique: true },
    description: longText(),
    email: text(254),
    posix_gid: { type: DataTypes.BIGINT, allowNull: true, unique: true },
    posix_name: { type: DataTypes.STRING(64), allowNull: true },
    radius_reply: longText(),
    created_at: time(),
    updated_at: time(),
  });

  await qi.createTable('user_group_members', {
    group_id: { ...ref(), primaryKey: true, references: { model: 'user_groups', key: 'id' }, onDelete: 'CASCADE' },
    user_id: { ...ref(), primaryKey: true, references: { model: 'users', key: 'id' }, onDelete: 'CASCADE' },
    created_at: time(),
  });
  await qi.addIndex('user_group_members', ['user_id']);

  await qi.createTable('systems', {
    id: id(),
    display_name: text(),
    hostname: text(253),
    os: text(128),
    version: text(128),
    arch: text(128),
    agent_version: text(128),
    active: flag(),
    last_contact: time(true),
    allow_mfa: flag(),
    system_insights_state: { type: DataTypes.STRING(16), allowNull: false, defaultValue: 'disabled' },
    created_at: time(),
    updated_at: time(),
  });
  await qi.addIndex('systems', ['display_name']);

  await qi.createTable('system_groups', {
    id: id(),
    name: { type: DataTypes.STRING(128), allowNull: false, unique: true },
    description: longText(),
    created_at: time(),
    updated_at: time(),
  });

  await qi.createTable('system_group_members', {
    group_id: { ...ref(), primaryKey: true, references: { model: 'system_groups', key: 'id' }, onDelete: 'CASCADE' },
    system_id: { ...ref(), primaryKey: true, references: { model: 'systems', key: 'id' }, onDelete: 'CASCADE' },
    created_at: time(),
  });
  await qi.addIndex('system_group_members', ['system_id']);

  await qi.createTable('ldap_servers', {
    id: id(),
    name: text(128),
    user_lockout_action: { type: DataTypes.STRING(16), allowNull: false },
    user_password_expiration_action: { type: DataTypes.STRING(16), allowNull: false },
    created_at: time(),
    updated_at: time(),
  });

  await qi.createTable('radius_servers', {
    id: id(),
    name: text(128),
    network_source_ip: { type: DataTypes.STRING(64), allowNull: false, unique: true },
    shared_secret: longText(),
    shared_secret_length: { type: DataTypes.INTEGER, allowNull: false },
    mfa: { type: DataTypes.STRING(16), allowNull: false },
    user_lockout_action: { type: DataTypes.STRING(16), allowNull: false },
    user_password_expiration_action: { type: DataTypes.STRING(16), allowNull: false },
    require_message_authenticator: flag(true),
    created_at: time(),
    updated_at: time(),
  });

  await qi.createTable('applications', {
    id: id(),
    name: { type: DataTypes.STRING(64), allowNull: false, unique: true },
    display_label: text(128),
    config: longText(),
    created_at: time(),
    updated_at: time(),
  });

  await qi.createTable('associations', {
    from_type: { type: DataTypes.STRING(16), primaryKey: true, allowNull: false },
    from_id: { ...ref(), primaryKey: true },
    to_type: { type: DataTypes.STRING(16), primaryKey: true, allowNull: false },
    to_id: { ...ref(), primaryKey: true },
    created_at: time(),
  });
  await qi.addIndex('associations', ['to_type', 'to_id']);

  await qi.createTable('admins', {
    id: id(),
    email: { type: DataTypes.STRING(254), allowNull: false, unique: true },
    firstname: text(),
    lastname: text(),
    role: { type: DataTypes.STRING(32), allowNull: false },
    password_hash: longText(),
    totp_secret: longText(true),
    totp_pending_secret: longText(true),
    totp_enrolled: flag(),
    created_at: time(),
    updated_at: time(),
  });

  await qi.createTable('api_keys', {
    id: id(),
    name: text(128),
    admin_id: { type: DataTypes.STRING(24), allowNull: true },
    prefix: text(16),
    key_hash: { type: DataTypes.STRING(64), allowNull: false, unique: true },
    created_at: time(),
    last_used_at: time(true),
  });

  await qi.createTable('audit_events', {
    id: id(),
    ts: time(),
    event_type: { type: DataTypes.STRING(48), allowNull: false },
    service: { type: DataTypes.STRING(16), allowNull: false },
    success: flag(),
    client_ip: text(64),
    username: text(),
    initiated_by_id: text(64),
    initiated_by_type: text(16),
    initiated_by_username: text(),
    initiated_by_email: text(),
    resource_id: text(64),
    resource_type: text(32),
    resource_username: text(),
    resource_name: text(),
    data: longText(),
  });
  await qi.addIndex('audit_events', ['ts']);
  await qi.addIndex('audit_events', ['service', 'ts']);
  await qi.addIndex('audit_events', ['event_type', 'ts']);
  await qi.addIndex('audit_events', ['username']);
  await qi.addIndex('audit_events', ['resource_id']);
  await qi.addIndex('audit_events', ['initiated_by_id']);

  await qi.createTable('sequences', {
    name: { type: DataTypes.STRING(32), primaryKey: true, allowNull: false },
    value: { type: DataTypes.BIGINT, allowNull: false },
  });
}
