import type { DirectoryFilter, GroupAttr, Page, Query, UserAttr } from '../../core/directory/filter.js';
import type { UserGroup } from '../../core/directory/types.js';
import type { UserGroupRepository } from '../../core/ports.js';
import { fold } from '../fold.js';
import { filterToSql, sortToSql, type ColumnMap } from '../filter-sql.js';
import { fromJson, inList, toDate, toNum, toNumOrNull, toStr, type Param, type Row, type Sql, limitSql } from '../sql.js';
import { USER_COLUMNS, USER_FROM } from './users.js';

const GROUP_COLUMNS: ColumnMap<GroupAttr> = {
  id: { expr: 'g.id', kind: 'id' },
  name: { expr: 'g.name_lc', kind: 'lower', exact: 'g.name' },
  description: { expr: 'g.description_lc', kind: 'lower', exact: 'g.description' },
  email: { expr: 'g.email_lc', kind: 'lower', exact: 'g.email' },
  posixGid: { expr: 'g.posix_gid', kind: 'int' },
  posixName: { expr: 'g.posix_name_lc', kind: 'lower', exact: 'g.posix_name' },
  createdAt: { expr: 'g.created_at', kind: 'time' },
  updatedAt: { expr: 'g.updated_at', kind: 'time' },
  member: {
    expr: 'g.id IN (SELECT group_id FROM user_group_members WHERE user_id = ?)',
    kind: 'sub',
    present: 'g.id IN (SELECT group_id FROM user_group_members)',
  },
  memberName: {
    expr: 'g.id IN (SELECT m.group_id FROM user_group_members m JOIN users u ON u.id = m.user_id WHERE u.username = ?)',
    kind: 'sub',
    present: 'g.id IN (SELECT group_id FROM user_group_members)',
  },
  boundTo: {
    expr: `EXISTS (SELECT 1 FROM associations ba WHERE ba.from_type = 'user_group' AND ba.from_id = g.id AND ba.to_type = ?type AND ba.to_id = ?id)`,
    kind: 'sub',
  },
};

const toGroup = (r: Row): UserGroup => ({
  id: toStr(r.id),
  name: toStr(r.name),
  description: toStr(r.description),
  email: toStr(r.email),
  posixGid: toNumOrNull(r.posix_gid),
  posixName: (r.posix_name as string | null) ?? null,
  radiusReply: fromJson(r.radius_reply, []),
  createdAt: toDate(r.created_at),
  updatedAt: toDate(r.updated_at),
});

