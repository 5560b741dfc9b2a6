import type { Association, GraphFromType, GraphToType } from '../../core/directory/types.js';
import type { AssociationRepository, RowLockRepository } from '../../core/ports.js';
import { toDate, toStr, type Row, type Sql } from '../sql.js';

const toAssociation = (r: Row): Association => ({
  fromType: toStr(r.from_type) as GraphFromType,
  fromId: toStr(r.from_id),
  toType: toStr(r.to_type) as GraphToType,
  toId: toStr(r.to_id),
  createdAt: toDate(r.created_at),
});

export function createAssociationRepository(sql: Sql): AssociationRepository {
  return {
    async add(a) {
      return (
        (await sql.changed(
          `INSERT INTO associations (from_type, from_id, to_type, to_id, created_at) VALUES ($1, $2, $3, $4, $5)
           ON CONFLICT DO NOTHING RETURNING 1 AS changed`,
          [a.fromType, a.fromId, a.toType, a.toId, a.createdAt.getTime()],
        )) > 0
      );
    },
    async remove(a) {
      return (
        (await sql.changed(
          'DELETE FROM associations WHERE from_type = $1 AND from_id = $2 AND to_type = $3 AND to_id = $4 RETURNING 1 AS changed',
          [a.fromType, a.fromId, a.toType, a.toId],
        )) > 0
      );
    },
    async listFrom(fromType, fromId) {
      return (
        await sql.rows('SELECT * FROM associations WHERE from_type = $1 AND from_id = $2 ORDER BY to_type, to_id', [fromType, fromId])
      ).map(toAssociation);
    },
    async listTo(toType, toId) {
      return (
        await sql.rows('SELECT * FROM associations WHERE to_type = $1 AND to_id = $2 ORDER BY from_type, from_id', [toType, toId])
      ).map(toAssociation);
    },
    async removeAllFor(type, id) {
      await sql.exec('DELETE FROM associations WHERE (from_type = $1 AND from_id = $2) OR (to_type = $1 AND to_id = $2)', [type, id]);
    },
    async userHasAccess(userId, toType, toId) {
      const r = await sql.one(
        `SELECT 1 AS ok FROM associations
         WHERE to_type = $1 AND to_id = $2
           AND ((from_type = 'user' AND from_id = $3)
             OR (from_type = 'user_group' AND from_id IN (SELECT group_id FROM user_group_members WHERE user_id = $3)))
         LIMIT 1`,
        [toType, toId, userId],
      );
      return r !== null;
    },
  };
}

const TABLE_OF: Record<GraphFromType | GraphToType, string> = {
  user: 'users',
  user_group: 'user_groups',
  system: 'systems',
  system_group: 'system_groups',
  ldap_server: 'ldap_servers',
  radius_server: 'radius_servers',
  application: 'applications',
};

export function createRowLockRepository(sql: Sql): RowLockRepository {
  return {
    async lock(type, id, mode) {
      if (sql.dialect !== 'postgres') return;
      // KEY SHARE conflicts with FOR UPDATE (and a DELETE) only: two transactions adding to the same
      // group may both hold it and still stamp the group's row (FOR SHARE would deadlock them there).
      await sql.rows(`SELECT id FROM ${TABLE_OF[type]} WHERE id = $1 FOR ${mode === 'share' ? 'KEY SHARE' : 'UPDATE'}`, [id]);
    },
    async lockName(scope, name) {
      if (sql.dialect !== 'postgres') return;
      // A transaction-level advisory lock on a hash of the name: released at commit or rollback.
      await sql.rows('SELECT pg_advisory_xact_lock(hashtext($1)) AS locked', [`${scope}:${name}`]);
    },
  };
}
