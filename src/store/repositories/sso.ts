import type {
  ApplicationCredentialRepository,
  ApplicationCredentialsRecord,
  SignOnRequestRepository,
  SsoRepositories,
  WebSessionRecord,
  WebSessionRepository,
} from '../../core/ports.js';
import { fromJson, toBool, toDate, toNum, toStr, type Param, type Row, type Sql } from '../sql.js';

const toSession = (r: Row): WebSessionRecord => ({
  idHash: toStr(r.id_hash),
  kind: toStr(r.kind) === 'admin' ? 'admin' : 'user',
  subjectId: toStr(r.subject_id),
  data: fromJson<Record<string, unknown>>(r.data, {}),
  createdAt: toDate(r.created_at),
  lastSeenAt: toDate(r.last_seen_at),
  expiresAt: toDate(r.expires_at),
  idleTimeoutSeconds: toNum(r.idle_timeout_seconds),
});

export function createWebSessionRepository(sql: Sql): WebSessionRepository {
  return {
    async create(s) {
      await sql.insert('web_sessions', {
        id_hash: s.idHash,
        kind: s.kind,
        subject_id: s.subjectId,
        data: JSON.stringify(s.data),
        created_at: s.createdAt.getTime(),
        last_seen_at: s.lastSeenAt.getTime(),
        expires_at: s.expiresAt.getTime(),
        idle_timeout_seconds: s.idleTimeoutSeconds,
      });
    },
    async get(idHash) {
      const r = await sql.one('SELECT * FROM web_sessions WHERE id_hash = $1', [idHash]);
      return r ? toSession(r) : null;
    },
    async update(idHash, patch) {
      const row: Record<string, Param> = { last_seen_at: patch.lastSeenAt.getTime() };
      if (patch.data) row.data = JSON.stringify(patch.data);
      return (await sql.update('web_sessions', idHash, row, 'id_hash')) > 0;
    },
    async delete(idHash) {
      return (await sql.changed('DELETE FROM web_sessions WHERE id_hash = $1 RETURNING 1 AS changed', [idHash])) > 0;
    },
    async deleteForSubject(kind, subjectId, exceptIdHash) {
      return sql.changed('DELETE FROM web_sessions WHERE kind = $1 AND subject_id = $2 AND id_hash <> $3 RETURNING 1 AS changed', [
        kind,
        subjectId,
        exceptIdHash ?? '',
      ]);
    },
    async trimForSubject(kind, subjectId, keep) {
      return sql.changed(
        `DELETE FROM web_sessions WHERE kind = $1 AND subject_id = $2 AND id_hash NOT IN
           (SELECT id_hash FROM web_sessions WHERE kind = $1 AND subject_id = $2 ORDER BY created_at DESC, id_hash DESC LIMIT ${Math.max(0, Math.floor(keep))})
         RETURNING 1 AS changed`,
        [kind, subjectId],
      );
    },
    async purgeExpired(now) {
      return sql.changed('DELETE FROM web_sessions WHERE expires_at <= CAST($1 AS BIGINT) RETURNING 1 AS changed', [now.getTime()]);
    },
  };
}

const toCredentials = (r: Row): ApplicationCredentialsRecord => ({
  appId: toStr(r.app_id),
  sealedSigningKey: r.signing_key === null || r.signing_key === undefined ? null : toStr(r.signing_key),
  signingCertificate: r.signing_certificate === null || r.signing_certificate === undefined ? null : toStr(r.signing_certificate),
  spCertificate: toStr(r.sp_certificate),
  requireSignedRequests: toBool(r.require_signed_requests),
  updatedAt: toDate(r.updated_at),
});

const CREDENTIAL_COLUMNS: Record<string, string> = {
  sealedSigningKey: 'signing_key',
  signingCertificate: 'signing_certificate',
  spCertificate: 'sp_certificate',
  requireSignedRequests: 'require_signed_requests',
  updatedAt: 'updated_at',
};

