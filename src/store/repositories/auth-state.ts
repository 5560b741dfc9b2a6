import type { AuthStateRepository, FailureResult } from '../../core/ports.js';
import { toNum, toNumOrNull, toStr, type Sql } from '../sql.js';
import { toAuthState } from './users.js';

/**
 * Lockout counters and the TOTP replay guard. Each change is one UPDATE whose SET expressions read
 * the row's old values, so the database serialises concurrent attempts on the row (a row lock on
 * PostgreSQL, the single writer on SQLite) and the arithmetic can never interleave.
 */
export function createAuthStateRepository(sql: Sql): AuthStateRepository {
  const ensure = (subjectId: string) =>
    sql.exec('INSERT INTO auth_state (subject_id, failed_count) VALUES ($1, 0) ON CONFLICT DO NOTHING', [subjectId]);

  return {
    ensure,
    async get(subjectId) {
      const r = await sql.one('SELECT * FROM auth_state WHERE subject_id = $1', [subjectId]);
      return r ? toAuthState(r) : { failedCount: 0, lastFailedAt: null, lockedAt: null, lastTotpStep: null };
    },

    async recordFailure(subjectId, now, policy): Promise<FailureResult> {
      const t = now.getTime();
      const resetMs = policy.resetCounterSeconds * 1000;
      // The new count: restart at 1 when the previous failure is older than the reset window.
      // Parameters are cast so that PostgreSQL infers BIGINT (epoch ms exceed INTEGER).
      const at = 'CAST($2 AS BIGINT)';
      const reset = 'CAST($3 AS BIGINT)';
      const max = 'CAST($4 AS INTEGER)';
      const next = `(CASE WHEN locked_at IS NULL AND ${reset} > 0 AND last_failed_at IS NOT NULL AND last_failed_at <= ${at} - ${reset}
                     THEN 1 ELSE failed_count + 1 END)`;
      const locks = `(locked_at IS NULL AND ${max} > 0 AND ${next} >= ${max})`;
      // While lockout is off (maxAttempts 0) failures are not counted: turning it on later must not
      // lock every account at its next mistake for failures made while it was off. The row is still
      // written (the same cost whatever the policy or the login, see authenticate.ts).
      const statement = `UPDATE auth_state SET
          failed_count = CASE WHEN ${max} > 0 THEN ${next} ELSE 0 END,
          last_failed_at = ${at},
          locked_count = CASE WHEN ${locks} THEN ${next} ELSE locked_count END,
          locked_at = CASE WHEN ${locks} THEN ${at} ELSE locked_at END
        WHERE subject_id = $1
        RETURNING failed_count, locked_at, locked_count`;
      const params = [subjectId, t, resetMs, policy.maxAttempts];
      let rows = await sql.returning(statement, params);
      if (rows.length === 0) {
        await ensure(subjectId);
        rows = await sql.returning(statement, params);
      }
      const r = rows[0];
      if (!r) return { failedCount: 0, locked: false, justLocked: false };
      const failedCount = toNum(r.failed_count);
      const lockedCount = toNumOrNull(r.locked_count);
      const locked = r.locked_at !== null && r.locked_at !== undefined;
      // The count keeps rising after a lock, so only the failure that set the lock sees them equal.
      return { failedCount, locked, justLocked: locked && lockedCount === failedCount };
    },

    async clearFailures(subjectId) {
      // locked_count goes too: otherwise a lock that survives (RADIUS "maintain") could be reported as new again.
      await sql.exec('UPDATE auth_state SET failed_count = 0, last_failed_at = NULL, locked_count = NULL WHERE subject_id = $1 AND failed_count <> 0', [subjectId]);
    },

    async unlock(subjectId, onlyIfLockedAt) {
      const cond = onlyIfLockedAt ? 'locked_at = $2' : 'locked_at IS NOT NULL';
      const params = onlyIfLockedAt ? [subjectId, onlyIfLockedAt.getTime()] : [subjectId];
      return (
        (await sql.changed(
          `UPDATE auth_state SET locked_at = NULL, locked_count = NULL, failed_count = 0, last_failed_at = NULL
           WHERE subject_id = $1 AND ${cond} RETURNING 1 AS changed`,
          params,
        )) > 0
      );
    },

    async acceptTotpStep(subjectId, step) {
      let n = await sql.changed(
        `UPDATE auth_state SET last_totp_step = $2
         WHERE subject_id = $1 AND (last_totp_step IS NULL OR last_totp_step < $2) RETURNING 1 AS changed`,
        [subjectId, step],
      );
      if (n === 0 && (await sql.one('SELECT 1 AS x FROM auth_state WHERE subject_id = $1', [subjectId])) === null) {
        await ensure(subjectId);
        n = await sql.changed(
          `UPDATE auth_state SET last_totp_step = $2
           WHERE subject_id = $1 AND (last_totp_step IS NULL OR last_totp_step < $2) RETURNING 1 AS changed`,
          [subjectId, step],
        );
      }
      return n > 0;
    },

    async resetTotpGuard(subjectId) {
      await sql.exec('UPDATE auth_state SET last_totp_step = NULL WHERE subject_id = $1', [subjectId]);
    },

    async delete(subjectId) {
      await sql.exec('DELETE FROM auth_state WHERE subject_id = $1', [subjectId]);
    },

    async lockedSubjects() {
      return (await sql.rows('SELECT subject_id FROM auth_state WHERE locked_at IS NOT NULL')).map((r) => toStr(r.subject_id));
    },
  };
}
