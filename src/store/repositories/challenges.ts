import type { AuthChallenge } from '../../core/directory/types.js';
import type { ChallengeRepository } from '../../core/ports.js';
import { toDate, toStr, type Row, type Sql } from '../sql.js';

const CHALLENGE_ID = /^[0-9a-f]{32}$/;

const toChallenge = (r: Row): AuthChallenge => ({
  id: toStr(r.id),
  subjectId: toStr(r.subject_id),
  protocol: toStr(r.protocol),
  resourceType: toStr(r.resource_type),
  resourceId: toStr(r.resource_id),
  createdAt: toDate(r.created_at),
  expiresAt: toDate(r.expires_at),
});

export function createChallengeRepository(sql: Sql): ChallengeRepository {
  return {
    async create(c) {
      await sql.insert('auth_challenges', {
        id: c.id,
        subject_id: c.subjectId,
        protocol: c.protocol,
        resource_type: c.resourceType,
        resource_id: c.resourceId,
        created_at: c.createdAt.getTime(),
        expires_at: c.expiresAt.getTime(),
      });
    },
    async consume(id, now) {
      // Ids are 32 hex digits (authenticate.ts). Anything else, such as a RADIUS State with NUL
      // bytes (which PostgreSQL refuses as a parameter), names no challenge.
      if (!CHALLENGE_ID.test(id)) return null;
      // DELETE … RETURNING: of two concurrent answers to the same challenge, exactly one gets the row.
      const rows = await sql.returning(
        'DELETE FROM auth_challenges WHERE id = $1 RETURNING id, subject_id, protocol, resource_type, resource_id, created_at, expires_at',
        [id],
      );
      const r = rows[0];
      if (!r) return null;
      const c = toChallenge(r);
      return c.expiresAt.getTime() > now.getTime() ? c : null;
    },
    async purgeExpired(now) {
      return sql.changed('DELETE FROM auth_challenges WHERE expires_at <= CAST($1 AS BIGINT) RETURNING 1 AS changed', [now.getTime()]);
    },
  };
}