export function createApplicationCredentialRepository(sql: Sql): ApplicationCredentialRepository {
  return {
    async get(appId) {
      const r = await sql.one('SELECT * FROM application_credentials WHERE app_id = $1', [appId]);
      return r ? toCredentials(r) : null;
    },
    async upsert(appId, patch) {
      const row: Record<string, Param> = {};
      for (const [k, v] of Object.entries(patch)) {
        const col = CREDENTIAL_COLUMNS[k];
        if (col && v !== undefined) row[col] = v instanceof Date ? v.getTime() : (v as Param);
      }
      const cols = Object.keys(row);
      const params: Param[] = [appId, ...cols.map((c) => row[c] ?? null)];
      // One portable statement (SQLite ≥ 3.24 and PostgreSQL both have ON CONFLICT … DO UPDATE).
      await sql.exec(
        `INSERT INTO application_credentials (app_id, ${cols.join(', ')}) VALUES ($1, ${cols.map((_, i) => `$${i + 2}`).join(', ')})
         ON CONFLICT (app_id) DO UPDATE SET ${cols.map((c) => `${c} = excluded.${c}`).join(', ')}`,
        params,
      );
    },
    async setSigningKeyIfAbsent(appId, k) {
      await sql.exec(
        `INSERT INTO application_credentials (app_id, signing_key, signing_certificate, updated_at) VALUES ($1, $2, $3, $4)
         ON CONFLICT (app_id) DO UPDATE SET signing_key = excluded.signing_key, signing_certificate = excluded.signing_certificate, updated_at = excluded.updated_at
         WHERE application_credentials.signing_key IS NULL OR application_credentials.signing_certificate IS NULL`,
        [appId, k.sealedSigningKey, k.signingCertificate, k.updatedAt.getTime()],
      );
    },
    async delete(appId) {
      await sql.exec('DELETE FROM application_credentials WHERE app_id = $1', [appId]);
    },
  };
}

export function createSignOnRequestRepository(sql: Sql): SignOnRequestRepository {
  return {
    async remember(r, now) {
      // One statement, so that of two instances receiving the same request at once exactly one
      // takes it: a new key is inserted; an existing one is replaced only once expired (the WHERE of
      // DO UPDATE), otherwise nothing is returned. SQLite ≥ 3.35 and PostgreSQL both take it.
      return (
        (await sql.changed(
          `INSERT INTO sso_requests (id_hash, app_id, received_at, expires_at, answered_at) VALUES ($1, $2, $3, $4, NULL)
           ON CONFLICT (id_hash) DO UPDATE SET app_id = excluded.app_id, received_at = excluded.received_at, expires_at = excluded.expires_at, answered_at = NULL
           WHERE sso_requests.expires_at <= CAST($5 AS BIGINT)
           RETURNING 1 AS changed`,
          [r.idHash, r.appId, r.receivedAt.getTime(), r.expiresAt.getTime(), now.getTime()],
        )) > 0
      );
    },
    async markAnswered(idHash, now) {
      return (
        (await sql.changed(
          'UPDATE sso_requests SET answered_at = CAST($2 AS BIGINT) WHERE id_hash = $1 AND answered_at IS NULL AND expires_at > CAST($2 AS BIGINT) RETURNING 1 AS changed',
          [idHash, now.getTime()],
        )) > 0
      );
    },
    async isAnswered(idHash, now) {
      const r = await sql.one('SELECT 1 AS answered FROM sso_requests WHERE id_hash = $1 AND answered_at IS NOT NULL AND expires_at > CAST($2 AS BIGINT)', [
        idHash,
        now.getTime(),
      ]);
      return r !== null;
    },
    async purgeExpired(now) {
      return sql.changed('DELETE FROM sso_requests WHERE expires_at <= CAST($1 AS BIGINT) RETURNING 1 AS changed', [now.getTime()]);
    },
  };
}

export function createSsoRepositories(sql: Sql): SsoRepositories {
  return {
    webSessions: createWebSessionRepository(sql),
    applicationCredentials: createApplicationCredentialRepository(sql),
    signOnRequests: createSignOnRequestRepository(sql),
  };
}
