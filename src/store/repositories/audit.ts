import type { AuditEvent, AuditField, AuditQuery } from '../../core/audit/event.js';
import type { AuditRepository } from '../../core/ports.js';
import { fold } from '../fold.js';
import { fromJson, inList, type Param, type Sql, limitSql } from '../sql.js';

/** Indexed columns that mirror event fields, for exact-match queries. */
const FIELD_COLUMNS: Record<AuditField, string> = {
  id: 'id',
  event_type: 'event_type',
  service: 'service',
  success: 'success',
  client_ip: 'client_ip',
  username: 'username',
  'initiated_by.id': 'initiated_by_id',
  'initiated_by.type': 'initiated_by_type',
  'initiated_by.username': 'initiated_by_username',
  'initiated_by.email': 'initiated_by_email',
  'resource.id': 'resource_id',
  'resource.type': 'resource_type',
  'resource.username': 'resource_username',
  'resource.name': 'resource_name',
};

const s = (v: unknown) => (typeof v === 'string' ? v.slice(0, 256) : '');

function escapeLike(t: string): string {
  return t.replace(/[\\%_]/g, (c) => `\\${c}`);
}

const MAX_EVENTS_PER_INSERT = 1000;
const ASCII = /^[\x00-\x7f]*$/;

export function createAuditRepository(sql: Sql): AuditRepository {
  const insertRows = async (events: AuditEvent[]) => {
    const params: Param[] = [];
    const rows = events.map((e) => {
      const json = JSON.stringify(e);
      const values: Param[] = [
        e.id,
        Date.parse(e.timestamp),
        e.event_type,
        e.service,
        e.success,
        s(e.client_ip),
        s(e.username),
        s(e.initiated_by?.id),
        s(e.initiated_by?.type),
        s(e.initiated_by?.username),
        s(e.initiated_by?.email),
        s(e.resource?.id),
        s(e.resource?.type),
        s(e.resource?.username),
        s(e.resource?.name),
        json,
        // The folded copy is stored only where folding may differ from SQL's lower(): an ASCII
        // event (nearly all of them) is searched in `data` itself, which halves the row, and with
        // it the WAL and checkpoint bytes written for every authentication.
        ASCII.test(json) ? '' : fold(json),
      ];
      return `(${inList(params, values)})`;
    });
    await sql.exec(
      `INSERT INTO audit_events (id, ts, event_type, service, success, client_ip, username, initiated_by_id,
         initiated_by_type, initiated_by_username, initiated_by_email, resource_id, resource_type,
         resource_username, resource_name, data, search_lc)
       VALUES ${rows.join(', ')}
       ON CONFLICT (id) DO NOTHING`,
      params,
    );
  };
  return {
    async append(events: AuditEvent[]) {
      // 17 values per event: SQLite binds at most 32 766 per statement, PostgreSQL 65 535, so a
      // big backlog goes in as several statements. Ids are unique per event, so a batch retried
      // after a partial write inserts only what is missing (ON CONFLICT DO NOTHING).
      for (let i = 0; i < events.length; i += MAX_EVENTS_PER_INSERT) await insertRows(events.slice(i, i + MAX_EVENTS_PER_INSERT));
    },

    async query(q: AuditQuery) {
      const params: Param[] = [q.startTime.getTime(), q.endTime.getTime()];
      const where = ['ts >= CAST($1 AS BIGINT)', 'ts <= CAST($2 AS BIGINT)'];
      if (q.services !== 'all') where.push(`service IN (${inList(params, q.services)})`);
      if (q.searchText) {
        // SQLite's LIKE ignores ASCII case; PostgreSQL's does not, hence lower(). Either way an
        // ASCII row matches a folded term exactly as its folded copy would.
        const text = sql.dialect === 'postgres' ? 'lower(data)' : 'data';
        where.push(`(CASE WHEN search_lc = '' THEN ${text} ELSE search_lc END) LIKE $${params.push(`%${escapeLike(fold(q.searchText))}%`)} ESCAPE '\\'`);
      }
      if (q.match && q.match.terms.length > 0) {
        const terms = q.match.terms.map((t) => {
          const col = FIELD_COLUMNS[t.path];
          if (t.path === 'success') return `${col} = $${params.push(t.value === true || t.value === 'true')}`;
          return `${col} = $${params.push(String(t.value))}`;
        });
        where.push(`(${terms.join(q.match.mode === 'and' ? ' AND ' : ' OR ')})`);
      }
      const dir = q.ascending ? 'ASC' : 'DESC';
      const rows = await sql.rows(
        `SELECT data FROM audit_events WHERE ${where.join(' AND ')} ORDER BY ts ${dir}, id ${dir}
         ${limitSql(q.limit)} OFFSET $${params.push(q.skip)}`,
        params,
      );
      return rows.map((r) => fromJson<AuditEvent>(r.data, {} as AuditEvent));
    },
  };
}
