import type { Application, LdapServer, RadiusServer } from '../../core/directory/types.js';
import type { ApplicationRepository, LdapServerRepository, RadiusServerRepository } from '../../core/ports.js';
import { networkKey } from '../../util/ip-block.js';
import { fromJson, toBool, toDate, toNum, toStr, type Param, type Row, type Sql, limitSql } from '../sql.js';

const toLdap = (r: Row): LdapServer => ({
  id: toStr(r.id),
  name: toStr(r.name),
  userLockoutAction: toStr(r.user_lockout_action) as LdapServer['userLockoutAction'],
  userPasswordExpirationAction: toStr(r.user_password_expiration_action) as LdapServer['userPasswordExpirationAction'],
  totpOnBind: toBool(r.totp_on_bind),
  createdAt: toDate(r.created_at),
  updatedAt: toDate(r.updated_at),
});

const toRadius = (r: Row): RadiusServer => ({
  id: toStr(r.id),
  name: toStr(r.name),
  networkSourceIp: toStr(r.network_source_ip),
  mfa: toStr(r.mfa) as RadiusServer['mfa'],
  userLockoutAction: toStr(r.user_lockout_action) as RadiusServer['userLockoutAction'],
  userPasswordExpirationAction: toStr(r.user_password_expiration_action) as RadiusServer['userPasswordExpirationAction'],
  requireMessageAuthenticator: toBool(r.require_message_authenticator),
  sharedSecretLength: toNum(r.shared_secret_length),
  createdAt: toDate(r.created_at),
  updatedAt: toDate(r.updated_at),
});

const toApp = (r: Row): Application => ({
  id: toStr(r.id),
  name: toStr(r.name),
  displayLabel: toStr(r.display_label),
  config: fromJson(r.config, {} as Application['config']),
  createdAt: toDate(r.created_at),
  updatedAt: toDate(r.updated_at),
});

/** Maps the fields present in `patch` to columns; `updated_at` is added when anything changes. */
function columns(patch: Record<string, unknown>, map: Record<string, string>): Record<string, Param> {
  const row: Record<string, Param> = {};
  for (const [k, v] of Object.entries(patch)) {
    const col = map[k];
    if (col && v !== undefined) row[col] = typeof v === 'object' && v !== null ? JSON.stringify(v) : (v as Param);
  }
  if (Object.keys(row).length > 0) row.updated_at = Date.now();
  return row;
}

export function createLdapServerRepository(sql: Sql): LdapServerRepository {
  return {
    async create(s) {
      await sql.insert('ldap_servers', {
        id: s.id,
        name: s.name,
        user_lockout_action: s.userLockoutAction,
        user_password_expiration_action: s.userPasswordExpirationAction,
        totp_on_bind: s.totpOnBind,
        created_at: s.createdAt.getTime(),
        updated_at: s.updatedAt.getTime(),
      });
    },
    async update(id, p) {
      await sql.update(
        'ldap_servers',
        id,
        columns(p, {
          name: 'name',
          userLockoutAction: 'user_lockout_action',
          userPasswordExpirationAction: 'user_password_expiration_action',
          totpOnBind: 'totp_on_bind',
        }),
      );
    },
    async get(id) {
      const r = await sql.one('SELECT * FROM ldap_servers WHERE id = $1', [id]);
      return r ? toLdap(r) : null;
    },
    async list() {
      return (await sql.rows('SELECT * FROM ldap_servers ORDER BY created_at, id')).map(toLdap);
    },
  };
}

export function createRadiusServerRepository(sql: Sql): RadiusServerRepository {
  const MAP = {
    name: 'name',
    networkSourceIp: 'network_source_ip',
    mfa: 'mfa',
    userLockoutAction: 'user_lockout_action',
    userPasswordExpirationAction: 'user_password_expiration_action',
    requireMessageAuthenticator: 'require_message_authenticator',
    sharedSecretLength: 'shared_secret_length',
  };
  return {
    async create(s, sealedSecret) {
      await sql.insert('radius_servers', {
        id: s.id,
        name: s.name,
        network_source_ip: s.networkSourceIp,
        // The canonical block, under a unique index (migration 0008).
        network_source_block: networkKey(s.networkSourceIp),
        shared_secret: sealedSecret,
        shared_secret_length: s.sharedSecretLength,
        mfa: s.mfa,
        user_lockout_action: s.userLockoutAction,
        user_password_expiration_action: s.userPasswordExpirationAction,
        require_message_authenticator: s.requireMessageAuthenticator,
        created_at: s.createdAt.getTime(),
        updated_at: s.updatedAt.getTime(),
      });
    },
    async update(id, p, sealedSecret) {
      const row = columns(p, MAP);
      if (p.networkSourceIp !== undefined) row.network_source_block = networkKey(p.networkSourceIp);
      if (sealedSecret !== undefined) {
        row.shared_secret = sealedSecret;
        row.updated_at = Date.now();
      }
      await sql.update('radius_servers', id, row);
    },
    async delete(id) {
      await sql.exec('DELETE FROM radius_servers WHERE id = $1', [id]);
    },
    async get(id) {
      const r = await sql.one('SELECT * FROM radius_servers WHERE id = $1', [id]);
      return r ? toRadius(r) : null;
    },
    async getByName(name) {
      const r = await sql.one('SELECT * FROM radius_servers WHERE name = $1', [name]);
      return r ? toRadius(r) : null;
    },
    async list() {
      return (await sql.rows('SELECT * FROM radius_servers ORDER BY name, id')).map(toRadius);
    },
    async getSealedSecret(id) {
      const r = await sql.one('SELECT shared_secret FROM radius_servers WHERE id = $1', [id]);
      return r ? toStr(r.shared_secret) : null;
    },
  };
}

export function createApplicationRepository(sql: Sql): ApplicationRepository {
  return {
    async create(a) {
      await sql.insert('applications', {
        id: a.id,
        name: a.name,
        display_label: a.displayLabel,
        config: JSON.stringify(a.config),
        created_at: a.createdAt.getTime(),
        updated_at: a.updatedAt.getTime(),
      });
    },
    async update(id, p) {
      await sql.update('applications', id, columns(p, { name: 'name', displayLabel: 'display_label', config: 'config' }));
    },
    async delete(id) {
      await sql.exec('DELETE FROM applications WHERE id = $1', [id]);
    },
    async get(id) {
      const r = await sql.one('SELECT * FROM applications WHERE id = $1', [id]);
      return r ? toApp(r) : null;
    },
    async getByName(name) {
      // Names are stored in lower case; one stored before that was enforced is still found.
      const r = await sql.one('SELECT * FROM applications WHERE lower(name) = $1 ORDER BY name DESC, id LIMIT 1', [name.toLowerCase()]);
      return r ? toApp(r) : null;
    },
    async list(limit, offset) {
      const n = await sql.one('SELECT COUNT(*) AS n FROM applications');
      const rows = await sql.rows(`SELECT * FROM applications ORDER BY name, id ${limitSql(limit)} OFFSET $1`, [offset]);
      return { total: toNum(n?.n ?? 0), items: rows.map(toApp) };
    },
  };
}
