import { normaliseSettings, type Organization } from '../../core/directory/organization.js';
import type { Admin, ApiKey } from '../../core/directory/types.js';
import type { AdminCredentials, AdminRepository, ApiKeyRepository, OrganizationRepository, SequenceRepository } from '../../core/ports.js';
import { fromJson, toBool, toDate, toDateOrNull, toNum, toStr, type Param, type Row, type Sql } from '../sql.js';

export function createOrganizationRepository(sql: Sql): OrganizationRepository {
  return {
    async get(opts) {
      const lock = opts?.forUpdate && sql.dialect === 'postgres' ? ' FOR UPDATE' : '';
      const r = await sql.one(`SELECT * FROM organizations ORDER BY created_at LIMIT 1${lock}`);
      if (!r) return null;
      const org: Organization = {
        id: toStr(r.id),
        displayName: toStr(r.display_name),
        settings: normaliseSettings(fromJson(r.settings, null)),
        createdAt: toDate(r.created_at),
      };
      return org;
    },
    async create(o) {
      await sql.insert('organizations', {
        id: o.id,
        display_name: o.displayName,
        settings: JSON.stringify(o.settings),
        created_at: o.createdAt.getTime(),
        updated_at: o.createdAt.getTime(),
      });
    },
    async update(id, p) {
      const row: Record<string, Param> = {};
      if (p.displayName !== undefined) row.display_name = p.displayName;
      if (p.settings !== undefined) row.settings = JSON.stringify(p.settings);
      if (Object.keys(row).length === 0) return;
      row.updated_at = Date.now();
      await sql.update('organizations', id, row);
    },
  };
}

const toAdmin = (r: Row): Admin => ({
  id: toStr(r.id),
  email: toStr(r.email),
  firstname: toStr(r.firstname),
  lastname: toStr(r.lastname),
  role: toStr(r.role) === 'read_only' ? 'read_only' : 'administrator',
  totpEnrolled: toBool(r.totp_enrolled),
  passwordChangeRequired: toBool(r.password_change_required),
  createdAt: toDate(r.created_at),
});

export function createAdminRepository(sql: Sql): AdminRepository {
  return {
    async create(a, c) {
      await sql.insert('admins', {
        id: a.id,
        email: a.email,
        firstname: a.firstname,
        lastname: a.lastname,
        role: a.role,
        password_hash: c.passwordHash,
        totp_secret: c.totpSecret,
        totp_pending_secret: c.totpPendingSecret,
        totp_enrolled: a.totpEnrolled,
        // A backup written before the column existed has no such field: those admins chose their own.
        password_change_required: a.passwordChangeRequired === true,
        created_at: a.createdAt.getTime(),
        updated_at: a.createdAt.getTime(),
      });
    },
    async get(id) {
      const r = await sql.one('SELECT * FROM admins WHERE id = $1', [id]);
      return r ? toAdmin(r) : null;
    },
    async getByEmail(email) {
      const r = await sql.one('SELECT * FROM admins WHERE email = $1', [email.toLowerCase()]);
      return r ? toAdmin(r) : null;
    },
    async list() {
      return (await sql.rows('SELECT * FROM admins ORDER BY email')).map(toAdmin);
    },
    async count() {
      return toNum((await sql.one('SELECT COUNT(*) AS n FROM admins'))?.n ?? 0);
    },
    async getCredentials(id): Promise<AdminCredentials | null> {
      const r = await sql.one('SELECT password_hash, totp_secret, totp_pending_secret FROM admins WHERE id = $1', [id]);
      return r
        ? { passwordHash: toStr(r.password_hash), totpSecret: (r.totp_secret as string | null) ?? null, totpPendingSecret: (r.totp_pending_secret as string | null) ?? null }
        : null;
    },
    async updateCredentials(id, c) {
      const row: Record<string, Param> = {};
      if (c.passwordHash !== undefined) row.password_hash = c.passwordHash;
      if (c.totpSecret !== undefined) {
        row.totp_secret = c.totpSecret;
        row.totp_enrolled = c.totpSecret !== null;
      }
      if (c.totpPendingSecret !== undefined) row.totp_pending_secret = c.totpPendingSecret;
      if (c.passwordChangeRequired !== undefined) row.password_change_required = c.passwordChangeRequired;
      if (Object.keys(row).length === 0) return;
      row.updated_at = Date.now();
      await sql.update('admins', id, row);
    },
    async delete(id) {
      await sql.exec('DELETE FROM admins WHERE id = $1', [id]);
    },
    async lockAll() {
      // SQLite has no FOR UPDATE, and needs none: the store serialises its write transactions.
      if (sql.dialect === 'postgres') await sql.rows('SELECT id FROM admins ORDER BY id FOR UPDATE');
    },
  };
}

const toApiKey = (r: Row): ApiKey => ({
  id: toStr(r.id),
  name: toStr(r.name),
  adminId: (r.admin_id as string | null) ?? null,
  prefix: toStr(r.prefix),
  createdAt: toDate(r.created_at),
  lastUsedAt: toDateOrNull(r.last_used_at),
});

export function createApiKeyRepository(sql: Sql): ApiKeyRepository {
  return {
    async create(k, keyHash) {
      await sql.insert('api_keys', {
        id: k.id,
        name: k.name,
        admin_id: k.adminId,
        prefix: k.prefix,
        key_hash: keyHash,
        created_at: k.createdAt.getTime(),
        last_used_at: null,
      });
    },
    async findByHash(keyHash) {
      const r = await sql.one('SELECT * FROM api_keys WHERE key_hash = $1', [keyHash]);
      return r ? toApiKey(r) : null;
    },
    async list() {
      return (await sql.rows('SELECT * FROM api_keys ORDER BY created_at, id')).map(toApiKey);
    },
    async getHash(id) {
      const r = await sql.one('SELECT key_hash FROM api_keys WHERE id = $1', [id]);
      return r ? toStr(r.key_hash) : null;
    },
    async delete(id) {
      await sql.exec('DELETE FROM api_keys WHERE id = $1', [id]);
    },
    async touch(id, at) {
      await sql.exec('UPDATE api_keys SET last_used_at = $2 WHERE id = $1', [id, at.getTime()]);
    },
  };
}

export function createSequenceRepository(sql: Sql): SequenceRepository {
  return {
    async next(name, start) {
      await sql.exec('INSERT INTO sequences (name, value) VALUES ($1, $2) ON CONFLICT DO NOTHING', [name, start - 1]);
      const r = await sql.returning('UPDATE sequences SET value = value + 1 WHERE name = $1 RETURNING value', [name]);
      return toNum(r[0]?.value);
    },
  };
}