export function createUserGroupRepository(sql: Sql): UserGroupRepository {
  const one = async (where: string, p: Param[]) => {
    const r = await sql.one(`SELECT * FROM user_groups g WHERE ${where}`, p);
    return r ? toGroup(r) : null;
  };
  return {
    async create(g) {
      await sql.insert('user_groups', {
        id: g.id,
        name: g.name,
        description: g.description,
        email: g.email,
        posix_gid: g.posixGid,
        posix_name: g.posixName,
        radius_reply: JSON.stringify(g.radiusReply),
        created_at: g.createdAt.getTime(),
        updated_at: g.updatedAt.getTime(),
      });
    },
    async touch(id) {
      await sql.exec('UPDATE user_groups SET updated_at = $1 WHERE id = $2', [Date.now(), id]);
    },
    async update(id, p) {
      const row: Record<string, Param> = {};
      if (p.name !== undefined) row.name = p.name;
      if (p.description !== undefined) row.description = p.description;
      if (p.email !== undefined) row.email = p.email;
      if (p.posixGid !== undefined) row.posix_gid = p.posixGid;
      if (p.posixName !== undefined) row.posix_name = p.posixName;
      if (p.radiusReply !== undefined) row.radius_reply = JSON.stringify(p.radiusReply);
      if (Object.keys(row).length === 0) return;
      row.updated_at = Date.now();
      await sql.update('user_groups', id, row);
    },
    async delete(id) {
      await sql.exec('DELETE FROM user_group_members WHERE group_id = $1', [id]);
      await sql.exec('DELETE FROM user_groups WHERE id = $1', [id]);
    },
    get: (id) => one('g.id = $1', [id]),
    getByName: (name) => one('g.name_lc = $1', [fold(name)]),
    async getMany(ids) {
      if (ids.length === 0) return [];
      const p: Param[] = [];
      return (await sql.rows(`SELECT * FROM user_groups g WHERE g.id IN (${inList(p, ids)}) ORDER BY g.name`, p)).map(toGroup);
    },
    async query(q: Query<GroupAttr>, withMember?: DirectoryFilter<UserAttr>): Promise<Page<UserGroup>> {
      const params: Param[] = [];
      const groupWhere = q.filter ? filterToSql(q.filter, GROUP_COLUMNS, params, sql.dialect) : '1 = 1';
      // The member's conditions are on its user row and auth state (USER_FROM, which USER_COLUMNS
      // is written for); CROSS JOIN keeps SQLite on the user first (found by its username), then its
      // memberships.
      const where = withMember
        ? `${groupWhere} AND g.id IN (SELECT m.group_id FROM ${USER_FROM} CROSS JOIN user_group_members m
             WHERE m.user_id = u.id AND ${filterToSql(withMember, USER_COLUMNS, params, sql.dialect)})`
        : groupWhere;
      const n = q.withTotal === false ? null : await sql.one(`SELECT COUNT(*) AS n FROM user_groups g WHERE ${where}`, params);
      const pp = [...params];
      const rows = await sql.rows(
        `SELECT * FROM user_groups g WHERE ${where} ORDER BY ${sortToSql(q.sort, GROUP_COLUMNS, 'g.id', sql.dialect)} ${limitSql(q.limit)} OFFSET $${pp.push(q.offset)}`,
        pp,
      );
      return { total: n ? toNum(n.n) : -1, items: rows.map(toGroup) };
    },
    async addMember(groupId, userId) {
      return (
        (await sql.changed(
          'INSERT INTO user_group_members (group_id, user_id, created_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING RETURNING 1 AS changed',
          [groupId, userId, Date.now()],
        )) > 0
      );
    },
    async removeMember(groupId, userId) {
      return (await sql.changed('DELETE FROM user_group_members WHERE group_id = $1 AND user_id = $2 RETURNING 1 AS changed', [groupId, userId])) > 0;
    },
    async memberIds(groupId, limit, offset) {
      const n = await sql.one('SELECT COUNT(*) AS n FROM user_group_members WHERE group_id = $1', [groupId]);
      const rows = await sql.rows(`SELECT user_id FROM user_group_members WHERE group_id = $1 ORDER BY user_id ${limitSql(limit)} OFFSET $2`, [groupId, offset]);
      return { total: toNum(n?.n ?? 0), items: rows.map((r) => toStr(r.user_id)) };
    },
    async groupsOfUserBoundTo(userId, toType, toId) {
      const rows = await sql.rows(
        // CROSS JOIN keeps SQLite on the user's memberships first (see users.ts, boundTo).
        `SELECT g.* FROM user_group_members m CROSS JOIN user_groups g CROSS JOIN associations ba
         WHERE m.user_id = $1 AND g.id = m.group_id
           AND ba.from_type = 'user_group' AND ba.from_id = g.id AND ba.to_type = $2 AND ba.to_id = $3
         ORDER BY g.created_at, g.id`,
        [userId, toType, toId],
      );
      return rows.map(toGroup);
    },
    async anyBoundWithRadiusReply(radiusServerId) {
      const row = await sql.one(
        `SELECT 1 AS found FROM associations ba CROSS JOIN user_groups g
         WHERE ba.from_type = 'user_group' AND ba.to_type = 'radius_server' AND ba.to_id = $1 AND g.id = ba.from_id
           AND g.radius_reply NOT IN ('[]', '') ${limitSql(1)}`,
        [radiusServerId],
      );
      return row !== null;
    },
    async membershipPairs(by) {
      const ids = by.groupIds ?? by.userIds ?? [];
      if (ids.length === 0) return [];
      const col = by.groupIds ? 'group_id' : 'user_id';
      const p: Param[] = [];
      const rows = await sql.rows(`SELECT group_id, user_id FROM user_group_members WHERE ${col} IN (${inList(p, ids)})`, p);
      return rows.map((r) => ({ groupId: toStr(r.group_id), userId: toStr(r.user_id) }));
    },
    async groupIdsOf(userId) {
      return (await sql.rows('SELECT group_id FROM user_group_members WHERE user_id = $1', [userId])).map((r) => toStr(r.group_id));
    },
  };
}
