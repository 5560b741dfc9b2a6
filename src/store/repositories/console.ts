import type { ConsoleRepositories, PasswordTokenRecord, PasswordTokenRepository, SettingsRepository, AuditStatsRepository } from '../../core/ports.js';
import { fromJson, inList, toBool, toDate, toNum, toStr, type Param, type Row, type Sql } from '../sql.js';

const toToken = (r: Row): PasswordTokenRecord => ({
  idHash: toStr(r.id_hash),
  userId: toStr(r.user_id),
  purpose: toStr(r.purpose) === 'reset' ? 'reset' : 'activation',
  createdAt: toDate(r.created_at),
  expiresAt: toDate(r.expires_at),
});

export function createPasswordTokenRepository(sql: Sql): PasswordTokenRepository {
  return {
    async create(t) {
      await sql.insert('password_tokens', {
        id_hash: t.idHash,
        user_id: t.userId,
        purpose: t.purpose,
        created_at: t.createdAt.getTime(),
        expires_at: t.expiresAt.getTime(),
      });
    },
    async find(idHash, now) {
      const r = await sql.one('SELECT * FROM password_tokens WHERE id_hash = $1 AND expires_at > CAST($2 AS BIGINT)', [idHash, now.getTime()]);
      return r ? toToken(r) : null;
    },
    async consume(idHash, now) {
      // One DELETE … RETURNING: of two concurrent redemptions, exactly one gets the row.
      const rows = await sql.returning(
        'DELETE FROM password_tokens WHERE id_hash = $1 AND expires_at > CAST($2 AS BIGINT) RETURNING id_hash, user_id, purpose, created_at, expires_at',
        [idHash, now.getTime()],
      );
      return rows[0] ? toToken(rows[0]) : null;
    },
    deleteForUser(userId) {
      return sql.changed('DELETE FROM password_tokens WHERE user_id = $1 RETURNING 1 AS changed', [userId]);
    },
    purgeExpired(now) {
      return sql.changed('DELETE FROM password_tokens WHERE expires_at <= CAST($1 AS BIGINT) RETURNING 1 AS changed', [now.getTime()]);
    },
  };
}

export function createSettingsRepository(sql: Sql): SettingsRepository {
  return {
    async get(key) {
      const r = await sql.one('SELECT value FROM settings WHERE name = $1', [key]);
      return r ? fromJson<Record<string, unknown> | null>(r.value, null) : null;
    },
    async put(key, value, now) {
      await sql.exec(
        `INSERT INTO settings (name, value, updated_at) VALUES ($1, $2, $3)
         ON CONFLICT (name) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`,
        [key, JSON.stringify(value), now.getTime()],
      );
    },
  };
}

export function createAuditStatsRepository(sql: Sql): AuditStatsRepository {
  return {
    async countSince(since, eventTypes) {
      if (eventTypes.length === 0) return [];
      const params: Param[] = [since.getTime()];
      const rows = await sql.rows(
        `SELECT service, event_type, success, COUNT(*) AS n FROM audit_events
         WHERE ts >= CAST($1 AS BIGINT) AND event_type IN (${inList(params, eventTypes)})
         GROUP BY service, event_type, success`,
        params,
      );
      return rows.map((r) => ({ service: toStr(r.service), eventType: toStr(r.event_type), success: toBool(r.success), count: toNum(r.n) }));
    },
  };
}

export function createConsoleRepositories(sql: Sql): ConsoleRepositories {
  return { passwordTokens: createPasswordTokenRepository(sql), settings: createSettingsRepository(sql), auditStats: createAuditStatsRepository(sql) };
}
