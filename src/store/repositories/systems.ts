import type { Page, Query, SystemAttr } from '../../core/directory/filter.js';
import type { System, SystemGroup } from '../../core/directory/types.js';
import type { SystemGroupRepository, SystemRepository } from '../../core/ports.js';
import { fold } from '../fold.js';
import { filterToSql, sortToSql, type ColumnMap } from '../filter-sql.js';
import { ms, toBool, toDate, toDateOrNull, toNum, toStr, type Param, type Row, type Sql, limitSql } from '../sql.js';

const SYSTEM_COLUMNS: ColumnMap<SystemAttr> = {
  id: { expr: 's.id', kind: 'id' },
  displayName: { expr: 's.display_name_lc', kind: 'lower' },
  hostname: { expr: 's.hostname_lc', kind: 'lower' },
  os: { expr: 's.os_lc', kind: 'lower' },
  version: { expr: 's.version_lc', kind: 'lower' },
  arch: { expr: 's.arch_lc', kind: 'lower' },
  active: { expr: 's.active', kind: 'bool' },
  allowMultiFactorAuthentication: { expr: 's.allow_mfa', kind: 'bool' },
  createdAt: { expr: 's.created_at', kind: 'time' },
};

const toSystem = (r: Row): System => ({
  id: toStr(r.id),
  displayName: toStr(r.display_name),
  hostname: toStr(r.hostname),
  os: toStr(r.os),
  version: toStr(r.version),
  arch: toStr(r.arch),
  agentVersion: toStr(r.agent_version),
  active: toBool(r.active),
  lastContact: toDateOrNull(r.last_contact),
  allowMultiFactorAuthentication: toBool(r.allow_mfa),
  systemInsightsState: toStr(r.system_insights_state) === 'enabled' ? 'enabled' : 'disabled',
  createdAt: toDate(r.created_at),
  updatedAt: toDate(r.updated_at),
});

const toSystemGroup = (r: Row): SystemGroup => ({
  id: toStr(r.id),
  name: toStr(r.name),
  description: toStr(r.description),
  createdAt: toDate(r.created_at),
  updatedAt: toDate(r.updated_at),
});

export function createSystemRepository(sql: Sql): SystemRepository {
  return {
    async create(s) {
      await sql.insert('systems', {
        id: s.id,
        display_name: s.displayName,
        hostname: s.hostname,
        os: s.os,
        version: s.version,
        arch: s.arch,
        agent_version: s.agentVersion,
        active: s.active,
        last_contact: ms(s.lastContact),
        allow_mfa: s.allowMultiFactorAuthentication,
        system_insights_state: s.systemInsightsState,
        created_at: s.createdAt.getTime(),
        updated_at: s.updatedAt.getTime(),
      });
    },
    async update(id, p) {
      const row: Record<string, Param> = {};
      if (p.displayName !== undefined) row.display_name = p.displayName;
      if (p.hostname !== undefined) row.hostname = p.hostname;
      if (p.os !== undefined) row.os = p.os;
      if (p.version !== undefined) row.version = p.version;
      if (p.arch !== undefined) row.arch = p.arch;
      if (p.agentVersion !== undefined) row.agent_version = p.agentVersion;
      if (p.active !== undefined) row.active = p.active;
      if (p.lastContact !== undefined) row.last_contact = ms(p.lastContact);
      if (p.allowMultiFactorAuthentication !== undefined) row.allow_mfa = p.allowMultiFactorAuthentication;
      if (p.systemInsightsState !== undefined) row.system_insights_state = p.systemInsightsState;
      if (Object.keys(row).length === 0) return;
      row.updated_at = Date.now();
      await sql.update('systems', id, row);
    },
    async delete(id) {
      await sql.exec('DELETE FROM system_group_members WHERE system_id = $1', [id]);
      await sql.exec('DELETE FROM systems WHERE id = $1', [id]);
    },
    async get(id) {
      const r = await sql.one('SELECT * FROM systems s WHERE s.id = $1', [id]);
      return r ? toSystem(r) : null;
    },
    async query(q: Query<SystemAttr>): Promise<Page<System>> {
      const params: Param[] = [];
      const where = q.filter ? filterToSql(q.filter, SYSTEM_COLUMNS, params, sql.dialect) : '1 = 1';
      const n = q.withTotal === false ? null : await sql.one(`SELECT COUNT(*) AS n FROM systems s WHERE ${where}`, params);
      const pp = [...params];
      const rows = await sql.rows(
        `SELECT * FROM systems s WHERE ${where} ORDER BY ${sortToSql(q.sort, SYSTEM_COLUMNS, 's.id', sql.dialect)} ${limitSql(q.limit)} OFFSET $${pp.push(q.offset)}`,
        pp,
      );
      return { total: n ? toNum(n.n) : -1, items: rows.map(toSystem) };
    },
  };
}

export function createSystemGroupRepository(sql: Sql): SystemGroupRepository {
  const one = async (where: string, p: Param[]) => {
    const r = await sql.one(`SELECT * FROM system_groups WHERE ${where}`, p);
    return r ? toSystemGroup(r) : null;
  };
  return {
    async create(g) {
      await sql.insert('system_groups', {
        id: g.id,
        name: g.name,
        description: g.description,
        created_at: g.createdAt.getTime(),
        updated_at: g.updatedAt.getTime(),
      });
    },
    async update(id, p) {
      const row: Record<string, Param> = {};
      if (p.name !== undefined) row.name = p.name;
      if (p.description !== undefined) row.description = p.description;
      if (Object.keys(row).length === 0) return;
      row.updated_at = Date.now();
      await sql.update('system_groups', id, row);
    },
    async delete(id) {
      await sql.exec('DELETE FROM system_group_members WHERE group_id = $1', [id]);
      await sql.exec('DELETE FROM system_groups WHERE id = $1', [id]);
    },
    get: (id) => one('id = $1', [id]),
    getByName: (name) => one('name_lc = $1', [fold(name)]),
    async list(limit, offset) {
      const n = await sql.one('SELECT COUNT(*) AS n FROM system_groups');
      const rows = await sql.rows(`SELECT * FROM system_groups ORDER BY name, id ${limitSql(limit)} OFFSET $1`, [offset]);
      return { total: toNum(n?.n ?? 0), items: rows.map(toSystemGroup) };
    },
    async addMember(groupId, systemId) {
      return (
        (await sql.changed(
          'INSERT INTO system_group_members (group_id, system_id, created_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING RETURNING 1 AS changed',
          [groupId, systemId, Date.now()],
        )) > 0
      );
    },
    async removeMember(groupId, systemId) {
      return (await sql.changed('DELETE FROM system_group_members WHERE group_id = $1 AND system_id = $2 RETURNING 1 AS changed', [groupId, systemId])) > 0;
    },
    async memberIds(groupId, limit, offset) {
      const n = await sql.one('SELECT COUNT(*) AS n FROM system_group_members WHERE group_id = $1', [groupId]);
      const rows = await sql.rows(`SELECT system_id FROM system_group_members WHERE group_id = $1 ORDER BY system_id ${limitSql(limit)} OFFSET $2`, [groupId, offset]);
      return { total: toNum(n?.n ?? 0), items: rows.map((r) => toStr(r.system_id)) };
    },
    async groupIdsOf(systemId) {
      return (await sql.rows('SELECT group_id FROM system_group_members WHERE system_id = $1', [systemId])).map((r) => toStr(r.group_id));
    },
  };
}
